//! The build side of an interval join: its rows in one batch, and one COITree
//! per join key (usually the chromosome) over their closed intervals.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::{cast, concat_batches};
use arrow::datatypes::{DataType, Int64Type};
use arrow::row::{RowConverter, Rows, SortField};
use coitrees::{COITree, Interval, IntervalTree};
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties};
use futures::StreamExt;

use super::predicate::SideBounds;

pub type Tree = COITree<u32, u32>;

/// Evaluates the key expressions and bounds of one side on a batch.
#[derive(Debug, Clone)]
pub struct SideKeys {
    pub keys: Vec<Arc<dyn PhysicalExpr>>,
    pub bounds: SideBounds,
}

/// Key rows and closed `[lo, hi]` bounds of a batch; `None` bounds where a
/// value is null (such rows never match).
pub struct Evaluated {
    pub rows: Option<Rows>,
    pub key_valid: Vec<bool>,
    pub lo: Vec<Option<i32>>,
    pub hi: Vec<Option<i32>>,
}

impl Evaluated {
    /// Row `i`'s join key and closed bounds, or `None` when any is null
    /// (such a row never matches).
    pub fn row(&self, i: usize) -> Option<(&[u8], i32, i32)> {
        let (Some(lo), Some(hi), true) = (self.lo[i], self.hi[i], self.key_valid[i]) else {
            return None;
        };
        let key = self
            .rows
            .as_ref()
            .map_or(&[][..], |rows| rows.row(i).data());
        Some((key, lo, hi))
    }
}

impl SideKeys {
    pub fn evaluate(&self, batch: &RecordBatch, converter: &KeyConverter) -> Result<Evaluated> {
        let n = batch.num_rows();
        let mut key_valid = vec![true; n];
        let rows = if self.keys.is_empty() {
            None
        } else {
            let mut columns = Vec::with_capacity(self.keys.len());
            for (expr, ty) in self.keys.iter().zip(&converter.types) {
                let array = expr.evaluate(batch)?.into_array(n)?;
                let array = if array.data_type() == ty {
                    array
                } else {
                    cast(&array, ty)?
                };
                for (i, valid) in key_valid.iter_mut().enumerate() {
                    *valid &= array.is_valid(i);
                }
                columns.push(array);
            }
            Some(converter.converter.convert_columns(&columns)?)
        };
        let lo = bound(&self.bounds.lo, batch, 0)?;
        let hi = bound(&self.bounds.hi, batch, i64::from(self.bounds.hi_strict))?;
        Ok(Evaluated {
            rows,
            key_valid,
            lo,
            hi,
        })
    }
}

/// `expr - minus` as i32 per row; COITree coordinates are 32-bit.
fn bound(
    expr: &Arc<dyn PhysicalExpr>,
    batch: &RecordBatch,
    minus: i64,
) -> Result<Vec<Option<i32>>> {
    let array: ArrayRef = expr.evaluate(batch)?.into_array(batch.num_rows())?;
    let array = cast(&array, &DataType::Int64)?;
    array
        .as_primitive::<Int64Type>()
        .iter()
        .map(|v| {
            v.map(|v| {
                i32::try_from(v - minus).map_err(|_| {
                    DataFusionError::Execution(format!(
                        "interval join: coordinate {v} ({expr}) is outside the supported range ±2^31"
                    ))
                })
            })
            .transpose()
        })
        .collect()
}

/// Turns join-key values into comparable byte rows, the same way on both sides.
pub struct KeyConverter {
    converter: RowConverter,
    types: Vec<DataType>,
}

impl KeyConverter {
    pub fn new(types: Vec<DataType>) -> Result<KeyConverter> {
        let fields = types.iter().cloned().map(SortField::new).collect();
        Ok(KeyConverter {
            converter: RowConverter::new(fields)?,
            types,
        })
    }
}

/// Collects the single-partition `plan` into one batch, accounted in the
/// memory pool; exceeding the pool is a clear error, not an OOM kill.
pub async fn collect_side(
    plan: Arc<dyn ExecutionPlan>,
    context: Arc<TaskContext>,
    what: &str,
) -> Result<(RecordBatch, MemoryReservation)> {
    let mut plan = plan;
    if plan.output_partitioning().partition_count() > 1 {
        plan = Arc::new(CoalescePartitionsExec::new(plan));
    }
    let schema = plan.schema();
    let reservation =
        MemoryConsumer::new(format!("{what} build side")).register(context.memory_pool());
    let mut stream = plan.execute(0, context)?;
    let mut batches = Vec::new();
    let mut rows = 0usize;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        rows += batch.num_rows();
        reservation
            .try_grow(batch.get_array_memory_size())
            .map_err(|e| {
                DataFusionError::ResourcesExhausted(format!(
                    "{what}: the build side ({rows} rows so far) does not fit in the memory \
                     limit; use the smaller table as the build side, filter it first, or \
                     raise limits.memory_bytes ({e})"
                ))
            })?;
        batches.push(batch);
    }
    let batch = concat_batches(&schema, &batches)?;
    Ok((batch, reservation))
}

pub struct IntervalIndex {
    pub batch: RecordBatch,
    trees: HashMap<Box<[u8]>, Tree>,
    _reservation: MemoryReservation,
}

impl IntervalIndex {
    pub fn build(
        batch: RecordBatch,
        side: &SideKeys,
        converter: &KeyConverter,
        reservation: MemoryReservation,
    ) -> Result<IntervalIndex> {
        if batch.num_rows() > u32::MAX as usize - 1 {
            return Err(DataFusionError::Execution(
                "interval join: the build side has more than 2^32 rows".into(),
            ));
        }
        let e = side.evaluate(&batch, converter)?;
        let mut groups: HashMap<Box<[u8]>, Vec<Interval<u32>>> = HashMap::new();
        for i in 0..batch.num_rows() {
            let Some((key, lo, hi)) = e.row(i) else {
                continue;
            };
            let interval = Interval::new(lo, hi, i as u32);
            match groups.get_mut(key) {
                Some(v) => v.push(interval),
                None => {
                    groups.insert(key.into(), vec![interval]);
                }
            }
        }
        let trees = groups
            .into_iter()
            .map(|(k, v)| (k, Tree::new(v.iter())))
            .collect();
        Ok(IntervalIndex {
            batch,
            trees,
            _reservation: reservation,
        })
    }

    pub fn tree(&self, key: &[u8]) -> Option<&Tree> {
        self.trees.get(key)
    }
}
