//! A table argument of an interval function: its `chrom`/`start`/`end`
//! columns, its coordinate system, and its rows as closed intervals.

use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DataFusionError, Result, plan_err};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use genoflight_catalog::coords::declared_zero_based;

use crate::args::table_arg;

#[derive(Debug, Clone)]
pub struct IntervalInput {
    pub name: String,
    pub table: Arc<dyn TableProvider>,
    pub chrom: usize,
    pub start: usize,
    pub end: usize,
    /// 0-based half-open; tables that do not declare it are 1-based closed.
    pub zero_based: bool,
}

impl IntervalInput {
    pub fn resolve(
        function: &str,
        session: &dyn Session,
        exprs: &[Expr],
        i: usize,
    ) -> Result<IntervalInput> {
        let (name, table) = table_arg(function, session, exprs, i)?;
        let schema = table.schema();
        let column = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| schema.index_of(n).ok())
                .ok_or_else(|| {
                    let have: Vec<&str> =
                        schema.fields().iter().map(|f| f.name().as_str()).collect();
                    DataFusionError::Plan(format!(
                        "{function}(): table '{name}' has no {} column (it has: {})",
                        names[0],
                        have.join(", ")
                    ))
                })
        };
        let (chrom, start, end) = (column(&["chrom"])?, column(&["start"])?, column(&["end"])?);
        for i in [start, end] {
            if !schema.field(i).data_type().is_integer() {
                return plan_err!(
                    "{function}(): column '{}' of '{name}' must be an integer",
                    schema.field(i).name()
                );
            }
        }
        let zero_based = declared_zero_based(schema.metadata()).unwrap_or(false);
        Ok(IntervalInput {
            name,
            table,
            chrom,
            start,
            end,
            zero_based,
        })
    }

    pub fn schema(&self) -> SchemaRef {
        self.table.schema()
    }

    pub async fn plan(&self, session: &dyn Session) -> Result<Arc<dyn ExecutionPlan>> {
        self.table.scan(session, None, &[], None).await
    }

    /// Rows as closed intervals; an empty interval (zero-length BED feature)
    /// widens by one base each side, as bedtools does.
    pub fn closed(&self, batch: &RecordBatch) -> Result<Closed> {
        let chrom = cast(batch.column(self.chrom), &DataType::Utf8)?;
        let chrom = chrom.as_string::<i32>().clone();
        let ints = |i: usize| -> Result<Vec<Option<i64>>> {
            let a = cast(batch.column(i), &DataType::Int64)?;
            Ok(a.as_primitive::<Int64Type>().iter().collect())
        };
        let (start, end) = (ints(self.start)?, ints(self.end)?);
        let mut intervals = Vec::with_capacity(batch.num_rows());
        let mut empty = Vec::with_capacity(batch.num_rows());
        for (s, e) in start.into_iter().zip(end) {
            let mut widened = false;
            intervals.push(match (s, e) {
                (Some(s), Some(e)) => {
                    let (lo, hi) = (s, if self.zero_based { e - 1 } else { e });
                    widened = hi < lo;
                    let (lo, hi) = if widened { (lo - 1, hi + 1) } else { (lo, hi) };
                    Some((to_i32(lo)?, to_i32(hi)?))
                }
                _ => None,
            });
            empty.push(widened);
        }
        Ok(Closed {
            chrom,
            intervals,
            empty,
        })
    }

    /// A widened zero-length interval back as it was written.
    pub fn unwidened(&self, lo: i64, hi: i64) -> (i64, i64) {
        self.native(lo + 1, hi - 1)
    }

    /// A closed interval back in this table's coordinates.
    pub fn native(&self, lo: i64, hi: i64) -> (i64, i64) {
        if self.zero_based {
            (lo, hi + 1)
        } else {
            (lo, hi)
        }
    }
}

fn to_i32(v: i64) -> Result<i32> {
    i32::try_from(v).map_err(|_| {
        DataFusionError::Execution(format!(
            "interval coordinate {v} is outside the supported range ±2^31"
        ))
    })
}

/// One batch's chromosomes and closed intervals (`None` where null).
pub struct Closed {
    pub chrom: StringArray,
    pub intervals: Vec<Option<(i32, i32)>>,
    /// The row was a zero-length interval, widened in `intervals`.
    pub empty: Vec<bool>,
}

impl Closed {
    pub fn chrom(&self, i: usize) -> Option<&str> {
        self.chrom.is_valid(i).then(|| self.chrom.value(i))
    }
}

/// Both tables of a two-table function must use one coordinate system.
pub fn same_coordinates(function: &str, a: &IntervalInput, b: &IntervalInput) -> Result<()> {
    if a.zero_based == b.zero_based {
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
        "{function}(): '{}' is {} but '{}' is {}; serve both with the same zero_based setting",
        a.name,
        name(a.zero_based),
        b.name,
        name(b.zero_based)
    )
}
