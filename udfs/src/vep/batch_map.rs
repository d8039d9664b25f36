//! The plan shape `annotate_vep` and `annotate_vep_csq` share: a view over a
//! variants table whose every input batch becomes one output batch, computed
//! on the blocking pool (cache reads decompress and decode), partition for
//! partition with the input.

use std::fmt;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::{TableProvider, TableType};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::StreamExt;
use genoflight_catalog::scan::bounded_properties;

/// What turns one input batch into one output batch.
pub trait BatchMap: Send + Sync + 'static {
    /// The plan node's name, e.g. `AnnotateVepExec`.
    fn name(&self) -> &'static str;
    /// Its settings as EXPLAIN shows them after the name.
    fn settings(&self) -> String;
    /// The output for `batch`: the `projection` of the table's schema, as `projected`.
    fn map(
        &self,
        batch: &RecordBatch,
        projection: &[usize],
        projected: &SchemaRef,
    ) -> Result<RecordBatch>;
}

/// The table a function returns: `schema` over `input`, batch by batch.
pub struct MapTable {
    schema: SchemaRef,
    input: Arc<dyn TableProvider>,
    map: Arc<dyn BatchMap>,
}

impl MapTable {
    pub fn new(schema: SchemaRef, input: Arc<dyn TableProvider>, map: Arc<dyn BatchMap>) -> Self {
        MapTable { schema, input, map }
    }
}

impl fmt::Debug for MapTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} table: {}", self.map.name(), self.map.settings())
    }
}

#[async_trait]
impl TableProvider for MapTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = self.input.scan(state, None, &[], None).await?;
        let projection: Vec<usize> = projection
            .cloned()
            .unwrap_or_else(|| (0..self.schema.fields().len()).collect());
        let projected = Arc::new(self.schema.project(&projection)?);
        Ok(Arc::new(MapExec::new(
            input,
            projected,
            projection.into(),
            self.map.clone(),
        )))
    }
}

/// The execution node of a [`MapTable`].
pub struct MapExec {
    input: Arc<dyn ExecutionPlan>,
    projected: SchemaRef,
    projection: Arc<[usize]>,
    map: Arc<dyn BatchMap>,
    properties: Arc<PlanProperties>,
}

impl MapExec {
    fn new(
        input: Arc<dyn ExecutionPlan>,
        projected: SchemaRef,
        projection: Arc<[usize]>,
        map: Arc<dyn BatchMap>,
    ) -> MapExec {
        let partitions = input.properties().output_partitioning().partition_count();
        MapExec {
            properties: bounded_properties(&projected, partitions),
            input,
            projected,
            projection,
            map,
        }
    }
}

impl fmt::Debug for MapExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.map.name(), self.map.settings())
    }
}

impl DisplayAs for MapExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: {}", self.map.name(), self.map.settings())
    }
}

impl ExecutionPlan for MapExec {
    fn name(&self) -> &str {
        self.map.name()
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
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
        let Some(input) = children.into_iter().next() else {
            return Err(DataFusionError::Internal(format!(
                "{} takes one child",
                self.map.name()
            )));
        };
        Ok(Arc::new(MapExec::new(
            input,
            self.projected.clone(),
            self.projection.clone(),
            self.map.clone(),
        )))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        let (map, projection, projected) = (
            self.map.clone(),
            self.projection.clone(),
            self.projected.clone(),
        );
        let stream = input.then(move |batch| {
            let (map, projection, projected) = (map.clone(), projection.clone(), projected.clone());
            async move {
                let batch = batch?;
                tokio::task::spawn_blocking(move || map.map(&batch, &projection, &projected))
                    .await
                    .map_err(|e| DataFusionError::External(Box::new(e)))?
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.projected.clone(),
            stream,
        )))
    }
}
