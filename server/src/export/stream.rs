//! Running the export query: its batches in file order (partitions read in
//! parallel, delivered one after the other), or re-run sorted by contig
//! order and start when they are not.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, UInt64Array};
use arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::{ColumnarValue, LogicalPlan, ScalarUDF, Volatility, create_udf};
use datafusion::physical_plan::ExecutionPlan;
use futures::stream::{self, BoxStream};
use futures::{StreamExt, TryStreamExt};

use crate::engine::Engine;

/// Batches the plan's partitions run ahead of the writer, each.
const AHEAD: usize = 4;

/// The SQL UDF the sorted re-run orders by.
pub const RANK_UDF: &str = "genoflight_export_contig_rank";

pub type Batches = BoxStream<'static, Result<RecordBatch>>;

/// Plans `sql` for export: round-robin repartitioning off, so a scan's
/// partitions keep the file's order.
pub async fn plan(engine: &Engine, sql: &str) -> Result<LogicalPlan> {
    {
        let state = engine.context().state_ref();
        let mut state = state.write();
        state
            .config_mut()
            .options_mut()
            .optimizer
            .enable_round_robin_repartition = false;
    }
    let plan = engine.plan(sql).await?;
    if !plan.get_parameter_types()?.is_empty() {
        return Err(DataFusionError::Plan(
            "the statement has parameters (`?`/`$1`); export runs it as given, with values in place"
                .into(),
        ));
    }
    Ok(plan)
}

/// Executes `plan`; partition 0's batches, then partition 1's, ... while all
/// of them run (each at most `AHEAD` batches ahead).
pub async fn ordered(engine: &Engine, plan: LogicalPlan) -> Result<(SchemaRef, Batches)> {
    let df = engine.context().execute_logical_plan(plan).await?;
    let task = Arc::new(df.task_ctx());
    let physical: Arc<dyn ExecutionPlan> = df.create_physical_plan().await?;
    let schema = physical.schema();
    let partitions = physical
        .properties()
        .output_partitioning()
        .partition_count();
    let mut receivers = Vec::with_capacity(partitions);
    for i in 0..partitions {
        let mut batches = physical.execute(i, task.clone())?;
        let (tx, rx) = tokio::sync::mpsc::channel(AHEAD);
        tokio::spawn(async move {
            while let Some(batch) = batches.next().await {
                let failed = batch.is_err();
                if tx.send(batch).await.is_err() || failed {
                    return;
                }
            }
        });
        receivers.push(tokio_stream::wrappers::ReceiverStream::new(rx));
    }
    Ok((schema, stream::iter(receivers).flatten().boxed()))
}

/// Executes `sql` wrapped so its rows come sorted by `contigs` order (then
/// other contigs by name, unplaced rows last), then start.
pub async fn sorted(
    engine: &Engine,
    sql: &str,
    contigs: &[String],
) -> Result<(SchemaRef, Batches)> {
    engine.context().register_udf(rank_udf(contigs));
    let wrapped = format!(
        "SELECT * FROM ({}) AS genoflight_export ORDER BY {RANK_UDF}(chrom) NULLS LAST, \
         chrom NULLS LAST, start NULLS LAST",
        strip_semicolon(sql)
    );
    let plan = plan(engine, &wrapped).await?;
    ordered(engine, plan).await
}

/// Runs `select` (a query over the export's rows, `{}` standing for them) and
/// collects its (small) result: the contigs of a result without a source header.
pub async fn aggregate(engine: &Engine, sql: &str, select: &str) -> Result<Vec<RecordBatch>> {
    let query = select.replace(
        "{}",
        &format!("({}) AS genoflight_export", strip_semicolon(sql)),
    );
    let plan = plan(engine, &query).await?;
    let (_, batches) = ordered(engine, plan).await?;
    batches.try_collect().await
}

fn strip_semicolon(sql: &str) -> &str {
    sql.trim().trim_end_matches(';').trim_end()
}

/// `genoflight_export_contig_rank(chrom)`: the contig's index in `contigs`,
/// past the end for others, NULL for NULL.
fn rank_udf(contigs: &[String]) -> ScalarUDF {
    let ranks: Arc<HashMap<String, u64>> = Arc::new(
        contigs
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), i as u64))
            .collect(),
    );
    let other = contigs.len() as u64;
    create_udf(
        RANK_UDF,
        vec![DataType::Utf8],
        DataType::UInt64,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let names = arrow::compute::cast(&arrays[0], &DataType::Utf8)?;
            let names = names
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
                .expect("cast to Utf8");
            let ranks: UInt64Array = names
                .iter()
                .map(|n| n.map(|n| ranks.get(n).copied().unwrap_or(other)))
                .collect();
            Ok(ColumnarValue::Array(Arc::new(ranks) as ArrayRef))
        }),
    )
}
