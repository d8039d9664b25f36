//! `ProbeExec`: streams table `a` and answers, for each of its intervals, a
//! question about the intervals of table `b` on the same chromosome, held in
//! COITrees: overlapping pairs, counts, covered bases, nearest, subtraction.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, UInt32Array};
use arrow::compute::{cast, take};
use arrow::datatypes::SchemaRef;
use coitrees::{Interval, IntervalTree};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::memory_pool::MemoryReservation;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{Distribution, PhysicalExpr};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, PlanProperties,
};
use futures::{StreamExt, TryStreamExt, stream};
use genoflight_catalog::scan::bounded_properties;
use tokio::sync::OnceCell;

use super::input::IntervalInput;
use crate::interval::index::{Tree, collect_side};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeOp {
    /// Every overlapping (a, b) pair: `bedtools intersect -wa -wb`.
    Overlap,
    /// How many b overlap each a: `bedtools intersect -c`.
    Count,
    /// Count, covered bases, length and fraction: `bedtools coverage`.
    Coverage,
    /// The k nearest b (ties by b's row order): `bedtools closest -t first -d`.
    Nearest { k: usize, overlaps: bool },
    /// The parts of a not covered by any b: `bedtools subtract`.
    Subtract,
}

/// b's intervals of one chromosome.
struct ChromTargets {
    tree: Tree,
    /// (lo, hi, row) sorted by lo, and by hi: for nearest only.
    by_lo: Vec<(i32, i32, u32)>,
    by_hi: Vec<(i32, i32, u32)>,
}

struct Targets {
    batch: RecordBatch,
    chroms: HashMap<String, ChromTargets>,
    _reservation: MemoryReservation,
}

pub struct ProbeExec {
    a: IntervalInput,
    b: IntervalInput,
    a_plan: Arc<dyn ExecutionPlan>,
    b_plan: Arc<dyn ExecutionPlan>,
    op: ProbeOp,
    schema: SchemaRef,
    targets: Arc<OnceCell<Arc<Targets>>>,
    properties: Arc<PlanProperties>,
}

impl fmt::Debug for ProbeExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProbeExec({:?})", self.op)
    }
}

impl ProbeExec {
    pub fn new(
        a: IntervalInput,
        b: IntervalInput,
        a_plan: Arc<dyn ExecutionPlan>,
        b_plan: Arc<dyn ExecutionPlan>,
        op: ProbeOp,
        schema: SchemaRef,
    ) -> ProbeExec {
        let properties =
            bounded_properties(&schema, a_plan.output_partitioning().partition_count());
        ProbeExec {
            a,
            b,
            a_plan,
            b_plan,
            op,
            schema,
            targets: Arc::new(OnceCell::new()),
            properties,
        }
    }
}

impl DisplayAs for ProbeExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "IntervalProbeExec: op={:?}, a={}, b={} (b held in COITrees)",
            self.op, self.a.name, self.b.name
        )
    }
}

impl ExecutionPlan for ProbeExec {
    fn name(&self) -> &str {
        "IntervalProbeExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn required_input_distribution(&self) -> Vec<Distribution> {
        vec![
            Distribution::UnspecifiedDistribution,
            Distribution::SinglePartition,
        ]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![true, false]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.a_plan, &self.b_plan]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let [a_plan, b_plan]: [Arc<dyn ExecutionPlan>; 2] = children
            .try_into()
            .map_err(|_| DataFusionError::Internal("IntervalProbeExec has two children".into()))?;
        Ok(Arc::new(ProbeExec::new(
            self.a.clone(),
            self.b.clone(),
            a_plan,
            b_plan,
            self.op,
            self.schema.clone(),
        )))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let a_stream = self.a_plan.execute(partition, context.clone())?;
        let (cell, b_plan, b) = (self.targets.clone(), self.b_plan.clone(), self.b.clone());
        let nearest = matches!(self.op, ProbeOp::Nearest { .. });
        let prober = Arc::new(Prober {
            a: self.a.clone(),
            op: self.op,
            schema: self.schema.clone(),
            batch_size: context.session_config().batch_size(),
        });
        // b is indexed once (the first partition to get here); a streams.
        let batches = stream::once(async move {
            let targets = cell
                .get_or_try_init(|| async move {
                    let (batch, reservation) =
                        collect_side(b_plan, context, "interval function").await?;
                    build_targets(&b, batch, reservation, nearest).map(Arc::new)
                })
                .await?
                .clone();
            let probed = a_stream
                .map(move |batch| prober.probe(&targets, batch?))
                .map_ok(|batches| stream::iter(batches.into_iter().map(Ok)))
                .try_flatten();
            Ok::<_, DataFusionError>(probed)
        })
        .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            batches,
        )))
    }
}

fn build_targets(
    b: &IntervalInput,
    batch: RecordBatch,
    reservation: MemoryReservation,
    nearest: bool,
) -> Result<Targets> {
    let closed = b.closed(&batch)?;
    let mut groups: HashMap<String, Vec<(i32, i32, u32)>> = HashMap::new();
    for (i, iv) in closed.intervals.iter().enumerate() {
        if let (Some((lo, hi)), Some(chrom)) = (iv, closed.chrom(i)) {
            groups
                .entry(chrom.to_string())
                .or_default()
                .push((*lo, *hi, i as u32));
        }
    }
    let chroms = groups
        .into_iter()
        .map(|(chrom, rows)| {
            let nodes: Vec<Interval<u32>> = rows
                .iter()
                .map(|&(lo, hi, r)| Interval::new(lo, hi, r))
                .collect();
            let (mut by_lo, mut by_hi) = (Vec::new(), Vec::new());
            if nearest {
                by_lo = rows.clone();
                by_lo.sort_unstable_by_key(|&(lo, _, r)| (lo, r));
                by_hi = rows;
                by_hi.sort_unstable_by_key(|&(_, hi, r)| (hi, r));
            }
            let targets = ChromTargets {
                tree: Tree::new(nodes.iter()),
                by_lo,
                by_hi,
            };
            (chrom, targets)
        })
        .collect();
    Ok(Targets {
        batch,
        chroms,
        _reservation: reservation,
    })
}

struct Prober {
    a: IntervalInput,
    op: ProbeOp,
    schema: SchemaRef,
    batch_size: usize,
}

/// Rows to emit: a's row, b's row (or none) and the op's numbers.
#[derive(Default)]
struct Out {
    a: Vec<u32>,
    b: Vec<Option<u32>>,
    /// The op's numbers per row (count; count, covered, length; distance), `None` for no neighbour.
    numbers: Vec<Option<[i64; 3]>>,
    pieces: Vec<(i64, i64)>,
}

impl Prober {
    fn probe(&self, targets: &Targets, batch: RecordBatch) -> Result<Vec<RecordBatch>> {
        let closed = self.a.closed(&batch)?;
        let mut out = Out::default();
        let mut hits: Vec<(i32, i32, u32)> = Vec::new();
        // Rows come grouped by chromosome: look a name up once per run of it.
        let mut last: Option<(&str, Option<&ChromTargets>)> = None;
        for (i, iv) in closed.intervals.iter().enumerate() {
            let row = i as u32;
            let chrom = match (closed.chrom(i), last) {
                (None, _) => None,
                (Some(c), Some((l, t))) if l == c => t,
                (Some(c), _) => {
                    let t = targets.chroms.get(c);
                    last = Some((c, t));
                    t
                }
            };
            let Some((lo, hi)) = *iv else {
                self.none(&mut out, row);
                continue;
            };
            hits.clear();
            if let Some(t) = chrom
                && !matches!(self.op, ProbeOp::Count | ProbeOp::Coverage)
            {
                t.tree
                    .query(lo, hi, |n| hits.push((n.first, n.last, n.metadata)));
                hits.sort_unstable_by_key(|h| h.2);
            }
            match self.op {
                ProbeOp::Overlap => {
                    for h in &hits {
                        out.a.push(row);
                        out.b.push(Some(h.2));
                    }
                }
                ProbeOp::Count => {
                    let n = chrom.map_or(0, |t| t.tree.query_count(lo, hi));
                    out.a.push(row);
                    out.numbers.push(Some([n as i64, 0, 0]));
                }
                ProbeOp::Coverage => {
                    // The tree sweeps the covered bases itself, no hit list needed.
                    let (n, covered) = chrom.map_or((0, 0), |t| t.tree.coverage(lo, hi));
                    out.a.push(row);
                    out.numbers
                        .push(Some([n as i64, covered as i64, hi as i64 - lo as i64 + 1]));
                }
                ProbeOp::Nearest { k, overlaps } => {
                    let found = chrom
                        .map(|t| nearest(t, lo, hi, &hits, k, overlaps))
                        .unwrap_or_default();
                    if found.is_empty() {
                        self.none(&mut out, row);
                    }
                    for (distance, b) in found {
                        out.a.push(row);
                        out.b.push(Some(b));
                        out.numbers.push(Some([distance, 0, 0]));
                    }
                }
                ProbeOp::Subtract => {
                    let pieces = subtract(lo, hi, &hits);
                    // bedtools keeps a zero-length row as written unless its
                    // widened span is covered whole; it never cuts one.
                    if hits.is_empty() || (closed.empty[i] && !pieces.is_empty()) {
                        out.a.push(row);
                        out.pieces.push(if closed.empty[i] {
                            self.a.unwidened(lo as i64, hi as i64)
                        } else {
                            self.a.native(lo as i64, hi as i64)
                        });
                        continue;
                    }
                    if closed.empty[i] {
                        continue;
                    }
                    for (plo, phi) in pieces {
                        out.a.push(row);
                        out.pieces.push(self.a.native(plo, phi));
                    }
                }
            }
        }
        self.emit(targets, &batch, out)
    }

    /// An a row with nothing to report (null interval, no neighbour).
    fn none(&self, out: &mut Out, row: u32) {
        match self.op {
            ProbeOp::Nearest { .. } => {
                out.a.push(row);
                out.b.push(None);
                out.numbers.push(None);
            }
            ProbeOp::Count => {
                out.a.push(row);
                out.numbers.push(Some([0; 3]));
            }
            _ => {}
        }
    }

    fn emit(&self, targets: &Targets, batch: &RecordBatch, out: Out) -> Result<Vec<RecordBatch>> {
        // Count and coverage give one row per a row, in order: a's columns as they are.
        let identity = out.a.len() == batch.num_rows()
            && matches!(self.op, ProbeOp::Count | ProbeOp::Coverage);
        let mut batches = Vec::new();
        for from in (0..out.a.len()).step_by(self.batch_size.max(1)) {
            let to = (from + self.batch_size).min(out.a.len());
            let a_idx = UInt32Array::from(out.a[from..to].to_vec());
            let mut columns: Vec<ArrayRef> = Vec::new();
            for (j, col) in batch.columns().iter().enumerate() {
                let taken = match identity {
                    true => col.slice(from, to - from),
                    false => take(col, &a_idx, None)?,
                };
                columns.push(match self.op {
                    ProbeOp::Subtract if j == self.a.start || j == self.a.end => {
                        let pick = |p: &(i64, i64)| if j == self.a.start { p.0 } else { p.1 };
                        let values: Int64Array = out.pieces[from..to].iter().map(pick).collect();
                        cast(&values, col.data_type())?
                    }
                    _ => taken,
                });
            }
            if matches!(self.op, ProbeOp::Overlap | ProbeOp::Nearest { .. }) {
                let b_idx = UInt32Array::from(out.b[from..to].to_vec());
                for col in targets.batch.columns() {
                    columns.push(take(col, &b_idx, None)?);
                }
            }
            let numbers = &out.numbers[from.min(out.numbers.len())..to.min(out.numbers.len())];
            match self.op {
                ProbeOp::Count => columns.push(number(numbers, 0)),
                ProbeOp::Nearest { .. } => columns.push(number(numbers, 0)),
                ProbeOp::Coverage => {
                    for c in 0..3 {
                        columns.push(number(numbers, c));
                    }
                    let fraction: Float64Array = numbers
                        .iter()
                        .map(|n| match n {
                            Some([_, covered, length]) if *length > 0 => {
                                *covered as f64 / *length as f64
                            }
                            _ => 0.0,
                        })
                        .collect();
                    columns.push(Arc::new(fraction));
                }
                ProbeOp::Overlap | ProbeOp::Subtract => {}
            }
            batches.push(RecordBatch::try_new(self.schema.clone(), columns)?);
        }
        Ok(batches)
    }
}

fn number(rows: &[Option<[i64; 3]>], c: usize) -> ArrayRef {
    Arc::new(rows.iter().map(|n| n.map(|n| n[c])).collect::<Int64Array>())
}

/// The closed pieces of `[lo, hi]` left after removing every hit.
fn subtract(lo: i32, hi: i32, hits: &[(i32, i32, u32)]) -> Vec<(i64, i64)> {
    if hits.is_empty() {
        return vec![];
    }
    let mut cuts: Vec<(i64, i64)> = hits.iter().map(|&(l, h, _)| (l as i64, h as i64)).collect();
    cuts.sort_unstable();
    let (mut pieces, mut at) = (Vec::new(), lo as i64);
    for (l, h) in cuts {
        if l > at {
            pieces.push((at, l - 1));
        }
        at = at.max(h + 1);
    }
    if at <= hi as i64 {
        pieces.push((at, hi as i64));
    }
    pieces
}

/// The nearest b for each of the k smallest distances, `(distance, b row)`,
/// as `bedtools closest -d -t first -k K`: overlaps are distance 0 (unless
/// excluded) and a tie at one distance goes to the earliest b row.
fn nearest(
    t: &ChromTargets,
    lo: i32,
    hi: i32,
    hits: &[(i32, i32, u32)],
    k: usize,
    overlaps: bool,
) -> Vec<(i64, u32)> {
    let mut found: Vec<(i64, u32)> = Vec::new();
    if overlaps {
        found.extend(hits.iter().map(|h| (0, h.2)));
    }
    // Left: intervals ending before lo, nearest first; right: starting after hi.
    let mut left = t.by_hi[..t.by_hi.partition_point(|&(_, h, _)| h < lo)]
        .iter()
        .rev()
        .map(|&(_, h, r)| (lo as i64 - h as i64, r))
        .peekable();
    let mut right = t.by_lo[t.by_lo.partition_point(|&(l, _, _)| l <= hi)..]
        .iter()
        .map(|&(s, _, r)| (s as i64 - hi as i64, r))
        .peekable();
    let mut distances: Vec<i64> = found.first().map(|f| vec![f.0]).unwrap_or_default();
    loop {
        let next = match (left.peek(), right.peek()) {
            (Some(a), Some(b)) => a.0.min(b.0),
            (Some(a), None) => a.0,
            (None, Some(b)) => b.0,
            (None, None) => break,
        };
        // Stop once k distances are complete (all ties of the last one taken).
        if distances.len() >= k && distances.last().is_some_and(|&d| next > d) {
            break;
        }
        if distances.last() != Some(&next) {
            distances.push(next);
        }
        while left.peek().is_some_and(|c| c.0 == next) {
            found.push(left.next().expect("peeked"));
        }
        while right.peek().is_some_and(|c| c.0 == next) {
            found.push(right.next().expect("peeked"));
        }
    }
    found.sort_unstable();
    found.dedup_by_key(|f| f.0);
    found.truncate(k);
    found
}
