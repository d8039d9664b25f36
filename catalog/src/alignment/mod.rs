//! BAM (with .bai/.csi), CRAM (with .crai and its reference FASTA) and SAM as
//! tables of alignments, one row per record, fields as `samtools view` prints them.

use std::fmt::{self, Write as _};
use std::fs::File;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::Array;
use arrow::array::{ArrayRef, Int32Builder, Int64Builder, MapBuilder, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::{TableProvider, TableType};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use noodles::core::{Position, Region as CoreRegion, region::Interval};
use noodles::csi::BinningIndex;
use noodles::sam::alignment::record::cigar::op::Kind as CigarKind;
use noodles::sam::alignment::record::data::field::Value;
use noodles::sam::alignment::record::data::field::value::Array as ValueArray;
use noodles::{bam, cram, fasta, sam};

use crate::coords;
use crate::region::RegionFilter;
use crate::scan::{blocking_stream, bounded_properties, fmt_scan};
use crate::text::{Region, in_regions};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlignmentFormat {
    Bam,
    Cram,
    Sam,
}

/// Boxed so that it is `Sized`, as noodles' query wants.
pub type SharedIndex = Arc<Box<dyn BinningIndex + Send + Sync>>;

pub struct AlignmentTable {
    path: PathBuf,
    display: String,
    format: AlignmentFormat,
    header: Arc<sam::Header>,
    index: Option<SharedIndex>,
    /// CRAM only: its .crai and the reference FASTA it decodes against.
    crai: Option<Arc<cram::crai::Index>>,
    reference: Option<PathBuf>,
    schema: SchemaRef,
    zero_based: bool,
}

impl fmt::Debug for AlignmentTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlignmentTable")
            .field("path", &self.path)
            .finish()
    }
}

/// What `depth()` and other functions over alignments need from a table.
impl AlignmentTable {
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn format(&self) -> AlignmentFormat {
        self.format
    }

    pub fn header(&self) -> &Arc<sam::Header> {
        &self.header
    }

    /// The .bai/.csi index, when the file has a current one.
    pub fn index(&self) -> Option<&SharedIndex> {
        self.index.as_ref()
    }

    pub fn zero_based(&self) -> bool {
        self.zero_based
    }

    /// CRAM: the reference FASTA records decode against.
    pub fn reference(&self) -> Option<&Path> {
        self.reference.as_deref()
    }

    pub fn with_reference(mut self, reference: PathBuf) -> AlignmentTable {
        self.reference = Some(reference);
        self
    }
}

fn tags_builder() -> MapBuilder<StringBuilder, StringBuilder> {
    MapBuilder::new(None, StringBuilder::new(), StringBuilder::new())
}

fn schema(zero_based: bool) -> SchemaRef {
    let pos = |name: &str| Field::new(name, DataType::Int64, true);
    let fields = vec![
        Field::new("name", DataType::Utf8, true),
        Field::new("chrom", DataType::Utf8, true),
        pos("start"),
        pos("end"),
        Field::new("flags", DataType::Int32, false),
        Field::new("cigar", DataType::Utf8, true),
        Field::new("mapping_quality", DataType::Int32, true),
        Field::new("mate_chrom", DataType::Utf8, true),
        pos("mate_start"),
        Field::new("template_length", DataType::Int64, false),
        Field::new("sequence", DataType::Utf8, true),
        Field::new("quality_scores", DataType::Utf8, true),
        Field::new("tags", tags_builder().finish().data_type().clone(), true),
    ];
    Arc::new(Schema::new(fields).with_metadata(coords::schema_metadata(zero_based)))
}

fn err(display: &str, what: &str, e: impl fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("{display}: {what}: {e}"))
}

pub fn open_alignment(
    path: &Path,
    format: AlignmentFormat,
    zero_based: bool,
) -> Result<AlignmentTable> {
    let display = path.display().to_string();
    let file = File::open(path).map_err(|e| err(&display, "cannot open", e))?;
    let header = match format {
        AlignmentFormat::Bam => bam::io::Reader::new(file).read_header(),
        AlignmentFormat::Cram => cram::io::Reader::new(file).read_header(),
        AlignmentFormat::Sam => sam::io::Reader::new(BufReader::new(file)).read_header(),
    }
    .map_err(|e| err(&display, "cannot read the header", e))?;
    let index = match format {
        AlignmentFormat::Bam => load_index(path, &display),
        AlignmentFormat::Cram | AlignmentFormat::Sam => None,
    };
    let crai = match format {
        AlignmentFormat::Cram => load_crai(path, &display),
        _ => None,
    };
    Ok(AlignmentTable {
        path: path.to_path_buf(),
        display,
        format,
        header: Arc::new(header),
        index,
        crai,
        reference: None,
        schema: schema(zero_based),
        zero_based,
    })
}

/// The .crai beside a CRAM; a stale or unreadable one is ignored with a warning.
fn load_crai(path: &Path, file: &str) -> Option<Arc<cram::crai::Index>> {
    let index_path = PathBuf::from(format!("{}.crai", path.display()));
    let meta = std::fs::metadata(&index_path).ok()?;
    let data = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    if data.zip(meta.modified().ok()).is_some_and(|(d, i)| i < d) {
        tracing::warn!(
            "{file}: index {} is older than the data; ignoring it",
            index_path.display()
        );
        return None;
    }
    match cram::crai::fs::read(&index_path) {
        Ok(index) => Some(Arc::new(index)),
        Err(e) => {
            tracing::warn!("{file}: cannot read index {}: {e}", index_path.display());
            None
        }
    }
}

/// The .bai or .csi beside a BAM; a stale or unreadable one is ignored with a warning.
fn load_index(path: &Path, file: &str) -> Option<SharedIndex> {
    let data_mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    for ext in ["bai", "csi"] {
        let index_path = PathBuf::from(format!("{}.{ext}", path.display()));
        let Ok(meta) = std::fs::metadata(&index_path) else {
            continue;
        };
        if data_mtime
            .zip(meta.modified().ok())
            .is_some_and(|(d, i)| i < d)
        {
            tracing::warn!(
                "{file}: index {} is older than the data; ignoring it",
                index_path.display()
            );
            return None;
        }
        let loaded: io::Result<SharedIndex> = if ext == "bai" {
            bam::bai::fs::read(&index_path)
                .map(|i| Arc::new(Box::new(i) as Box<dyn BinningIndex + Send + Sync>))
        } else {
            noodles::csi::fs::read(&index_path)
                .map(|i| Arc::new(Box::new(i) as Box<dyn BinningIndex + Send + Sync>))
        };
        match loaded {
            Ok(i) => return Some(i),
            Err(e) => tracing::warn!("{file}: cannot read index {}: {e}", index_path.display()),
        }
    }
    None
}

#[async_trait]
impl TableProvider for AlignmentTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(RegionFilter::pushdown(filters))
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let projection: Vec<usize> = projection
            .cloned()
            .unwrap_or_else(|| (0..self.schema.fields().len()).collect());
        let projected = Arc::new(self.schema.project(&projection)?);
        let regions = RegionFilter::from_filters(filters, self.zero_based).regions();
        let properties = bounded_properties(&projected, 1);
        Ok(Arc::new(AlignmentExec {
            path: self.path.clone(),
            display: self.display.clone(),
            format: self.format,
            header: self.header.clone(),
            index: self.index.clone(),
            crai: self.crai.clone(),
            reference: self.reference.clone(),
            projection,
            schema: projected,
            regions,
            limit,
            zero_based: self.zero_based,
            properties,
        }))
    }
}

struct AlignmentExec {
    path: PathBuf,
    display: String,
    format: AlignmentFormat,
    header: Arc<sam::Header>,
    index: Option<SharedIndex>,
    crai: Option<Arc<cram::crai::Index>>,
    reference: Option<PathBuf>,
    projection: Vec<usize>,
    schema: SchemaRef,
    regions: Vec<Region>,
    limit: Option<usize>,
    zero_based: bool,
    properties: Arc<PlanProperties>,
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
        let indexed = self.index.is_some() || self.crai.is_some();
        fmt_scan(
            f,
            name,
            &self.display,
            None,
            &self.schema,
            &self.regions,
            indexed,
            self.limit,
        )
    }
}

impl ExecutionPlan for AlignmentExec {
    fn name(&self) -> &str {
        "AlignmentExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        _partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let scan = Scan {
            path: self.path.clone(),
            display: self.display.clone(),
            format: self.format,
            header: self.header.clone(),
            index: self.index.clone(),
            crai: self.crai.clone(),
            reference: self.reference.clone(),
            regions: self.regions.clone(),
            batch: Batch::new(
                &self.projection,
                self.schema.clone(),
                self.zero_based,
                self.format == AlignmentFormat::Cram,
            ),
            batch_size: context.session_config().batch_size(),
            limit: self.limit,
            read: 0,
            emitted: 0,
        };
        Ok(blocking_stream(self.schema.clone(), move |send| {
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
        let kept = self
            .batch
            .append(record, &self.header, &self.regions)
            .map_err(|e| self.fail(e))?;
        self.read += 1;
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
                        let mut record = bam::Record::default();
                        while reader.read_record(&mut record).map_err(|e| self.fail(e))? > 0 {
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

/// Column builders for the projected alignment columns.
struct Batch {
    schema: SchemaRef,
    columns: Vec<Column>,
    zero_based: bool,
    /// CRAM stores no MAPQ for unmapped reads; htslib reports 0 for them.
    cram: bool,
    rows: usize,
    text: String,
}

enum Column {
    Str(usize, StringBuilder),
    I64(usize, Int64Builder),
    I32(usize, Int32Builder),
    Tags(Box<MapBuilder<StringBuilder, StringBuilder>>),
}

fn cigar_char(k: CigarKind) -> char {
    match k {
        CigarKind::Match => 'M',
        CigarKind::Insertion => 'I',
        CigarKind::Deletion => 'D',
        CigarKind::Skip => 'N',
        CigarKind::SoftClip => 'S',
        CigarKind::HardClip => 'H',
        CigarKind::Pad => 'P',
        CigarKind::SequenceMatch => '=',
        CigarKind::SequenceMismatch => 'X',
    }
}

/// A tag value as SAM text after `TAG:TYPE:` (`B` arrays keep their subtype: `c,1,2`).
fn value_text(v: &Value, out: &mut String) -> io::Result<()> {
    out.clear();
    match v {
        Value::Character(c) => out.push(*c as char),
        Value::Int8(n) => write!(out, "{n}").unwrap(),
        Value::UInt8(n) => write!(out, "{n}").unwrap(),
        Value::Int16(n) => write!(out, "{n}").unwrap(),
        Value::UInt16(n) => write!(out, "{n}").unwrap(),
        Value::Int32(n) => write!(out, "{n}").unwrap(),
        Value::UInt32(n) => write!(out, "{n}").unwrap(),
        Value::Float(x) => write!(out, "{x}").unwrap(),
        Value::String(s) | Value::Hex(s) => out.push_str(&String::from_utf8_lossy(s)),
        Value::Array(a) => {
            macro_rules! items {
                ($sub:expr, $vals:expr) => {{
                    out.push($sub);
                    for x in $vals.iter() {
                        write!(out, ",{}", x?).unwrap();
                    }
                }};
            }
            match a {
                ValueArray::Int8(v) => items!('c', v),
                ValueArray::UInt8(v) => items!('C', v),
                ValueArray::Int16(v) => items!('s', v),
                ValueArray::UInt16(v) => items!('S', v),
                ValueArray::Int32(v) => items!('i', v),
                ValueArray::UInt32(v) => items!('I', v),
                ValueArray::Float(v) => items!('f', v),
            }
        }
    }
    Ok(())
}

impl Batch {
    fn new(projection: &[usize], schema: SchemaRef, zero_based: bool, cram: bool) -> Batch {
        let columns = projection
            .iter()
            .map(|&i| match i {
                0 | 1 | 5 | 7 | 10 | 11 => Column::Str(i, StringBuilder::new()),
                2 | 3 | 8 | 9 => Column::I64(i, Int64Builder::new()),
                4 | 6 => Column::I32(i, Int32Builder::new()),
                _ => Column::Tags(Box::new(tags_builder())),
            })
            .collect();
        Batch {
            schema,
            columns,
            zero_based,
            cram,
            rows: 0,
            text: String::new(),
        }
    }

    /// Appends `r` unless it lies outside every region; returns whether it was kept.
    fn append(
        &mut self,
        r: &dyn sam::alignment::Record,
        header: &sam::Header,
        regions: &[Region],
    ) -> io::Result<bool> {
        let chrom = r
            .reference_sequence(header)
            .transpose()?
            .map(|(name, _)| String::from_utf8_lossy(name).into_owned());
        let start = r
            .alignment_start()
            .transpose()?
            .map(|p| usize::from(p) as i64);
        let end = r
            .alignment_end()
            .transpose()?
            .map(|p| usize::from(p) as i64);
        if !regions.is_empty() {
            let (Some(c), Some(s)) = (chrom.as_deref(), start) else {
                return Ok(false);
            };
            if !in_regions(regions, c, s, end.unwrap_or(s)) {
                return Ok(false);
            }
        }
        let shift = i64::from(self.zero_based);
        for column in &mut self.columns {
            match column {
                Column::Str(i, b) => {
                    self.text.clear();
                    let value: Option<&str> = match i {
                        0 => r.name().map(|n| {
                            self.text.push_str(&String::from_utf8_lossy(n));
                            self.text.as_str()
                        }),
                        1 => chrom.as_deref(),
                        5 => {
                            for op in r.cigar().iter() {
                                let op = op?;
                                write!(self.text, "{}{}", op.len(), cigar_char(op.kind())).unwrap();
                            }
                            (!self.text.is_empty()).then_some(self.text.as_str())
                        }
                        7 => match r.mate_reference_sequence(header).transpose()? {
                            Some((name, _)) => {
                                self.text.push_str(&String::from_utf8_lossy(name));
                                Some(self.text.as_str())
                            }
                            None => None,
                        },
                        10 => {
                            // Upper case, as BAM stores it and samtools prints SAM.
                            self.text.extend(
                                r.sequence()
                                    .iter()
                                    .map(|b| char::from(b.to_ascii_uppercase())),
                            );
                            (!self.text.is_empty()).then_some(self.text.as_str())
                        }
                        _ => {
                            let scores = r.quality_scores();
                            let mut missing = scores.is_empty();
                            for s in scores.iter() {
                                let s = s?;
                                missing |= s == 0xFF;
                                self.text.push(char::from(s.saturating_add(33)));
                            }
                            (!missing).then_some(self.text.as_str())
                        }
                    };
                    b.append_option(value);
                }
                Column::I64(i, b) => b.append_option(match i {
                    2 => start.map(|s| s - shift),
                    3 => end,
                    8 => r
                        .mate_alignment_start()
                        .transpose()?
                        .map(|p| usize::from(p) as i64 - shift),
                    _ => Some(i64::from(r.template_length()?)),
                }),
                Column::I32(i, b) => match i {
                    4 => b.append_value(i32::from(u16::from(r.flags()?))),
                    // 255 means "not available", as samtools prints it.
                    _ => {
                        let unmapped_cram = self.cram && r.flags()?.is_unmapped();
                        let missing = if unmapped_cram { 0 } else { 255 };
                        b.append_value(
                            r.mapping_quality()
                                .transpose()?
                                .map_or(missing, |q| i32::from(u8::from(q))),
                        )
                    }
                },
                Column::Tags(m) => {
                    for field in r.data().iter() {
                        let (tag, value) = field?;
                        let mut text = String::new();
                        value_text(&value, &mut text)?;
                        m.keys().append_value(String::from_utf8_lossy(tag.as_ref()));
                        m.values().append_value(text);
                    }
                    m.append(true).map_err(io::Error::other)?;
                }
            }
        }
        self.rows += 1;
        Ok(true)
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|c| -> ArrayRef {
                match c {
                    Column::Str(_, b) => Arc::new(b.finish()),
                    Column::I64(_, b) => Arc::new(b.finish()),
                    Column::I32(_, b) => Arc::new(b.finish()),
                    Column::Tags(m) => Arc::new(m.finish()),
                }
            })
            .collect();
        crate::columns::record_batch(&self.schema, arrays, std::mem::take(&mut self.rows))
    }
}
