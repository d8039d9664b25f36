//! genoflight-udfs: genomic SQL functions and the interval-join optimizer rule.
//!
//! `register` adds the table functions to a session; `physical_optimizer_rules`
//! are appended to DataFusion's own when the session is built.

pub mod args;

use std::sync::Arc;

use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::prelude::SessionContext;

/// Registers genoflight's table and scalar functions on `ctx`.
pub fn register(ctx: &SessionContext) {
    let _ = ctx;
}

/// Rules appended after DataFusion's physical optimizer rules.
pub fn physical_optimizer_rules() -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
    vec![]
}
