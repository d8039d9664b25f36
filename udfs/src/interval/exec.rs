//! `IntervalJoinExec`: an inner/left/right join whose condition holds an
//! interval overlap. The build side is collected once (in the memory pool)
//! into per-key COITrees; each probe partition streams batch by batch.

use std::fmt;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, RecordBatchOptions, UInt32Array};
use arrow::compute::{filter as filter_array, take};
use arrow::datatypes::SchemaRef;
use arrow::datatypes::UInt32Type;
use coitrees::IntervalTree;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, JoinSide, JoinType, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{Distribution, PhysicalExpr};
use datafusion::physical_plan::joins::utils::JoinFilter;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, PlanProperties,
};
use futures::{TryStreamExt, stream};
use genoflight_catalog::scan::bounded_properties;
use tokio::sync::OnceCell;

use super::index::{Evaluated, IntervalIndex, KeyConverter, SideKeys, collect_side};
use super::predicate::Overlap;

/// Inner and right joins build from the left; left joins from the right, so
/// that the side whose unmatched rows are kept is always the one probed.
fn builds_left(join_type: JoinType) -> bool {
    join_type != JoinType::Left
}

pub type JoinOn = Vec<(Arc<dyn PhysicalExpr>, Arc<dyn PhysicalExpr>)>;

pub struct IntervalJoinExec {
    left: Arc<dyn ExecutionPlan>,
    right: Arc<dyn ExecutionPlan>,
    on: JoinOn,
    filter: JoinFilter,
    overlap: Overlap,
    join_type: JoinType,
    join_schema: SchemaRef,
    projection: Option<Vec<usize>>,
    schema: SchemaRef,
    index: Arc<OnceCell<Arc<IntervalIndex>>>,
    properties: Arc<PlanProperties>,
}

impl fmt::Debug for IntervalJoinExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntervalJoinExec")
            .field("join_type", &self.join_type)
            .finish()
    }
}

impl IntervalJoinExec {
    /// Inner, left or right joins; for outer joins the preserved side is probed.
    #[allow(clippy::too_many_arguments)]
    pub fn try_new(
        left: Arc<dyn ExecutionPlan>,
        right: Arc<dyn ExecutionPlan>,
        on: JoinOn,
        filter: JoinFilter,
        overlap: Overlap,
        join_type: JoinType,
        join_schema: SchemaRef,
        projection: Option<Vec<usize>>,
    ) -> Result<IntervalJoinExec> {
        if !matches!(
            join_type,
            JoinType::Inner | JoinType::Left | JoinType::Right
        ) {
            return Err(DataFusionError::Plan(format!(
                "interval join: {join_type} joins are not supported"
            )));
        }
        let schema = match &projection {
            Some(p) => Arc::new(join_schema.project(p)?),
            None => join_schema.clone(),
        };
        let probe = if builds_left(join_type) {
            &right
        } else {
            &left
        };
        let properties = bounded_properties(&schema, probe.output_partitioning().partition_count());
        Ok(IntervalJoinExec {
            left,
            right,
            on,
            filter,
            overlap,
            join_type,
            join_schema,
            projection,
            schema,
            index: Arc::new(OnceCell::new()),
            properties,
        })
    }

    fn build_left(&self) -> bool {
        builds_left(self.join_type)
    }

    fn probe(&self) -> &Arc<dyn ExecutionPlan> {
        if self.build_left() {
            &self.right
        } else {
            &self.left
        }
    }

    fn build(&self) -> &Arc<dyn ExecutionPlan> {
        if self.build_left() {
            &self.left
        } else {
            &self.right
        }
    }

    fn side_keys(&self, left: bool) -> SideKeys {
        let keys = self
            .on
            .iter()
            .map(|(l, r)| if left { l.clone() } else { r.clone() })
            .collect();
        let bounds = if left {
            &self.overlap.left
        } else {
            &self.overlap.right
        };
        SideKeys {
            keys,
            bounds: bounds.clone(),
        }
    }
}

impl DisplayAs for IntervalJoinExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let on: Vec<String> = self.on.iter().map(|(l, r)| format!("({l}, {r})")).collect();
        let side = |b: &super::predicate::SideBounds| {
            let minus = if b.hi_strict { " - 1" } else { "" };
            format!("[{}, {}{minus}]", b.lo, b.hi)
        };
        write!(
            f,
            "IntervalJoinExec: join_type={}, on=[{}], overlap=left{} right{}, build={}",
            self.join_type,
            on.join(", "),
            side(&self.overlap.left),
            side(&self.overlap.right),
            if self.build_left() { "left" } else { "right" },
        )?;
        if self.overlap.residual {
            write!(f, ", filter={}", self.filter.expression())?;
        }
        if let Some(p) = &self.projection {
            let names: Vec<&str> = p
                .iter()
                .map(|&i| self.join_schema.field(i).name().as_str())
                .collect();
            write!(f, ", projection=[{}]", names.join(", "))?;
        }
        Ok(())
    }
}

impl ExecutionPlan for IntervalJoinExec {
    fn name(&self) -> &str {
        "IntervalJoinExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn required_input_distribution(&self) -> Vec<Distribution> {
        if self.build_left() {
            vec![
                Distribution::SinglePartition,
                Distribution::UnspecifiedDistribution,
            ]
        } else {
            vec![
                Distribution::UnspecifiedDistribution,
                Distribution::SinglePartition,
            ]
        }
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![!self.build_left(), self.build_left()]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![false, false]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.left, &self.right]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        for (l, r) in &self.on {
            if f(l)? == TreeNodeRecursion::Stop || f(r)? == TreeNodeRecursion::Stop {
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        f(self.filter.expression())
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let [left, right]: [Arc<dyn ExecutionPlan>; 2] = children
            .try_into()
            .map_err(|_| DataFusionError::Internal("IntervalJoinExec has two children".into()))?;
        Ok(Arc::new(IntervalJoinExec::try_new(
            left,
            right,
            self.on.clone(),
            self.filter.clone(),
            self.overlap.clone(),
            self.join_type,
            self.join_schema.clone(),
            self.projection.clone(),
        )?))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let build_left = self.build_left();
        let build_keys = self.side_keys(build_left);
        let probe_keys = self.side_keys(!build_left);
        let key_types = build_keys
            .keys
            .iter()
            .map(|k| k.data_type(&self.build().schema()))
            .collect::<Result<Vec<_>>>()?;
        let build = self.build().clone();
        let probe = self.probe().execute(partition, context.clone())?;
        let cell = self.index.clone();
        let shared = Arc::new(Probe {
            probe_keys,
            converter: KeyConverter::new(key_types.clone())?,
            build_left,
            outer: self.join_type != JoinType::Inner,
            left_width: self.left.schema().fields().len(),
            filter: self.overlap.residual.then(|| self.filter.clone()),
            projection: self
                .projection
                .clone()
                .unwrap_or_else(|| (0..self.join_schema.fields().len()).collect()),
            schema: self.schema.clone(),
            batch_size: context.session_config().batch_size(),
        });
        let build_ctx = context.clone();
        // Build once (the first partition to get here), then stream the probe.
        let batches = stream::once(async move {
            let index = cell
                .get_or_try_init(|| collect_build(build, build_ctx, build_keys, key_types))
                .await?
                .clone();
            let joined = probe
                .map_ok(move |batch| {
                    stream::iter(Cursor::new(shared.clone(), index.clone(), batch))
                })
                .try_flatten();
            Ok::<_, DataFusionError>(joined)
        })
        .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            batches,
        )))
    }
}

async fn collect_build(
    build: Arc<dyn ExecutionPlan>,
    context: Arc<TaskContext>,
    keys: SideKeys,
    key_types: Vec<arrow::datatypes::DataType>,
) -> Result<Arc<IntervalIndex>> {
    let (batch, reservation) = collect_side(build, context, "interval join").await?;
    let converter = KeyConverter::new(key_types)?;
    Ok(Arc::new(IntervalIndex::build(
        batch,
        &keys,
        &converter,
        reservation,
    )?))
}

/// What every probe batch needs, shared by the cursors of one partition.
struct Probe {
    probe_keys: SideKeys,
    converter: KeyConverter,
    build_left: bool,
    outer: bool,
    left_width: usize,
    filter: Option<JoinFilter>,
    projection: Vec<usize>,
    schema: SchemaRef,
    batch_size: usize,
}

/// Walks one probe batch, yielding joined batches of about `batch_size` rows.
struct Cursor {
    shared: Arc<Probe>,
    index: Arc<IntervalIndex>,
    batch: RecordBatch,
    evaluated: Option<Result<Evaluated>>,
    row: usize,
    matched: Vec<bool>,
    done: bool,
}

impl Cursor {
    fn new(shared: Arc<Probe>, index: Arc<IntervalIndex>, batch: RecordBatch) -> Cursor {
        let evaluated = Some(shared.probe_keys.evaluate(&batch, &shared.converter));
        let matched = if shared.outer {
            vec![false; batch.num_rows()]
        } else {
            vec![]
        };
        Cursor {
            shared,
            index,
            batch,
            evaluated,
            row: 0,
            matched,
            done: false,
        }
    }

    /// Candidate pairs from the current row on, until about a batch is full.
    fn candidates(&mut self, e: &Evaluated) -> (Vec<u32>, Vec<u32>) {
        let (mut build, mut probe) = (Vec::new(), Vec::new());
        let n = self.batch.num_rows();
        while self.row < n && build.len() < self.shared.batch_size {
            let i = self.row;
            self.row += 1;
            let Some((key, lo, hi)) = e.row(i) else {
                continue;
            };
            if let Some(tree) = self.index.tree(key) {
                tree.query(lo, hi, |node| {
                    build.push(node.metadata);
                    probe.push(i as u32);
                });
            }
        }
        (build, probe)
    }

    /// The joined columns `wanted` (join-schema positions) for index pairs.
    fn columns(
        &self,
        wanted: &[usize],
        build: &UInt32Array,
        probe: &UInt32Array,
    ) -> Result<Vec<ArrayRef>> {
        let s = &self.shared;
        wanted
            .iter()
            .map(|&j| {
                let left = j < s.left_width;
                let col = if left { j } else { j - s.left_width };
                let (source, indices) = if left == s.build_left {
                    (&self.index.batch, build)
                } else {
                    (&self.batch, probe)
                };
                Ok(take(source.column(col), indices, None)?)
            })
            .collect()
    }

    fn output(&self, build: &UInt32Array, probe: &UInt32Array) -> Result<RecordBatch> {
        let s = &self.shared;
        let columns = self.columns(&s.projection, build, probe)?;
        let options = RecordBatchOptions::new().with_row_count(Some(probe.len()));
        Ok(RecordBatch::try_new_with_options(
            s.schema.clone(),
            columns,
            &options,
        )?)
    }

    /// Applies the residual filter to candidate pairs.
    fn keep(
        &self,
        filter: &JoinFilter,
        build: UInt32Array,
        probe: UInt32Array,
    ) -> Result<(UInt32Array, UInt32Array)> {
        let s = &self.shared;
        let wanted: Vec<usize> = filter
            .column_indices()
            .iter()
            .map(|c| match c.side {
                JoinSide::Left => c.index,
                _ => s.left_width + c.index,
            })
            .collect();
        let columns = self.columns(&wanted, &build, &probe)?;
        let options = RecordBatchOptions::new().with_row_count(Some(probe.len()));
        let intermediate =
            RecordBatch::try_new_with_options(filter.schema().clone(), columns, &options)?;
        let mask = filter
            .expression()
            .evaluate(&intermediate)?
            .into_array(probe.len())?;
        let mask = mask
            .as_any()
            .downcast_ref::<arrow::array::BooleanArray>()
            .ok_or_else(|| DataFusionError::Internal("join filter is not boolean".into()))?;
        let build = filter_array(&build, mask)?;
        let probe = filter_array(&probe, mask)?;
        Ok((
            build.as_primitive::<UInt32Type>().clone(),
            probe.as_primitive::<UInt32Type>().clone(),
        ))
    }

    /// With no column wanted and nothing to filter (`count(*)` over an inner
    /// join), only the number of pairs matters: count in the trees.
    fn count_only(&self) -> bool {
        let s = &self.shared;
        s.projection.is_empty() && s.filter.is_none() && !s.outer
    }

    fn count(&mut self, e: &Evaluated) -> Result<Option<RecordBatch>> {
        let mut pairs = 0usize;
        for i in 0..self.batch.num_rows() {
            let Some((key, lo, hi)) = e.row(i) else {
                continue;
            };
            if let Some(tree) = self.index.tree(key) {
                pairs += tree.query_count(lo, hi);
            }
        }
        self.row = self.batch.num_rows();
        let options = RecordBatchOptions::new().with_row_count(Some(pairs));
        let batch =
            RecordBatch::try_new_with_options(self.shared.schema.clone(), vec![], &options)?;
        Ok((pairs > 0).then_some(batch))
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        let evaluated = match self.evaluated.take() {
            Some(Ok(e)) => e,
            Some(Err(e)) => return Err(e),
            None => return Ok(None),
        };
        if self.count_only() {
            return self.count(&evaluated);
        }
        let result = loop {
            if self.row >= self.batch.num_rows() {
                break self.unmatched();
            }
            let (build, probe) = self.candidates(&evaluated);
            let (build, probe) = (UInt32Array::from(build), UInt32Array::from(probe));
            let (build, probe) = match &self.shared.filter {
                Some(filter) => self.keep(filter, build, probe)?,
                None => (build, probe),
            };
            if probe.is_empty() {
                continue;
            }
            if self.shared.outer {
                for &i in probe.values().iter() {
                    self.matched[i as usize] = true;
                }
            }
            break self.output(&build, &probe).map(Some);
        };
        self.evaluated = Some(Ok(evaluated));
        result
    }

    /// Preserved probe rows without a match, with nulls on the build side (once).
    fn unmatched(&mut self) -> Result<Option<RecordBatch>> {
        if !self.shared.outer || self.done {
            return Ok(None);
        }
        self.done = true;
        let probe: Vec<u32> = (0..self.matched.len())
            .filter(|&i| !self.matched[i])
            .map(|i| i as u32)
            .collect();
        if probe.is_empty() {
            return Ok(None);
        }
        let build = UInt32Array::new_null(probe.len());
        self.output(&build, &UInt32Array::from(probe)).map(Some)
    }
}

impl Iterator for Cursor {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch().transpose()
    }
}
