//! genoflight-udfs: genomic SQL functions and the interval-join optimizer rule.
//!
//! `register` adds the table functions to a session; `physical_optimizer_rules`
//! is the session's physical optimizer (DataFusion's rules plus ours).

pub mod args;
pub mod depth;
pub mod interval;
pub mod sequence;
pub mod stats;
pub mod vep;

use std::sync::Arc;

use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_optimizer::optimizer::PhysicalOptimizer;
use datafusion::prelude::SessionContext;

/// Registers genoflight's table and scalar functions on `ctx`.
pub fn register(ctx: &SessionContext) {
    interval::functions::register(ctx);
    ctx.register_udtf("depth", Arc::new(depth::DepthFunction));
    ctx.register_udtf("sequence", Arc::new(sequence::SequenceFunction));
    vep::register(ctx);
    stats::register(ctx);
    register_upper_case_aliases(ctx);
}

/// Unquoted SQL identifiers are case-insensitive, and DataFusion folds them to lower case
/// except for table function names, which it matches exactly. Tools that re-generate SQL
/// upper-case function names (Superset through sqlglot sends `DEPTH('sample')`), so each
/// table function also answers to its upper-case name.
fn register_upper_case_aliases(ctx: &SessionContext) {
    let aliases: Vec<_> = ctx
        .state()
        .table_functions()
        .iter()
        .filter(|(name, _)| name.to_uppercase() != **name)
        .map(|(name, f)| (name.to_uppercase(), Arc::clone(f.function())))
        .collect();
    for (upper, function) in aliases {
        ctx.register_udtf(&upper, function);
    }
}

/// DataFusion's physical optimizer rules with genoflight's inserted: the
/// interval-join rule right after join selection, so that distribution and
/// ordering are then enforced around the joins it creates.
pub fn physical_optimizer_rules() -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
    let mut rules = PhysicalOptimizer::new().rules;
    let at = rules
        .iter()
        .position(|r| r.name() == "join_selection")
        .map_or(0, |i| i + 1);
    rules.insert(at, Arc::new(interval::IntervalJoinRule));
    rules
}
