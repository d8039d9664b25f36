//! Auxiliary tags as typed columns, named in the table's `tags` option:
//! `tags = ["NM", "MD", "XS:i"]`. A tag's type is the one the SAM tags
//! specification gives it, or the one written after `:` (`i` integer, `f`
//! float, `Z`/`A`/`H`/`B` text); a tag that is neither is text as SAM prints it.

use std::io;

use arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result};
use noodles::sam::alignment::record::data::field::Value;

use super::batch::value_text;

/// One promoted tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagColumn {
    pub tag: [u8; 2],
    pub kind: TagKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagKind {
    Integer,
    Float,
    Text,
}

impl TagColumn {
    pub fn name(&self) -> String {
        String::from_utf8_lossy(&self.tag).into_owned()
    }

    pub fn data_type(&self) -> DataType {
        match self.kind {
            TagKind::Integer => DataType::Int64,
            TagKind::Float => DataType::Float64,
            TagKind::Text => DataType::Utf8,
        }
    }

    /// `NM` or `NM:i`.
    pub fn parse(spec: &str) -> Result<TagColumn> {
        let bad = |why: &str| {
            DataFusionError::Plan(format!(
                "tag '{spec}': {why} (write a two-character SAM tag, optionally with its type: 'NM', 'XS:i')"
            ))
        };
        let (name, kind) = match spec.split_once(':') {
            Some((name, t)) => (name, Some(t)),
            None => (spec, None),
        };
        let tag: [u8; 2] = name
            .as_bytes()
            .try_into()
            .map_err(|_| bad("not two characters"))?;
        if !tag[0].is_ascii_alphabetic() || !tag[1].is_ascii_alphanumeric() {
            return Err(bad("a tag is a letter then a letter or digit"));
        }
        let kind = match kind {
            Some("i") => TagKind::Integer,
            Some("f") => TagKind::Float,
            Some("Z" | "A" | "H" | "B") => TagKind::Text,
            Some(other) => return Err(bad(&format!("unknown type '{other}'"))),
            None => standard_kind(&tag),
        };
        Ok(TagColumn { tag, kind })
    }
}

/// Types of the predefined tags (SAMtags.pdf); others are read as text.
fn standard_kind(tag: &[u8; 2]) -> TagKind {
    const INTEGER: &[&[u8; 2]] = &[
        b"AM", b"AS", b"CM", b"CP", b"FI", b"H0", b"H1", b"H2", b"HI", b"IH", b"MQ", b"NH", b"NM",
        b"OP", b"PQ", b"SM", b"TC", b"UQ", b"MN",
    ];
    if INTEGER.contains(&tag) {
        TagKind::Integer
    } else {
        TagKind::Text
    }
}

/// A value for a typed column; an integer column given text is an error naming the tag.
pub enum Typed {
    Integer(i64),
    Float(f64),
    Text(String),
}

pub fn typed(column: &TagColumn, value: &Value) -> io::Result<Typed> {
    let integer = match value {
        Value::Int8(n) => Some(i64::from(*n)),
        Value::UInt8(n) => Some(i64::from(*n)),
        Value::Int16(n) => Some(i64::from(*n)),
        Value::UInt16(n) => Some(i64::from(*n)),
        Value::Int32(n) => Some(i64::from(*n)),
        Value::UInt32(n) => Some(i64::from(*n)),
        _ => None,
    };
    let mismatch = |want: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("tag {} is not {want} in this record", column.name()),
        )
    };
    Ok(match column.kind {
        TagKind::Integer => Typed::Integer(integer.ok_or_else(|| mismatch("an integer"))?),
        TagKind::Float => match value {
            Value::Float(x) => Typed::Float(f64::from(*x)),
            _ => Typed::Float(integer.ok_or_else(|| mismatch("a number"))? as f64),
        },
        TagKind::Text => {
            let mut text = String::new();
            value_text(value, &mut text)?;
            Typed::Text(text)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_with_standard_or_written_types() {
        assert_eq!(TagColumn::parse("NM").unwrap().kind, TagKind::Integer);
        assert_eq!(TagColumn::parse("MD").unwrap().kind, TagKind::Text);
        assert_eq!(TagColumn::parse("XS:i").unwrap().kind, TagKind::Integer);
        assert_eq!(TagColumn::parse("ZF:f").unwrap().kind, TagKind::Float);
        assert_eq!(TagColumn::parse("X0").unwrap().kind, TagKind::Text);
        for bad in ["N", "NMX", "1M", "NM:q", "N_"] {
            assert!(TagColumn::parse(bad).is_err(), "{bad}");
        }
    }
}
