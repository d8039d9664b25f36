//! `vcf_stats('<vcf table>')`: the table function, its provider and its plan
//! node (one partition, one batch once the whole file is counted).

use std::any::Any;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{Result, plan_err};
use datafusion::datasource::TableType;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::stream::RecordBatchReceiverStream;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use genoflight_catalog::scan::bounded_properties;
use genoflight_catalog::text::TextTable;

use super::{rows, scan};
use crate::args::{at_most, table_arg};

pub const NAME: &str = "vcf_stats";

#[derive(Debug, Default)]
pub struct VcfStatsFunction;

impl TableFunctionImpl for VcfStatsFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        at_most(NAME, exprs, 1, "vcf_stats('<vcf table>')")?;
        let (name, provider) = table_arg(NAME, args.session(), exprs, 0)?;
        let any: &dyn Any = provider.as_ref();
        // A VCF's genotypes companion reads the same file: either names it.
        let Some(table) = any
            .downcast_ref::<TextTable>()
            .filter(|t| t.exec_name() == "VcfExec")
        else {
            let hint = if provider.schema().fields().is_empty() {
                " (or it could not be opened: SELECT from it to see why)"
            } else {
                ""
            };
            return plan_err!("{NAME}(): table '{name}' is not a VCF table{hint}");
        };
        let source = table.source();
        Ok(Arc::new(VcfStatsTable {
            path: source.path.clone(),
            display: source.display.clone(),
        }))
    }
}

#[derive(Debug)]
struct VcfStatsTable {
    path: PathBuf,
    display: String,
}

#[async_trait]
impl TableProvider for VcfStatsTable {
    fn schema(&self) -> SchemaRef {
        rows::schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let schema = match projection {
            Some(p) => Arc::new(rows::schema().project(p)?),
            None => rows::schema(),
        };
        Ok(Arc::new(VcfStatsExec {
            path: self.path.clone(),
            display: self.display.clone(),
            projection: projection.cloned(),
            threads: state.config().target_partitions(),
            properties: bounded_properties(&schema, 1),
            schema,
        }))
    }
}

#[derive(Debug)]
struct VcfStatsExec {
    path: PathBuf,
    display: String,
    projection: Option<Vec<usize>>,
    threads: usize,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl DisplayAs for VcfStatsExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "VcfStatsExec: file={}, threads={}",
            self.display, self.threads
        )
    }
}

impl ExecutionPlan for VcfStatsExec {
    fn name(&self) -> &str {
        "VcfStatsExec"
    }

    genoflight_catalog::leaf_plan_methods!();

    fn execute(
        &self,
        _partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let path = self.path.clone();
        let projection = self.projection.clone();
        let threads = self.threads;
        let mut builder = RecordBatchReceiverStream::builder(self.schema.clone(), 1);
        let tx = builder.tx();
        builder.spawn_blocking(move || {
            // A query cancelled (or a client gone) closes the channel: stop reading then.
            let gone = || tx.is_closed();
            let result = scan::count(&path, threads, &gone).and_then(|(stats, samples)| {
                let batch = rows::batch(&stats, &samples)?;
                Ok(match &projection {
                    Some(p) => batch.project(p)?,
                    None => batch,
                })
            });
            // An error after the consumer left has nobody to go to.
            let _ = tx.blocking_send(result);
            Ok(())
        });
        Ok(builder.build())
    }
}
