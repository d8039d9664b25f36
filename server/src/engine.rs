//! The query engine: one DataFusion `SessionContext` holding the catalog and
//! functions; each query plans against a snapshot of its state.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};
use futures::StreamExt;
use genoflight_catalog::{CATALOG, CatalogReport, build_catalog};

use crate::config::Config;
use crate::readonly::{number_placeholders, parse_read_only};
use crate::wire::{to_wire, wire_schema};

pub struct Engine {
    ctx: SessionContext,
    report: CatalogReport,
    pass_view_types: bool,
}

impl Engine {
    pub async fn new(config: &Config) -> Result<Engine> {
        let mut session = SessionConfig::new()
            .with_default_catalog_and_schema(CATALOG, "public")
            .with_create_default_catalog_and_schema(false)
            .with_information_schema(true);
        // Classic string types end to end: older JDBC drivers cannot read views.
        let options = session.options_mut();
        options.execution.parquet.schema_force_view_types = false;
        options.sql_parser.map_string_types_to_utf8view = false;
        let mut runtime = RuntimeEnvBuilder::new();
        if let Some(bytes) = config.limits.memory_bytes {
            runtime = runtime.with_memory_limit(bytes, 1.0);
        }
        let state = SessionStateBuilder::new()
            .with_config(session)
            .with_runtime_env(runtime.build_arc()?)
            .with_default_features()
            .with_physical_optimizer_rules(genoflight_udfs::physical_optimizer_rules());
        let ctx = SessionContext::new_with_state(state.build());
        let report = build_catalog(&ctx, &config.catalog).await?;
        genoflight_udfs::register(&ctx);
        Ok(Engine {
            ctx,
            report,
            pass_view_types: config.server.pass_view_types,
        })
    }

    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    pub fn report(&self) -> &CatalogReport {
        &self.report
    }

    /// Plans one client statement; anything but a read-only query is refused.
    pub async fn plan(&self, sql: &str) -> Result<LogicalPlan> {
        let sql = number_placeholders(sql)?;
        let statement = parse_read_only(&sql)?;
        let state = self.ctx.state();
        let plan = state.statement_to_plan(statement).await?;
        SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false)
            .verify_plan(&plan)?;
        Ok(plan)
    }

    /// The schema a client receives for `plan`.
    pub fn output_schema(&self, plan: &LogicalPlan) -> SchemaRef {
        let schema = plan.schema().as_arrow();
        if self.pass_view_types {
            Arc::new(schema.clone())
        } else {
            wire_schema(schema)
        }
    }

    /// Runs `plan`, streaming batches in the client schema as they are produced.
    pub async fn execute(&self, plan: LogicalPlan) -> Result<SendableRecordBatchStream> {
        let schema = self.output_schema(&plan);
        let df = self.ctx.execute_logical_plan(plan).await?;
        let stream = df.execute_stream().await?;
        let target = schema.clone();
        let converted = stream.map(move |batch| batch.and_then(|b| to_wire(b, &target)));
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, converted)))
    }

    /// Plans and runs `sql` (the in-process path: `genoflight sql`).
    pub async fn query(&self, sql: &str) -> Result<SendableRecordBatchStream> {
        let plan = self.plan(sql).await?;
        if !plan.get_parameter_types()?.is_empty() {
            return Err(DataFusionError::Plan(
                "the statement has parameters but none were bound".into(),
            ));
        }
        self.execute(plan).await
    }
}
