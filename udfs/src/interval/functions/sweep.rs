//! `SweepExec`: one pass over table `a` sorted by (chrom, start) that merges
//! (`bedtools merge -d`), clusters (`bedtools cluster -d`) or complements
//! (`bedtools complement -g`) its intervals.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::expressions::col;
use datafusion::physical_expr::{
    Distribution, LexOrdering, OrderingRequirements, PhysicalExpr, PhysicalSortExpr,
};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::{StreamExt, stream};
use genoflight_catalog::scan::bounded_properties;

use super::input::IntervalInput;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SweepOp {
    Merge {
        min_dist: i64,
    },
    Cluster {
        min_dist: i64,
    },
    /// Chromosome lengths, in the genome table's order.
    Complement {
        genome: Vec<(String, i64)>,
    },
}

pub struct SweepExec {
    a: IntervalInput,
    sorted: Arc<dyn ExecutionPlan>,
    ordering: LexOrdering,
    op: SweepOp,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl fmt::Debug for SweepExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SweepExec({:?})", self.op)
    }
}

impl SweepExec {
    /// `sorted` yields a's rows; the plan keeps it one partition ordered by
    /// (chrom, start, end), which this node requires.
    pub fn try_new(
        a: IntervalInput,
        sorted: Arc<dyn ExecutionPlan>,
        op: SweepOp,
        schema: SchemaRef,
    ) -> Result<SweepExec> {
        let ordering = position_ordering(&a, &sorted.schema())?;
        let properties = bounded_properties(&schema, 1);
        Ok(SweepExec {
            a,
            sorted,
            ordering,
            op,
            schema,
            properties,
        })
    }
}

/// chrom, start, end ascending over `schema` (a's columns).
pub fn position_ordering(a: &IntervalInput, schema: &SchemaRef) -> Result<LexOrdering> {
    let keys = [a.chrom, a.start, a.end]
        .into_iter()
        .map(|i| {
            Ok(PhysicalSortExpr::new_default(col(
                schema.field(i).name(),
                schema,
            )?))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(LexOrdering::new(keys).expect("three sort keys"))
}

impl DisplayAs for SweepExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let op = match &self.op {
            SweepOp::Merge { min_dist } => format!("merge, min_dist={min_dist}"),
            SweepOp::Cluster { min_dist } => format!("cluster, min_dist={min_dist}"),
            SweepOp::Complement { genome } => format!("complement, contigs={}", genome.len()),
        };
        write!(f, "IntervalSweepExec: op={op}, a={}", self.a.name)
    }
}

impl ExecutionPlan for SweepExec {
    fn name(&self) -> &str {
        "IntervalSweepExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn required_input_distribution(&self) -> Vec<Distribution> {
        vec![Distribution::SinglePartition]
    }

    fn required_input_ordering(&self) -> Vec<Option<OrderingRequirements>> {
        vec![Some(OrderingRequirements::from(self.ordering.clone()))]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![matches!(self.op, SweepOp::Cluster { .. })]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.sorted]
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
        let [sorted]: [Arc<dyn ExecutionPlan>; 1] = children
            .try_into()
            .map_err(|_| DataFusionError::Internal("IntervalSweepExec has one child".into()))?;
        Ok(Arc::new(SweepExec::try_new(
            self.a.clone(),
            sorted,
            self.op.clone(),
            self.schema.clone(),
        )?))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.sorted.execute(partition, context)?;
        let sweeper = Sweeper {
            a: self.a.clone(),
            op: self.op.clone(),
            schema: self.schema.clone(),
            current: None,
            cluster: 0,
            covered: BTreeMap::new(),
        };
        let batches = stream::unfold(Some((input, sweeper)), |state| async move {
            let (mut input, mut sweeper) = state?;
            match input.next().await {
                Some(Ok(batch)) => Some((sweeper.batch(&batch), Some((input, sweeper)))),
                Some(Err(e)) => Some((Err(e), None)),
                None => Some((sweeper.finish(), None)),
            }
        })
        .filter(|b| futures::future::ready(b.as_ref().map_or(true, |b| b.num_rows() > 0)));
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            batches,
        )))
    }
}

/// The run being merged: chrom, closed lo/hi, and how many intervals it holds.
struct Run {
    chrom: String,
    lo: i64,
    hi: i64,
    count: i64,
    /// A run of one zero-length interval prints it as written (bedtools).
    lone_empty: bool,
}

struct Sweeper {
    a: IntervalInput,
    op: SweepOp,
    schema: SchemaRef,
    current: Option<Run>,
    cluster: i64,
    /// Complement: merged runs per chromosome.
    covered: BTreeMap<String, Vec<(i64, i64)>>,
}

impl Sweeper {
    fn min_dist(&self) -> i64 {
        match self.op {
            SweepOp::Merge { min_dist } | SweepOp::Cluster { min_dist } => min_dist,
            SweepOp::Complement { .. } => 0,
        }
    }

    fn batch(&mut self, batch: &RecordBatch) -> Result<RecordBatch> {
        let closed = self.a.closed(batch)?;
        let mut finished: Vec<Run> = Vec::new();
        let mut clusters: Vec<Option<i64>> = Vec::with_capacity(batch.num_rows());
        for (i, iv) in closed.intervals.iter().enumerate() {
            let (Some((lo, hi)), Some(chrom)) = (iv, closed.chrom(i)) else {
                clusters.push(None);
                continue;
            };
            let (lo, hi) = (*lo as i64, *hi as i64);
            let joins = self
                .current
                .as_ref()
                .is_some_and(|r| r.chrom == chrom && lo <= r.hi + 1 + self.min_dist());
            if joins {
                let run = self.current.as_mut().expect("checked");
                run.hi = run.hi.max(hi);
                run.count += 1;
                run.lone_empty = false;
            } else {
                if let Some(run) = self.current.take() {
                    if run.chrom.as_str() > chrom {
                        return Err(DataFusionError::Execution(format!(
                            "interval sweep: input not sorted ({} after {})",
                            chrom, run.chrom
                        )));
                    }
                    finished.push(run);
                }
                self.cluster += 1;
                self.current = Some(Run {
                    chrom: chrom.to_string(),
                    lo,
                    hi,
                    count: 1,
                    lone_empty: closed.empty[i],
                });
            }
            clusters.push(Some(self.cluster));
        }
        match self.op {
            SweepOp::Cluster { .. } => {
                let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
                columns.push(Arc::new(Int64Array::from(clusters)));
                Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
            }
            SweepOp::Merge { .. } => self.runs(finished),
            SweepOp::Complement { .. } => {
                self.remember(finished);
                Ok(RecordBatch::new_empty(self.schema.clone()))
            }
        }
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        let last: Vec<Run> = self.current.take().into_iter().collect();
        match &self.op {
            SweepOp::Cluster { .. } => Ok(RecordBatch::new_empty(self.schema.clone())),
            SweepOp::Merge { .. } => self.runs(last),
            SweepOp::Complement { genome } => {
                let genome = genome.clone();
                self.remember(last);
                let first = if self.a.zero_based { 0 } else { 1 };
                let mut gaps = Vec::new();
                for (chrom, length) in genome {
                    let last_base = length - 1 + first;
                    let mut at = first;
                    for &(lo, hi) in self.covered.get(&chrom).map(Vec::as_slice).unwrap_or(&[]) {
                        if lo > at {
                            gaps.push(Run {
                                chrom: chrom.clone(),
                                lo: at,
                                hi: (lo - 1).min(last_base),
                                count: 0,
                                lone_empty: false,
                            });
                        }
                        at = at.max(hi + 1);
                    }
                    if at <= last_base {
                        gaps.push(Run {
                            chrom: chrom.clone(),
                            lo: at,
                            hi: last_base,
                            count: 0,
                            lone_empty: false,
                        });
                    }
                }
                gaps.retain(|g| g.lo <= g.hi);
                self.runs(gaps)
            }
        }
    }

    fn remember(&mut self, runs: Vec<Run>) {
        for r in runs {
            self.covered.entry(r.chrom).or_default().push((r.lo, r.hi));
        }
    }

    /// Runs as rows `(chrom, start, end[, count])` in a's coordinates.
    fn runs(&self, runs: Vec<Run>) -> Result<RecordBatch> {
        let chrom: StringArray = runs.iter().map(|r| Some(r.chrom.as_str())).collect();
        let native: Vec<(i64, i64)> = runs
            .iter()
            .map(|r| {
                if r.lone_empty && matches!(self.op, SweepOp::Merge { .. }) {
                    self.a.unwidened(r.lo, r.hi)
                } else {
                    self.a.native(r.lo, r.hi)
                }
            })
            .collect();
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(chrom),
            Arc::new(native.iter().map(|p| p.0).collect::<Int64Array>()),
            Arc::new(native.iter().map(|p| p.1).collect::<Int64Array>()),
        ];
        if self.schema.fields().len() == 4 {
            columns.push(Arc::new(
                runs.iter().map(|r| r.count).collect::<Int64Array>(),
            ));
        }
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}
