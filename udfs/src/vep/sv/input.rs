//! The INFO values VEP reads for structural records, from a VCF table's
//! columns: `end` (INFO END when the record has one, else POS + len(REF) - 1),
//! `SVTYPE`, `SVLEN`, and a breakend mate's `CHR2`/`END2` (INFO fields keep
//! their names as columns).

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type, SchemaRef};
use datafusion::common::Result;

/// Where the SV columns are, when the table has them.
#[derive(Debug, Clone, Copy, Default)]
pub struct SvColumns {
    end: Option<usize>,
    svtype: Option<usize>,
    svlen: Option<usize>,
    chr2: Option<usize>,
    end2: Option<usize>,
}

/// One batch's SV columns, decoded once.
pub struct SvBatch {
    end: Option<ArrayRef>,
    svtype: Option<ArrayRef>,
    svlen: Option<ArrayRef>,
    chr2: Option<ArrayRef>,
    end2: Option<ArrayRef>,
}

/// One record's SV INFO values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SvValues {
    pub svtype: Option<String>,
    pub end: Option<i64>,
    pub svlen: Option<i64>,
    pub chr2: Option<String>,
    pub end2: Option<i64>,
}

impl SvColumns {
    pub fn find(schema: &SchemaRef) -> SvColumns {
        let col = |name: &str| schema.index_of(name).ok();
        SvColumns {
            end: col("end"),
            svtype: col("SVTYPE").or_else(|| col("svtype")),
            svlen: col("SVLEN").or_else(|| col("svlen")),
            chr2: col("CHR2").or_else(|| col("chr2")),
            end2: col("END2").or_else(|| col("end2")),
        }
    }

    pub fn decode(&self, batch: &RecordBatch) -> Result<SvBatch> {
        let int = |i: Option<usize>| -> Result<Option<ArrayRef>> {
            i.map(|i| {
                let c = batch.column(i);
                // SVLEN is declared Number=A (a list) or Number=1.
                match c.data_type() {
                    DataType::List(_) | DataType::LargeList(_) => Ok(c.clone()),
                    _ => Ok(cast(c, &DataType::Int64)?),
                }
            })
            .transpose()
        };
        let text = |i: Option<usize>| -> Result<Option<ArrayRef>> {
            Ok(i.map(|i| cast(batch.column(i), &DataType::Utf8))
                .transpose()?)
        };
        Ok(SvBatch {
            end: int(self.end)?,
            svtype: text(self.svtype)?,
            svlen: int(self.svlen)?,
            chr2: text(self.chr2)?,
            end2: int(self.end2)?,
        })
    }
}

fn first_int(a: &ArrayRef, row: usize) -> Option<i64> {
    if a.is_null(row) {
        return None;
    }
    match a.data_type() {
        DataType::List(_) => {
            let v = a.as_list::<i32>().value(row);
            let v = cast(&v, &DataType::Int64).ok()?;
            let v = v.as_primitive::<Int64Type>();
            (!v.is_empty() && !v.is_null(0)).then(|| v.value(0))
        }
        DataType::LargeList(_) => {
            let v = a.as_list::<i64>().value(row);
            let v = cast(&v, &DataType::Int64).ok()?;
            let v = v.as_primitive::<Int64Type>();
            (!v.is_empty() && !v.is_null(0)).then(|| v.value(0))
        }
        _ => Some(a.as_primitive::<Int64Type>().value(row)),
    }
}

fn text_value(a: Option<&ArrayRef>, row: usize) -> Option<String> {
    let a = a?;
    (!a.is_null(row)).then(|| a.as_string::<i32>().value(row).to_string())
}

impl SvBatch {
    /// The SVTYPE of `row`, if any.
    pub fn svtype(&self, row: usize) -> Option<String> {
        text_value(self.svtype.as_ref(), row)
    }

    /// SVTYPE, INFO END and SVLEN of a record at 1-based `pos` with `ref_len`
    /// REF bases. The `end` column holds INFO END or POS + len(REF) - 1;
    /// only a value other than the latter can be told to be INFO END.
    pub fn values(&self, row: usize, pos: i64, ref_len: i64) -> SvValues {
        let end = self
            .end
            .as_ref()
            .and_then(|a| first_int(a, row))
            .filter(|&e| e != pos + ref_len - 1);
        SvValues {
            svtype: self.svtype(row),
            end,
            svlen: self.svlen.as_ref().and_then(|a| first_int(a, row)),
            chr2: text_value(self.chr2.as_ref(), row),
            end2: self.end2.as_ref().and_then(|a| first_int(a, row)),
        }
    }
}
