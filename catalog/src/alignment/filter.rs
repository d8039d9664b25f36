//! Predicates on `mapping_quality` and `flags` that the scan checks on the
//! undecoded record, before any column is built: `mapping_quality >= 30`,
//! `flags & 4 = 0`, `flags & 2 = 2`, `flags & 16 != 0`. Pushdown is inexact
//! (DataFusion still applies the SQL predicate), so this only has to keep a
//! superset of the rows the query wants.

use std::fmt;

use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator};

use crate::region::{column, int};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordFilter {
    min_mapq: Option<i64>,
    max_mapq: Option<i64>,
    /// Flag bits that must all be set / must all be clear.
    all_set: u16,
    none_set: u16,
}

impl RecordFilter {
    /// Whether `e` narrows the records this filter can check early.
    pub fn understands(e: &Expr) -> bool {
        RecordFilter::default().add(e)
    }

    pub fn from_filters(filters: &[Expr]) -> RecordFilter {
        let mut f = RecordFilter::default();
        for e in filters {
            f.add(e);
        }
        f
    }

    pub fn is_empty(&self) -> bool {
        *self == RecordFilter::default()
    }

    /// Whether a record with these flags and this MAPQ (as the column shows it) may match.
    pub fn keeps(&self, flags: u16, mapq: i64) -> bool {
        flags & self.all_set == self.all_set
            && flags & self.none_set == 0
            && self.min_mapq.is_none_or(|m| mapq >= m)
            && self.max_mapq.is_none_or(|m| mapq <= m)
    }

    fn add(&mut self, e: &Expr) -> bool {
        match e {
            Expr::BinaryExpr(BinaryExpr {
                left,
                op: Operator::And,
                right,
            }) => {
                let a = self.add(left);
                let b = self.add(right);
                a || b
            }
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                let (side, v, op) = match (int(left), int(right)) {
                    (None, Some(v)) => (left.as_ref(), v, *op),
                    (Some(v), None) => match op.swap() {
                        Some(op) => (right.as_ref(), v, op),
                        None => return false,
                    },
                    _ => return false,
                };
                if column(side).is_some_and(|c| c.name == "mapping_quality") {
                    return self.mapq(op, v);
                }
                match masked_flags(side) {
                    Some(mask) => self.flags(mask, op, v),
                    None => false,
                }
            }
            Expr::Between(Between {
                expr,
                negated: false,
                low,
                high,
            }) if column(expr).is_some_and(|c| c.name == "mapping_quality") => {
                match (int(low), int(high)) {
                    (Some(l), Some(h)) => {
                        self.mapq(Operator::GtEq, l) && self.mapq(Operator::LtEq, h)
                    }
                    _ => false,
                }
            }
            _ => false,
        }
    }

    fn mapq(&mut self, op: Operator, v: i64) -> bool {
        let mut lower = |v: i64| self.min_mapq = Some(self.min_mapq.map_or(v, |m| m.max(v)));
        match op {
            Operator::GtEq => lower(v),
            Operator::Gt => lower(v + 1),
            Operator::Eq => {
                lower(v);
                self.max_mapq = Some(self.max_mapq.map_or(v, |m| m.min(v)));
            }
            Operator::LtEq => self.max_mapq = Some(self.max_mapq.map_or(v, |m| m.min(v))),
            Operator::Lt => self.max_mapq = Some(self.max_mapq.map_or(v - 1, |m| m.min(v - 1))),
            _ => return false,
        }
        true
    }

    /// `flags & mask <op> v`.
    fn flags(&mut self, mask: u16, op: Operator, v: i64) -> bool {
        let Ok(v) = u16::try_from(v) else {
            return false;
        };
        match op {
            // Only a value inside the mask can be equal; anything else is left to DataFusion.
            Operator::Eq if v & !mask == 0 => {
                self.all_set |= v;
                self.none_set |= mask & !v;
            }
            // "Some bit of the mask is set" is a single condition only for a single bit.
            Operator::NotEq | Operator::Gt if v == 0 && mask.is_power_of_two() => {
                self.all_set |= mask;
            }
            _ => return false,
        }
        true
    }
}

/// The mask of `flags & mask` (either order).
fn masked_flags(e: &Expr) -> Option<u16> {
    let Expr::BinaryExpr(BinaryExpr {
        left,
        op: Operator::BitwiseAnd,
        right,
    }) = e
    else {
        return None;
    };
    let (col, mask) = match (column(left), int(right)) {
        (Some(c), Some(m)) => (c, m),
        _ => (column(right)?, int(left)?),
    };
    (col.name == "flags").then(|| u16::try_from(mask).ok())?
}

/// As EXPLAIN shows it: `mapping_quality >= 30, flags & 4 = 0`.
impl fmt::Display for RecordFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        match (self.min_mapq, self.max_mapq) {
            (Some(a), Some(b)) if a == b => parts.push(format!("mapping_quality = {a}")),
            (a, b) => {
                parts.extend(a.map(|a| format!("mapping_quality >= {a}")));
                parts.extend(b.map(|b| format!("mapping_quality <= {b}")));
            }
        }
        if self.all_set != 0 || self.none_set != 0 {
            let mask = self.all_set | self.none_set;
            parts.push(format!("flags & {mask} = {}", self.all_set));
        }
        write!(f, "{}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::{col, lit};

    fn filter(exprs: Vec<Expr>) -> RecordFilter {
        RecordFilter::from_filters(&exprs)
    }

    #[test]
    fn mapq_bounds() {
        let f = filter(vec![col("mapping_quality").gt_eq(lit(30))]);
        assert!(f.keeps(0, 30) && f.keeps(0, 255) && !f.keeps(0, 29));
        let f = filter(vec![lit(10).lt(col("mapping_quality"))]);
        assert!(f.keeps(0, 11) && !f.keeps(0, 10));
        let f = filter(vec![col("mapping_quality").between(lit(5), lit(7))]);
        assert!(f.keeps(0, 5) && f.keeps(0, 7) && !f.keeps(0, 8) && !f.keeps(0, 4));
        assert_eq!(f.to_string(), "mapping_quality >= 5, mapping_quality <= 7");
    }

    #[test]
    fn flag_masks() {
        let unmapped_clear = (col("flags") & lit(4)).eq(lit(0));
        let f = filter(vec![unmapped_clear]);
        assert!(f.keeps(0, 0) && f.keeps(16, 0) && !f.keeps(4, 0) && !f.keeps(4 | 16, 0));
        let paired = (lit(1) & col("flags")).eq(lit(1));
        let reverse = (col("flags") & lit(16)).not_eq(lit(0));
        let f = filter(vec![paired, reverse]);
        assert!(f.keeps(17, 0) && !f.keeps(16, 0) && !f.keeps(1, 0));
        assert_eq!(f.to_string(), "flags & 17 = 17");
        // 0x900 "is secondary or supplementary": no single condition, left to DataFusion.
        assert!(!RecordFilter::understands(
            &(col("flags") & lit(0x900)).not_eq(lit(0))
        ));
        // A value outside its mask never matches; DataFusion says so, not the scan.
        assert!(!RecordFilter::understands(
            &(col("flags") & lit(4)).eq(lit(8))
        ));
        assert!(!RecordFilter::understands(&col("flags").eq(lit(4))));
    }
}
