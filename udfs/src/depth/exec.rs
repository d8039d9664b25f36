//! The execution plan of `depth()`: each partition reads the records of its
//! work items (seeking through the index) or the whole file (no index), sweeps
//! them, and streams row batches; LIMIT and cancellation stop the reading.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Int32Builder, Int64Builder, RecordBatch, RecordBatchOptions, StringBuilder,
};
use arrow::datatypes::SchemaRef;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use genoflight_catalog::scan::{blocking_stream, bounded_properties, fmt_scan};
use genoflight_catalog::text::Region;
use noodles::bgzf::VirtualPosition;

use super::reads::{ReadFilter, Records};
use super::sweep::{Counting, Emitter, Sink, Sweep};
use super::table::{FAR, Source};
use super::{AllPositions, DEFAULT_EXCLUDE, DepthOptions};

/// A stretch of one contig: blocks starting in `[from, to]` (bases in it, per
/// base). `probe`: first look back for the start of the block holding `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    pub tid: usize,
    pub from: i64,
    pub to: i64,
    pub probe: bool,
}

#[derive(Debug, Clone)]
pub enum Plan {
    /// Work items per partition, read through the index.
    Indexed(Vec<Vec<Item>>),
    /// One sequential pass (no index), optionally only these contigs.
    Scan { tids: Option<Vec<usize>> },
}

impl Plan {
    fn partitions(&self) -> usize {
        match self {
            Plan::Indexed(p) => p.len().max(1),
            Plan::Scan { .. } => 1,
        }
    }
}

pub struct DepthExec {
    source: Arc<Source>,
    options: Arc<DepthOptions>,
    plan: Plan,
    projection: Vec<usize>,
    schema: SchemaRef,
    regions: Vec<Region>,
    limit: Option<usize>,
    properties: Arc<PlanProperties>,
}

impl DepthExec {
    pub fn new(
        source: Arc<Source>,
        options: Arc<DepthOptions>,
        plan: Plan,
        projection: Vec<usize>,
        schema: SchemaRef,
        regions: Vec<Region>,
        limit: Option<usize>,
    ) -> DepthExec {
        let properties = bounded_properties(&schema, plan.partitions());
        DepthExec {
            source,
            options,
            plan,
            projection,
            schema,
            regions,
            limit,
            properties,
        }
    }
}

impl fmt::Debug for DepthExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DepthExec")
            .field("path", &self.source.path)
            .finish()
    }
}

impl DisplayAs for DepthExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        fmt_scan(
            f,
            "DepthExec",
            &self.source.display,
            Some(self.plan.partitions()),
            &self.schema,
            &self.regions,
            matches!(self.plan, Plan::Indexed(_)),
            self.limit,
        )?;
        let o = &self.options;
        write!(f, ", {}", if o.per_base { "per_base" } else { "blocks" })?;
        if o.min_mapping_quality > 0 {
            write!(f, ", min_mapping_quality={}", o.min_mapping_quality)?;
        }
        if o.min_base_quality > 0 {
            write!(f, ", min_base_quality={}", o.min_base_quality)?;
        }
        if o.exclude_flags != DEFAULT_EXCLUDE {
            write!(f, ", exclude_flags={:#x}", o.exclude_flags)?;
        }
        if o.include_deletions {
            write!(f, ", include_deletions")?;
        }
        match o.all_positions {
            AllPositions::No => {}
            AllPositions::Covered => write!(f, ", all_positions")?,
            AllPositions::Every => write!(f, ", all_positions=all")?,
        }
        if let Some(r) = &o.region {
            write!(
                f,
                ", region={}:{}-{}",
                r.chrom,
                r.start,
                r.end.min(self.source.contig_len(r.tid))
            )?;
        }
        Ok(())
    }
}

impl ExecutionPlan for DepthExec {
    fn name(&self) -> &str {
        "DepthExec"
    }

    genoflight_catalog::leaf_plan_methods!();

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let work = match &self.plan {
            Plan::Indexed(p) => Work::Items(p.get(partition).cloned().unwrap_or_default()),
            Plan::Scan { tids } => Work::Scan(tids.clone()),
        };
        let o = &self.options;
        let runner = Runner {
            source: self.source.clone(),
            options: self.options.clone(),
            filter: ReadFilter {
                exclude: o.exclude_flags,
                min_mapping_quality: o.min_mapping_quality,
            },
            counting: Counting {
                min_base_quality: o.min_base_quality,
                include_deletions: o.include_deletions,
            },
            sweep: Sweep::new(),
            covered: HashMap::new(),
        };
        let projection = self.projection.clone();
        let schema = self.schema.clone();
        let batch_size = context.session_config().batch_size().max(1);
        let limit = self.limit;
        Ok(blocking_stream(self.schema.clone(), move |send| {
            let sink = Rows::new(
                &projection,
                schema,
                runner.options.per_base,
                runner.source.zero_based,
                batch_size,
                limit,
                send,
            );
            runner.run(work, sink)
        }))
    }
}

enum Work {
    Items(Vec<Item>),
    Scan(Option<Vec<usize>>),
}

/// The rows of one partition, sent in batches.
struct Rows<'a> {
    send: &'a dyn Fn(Result<RecordBatch>) -> bool,
    schema: SchemaRef,
    columns: Vec<Col>,
    chrom: String,
    shift: i64,
    rows: usize,
    batch_size: usize,
    remaining: usize,
    stopped: bool,
}

enum Col {
    Chrom(StringBuilder),
    Start(Int64Builder),
    End(Int64Builder),
    Depth(Int32Builder),
}

impl<'a> Rows<'a> {
    fn new(
        projection: &[usize],
        schema: SchemaRef,
        per_base: bool,
        zero_based: bool,
        batch_size: usize,
        limit: Option<usize>,
        send: &'a dyn Fn(Result<RecordBatch>) -> bool,
    ) -> Rows<'a> {
        let columns = projection
            .iter()
            .map(|&i| match (per_base, i) {
                (_, 0) => Col::Chrom(StringBuilder::new()),
                (_, 1) => Col::Start(Int64Builder::with_capacity(batch_size)),
                (false, 2) => Col::End(Int64Builder::with_capacity(batch_size)),
                _ => Col::Depth(Int32Builder::with_capacity(batch_size)),
            })
            .collect();
        Rows {
            send,
            schema,
            columns,
            chrom: String::new(),
            shift: i64::from(zero_based),
            rows: 0,
            batch_size,
            remaining: limit.unwrap_or(usize::MAX),
            stopped: limit == Some(0),
        }
    }

    fn batch(&mut self) -> Result<RecordBatch> {
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|c| -> ArrayRef {
                match c {
                    Col::Chrom(b) => Arc::new(b.finish()),
                    Col::Start(b) | Col::End(b) => Arc::new(b.finish()),
                    Col::Depth(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        self.rows = 0;
        Ok(RecordBatch::try_new_with_options(
            self.schema.clone(),
            arrays,
            &options,
        )?)
    }

    /// Sends what is buffered; false when the consumer is gone.
    fn flush(&mut self) -> bool {
        if self.rows == 0 {
            return true;
        }
        let batch = self.batch();
        if !(self.send)(batch) {
            self.stopped = true;
        }
        !self.stopped
    }

    #[inline]
    fn row(&mut self, start: i64, end: i64, depth: i32) -> bool {
        if self.stopped {
            return false;
        }
        for c in &mut self.columns {
            match c {
                Col::Chrom(b) => b.append_value(&self.chrom),
                Col::Start(b) => b.append_value(start - self.shift),
                Col::End(b) => b.append_value(end),
                Col::Depth(b) => b.append_value(depth),
            }
        }
        self.rows += 1;
        self.remaining -= 1;
        if self.remaining == 0 {
            self.flush();
            self.stopped = true;
            return false;
        }
        if self.rows >= self.batch_size {
            return self.flush();
        }
        true
    }
}

impl Sink for Rows<'_> {
    fn block(&mut self, start: i64, end: i64, depth: i32) -> bool {
        self.row(start, end, depth)
    }

    fn base(&mut self, pos: i64, depth: i32) -> bool {
        self.row(pos, pos, depth)
    }
}

/// Looks back for where the block holding a position starts.
#[derive(Default)]
struct Probe {
    last: Option<i64>,
}

impl Sink for Probe {
    fn block(&mut self, _: i64, _: i64, _: i32) -> bool {
        true
    }

    fn base(&mut self, _: i64, _: i32) -> bool {
        true
    }

    fn open(&mut self, start: i64) -> bool {
        self.last = Some(start);
        true
    }
}

struct Runner {
    source: Arc<Source>,
    options: Arc<DepthOptions>,
    filter: ReadFilter,
    counting: Counting,
    sweep: Sweep,
    /// Contigs known to have (or not) a counted read (`all_positions=true`).
    covered: HashMap<usize, bool>,
}

fn unsorted(src: &Source, count: u64, at: (usize, i64), after: (usize, i64)) -> DataFusionError {
    DataFusionError::Execution(format!(
        "{}: record {count} ({}:{}) comes after {}:{}: the file is not sorted by coordinate; \
         depth() needs coordinate-sorted input (samtools sort)",
        src.display,
        src.contig_name(at.0),
        at.1,
        src.contig_name(after.0),
        after.1
    ))
}

impl Runner {
    /// An error at record number `n` (1-based).
    fn fail(&self, n: u64, e: impl fmt::Display) -> DataFusionError {
        DataFusionError::Execution(format!("{}: record {n}: {e}", self.source.display))
    }

    /// The `region` option's bounds on `tid` (everything without it).
    fn domain(&self) -> (i64, i64) {
        self.options
            .region
            .as_ref()
            .map_or((1, FAR), |r| (r.start, r.end))
    }

    fn run(mut self, work: Work, sink: Rows) -> Result<()> {
        let src = self.source.clone();
        let mut records = Records::open(
            &src.path,
            src.format,
            src.header.clone(),
            src.reference.as_deref(),
        )
        .map_err(|e| DataFusionError::Execution(format!("{}: cannot open: {e}", src.display)))?;
        let mut em = Emitter::new(self.options.per_base, sink);
        match work {
            Work::Items(items) => self.items(&mut records, &mut em, &items)?,
            Work::Scan(tids) => self.scan(&mut records, &mut em, tids.as_deref())?,
        }
        if !em.sink.stopped {
            em.sink.flush();
        }
        Ok(())
    }

    fn items(
        &mut self,
        records: &mut Records,
        em: &mut Emitter<Rows>,
        items: &[Item],
    ) -> Result<()> {
        let (dlo, dhi) = self.domain();
        for item in items {
            let fill = match self.options.all_positions {
                AllPositions::No => false,
                AllPositions::Every => true,
                AllPositions::Covered if self.options.region.is_some() => true,
                AllPositions::Covered => {
                    if !self.contig_covered(records, item.tid)? {
                        continue;
                    }
                    true
                }
            };
            let from = if item.probe {
                self.probe_start(records, item.tid, item.from, fill)?
            } else {
                item.from
            };
            em.sink.chrom = self.source.contig_name(item.tid);
            em.start(from, item.to, dlo, dhi);
            self.sweep_item(records, em, item.tid, from, fill)?;
            if em.sink.stopped {
                break;
            }
        }
        Ok(())
    }

    /// Sweeps `tid` from `from - 1` on, through the index, until `em` is done.
    fn sweep_item<S: Sink>(
        &mut self,
        records: &mut Records,
        em: &mut Emitter<S>,
        tid: usize,
        from: i64,
        fill: bool,
    ) -> Result<()> {
        let base = from - 1;
        self.sweep.reset(base, self.source.contig_len(tid), fill);
        if let Some((lo, _)) = self.source.chunks_from(tid, base.max(1))? {
            records
                .seek(VirtualPosition::from(lo))
                .map_err(|e| self.fail(records.count, e))?;
            let mut last = 0;
            while records
                .next()
                .map_err(|e| self.fail(records.count + 1, e))?
            {
                let c = &records.current;
                let (Some(t), Some(pos)) = (c.tid, c.pos) else {
                    if c.tid.is_none() {
                        break;
                    }
                    continue;
                };
                if t < tid {
                    continue;
                }
                if t > tid {
                    break;
                }
                if pos < last {
                    return Err(unsorted(&self.source, records.count, (t, pos), (t, last)));
                }
                last = pos;
                if !records.accepted(&self.filter) {
                    continue;
                }
                let n = records.count;
                let read = records.read().map_err(|e| self.fail(n, e))?;
                let end = read.end().map_err(|e| self.fail(n, e))?;
                if end <= base {
                    continue;
                }
                self.sweep.flush(pos, em);
                if em.done() {
                    return Ok(());
                }
                self.sweep.add(&read, end, self.counting);
            }
        }
        self.sweep.finish(em);
        Ok(())
    }

    /// The natural start of the block holding `lo` (or `lo`): sweeps back over
    /// growing windows until a block start at or before `lo` shows up.
    fn probe_start(
        &mut self,
        records: &mut Records,
        tid: usize,
        lo: i64,
        fill: bool,
    ) -> Result<i64> {
        let (dlo, dhi) = self.domain();
        let mut width = 1024;
        loop {
            let from = (lo - width).max(dlo);
            let mut em = Emitter::new(false, Probe::default());
            em.start(from, lo, dlo, dhi);
            self.sweep_item(records, &mut em, tid, from, fill)?;
            if let Some(s) = em.sink.last {
                return Ok(s);
            }
            if from == dlo {
                return Ok(lo);
            }
            width *= 4;
        }
    }

    /// Whether `tid` has at least one counted read (`all_positions=true` skips it otherwise).
    fn contig_covered(&mut self, records: &mut Records, tid: usize) -> Result<bool> {
        if let Some(&c) = self.covered.get(&tid) {
            return Ok(c);
        }
        let mut found = false;
        if let Some((lo, _)) = self.source.chunks_from(tid, 1)? {
            records
                .seek(VirtualPosition::from(lo))
                .map_err(|e| self.fail(records.count, e))?;
            while records
                .next()
                .map_err(|e| self.fail(records.count + 1, e))?
            {
                match records.current.tid {
                    None => break,
                    Some(t) if t < tid => continue,
                    Some(t) if t > tid => break,
                    Some(_) => {
                        if records.accepted(&self.filter) {
                            found = true;
                            break;
                        }
                    }
                }
            }
        }
        self.covered.insert(tid, found);
        Ok(found)
    }

    /// A contig with no counted read, every position 0 (`all_positions=all`).
    fn zero_contig(&mut self, em: &mut Emitter<Rows>, tid: usize) {
        em.sink.chrom = self.source.contig_name(tid);
        em.start(1, FAR, 1, FAR);
        self.sweep.reset(0, self.source.contig_len(tid), true);
        self.sweep.finish(em);
    }

    /// Contigs `next..upto` that had no counted read, with `all_positions=all`.
    fn zero_contigs(
        &mut self,
        em: &mut Emitter<Rows>,
        tids: Option<&[usize]>,
        next: usize,
        upto: usize,
    ) {
        if self.options.all_positions != AllPositions::Every {
            return;
        }
        for t in next..upto {
            if em.sink.stopped {
                return;
            }
            if tids.is_none_or(|ts| ts.contains(&t)) {
                self.zero_contig(em, t);
            }
        }
    }

    /// No index: one pass over the file, contig after contig.
    fn scan(
        &mut self,
        records: &mut Records,
        em: &mut Emitter<Rows>,
        tids: Option<&[usize]>,
    ) -> Result<()> {
        let all = self.options.all_positions;
        let fill = all != AllPositions::No;
        let wanted = |t: usize| tids.is_none_or(|ts| ts.contains(&t));
        let mut cur: Option<usize> = None;
        let mut started = false;
        let mut last = (0usize, 0i64);
        while records
            .next()
            .map_err(|e| self.fail(records.count + 1, e))?
        {
            let c = &records.current;
            let (Some(t), Some(pos)) = (c.tid, c.pos) else {
                continue;
            };
            if (t, pos) < last {
                return Err(unsorted(&self.source, records.count, (t, pos), last));
            }
            last = (t, pos);
            if cur != Some(t) {
                let next = match cur {
                    Some(ct) if started => {
                        self.sweep.finish(em);
                        ct + 1
                    }
                    Some(ct) => ct,
                    None => 0,
                };
                self.zero_contigs(em, tids, next, t);
                if em.sink.stopped {
                    return Ok(());
                }
                cur = Some(t);
                started = false;
            }
            if !wanted(t) || !records.accepted(&self.filter) {
                continue;
            }
            if !started {
                em.sink.chrom = self.source.contig_name(t);
                em.start(1, FAR, 1, FAR);
                self.sweep.reset(0, self.source.contig_len(t), fill);
                started = true;
            }
            let n = records.count;
            let read = records.read().map_err(|e| self.fail(n, e))?;
            let end = read.end().map_err(|e| self.fail(n, e))?;
            self.sweep.flush(pos, em);
            if em.done() {
                return Ok(());
            }
            self.sweep.add(&read, end, self.counting);
        }
        let next = match cur {
            Some(ct) if started => {
                self.sweep.finish(em);
                ct + 1
            }
            Some(ct) => ct,
            None => 0,
        };
        self.zero_contigs(em, tids, next, self.source.contigs());
        Ok(())
    }
}
