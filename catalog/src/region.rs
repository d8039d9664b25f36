//! Turning SQL predicates on `chrom`/`start`/`end` into genomic regions that
//! a provider can hand to its index. Pushdown is inexact: DataFusion still
//! applies the original predicates, so a region only has to be a superset.

use datafusion::common::{Column, ScalarValue};
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator, TableProviderFilterPushDown};

use crate::text::Region;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pos {
    Start,
    End,
}

pub(crate) fn column(e: &Expr) -> Option<&Column> {
    match e {
        Expr::Column(c) => Some(c),
        Expr::Cast(c) => column(&c.expr),
        _ => None,
    }
}

pub(crate) fn int(e: &Expr) -> Option<i64> {
    match e {
        Expr::Literal(v, _) => match v {
            ScalarValue::Int8(Some(x)) => Some(*x as i64),
            ScalarValue::Int16(Some(x)) => Some(*x as i64),
            ScalarValue::Int32(Some(x)) => Some(*x as i64),
            ScalarValue::Int64(Some(x)) => Some(*x),
            ScalarValue::UInt8(Some(x)) => Some(*x as i64),
            ScalarValue::UInt16(Some(x)) => Some(*x as i64),
            ScalarValue::UInt32(Some(x)) => Some(*x as i64),
            ScalarValue::UInt64(Some(x)) => i64::try_from(*x).ok(),
            _ => None,
        },
        Expr::Cast(c) => int(&c.expr),
        _ => None,
    }
}

fn string(e: &Expr) -> Option<String> {
    match e {
        Expr::Literal(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)),
            _,
        ) => Some(s.clone()),
        Expr::Cast(c) => string(&c.expr),
        _ => None,
    }
}

/// Region bounds gathered from conjunctive predicates, in 1-based closed POS terms.
#[derive(Debug, Default)]
pub struct RegionFilter {
    chroms: Option<Vec<String>>,
    lo: Option<i64>,
    hi: Option<i64>,
}

impl RegionFilter {
    /// Whether `e` is a predicate this filter understands (so pushdown is worth it).
    pub fn understands(e: &Expr) -> bool {
        let mut probe = RegionFilter::default();
        probe.add(e, false)
    }

    /// A provider's answer to `supports_filters_pushdown`: inexact for the
    /// predicates that become regions, unsupported for the rest.
    pub fn pushdown(filters: &[&Expr]) -> Vec<TableProviderFilterPushDown> {
        filters
            .iter()
            .map(|e| {
                if Self::understands(e) {
                    TableProviderFilterPushDown::Inexact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect()
    }

    pub fn from_filters(filters: &[Expr], zero_based: bool) -> RegionFilter {
        let mut f = RegionFilter::default();
        for e in filters {
            f.add(e, zero_based);
        }
        f
    }

    /// The regions to scan; empty means the whole file.
    pub fn regions(&self) -> Vec<Region> {
        let Some(chroms) = &self.chroms else {
            return vec![];
        };
        let (start, end) = (self.lo.unwrap_or(1).max(1), self.hi.unwrap_or(i64::MAX / 2));
        chroms
            .iter()
            .map(|c| Region {
                chrom: c.clone(),
                start,
                end,
            })
            .collect()
    }

    fn lower(&mut self, v: i64) {
        self.lo = Some(self.lo.map_or(v, |lo| lo.max(v)));
    }

    fn upper(&mut self, v: i64) {
        self.hi = Some(self.hi.map_or(v, |hi| hi.min(v)));
    }

    /// A bound on `pos` (`start` or `end` column) in table coordinates.
    fn bound(&mut self, pos: Pos, op: Operator, v: i64, zero_based: bool) -> bool {
        // A 0-based start is POS - 1; a 0-based exclusive end equals the 1-based inclusive end.
        let v = if pos == Pos::Start && zero_based {
            v + 1
        } else {
            v
        };
        match op {
            Operator::Eq => {
                self.lower(v);
                self.upper(v);
            }
            Operator::GtEq => self.lower(v),
            Operator::Gt => self.lower(v + 1),
            Operator::LtEq => self.upper(v),
            Operator::Lt => self.upper(v - 1),
            _ => return false,
        }
        true
    }

    fn add(&mut self, e: &Expr, zero_based: bool) -> bool {
        match e {
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                if *op == Operator::And {
                    let a = self.add(left, zero_based);
                    let b = self.add(right, zero_based);
                    return a || b;
                }
                let (col, lit, op) = match (column(left), column(right)) {
                    (Some(c), None) => (c, right.as_ref(), *op),
                    (None, Some(c)) => match op.swap() {
                        Some(swapped) => (c, left.as_ref(), swapped),
                        None => return false,
                    },
                    _ => return false,
                };
                match (col.name.as_str(), op) {
                    ("chrom", Operator::Eq) => match string(lit) {
                        Some(s) => {
                            self.chroms = Some(vec![s]);
                            true
                        }
                        None => false,
                    },
                    ("start" | "end", _) => match int(lit) {
                        Some(v) => {
                            let pos = if col.name == "start" {
                                Pos::Start
                            } else {
                                Pos::End
                            };
                            self.bound(pos, op, v, zero_based)
                        }
                        None => false,
                    },
                    _ => false,
                }
            }
            Expr::InList(list) if !list.negated => {
                if column(&list.expr).is_none_or(|c| c.name != "chrom") {
                    return false;
                }
                let values: Option<Vec<String>> = list.list.iter().map(string).collect();
                match values {
                    Some(v) => {
                        self.chroms = Some(v);
                        true
                    }
                    None => false,
                }
            }
            Expr::Between(Between {
                expr,
                negated: false,
                low,
                high,
            }) => {
                let Some(c) = column(expr) else { return false };
                let pos = match c.name.as_str() {
                    "start" => Pos::Start,
                    "end" => Pos::End,
                    _ => return false,
                };
                match (int(low), int(high)) {
                    (Some(l), Some(h)) => {
                        self.bound(pos, Operator::GtEq, l, zero_based);
                        self.bound(pos, Operator::LtEq, h, zero_based)
                    }
                    _ => false,
                }
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::{col, lit};

    #[test]
    fn chrom_and_bounds_make_a_region() {
        let filters = vec![
            col("chrom").eq(lit("22")),
            col("start").gt_eq(lit(100i64)),
            col("start").lt(lit(200i64)),
        ];
        let r = RegionFilter::from_filters(&filters, false).regions();
        assert_eq!(
            r,
            vec![Region {
                chrom: "22".into(),
                start: 100,
                end: 199
            }]
        );
        let r0 = RegionFilter::from_filters(&filters, true).regions();
        assert_eq!(
            r0,
            vec![Region {
                chrom: "22".into(),
                start: 101,
                end: 200
            }]
        );
    }

    #[test]
    fn without_chrom_there_is_no_region() {
        let filters = vec![col("start").between(lit(1i64), lit(5i64))];
        assert!(
            RegionFilter::from_filters(&filters, false)
                .regions()
                .is_empty()
        );
        assert!(RegionFilter::understands(&filters[0]));
        assert!(!RegionFilter::understands(&col("qual").gt(lit(3.0))));
    }
}
