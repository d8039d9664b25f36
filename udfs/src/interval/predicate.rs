//! Recognising an interval-overlap condition in a join filter.
//!
//! An overlap is two inequalities between the sides, `L_lo ≤ R_hi` and
//! `R_lo ≤ L_hi` (either strict), in any order or orientation: the 1-based
//! `a.start <= b.end AND a.end >= b.start`, the 0-based `a.start < b.end AND
//! a.end > b.start`, and `a.pos BETWEEN b.start AND b.end` (planned as two
//! comparisons) all qualify. Each side's interval becomes the closed integer
//! interval `[lo, hi - strict]`, so a tree of closed intervals answers exactly
//! the predicate as written; other conjuncts stay as a residual filter.

use std::sync::Arc;

use datafusion::common::JoinSide;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::logical_expr::Operator;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{BinaryExpr, Column};
use datafusion::physical_expr::utils::{collect_columns, split_conjunction};
use datafusion::physical_plan::joins::utils::JoinFilter;

/// One side's interval: expressions over that side's input schema.
#[derive(Debug, Clone)]
pub struct SideBounds {
    pub lo: Arc<dyn PhysicalExpr>,
    pub hi: Arc<dyn PhysicalExpr>,
    /// `hi` came from a strict comparison: the closed interval ends at `hi - 1`.
    pub hi_strict: bool,
}

impl SideBounds {
    /// Both bounds are plain columns (not converted by an expression).
    pub fn plain_columns(&self) -> bool {
        let is_col = |e: &Arc<dyn PhysicalExpr>| e.downcast_ref::<Column>().is_some();
        is_col(&self.lo) && is_col(&self.hi)
    }
}

#[derive(Debug, Clone)]
pub struct Overlap {
    pub left: SideBounds,
    pub right: SideBounds,
    /// Conjuncts beyond the two inequalities: the filter must still be applied.
    pub residual: bool,
}

/// One `small (<|<=) big` comparison, each operand on one side only.
struct Comparison {
    small: Arc<dyn PhysicalExpr>,
    small_side: JoinSide,
    big: Arc<dyn PhysicalExpr>,
    strict: bool,
}

/// Finds the overlap in `filter`, or `None` when it is not an interval join.
pub fn find_overlap(filter: &JoinFilter) -> Option<Overlap> {
    let conjuncts = split_conjunction(filter.expression());
    let mut left_lo: Option<Comparison> = None; // L_lo ≤ R_hi
    let mut right_lo: Option<Comparison> = None; // R_lo ≤ L_hi
    let mut used = 0;
    for conjunct in &conjuncts {
        let Some(cmp) = comparison(filter, conjunct) else {
            continue;
        };
        let slot = match cmp.small_side {
            JoinSide::Left => &mut left_lo,
            _ => &mut right_lo,
        };
        if slot.is_none() {
            *slot = Some(cmp);
            used += 1;
        }
    }
    let (a, b) = (left_lo?, right_lo?);
    Some(Overlap {
        left: SideBounds {
            lo: a.small,
            hi: b.big,
            hi_strict: b.strict,
        },
        right: SideBounds {
            lo: b.small,
            hi: a.big,
            hi_strict: a.strict,
        },
        residual: conjuncts.len() > used,
    })
}

fn comparison(filter: &JoinFilter, expr: &Arc<dyn PhysicalExpr>) -> Option<Comparison> {
    let binary = expr.downcast_ref::<BinaryExpr>()?;
    let (small, big, strict) = match binary.op() {
        Operator::Lt => (binary.left(), binary.right(), true),
        Operator::LtEq => (binary.left(), binary.right(), false),
        Operator::Gt => (binary.right(), binary.left(), true),
        Operator::GtEq => (binary.right(), binary.left(), false),
        _ => return None,
    };
    let schema = filter.schema();
    let integer = |e: &Arc<dyn PhysicalExpr>| e.data_type(schema).is_ok_and(|t| t.is_integer());
    if !integer(small) || !integer(big) {
        return None;
    }
    let (small_side, small) = on_one_side(filter, small)?;
    let (big_side, big) = on_one_side(filter, big)?;
    (small_side != big_side).then_some(Comparison {
        small,
        small_side,
        big,
        strict,
    })
}

/// The side all of `expr`'s columns come from, and `expr` rewritten over that
/// side's input schema; `None` when it mixes sides or reads no column.
fn on_one_side(
    filter: &JoinFilter,
    expr: &Arc<dyn PhysicalExpr>,
) -> Option<(JoinSide, Arc<dyn PhysicalExpr>)> {
    let indices = filter.column_indices();
    let mut sides = collect_columns(expr)
        .into_iter()
        .map(|c| indices[c.index()].side);
    let side = sides.next()?;
    if sides.any(|s| s != side) {
        return None;
    }
    let rewritten = Arc::clone(expr)
        .transform_up(|e| {
            Ok(match e.downcast_ref::<Column>() {
                Some(c) => {
                    Transformed::yes(Arc::new(Column::new(c.name(), indices[c.index()].index)) as _)
                }
                None => Transformed::no(e),
            })
        })
        .ok()?
        .data;
    Some((side, rewritten))
}
