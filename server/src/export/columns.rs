//! Reading result columns by name, whatever Arrow type the query gave them:
//! text (Utf8, LargeUtf8, Utf8View, dictionaries), integers of any width,
//! floats, booleans, and lists of those, as the writers need them.

use std::fmt::Write as _;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float32Array, Float64Array, Int64Array, RecordBatch,
    StringArray,
};
use arrow::datatypes::{DataType, Float32Type, Float64Type, Int64Type, Schema};
use datafusion::common::{DataFusionError, Result};

/// Index of column `name`, if the result has it.
pub fn find(schema: &Schema, name: &str) -> Option<usize> {
    schema.index_of(name).ok()
}

/// Fails naming every missing column and what the format expects.
pub fn require(schema: &Schema, names: &[&str], format: &str, expected: &str) -> Result<()> {
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| find(schema, n).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let have: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    Err(DataFusionError::Plan(format!(
        "cannot write {format}: the result has no column {} (it has: {}); {format} needs {expected}",
        missing
            .iter()
            .map(|m| format!("'{m}'"))
            .collect::<Vec<_>>()
            .join(", "),
        have.join(", ")
    )))
}

fn cast(array: &ArrayRef, to: &DataType, name: &str) -> Result<ArrayRef> {
    arrow::compute::cast(array, to).map_err(|e| {
        DataFusionError::Execution(format!(
            "column '{name}' ({}) cannot be read as {to}: {e}",
            array.data_type()
        ))
    })
}

/// Column `name` of `batch` as text.
pub fn text(batch: &RecordBatch, name: &str) -> Result<Option<StringArray>> {
    Ok(match find(&batch.schema(), name) {
        Some(i) => Some(
            cast(batch.column(i), &DataType::Utf8, name)?
                .as_string::<i32>()
                .clone(),
        ),
        None => None,
    })
}

/// Column `name` of `batch` as 64-bit integers.
pub fn int(batch: &RecordBatch, name: &str) -> Result<Option<Int64Array>> {
    Ok(match find(&batch.schema(), name) {
        Some(i) => Some(
            cast(batch.column(i), &DataType::Int64, name)?
                .as_primitive::<Int64Type>()
                .clone(),
        ),
        None => None,
    })
}

/// What a scalar value is, for VCF/BED text and header types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Integer,
    Float,
    Flag,
    Text,
}

/// The kind of a scalar Arrow type, `None` for types the text formats cannot hold.
pub fn scalar_kind(t: &DataType) -> Option<Kind> {
    match t {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => Some(Kind::Integer),
        DataType::Float16 | DataType::Float32 | DataType::Float64 | DataType::Decimal128(..) => {
            Some(Kind::Float)
        }
        DataType::Boolean => Some(Kind::Flag),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some(Kind::Text),
        DataType::Dictionary(_, v) => scalar_kind(v),
        _ => None,
    }
}

/// (kind, is a list) of a column type VCF INFO/FORMAT or BED can hold.
pub fn value_kind(t: &DataType) -> Option<(Kind, bool)> {
    match t {
        DataType::List(f) | DataType::LargeList(f) | DataType::ListView(f) => {
            scalar_kind(f.data_type()).map(|k| (k, true))
        }
        DataType::FixedSizeList(f, _) => scalar_kind(f.data_type()).map(|k| (k, true)),
        other => scalar_kind(other).map(|k| (k, false)),
    }
}

/// A column normalised for text output: one of a few array types.
pub enum Values {
    Int(Int64Array),
    /// f32 kept as f32 so it prints as the file had it (0.1, not 0.10000000149).
    F32(Float32Array),
    F64(Float64Array),
    Flag(BooleanArray),
    Text(StringArray),
    List(arrow::array::ListArray, Box<Values>),
}

impl Values {
    /// `array` (of a type `value_kind` accepts) normalised; `name` for errors.
    pub fn new(array: &ArrayRef, name: &str) -> Result<Values> {
        let t = array.data_type();
        let list_field = match t {
            DataType::List(f)
            | DataType::LargeList(f)
            | DataType::ListView(f)
            | DataType::FixedSizeList(f, _) => Some(f.clone()),
            _ => None,
        };
        if let Some(f) = list_field {
            let to = DataType::List(f.clone());
            let list = cast(array, &to, name)?.as_list::<i32>().clone();
            let inner = Values::new(list.values(), name)?;
            return Ok(Values::List(list, Box::new(inner)));
        }
        Ok(match scalar_kind(t) {
            Some(Kind::Integer) => Values::Int(
                cast(array, &DataType::Int64, name)?
                    .as_primitive::<Int64Type>()
                    .clone(),
            ),
            Some(Kind::Float) if matches!(t, DataType::Float32 | DataType::Float16) => Values::F32(
                cast(array, &DataType::Float32, name)?
                    .as_primitive::<Float32Type>()
                    .clone(),
            ),
            Some(Kind::Float) => Values::F64(
                cast(array, &DataType::Float64, name)?
                    .as_primitive::<Float64Type>()
                    .clone(),
            ),
            Some(Kind::Flag) => {
                Values::Flag(cast(array, &DataType::Boolean, name)?.as_boolean().clone())
            }
            Some(Kind::Text) => Values::Text(
                cast(array, &DataType::Utf8, name)?
                    .as_string::<i32>()
                    .clone(),
            ),
            None => {
                return Err(DataFusionError::Plan(format!(
                    "column '{name}' has type {t}, which a text genomic format cannot hold: \
                     leave it out of the SELECT or cast it to text"
                )));
            }
        })
    }

    fn array(&self) -> &dyn Array {
        match self {
            Values::Int(a) => a,
            Values::F32(a) => a,
            Values::F64(a) => a,
            Values::Flag(a) => a,
            Values::Text(a) => a,
            Values::List(a, _) => a,
        }
    }

    pub fn is_null(&self, i: usize) -> bool {
        self.array().is_null(i)
    }

    /// Boolean value (false for null and non-flags).
    pub fn flag(&self, i: usize) -> bool {
        match self {
            Values::Flag(a) => a.is_valid(i) && a.value(i),
            _ => self.array().is_valid(i),
        }
    }

    /// Appends value `i` as VCF/BED text: `missing` for null, list items
    /// joined by `,` (null items as `.`). Returns false when it was null.
    pub fn write(&self, i: usize, out: &mut String, missing: &str) -> bool {
        if self.is_null(i) {
            out.push_str(missing);
            return false;
        }
        match self {
            Values::Int(a) => write!(out, "{}", a.value(i)).unwrap(),
            Values::F32(a) => write_float(out, f64::from(a.value(i)), a.value(i).to_string()),
            Values::F64(a) => write_float(out, a.value(i), a.value(i).to_string()),
            Values::Flag(a) => out.push_str(if a.value(i) { "1" } else { "0" }),
            Values::Text(a) => out.push_str(a.value(i)),
            Values::List(list, inner) => {
                let offsets = list.value_offsets();
                let (from, to) = (offsets[i] as usize, offsets[i + 1] as usize);
                if from == to {
                    out.push_str(missing);
                    return false;
                }
                for j in from..to {
                    if j > from {
                        out.push(',');
                    }
                    inner.write(j, out, ".");
                }
            }
        }
        true
    }
}

/// Finite floats as Rust prints them (shortest text that reads back the same
/// value); NaN and infinities as VCF spells them.
fn write_float(out: &mut String, x: f64, shortest: String) {
    if x.is_nan() {
        out.push_str("NaN");
    } else if x.is_infinite() {
        out.push_str(if x > 0.0 { "Inf" } else { "-Inf" });
    } else {
        out.push_str(&shortest);
    }
}

/// A batch column by index, normalised.
pub fn values(batch: &RecordBatch, i: usize) -> Result<Values> {
    let schema = batch.schema();
    Values::new(batch.column(i), schema.field(i).name())
}
