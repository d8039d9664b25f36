//! The physical optimizer rule that turns hash and nested-loop joins with an
//! interval-overlap condition into `IntervalJoinExec`.
//!
//! It runs right after DataFusion's JoinSelection, before EnsureRequirements,
//! so repartitioning and sorting are arranged around the new node as for any
//! other.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{JoinType, NullEquality, Result, plan_err};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::joins::utils::{JoinFilter, build_join_schema};
use datafusion::physical_plan::joins::{HashJoinExec, NestedLoopJoinExec};
use genoflight_catalog::coords::declared_zero_based;

use super::exec::{IntervalJoinExec, JoinOn};
use super::predicate::{Overlap, find_overlap};

#[derive(Debug, Default)]
pub struct IntervalJoinRule;

impl PhysicalOptimizerRule for IntervalJoinRule {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            Ok(match rewrite(&node)? {
                Some(new) => Transformed::yes(new),
                None => Transformed::no(node),
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "interval_join"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

fn rewrite(node: &Arc<dyn ExecutionPlan>) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    if let Some(join) = node.downcast_ref::<HashJoinExec>() {
        if join.null_equality() != NullEquality::NullEqualsNothing || join.fetch().is_some() {
            return Ok(None);
        }
        let projection = join.projection.as_ref().map(|p| p.to_vec());
        return interval_join(
            join.left(),
            join.right(),
            join.on().to_vec(),
            join.filter(),
            *join.join_type(),
            projection,
        );
    }
    if let Some(join) = node.downcast_ref::<NestedLoopJoinExec>() {
        let projection = join.projection().as_ref().map(|p| p.to_vec());
        return interval_join(
            join.left(),
            join.right(),
            vec![],
            join.filter(),
            *join.join_type(),
            projection,
        );
    }
    Ok(None)
}

fn interval_join(
    left: &Arc<dyn ExecutionPlan>,
    right: &Arc<dyn ExecutionPlan>,
    on: JoinOn,
    filter: Option<&JoinFilter>,
    join_type: JoinType,
    projection: Option<Vec<usize>>,
) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    if !matches!(
        join_type,
        JoinType::Inner | JoinType::Left | JoinType::Right
    ) {
        return Ok(None);
    }
    let Some(filter) = filter else {
        return Ok(None);
    };
    let Some(overlap) = find_overlap(filter) else {
        return Ok(None);
    };
    check_coordinates(left, right, &overlap)?;
    let join_schema = Arc::new(build_join_schema(&left.schema(), &right.schema(), &join_type).0);
    let exec = IntervalJoinExec::try_new(
        left.clone(),
        right.clone(),
        on,
        filter.clone(),
        overlap,
        join_type,
        join_schema,
        projection,
    )?;
    Ok(Some(Arc::new(exec)))
}

/// Joining a 1-based closed table to a 0-based half-open one column to column
/// compares unlike coordinates: refuse unless the query converts a side.
fn check_coordinates(
    left: &Arc<dyn ExecutionPlan>,
    right: &Arc<dyn ExecutionPlan>,
    overlap: &Overlap,
) -> Result<()> {
    let (l, r) = (left.schema(), right.schema());
    let (Some(lz), Some(rz)) = (
        declared_zero_based(l.metadata()),
        declared_zero_based(r.metadata()),
    ) else {
        return Ok(());
    };
    if lz == rz || !overlap.left.plain_columns() || !overlap.right.plain_columns() {
        return Ok(());
    }
    let name = |z: bool| {
        if z {
            "0-based half-open"
        } else {
            "1-based closed"
        }
    };
    plan_err!(
        "interval join between tables in different coordinate systems: the left side is {}, \
         the right side is {}; convert one side explicitly (e.g. `b.start + 1` to go from \
         0-based to 1-based) or declare both tables with the same `zero_based` setting",
        name(lz),
        name(rz)
    )
}
