//! The query engine: one DataFusion `SessionContext` holding the catalog and
//! functions; each query plans against a snapshot of its state.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::memory_pool::MemoryPool;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::execute_stream;
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
    /// An engine with its own runtime (memory pool) from `config.limits`.
    pub async fn new(config: &Config) -> Result<Engine> {
        let (runtime, _) = crate::limits::runtime_env(&config.limits)?;
        Engine::with_runtime(config, runtime).await
    }

    /// An engine on a shared runtime: a server keeps one memory pool across
    /// catalog reloads.
    pub async fn with_runtime(config: &Config, runtime: Arc<RuntimeEnv>) -> Result<Engine> {
        let mut session = SessionConfig::new()
            .with_default_catalog_and_schema(CATALOG, "public")
            .with_create_default_catalog_and_schema(false)
            .with_information_schema(true);
        // Classic string types end to end: older JDBC drivers cannot read views.
        let options = session.options_mut();
        options.execution.parquet.schema_force_view_types = false;
        options.sql_parser.map_string_types_to_utf8view = false;
        let state = SessionStateBuilder::new()
            .with_config(session)
            .with_runtime_env(runtime)
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
        self.execute_in(plan, None).await
    }

    /// Like [`Engine::execute`], with the query's memory reserved through
    /// `memory` (its share of the server's pool) when given.
    pub async fn execute_in(
        &self,
        plan: LogicalPlan,
        memory: Option<Arc<dyn MemoryPool>>,
    ) -> Result<SendableRecordBatchStream> {
        let schema = self.output_schema(&plan);
        let df = self.ctx.execute_logical_plan(plan).await?;
        let mut task = df.task_ctx();
        if let Some(pool) = memory {
            let mut runtime = (*task.runtime_env()).clone();
            runtime.memory_pool = pool;
            task = task.with_runtime(Arc::new(runtime));
        }
        let physical = df.create_physical_plan().await?;
        let stream = execute_stream(physical, Arc::new(task))?;
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
