//! Typed Arrow builders for INFO and FORMAT values, fed the raw VCF text.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Float32Builder, Int32Builder, ListBuilder, StringBuilder,
};

use super::header::{FieldDef, ValueType};
use super::schema::is_list;

/// One column's builder. Missing values (`.`) become nulls, list elements too.
pub enum ValueBuilder {
    Int(Int32Builder),
    Float(Float32Builder),
    Flag(BooleanBuilder),
    Str(StringBuilder),
    IntList(ListBuilder<Int32Builder>),
    FloatList(ListBuilder<Float32Builder>),
    StrList(ListBuilder<StringBuilder>),
}

fn parse_int(s: &str) -> Result<Option<i32>, String> {
    if s == "." {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .map_err(|_| format!("invalid Integer '{s}'"))
}

fn parse_float(s: &str) -> Result<Option<f32>, String> {
    if s == "." {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .map_err(|_| format!("invalid Float '{s}'"))
}

fn str_value(s: &str) -> Option<&str> {
    (s != ".").then_some(s)
}

impl ValueBuilder {
    pub fn new(def: &FieldDef) -> ValueBuilder {
        match (def.ty, is_list(def)) {
            (ValueType::Flag, _) => ValueBuilder::Flag(BooleanBuilder::new()),
            (ValueType::Integer, false) => ValueBuilder::Int(Int32Builder::new()),
            (ValueType::Float, false) => ValueBuilder::Float(Float32Builder::new()),
            (_, false) => ValueBuilder::Str(StringBuilder::new()),
            (ValueType::Integer, true) => {
                ValueBuilder::IntList(ListBuilder::new(Int32Builder::new()))
            }
            (ValueType::Float, true) => {
                ValueBuilder::FloatList(ListBuilder::new(Float32Builder::new()))
            }
            (_, true) => ValueBuilder::StrList(ListBuilder::new(StringBuilder::new())),
        }
    }

    /// The field is absent from the record: null, or `false` for a Flag.
    pub fn append_absent(&mut self) {
        match self {
            ValueBuilder::Int(b) => b.append_null(),
            ValueBuilder::Float(b) => b.append_null(),
            ValueBuilder::Flag(b) => b.append_value(false),
            ValueBuilder::Str(b) => b.append_null(),
            ValueBuilder::IntList(b) => b.append_null(),
            ValueBuilder::FloatList(b) => b.append_null(),
            ValueBuilder::StrList(b) => b.append_null(),
        }
    }

    /// Appends the field's raw text; `None` is a key without a value (a Flag).
    pub fn append(&mut self, raw: Option<&str>) -> Result<(), String> {
        let Some(raw) = raw else {
            match self {
                ValueBuilder::Flag(b) => b.append_value(true),
                _ => self.append_absent(),
            }
            return Ok(());
        };
        match self {
            ValueBuilder::Int(b) => b.append_option(parse_int(raw)?),
            ValueBuilder::Float(b) => b.append_option(parse_float(raw)?),
            // A Flag written with a value (`DB=1`) is still present.
            ValueBuilder::Flag(b) => b.append_value(true),
            ValueBuilder::Str(b) => b.append_option(str_value(raw)),
            ValueBuilder::IntList(b) if raw == "." => b.append_null(),
            ValueBuilder::FloatList(b) if raw == "." => b.append_null(),
            ValueBuilder::StrList(b) if raw == "." => b.append_null(),
            ValueBuilder::IntList(b) => {
                for v in raw.split(',') {
                    b.values().append_option(parse_int(v)?);
                }
                b.append(true);
            }
            ValueBuilder::FloatList(b) => {
                for v in raw.split(',') {
                    b.values().append_option(parse_float(v)?);
                }
                b.append(true);
            }
            ValueBuilder::StrList(b) => {
                for v in raw.split(',') {
                    b.values().append_option(str_value(v));
                }
                b.append(true);
            }
        }
        Ok(())
    }

    pub fn finish(&mut self) -> ArrayRef {
        match self {
            ValueBuilder::Int(b) => Arc::new(b.finish()),
            ValueBuilder::Float(b) => Arc::new(b.finish()),
            ValueBuilder::Flag(b) => Arc::new(b.finish()),
            ValueBuilder::Str(b) => Arc::new(b.finish()),
            ValueBuilder::IntList(b) => Arc::new(b.finish()),
            ValueBuilder::FloatList(b) => Arc::new(b.finish()),
            ValueBuilder::StrList(b) => Arc::new(b.finish()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vcf::header::Number;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Float32Type, Int32Type};

    fn def(number: Number, ty: ValueType) -> FieldDef {
        FieldDef {
            id: "X".into(),
            number,
            ty,
            description: String::new(),
        }
    }

    #[test]
    fn lists_keep_missing_elements_as_nulls() {
        let mut b = ValueBuilder::new(&def(Number::Alt, ValueType::Float));
        b.append(Some("0.5,.")).unwrap();
        b.append(Some(".")).unwrap();
        b.append_absent();
        let a = b.finish();
        let l = a.as_list::<i32>();
        assert_eq!(l.len(), 3);
        let first = l.value(0);
        let first = first.as_primitive::<Float32Type>();
        assert_eq!(first.value(0), 0.5);
        assert!(first.is_null(1));
        assert!(l.is_null(1) && l.is_null(2));
    }

    #[test]
    fn flags_are_false_when_absent_and_bad_numbers_are_errors() {
        let mut f = ValueBuilder::new(&def(Number::Count(0), ValueType::Flag));
        f.append(None).unwrap();
        f.append_absent();
        let a = f.finish();
        assert!(a.as_boolean().value(0) && !a.as_boolean().value(1));
        let mut i = ValueBuilder::new(&def(Number::Count(1), ValueType::Integer));
        assert!(i.append(Some("abc")).unwrap_err().contains("'abc'"));
        i.append(Some("7")).unwrap();
        assert_eq!(i.finish().as_primitive::<Int32Type>().value(0), 7);
    }
}
