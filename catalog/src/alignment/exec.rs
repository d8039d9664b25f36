//! The alignment scan: one partition per stretch of the file between index
//! cuts (or the whole file), reading records on a blocking thread, dropping
//! those outside the pushed regions or record filter before building columns.

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader};
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use noodles::bgzf::VirtualPosition;
use noodles::core::{Position, Region as CoreRegion, region::Interval};
use noodles::{bam, cram, fasta, sam};

use super::batch::{Batch, mapping_quality};
use super::filter::RecordFilter;
use super::{AlignmentFormat, AlignmentTable, SharedIndex, err};
use crate::scan::{blocking_stream, bounded_properties, fmt_scan};
use crate::text::Region;

/// What a query asks of the scan.
pub(super) struct ScanRequest {
    pub projection: Vec<usize>,
    pub schema: SchemaRef,
    pub regions: Vec<Region>,
    pub filter: RecordFilter,
    pub limit: Option<usize>,
    /// Index cuts splitting a whole-file BAM scan into partitions.
    pub cuts: Vec<VirtualPosition>,
}

pub(super) struct AlignmentExec {
    path: PathBuf,
    display: String,
    format: AlignmentFormat,
    header: Arc<sam::Header>,
    index: Option<SharedIndex>,
    crai: Option<Arc<cram::crai::Index>>,
    reference: Option<PathBuf>,
    tag_columns: Vec<super::TagColumn>,
    zero_based: bool,
    request: ScanRequest,
    properties: Arc<PlanProperties>,
}

impl AlignmentExec {
    pub(super) fn new(table: &AlignmentTable, request: ScanRequest) -> AlignmentExec {
        let properties = bounded_properties(&request.schema, request.cuts.len() + 1);
        AlignmentExec {
            path: table.path.clone(),
            display: table.display.clone(),
            format: table.format,
            header: table.header.clone(),
            index: table.index.clone(),
            crai: table.crai.clone(),
            reference: table.reference.clone(),
            tag_columns: table.tag_columns.clone(),
            zero_based: table.zero_based,
            request,
            properties,
        }
    }
}

impl fmt::Debug for AlignmentExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlignmentExec")
            .field("path", &self.path)
            .finish()
    }
}

impl DisplayAs for AlignmentExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let name = match self.format {
            AlignmentFormat::Bam => "BamExec",
            AlignmentFormat::Cram => "CramExec",
            AlignmentFormat::Sam => "SamExec",
        };
        let r = &self.request;
        let indexed = self.index.is_some() || self.crai.is_some();
        let partitions = (!r.cuts.is_empty()).then_some(r.cuts.len() + 1);
        fmt_scan(
            f,
            name,
            &self.display,
            partitions,
            &r.schema,
            &r.regions,
            indexed,
            r.limit,
        )?;
        if !r.filter.is_empty() {
            write!(f, ", record_filter=[{}]", r.filter)?;
        }
        Ok(())
    }
}

impl ExecutionPlan for AlignmentExec {
    fn name(&self) -> &str {
        "AlignmentExec"
    }

    crate::leaf_plan_methods!();

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let r = &self.request;
        let cuts = &r.cuts;
        let scan = Scan {
            path: self.path.clone(),
            display: self.display.clone(),
            format: self.format,
            header: self.header.clone(),
            index: self.index.clone(),
            crai: self.crai.clone(),
            reference: self.reference.clone(),
            regions: r.regions.clone(),
            filter: r.filter.clone(),
            from: partition.checked_sub(1).and_then(|i| cuts.get(i).copied()),
            to: cuts.get(partition).copied(),
            batch: Batch::new(
                &r.projection,
                r.schema.clone(),
                &self.tag_columns,
                self.zero_based,
                self.format == AlignmentFormat::Cram,
            ),
            batch_size: context.session_config().batch_size(),
            limit: r.limit,
            read: 0,
            emitted: 0,
        };
        Ok(blocking_stream(r.schema.clone(), move |send| {
            scan.run(send)
        }))
    }
}

struct Scan {
    path: PathBuf,
    display: String,
    format: AlignmentFormat,
    header: Arc<sam::Header>,
    index: Option<SharedIndex>,
    crai: Option<Arc<cram::crai::Index>>,
    reference: Option<PathBuf>,
    regions: Vec<Region>,
    filter: RecordFilter,
    /// This partition's stretch of a BAM: from a cut (else the first record) to the next (else EOF).
    from: Option<VirtualPosition>,
    to: Option<VirtualPosition>,
    batch: Batch,
    batch_size: usize,
    limit: Option<usize>,
    /// Records read so far (for error messages) and rows sent.
    read: u64,
    emitted: usize,
}

impl Scan {
    fn fail(&self, e: io::Error) -> DataFusionError {
        err(&self.display, &format!("record {}", self.read + 1), e)
    }

    /// Adds one record; returns false to stop (consumer gone or limit reached).
    fn push(
        &mut self,
        record: &dyn sam::alignment::Record,
        send: &dyn Fn(Result<RecordBatch>) -> bool,
    ) -> Result<bool> {
        self.read += 1;
        if !self.filter.is_empty() {
            let cram = self.format == AlignmentFormat::Cram;
            let flags = record.flags().map_err(|e| self.fail(e))?;
            let mapq = mapping_quality(record, cram).map_err(|e| self.fail(e))?;
            if !self.filter.keeps(u16::from(flags), i64::from(mapq)) {
                return Ok(true);
            }
        }
        let kept = self
            .batch
            .append(record, &self.header, &self.regions)
            .map_err(|e| self.fail(e))?;
        let cap = self.batch_size.min(self.limit.unwrap_or(usize::MAX)).max(1);
        if kept && self.batch.rows >= cap {
            self.emitted += self.batch.rows;
            if !send(self.batch.finish()) || self.limit.is_some_and(|l| self.emitted >= l) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn run(mut self, send: &dyn Fn(Result<RecordBatch>) -> bool) -> Result<()> {
        let file = File::open(&self.path).map_err(|e| err(&self.display, "cannot open", e))?;
        match self.format {
            AlignmentFormat::Sam => {
                let mut reader = sam::io::Reader::new(BufReader::new(file));
                reader.read_header().map_err(|e| self.fail(e))?;
                let mut record = sam::Record::default();
                while reader.read_record(&mut record).map_err(|e| self.fail(e))? > 0 {
                    if !self.push(&record, send)? {
                        return Ok(());
                    }
                }
            }
            AlignmentFormat::Bam => {
                let mut reader = bam::io::Reader::new(file);
                reader.read_header().map_err(|e| self.fail(e))?;
                match self.index.clone().filter(|_| !self.regions.is_empty()) {
                    Some(index) => {
                        for region in self.regions.clone() {
                            let Some(core) = core_region(&self.header, &region) else {
                                continue;
                            };
                            let query = reader
                                .query(&self.header, &*index, &core)
                                .map_err(|e| self.fail(e))?;
                            for record in query.records() {
                                let record = record.map_err(|e| self.fail(e))?;
                                if !self.push(&record, send)? {
                                    return Ok(());
                                }
                            }
                        }
                    }
                    None => {
                        if let Some(from) = self.from {
                            reader.get_mut().seek(from).map_err(|e| {
                                err(&self.display, &format!("cannot seek to {from:?}"), e)
                            })?;
                        }
                        let mut record = bam::Record::default();
                        loop {
                            // Cuts are record starts: the next partition reads from here.
                            if self
                                .to
                                .is_some_and(|to| reader.get_ref().virtual_position() >= to)
                            {
                                break;
                            }
                            if reader.read_record(&mut record).map_err(|e| self.fail(e))? == 0 {
                                break;
                            }
                            if !self.push(&record, send)? {
                                return Ok(());
                            }
                        }
                    }
                }
            }
            AlignmentFormat::Cram => {
                if !self.read_cram(send)? {
                    return Ok(());
                }
            }
        }
        if self.batch.rows > 0 {
            send(self.batch.finish());
        }
        Ok(())
    }

    /// Decodes the CRAM against its reference, through the .crai for regions.
    /// Returns false when the scan stopped early.
    fn read_cram(&mut self, send: &dyn Fn(Result<RecordBatch>) -> bool) -> Result<bool> {
        let Some(reference) = self.reference.clone() else {
            return Err(err(&self.display, "cannot decode", "no reference FASTA"));
        };
        let fasta = fasta::io::indexed_reader::Builder::default()
            .build_from_path(&reference)
            .map_err(|e| {
                err(
                    &self.display,
                    &format!("reference {}", reference.display()),
                    e,
                )
            })?;
        let repository =
            fasta::Repository::new(fasta::repository::adapters::IndexedReader::new(fasta));
        let mut reader = cram::io::reader::Builder::default()
            .set_reference_sequence_repository(repository)
            .build_from_path(&self.path)
            .map_err(|e| err(&self.display, "cannot open", e))?;
        reader.read_header().map_err(|e| self.fail(e))?;
        let header = self.header.clone();
        match self.crai.clone().filter(|_| !self.regions.is_empty()) {
            Some(index) => {
                for region in self.regions.clone() {
                    let Some(core) = core_region(&header, &region) else {
                        continue;
                    };
                    let query = reader
                        .query(&header, &index, &core)
                        .map_err(|e| self.fail(e))?;
                    for record in query.records() {
                        let record = record.map_err(|e| self.fail(e))?;
                        if !self.push(&record, send)? {
                            return Ok(false);
                        }
                    }
                }
            }
            None => {
                for record in reader.records(&header) {
                    let record = record.map_err(|e| self.fail(e))?;
                    if !self.push(&record, send)? {
                        return Ok(false);
                    }
                }
            }
        }
        Ok(true)
    }
}

/// An index query region for a pushed-down region on a known reference sequence.
fn core_region(header: &sam::Header, region: &Region) -> Option<CoreRegion> {
    if !header
        .reference_sequences()
        .contains_key(region.chrom.as_bytes())
    {
        return None;
    }
    let pos = |p: i64| Position::try_from(p.max(1) as usize).expect("positive");
    let interval = Interval::from(pos(region.start)..=pos(region.end.max(region.start)));
    Some(CoreRegion::new(region.chrom.as_str(), interval))
}
