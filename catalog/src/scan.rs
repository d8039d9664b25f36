//! What genoflight's execution nodes share: their plan properties (bounded,
//! incremental, unordered), the blocking producer behind a file scan's stream,
//! how EXPLAIN shows a scan, and the `ExecutionPlan` methods every leaf scan shares.

use std::fmt;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::common::Result;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchReceiverStream;
use datafusion::physical_plan::{Partitioning, PlanProperties};

use crate::text::Region;

/// Bounded, incrementally emitted output over `partitions` partitions.
pub fn bounded_properties(schema: &SchemaRef, partitions: usize) -> Arc<PlanProperties> {
    Arc::new(PlanProperties::new(
        EquivalenceProperties::new(schema.clone()),
        Partitioning::UnknownPartitioning(partitions.max(1)),
        EmissionType::Incremental,
        Boundedness::Bounded,
    ))
}

/// Runs `produce` on a blocking thread, streaming what it sends. `send`
/// returns false once the consumer has gone (query done or cancelled): the
/// producer should stop then. An error it returns reaches the consumer.
pub fn blocking_stream<F>(schema: SchemaRef, produce: F) -> SendableRecordBatchStream
where
    F: FnOnce(&dyn Fn(Result<RecordBatch>) -> bool) -> Result<()> + Send + 'static,
{
    let mut builder = RecordBatchReceiverStream::builder(schema, 2);
    let tx = builder.tx();
    builder.spawn_blocking(move || {
        let send = |batch: Result<RecordBatch>| tx.blocking_send(batch).is_ok();
        if let Err(e) = produce(&send) {
            send(Err(e));
        }
        Ok(())
    });
    builder.build()
}

/// The EXPLAIN text of a scan: `Name: file=..., [partitions=N, ]projection=[...]`
/// and, when set, its regions (and whether an index serves them) and its limit.
#[allow(clippy::too_many_arguments)]
pub fn fmt_scan(
    f: &mut fmt::Formatter,
    name: &str,
    file: &str,
    partitions: Option<usize>,
    schema: &SchemaRef,
    regions: &[Region],
    indexed: bool,
    limit: Option<usize>,
) -> fmt::Result {
    let columns: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    write!(f, "{name}: file={file}, ")?;
    if let Some(n) = partitions {
        write!(f, "partitions={n}, ")?;
    }
    write!(f, "projection=[{}]", columns.join(", "))?;
    if !regions.is_empty() {
        let regions: Vec<String> = regions
            .iter()
            .map(|r| format!("{}:{}-{}", r.chrom, r.start, r.end))
            .collect();
        let how = if indexed { "index" } else { "scan" };
        write!(f, ", regions=[{}] via {how}", regions.join(", "))?;
    }
    if let Some(limit) = limit {
        write!(f, ", limit={limit}")?;
    }
    Ok(())
}

/// The `ExecutionPlan` methods every leaf scan writes the same way: it has no
/// children and no expressions, and keeps its plan properties in a
/// `properties` field. Used inside `impl ExecutionPlan for X { ... }` beside
/// the node's own `name` and `execute`.
#[macro_export]
macro_rules! leaf_plan_methods {
    () => {
        fn properties(&self) -> &::std::sync::Arc<::datafusion::physical_plan::PlanProperties> {
            &self.properties
        }

        fn children(
            &self,
        ) -> ::std::vec::Vec<&::std::sync::Arc<dyn ::datafusion::physical_plan::ExecutionPlan>> {
            ::std::vec::Vec::new()
        }

        fn apply_expressions(
            &self,
            _f: &mut dyn FnMut(
                &::std::sync::Arc<dyn ::datafusion::physical_expr::PhysicalExpr>,
            ) -> ::datafusion::common::Result<
                ::datafusion::common::tree_node::TreeNodeRecursion,
            >,
        ) -> ::datafusion::common::Result<::datafusion::common::tree_node::TreeNodeRecursion> {
            Ok(::datafusion::common::tree_node::TreeNodeRecursion::Continue)
        }

        fn with_new_children(
            self: ::std::sync::Arc<Self>,
            _children: ::std::vec::Vec<
                ::std::sync::Arc<dyn ::datafusion::physical_plan::ExecutionPlan>,
            >,
        ) -> ::datafusion::common::Result<
            ::std::sync::Arc<dyn ::datafusion::physical_plan::ExecutionPlan>,
        > {
            Ok(self)
        }
    };
}
