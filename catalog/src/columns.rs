//! Typed column builders fed from text fields, shared by the simple tabular
//! formats (BED, GFF3/GTF).

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Builder, Int32Builder, Int64Builder, RecordBatch, RecordBatchOptions,
    StringBuilder,
};
use arrow::datatypes::DataType;
use arrow::datatypes::SchemaRef;
use datafusion::common::Result;

/// One projected column: which field it reads and how.
pub enum TextColumn {
    /// Text; `.` is NULL only where the format says it means "missing".
    Str(usize, bool, StringBuilder),
    /// An integer position; `shift` is added (coordinate conversion).
    Pos(usize, i64, Int64Builder),
    Int(usize, Int32Builder),
    Float(usize, Float64Builder),
}

impl TextColumn {
    pub fn new(field: usize, ty: &DataType, shift: i64, dot_is_null: bool) -> TextColumn {
        match ty {
            DataType::Int64 => TextColumn::Pos(field, shift, Int64Builder::new()),
            DataType::Int32 => TextColumn::Int(field, Int32Builder::new()),
            DataType::Float64 => TextColumn::Float(field, Float64Builder::new()),
            _ => TextColumn::Str(field, dot_is_null, StringBuilder::new()),
        }
    }

    /// Appends this column's value from `fields` (`.` or absent is NULL).
    pub fn append(&mut self, fields: &[&str], names: &[&str]) -> Result<(), String> {
        let field = match self {
            TextColumn::Str(i, ..)
            | TextColumn::Pos(i, ..)
            | TextColumn::Int(i, _)
            | TextColumn::Float(i, _) => *i,
        };
        let text = fields.get(field).copied();
        let raw = text.filter(|v| *v != "." && !v.is_empty());
        let bad = |v: &str, what: &str| format!("invalid {what} '{v}' in column {}", names[field]);
        match (self, raw) {
            (TextColumn::Str(_, true, b), _) => b.append_option(raw),
            (TextColumn::Str(_, false, b), _) => b.append_option(text),
            (TextColumn::Pos(_, _, b), None) => b.append_null(),
            (TextColumn::Int(_, b), None) => b.append_null(),
            (TextColumn::Float(_, b), None) => b.append_null(),
            (TextColumn::Pos(_, shift, b), Some(v)) => {
                b.append_value(v.parse::<i64>().map_err(|_| bad(v, "integer"))? + *shift)
            }
            (TextColumn::Int(_, b), Some(v)) => {
                b.append_value(v.parse().map_err(|_| bad(v, "integer"))?)
            }
            (TextColumn::Float(_, b), Some(v)) => {
                b.append_value(v.parse().map_err(|_| bad(v, "number"))?)
            }
        }
        Ok(())
    }

    pub fn finish(&mut self) -> ArrayRef {
        match self {
            TextColumn::Str(.., b) => Arc::new(b.finish()),
            TextColumn::Pos(_, _, b) => Arc::new(b.finish()),
            TextColumn::Int(_, b) => Arc::new(b.finish()),
            TextColumn::Float(_, b) => Arc::new(b.finish()),
        }
    }
}

/// Consumes leading lines that `is_header` accepts; returns how many.
pub fn skip_header_lines(
    reader: &mut dyn std::io::BufRead,
    is_header: impl Fn(&[u8]) -> bool,
) -> std::io::Result<u64> {
    let mut n = 0;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() || !is_header(buf) {
            return Ok(n);
        }
        let mut line = Vec::new();
        reader.read_until(b'\n', &mut line)?;
        n += 1;
    }
}

/// A batch of `rows` rows (also right when no column is projected, as for `count(*)`).
pub fn record_batch(schema: &SchemaRef, arrays: Vec<ArrayRef>, rows: usize) -> Result<RecordBatch> {
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    Ok(RecordBatch::try_new_with_options(
        schema.clone(),
        arrays,
        &options,
    )?)
}
