//! Column builders for the projected alignment columns: each record's fields
//! as `samtools view` prints them.

use std::fmt::Write as _;
use std::io;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Builder, Int32Builder, Int64Builder, MapBuilder, RecordBatch, StringBuilder,
};
use arrow::datatypes::SchemaRef;
use datafusion::common::Result;
use noodles::sam;
use noodles::sam::alignment::record::cigar::op::Kind as CigarKind;
use noodles::sam::alignment::record::data::field::value::Array as ValueArray;
use noodles::sam::alignment::record::data::field::{Tag, Value};

use super::tags::{TagColumn, TagKind, Typed, typed};
use super::{FIXED_COLUMNS, tags_builder};
use crate::text::{Region, in_regions};

pub(super) struct Batch {
    schema: SchemaRef,
    columns: Vec<Column>,
    zero_based: bool,
    /// CRAM stores no MAPQ for unmapped reads; htslib reports 0 for them.
    cram: bool,
    /// Whether `chrom`/`start`/`end` are projected: otherwise they are only
    /// worked out for region checks (the end walks the CIGAR).
    wants: [bool; 3],
    pub rows: usize,
    text: String,
}

enum Column {
    Str(usize, StringBuilder),
    I64(usize, Int64Builder),
    I32(usize, Int32Builder),
    Tags(Box<MapBuilder<StringBuilder, StringBuilder>>),
    /// A tag promoted to its own typed column.
    Tag(Tag, TagColumn, TagBuilder),
}

enum TagBuilder {
    Integer(Int64Builder),
    Float(Float64Builder),
    Text(StringBuilder),
}

fn cigar_char(k: CigarKind) -> char {
    match k {
        CigarKind::Match => 'M',
        CigarKind::Insertion => 'I',
        CigarKind::Deletion => 'D',
        CigarKind::Skip => 'N',
        CigarKind::SoftClip => 'S',
        CigarKind::HardClip => 'H',
        CigarKind::Pad => 'P',
        CigarKind::SequenceMatch => '=',
        CigarKind::SequenceMismatch => 'X',
    }
}

/// A tag value as SAM text after `TAG:TYPE:` (`B` arrays keep their subtype: `c,1,2`).
pub(super) fn value_text(v: &Value, out: &mut String) -> io::Result<()> {
    out.clear();
    match v {
        Value::Character(c) => out.push(*c as char),
        Value::Int8(n) => write!(out, "{n}").unwrap(),
        Value::UInt8(n) => write!(out, "{n}").unwrap(),
        Value::Int16(n) => write!(out, "{n}").unwrap(),
        Value::UInt16(n) => write!(out, "{n}").unwrap(),
        Value::Int32(n) => write!(out, "{n}").unwrap(),
        Value::UInt32(n) => write!(out, "{n}").unwrap(),
        Value::Float(x) => write!(out, "{x}").unwrap(),
        Value::String(s) | Value::Hex(s) => out.push_str(&String::from_utf8_lossy(s)),
        Value::Array(a) => {
            macro_rules! items {
                ($sub:expr, $vals:expr) => {{
                    out.push($sub);
                    for x in $vals.iter() {
                        write!(out, ",{}", x?).unwrap();
                    }
                }};
            }
            match a {
                ValueArray::Int8(v) => items!('c', v),
                ValueArray::UInt8(v) => items!('C', v),
                ValueArray::Int16(v) => items!('s', v),
                ValueArray::UInt16(v) => items!('S', v),
                ValueArray::Int32(v) => items!('i', v),
                ValueArray::UInt32(v) => items!('I', v),
                ValueArray::Float(v) => items!('f', v),
            }
        }
    }
    Ok(())
}

impl Batch {
    pub fn new(
        projection: &[usize],
        schema: SchemaRef,
        tag_columns: &[TagColumn],
        zero_based: bool,
        cram: bool,
    ) -> Batch {
        let columns = projection
            .iter()
            .map(|&i| match i {
                0 | 1 | 5 | 7 | 10 | 11 => Column::Str(i, StringBuilder::new()),
                2 | 3 | 8 | 9 => Column::I64(i, Int64Builder::new()),
                4 | 6 => Column::I32(i, Int32Builder::new()),
                12 => Column::Tags(Box::new(tags_builder())),
                _ => {
                    let column = tag_columns[i - FIXED_COLUMNS].clone();
                    let builder = match column.kind {
                        TagKind::Integer => TagBuilder::Integer(Int64Builder::new()),
                        TagKind::Float => TagBuilder::Float(Float64Builder::new()),
                        TagKind::Text => TagBuilder::Text(StringBuilder::new()),
                    };
                    Column::Tag(Tag::from(column.tag), column, builder)
                }
            })
            .collect();
        Batch {
            schema,
            columns,
            zero_based,
            cram,
            wants: [1, 2, 3].map(|i| projection.contains(&i)),
            rows: 0,
            text: String::new(),
        }
    }

    /// Appends `r` unless it lies outside every region; returns whether it was kept.
    pub fn append(
        &mut self,
        r: &dyn sam::alignment::Record,
        header: &sam::Header,
        regions: &[Region],
    ) -> io::Result<bool> {
        let check = !regions.is_empty();
        let [want_chrom, want_start, want_end] = self.wants.map(|w| w || check);
        let chrom = match want_chrom {
            true => r
                .reference_sequence(header)
                .transpose()?
                .map(|(name, _)| String::from_utf8_lossy(name).into_owned()),
            false => None,
        };
        let start = match want_start {
            true => r
                .alignment_start()
                .transpose()?
                .map(|p| usize::from(p) as i64),
            false => None,
        };
        let end = match want_end {
            true => r
                .alignment_end()
                .transpose()?
                .map(|p| usize::from(p) as i64),
            false => None,
        };
        if !regions.is_empty() {
            let (Some(c), Some(s)) = (chrom.as_deref(), start) else {
                return Ok(false);
            };
            if !in_regions(regions, c, s, end.unwrap_or(s)) {
                return Ok(false);
            }
        }
        let shift = i64::from(self.zero_based);
        for column in &mut self.columns {
            match column {
                Column::Str(i, b) => {
                    self.text.clear();
                    let value: Option<&str> = match i {
                        0 => r.name().map(|n| {
                            self.text.push_str(&String::from_utf8_lossy(n));
                            self.text.as_str()
                        }),
                        1 => chrom.as_deref(),
                        5 => {
                            for op in r.cigar().iter() {
                                let op = op?;
                                write!(self.text, "{}{}", op.len(), cigar_char(op.kind())).unwrap();
                            }
                            (!self.text.is_empty()).then_some(self.text.as_str())
                        }
                        7 => match r.mate_reference_sequence(header).transpose()? {
                            Some((name, _)) => {
                                self.text.push_str(&String::from_utf8_lossy(name));
                                Some(self.text.as_str())
                            }
                            None => None,
                        },
                        10 => {
                            // Upper case, as BAM stores it and samtools prints SAM.
                            self.text.extend(
                                r.sequence()
                                    .iter()
                                    .map(|b| char::from(b.to_ascii_uppercase())),
                            );
                            (!self.text.is_empty()).then_some(self.text.as_str())
                        }
                        _ => {
                            let scores = r.quality_scores();
                            let mut missing = scores.is_empty();
                            for s in scores.iter() {
                                let s = s?;
                                missing |= s == 0xFF;
                                self.text.push(char::from(s.saturating_add(33)));
                            }
                            (!missing).then_some(self.text.as_str())
                        }
                    };
                    b.append_option(value);
                }
                Column::I64(i, b) => b.append_option(match i {
                    2 => start.map(|s| s - shift),
                    3 => end,
                    8 => r
                        .mate_alignment_start()
                        .transpose()?
                        .map(|p| usize::from(p) as i64 - shift),
                    _ => Some(i64::from(r.template_length()?)),
                }),
                Column::I32(i, b) => match i {
                    4 => b.append_value(i32::from(u16::from(r.flags()?))),
                    _ => b.append_value(mapping_quality(r, self.cram)?),
                },
                Column::Tag(tag, column, builder) => {
                    let value = r.data().get(tag).transpose()?;
                    let value = value.map(|v| typed(column, &v)).transpose()?;
                    match (builder, value) {
                        (TagBuilder::Integer(b), Some(Typed::Integer(n))) => b.append_value(n),
                        (TagBuilder::Float(b), Some(Typed::Float(x))) => b.append_value(x),
                        (TagBuilder::Text(b), Some(Typed::Text(t))) => b.append_value(t),
                        (TagBuilder::Integer(b), _) => b.append_null(),
                        (TagBuilder::Float(b), _) => b.append_null(),
                        (TagBuilder::Text(b), _) => b.append_null(),
                    }
                }
                Column::Tags(m) => {
                    for field in r.data().iter() {
                        let (tag, value) = field?;
                        let mut text = String::new();
                        value_text(&value, &mut text)?;
                        m.keys().append_value(String::from_utf8_lossy(tag.as_ref()));
                        m.values().append_value(text);
                    }
                    m.append(true).map_err(io::Error::other)?;
                }
            }
        }
        self.rows += 1;
        Ok(true)
    }

    pub fn finish(&mut self) -> Result<RecordBatch> {
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|c| -> ArrayRef {
                match c {
                    Column::Str(_, b) => Arc::new(b.finish()),
                    Column::I64(_, b) => Arc::new(b.finish()),
                    Column::I32(_, b) => Arc::new(b.finish()),
                    Column::Tags(m) => Arc::new(m.finish()),
                    Column::Tag(_, _, TagBuilder::Integer(b)) => Arc::new(b.finish()),
                    Column::Tag(_, _, TagBuilder::Float(b)) => Arc::new(b.finish()),
                    Column::Tag(_, _, TagBuilder::Text(b)) => Arc::new(b.finish()),
                }
            })
            .collect();
        crate::columns::record_batch(&self.schema, arrays, std::mem::take(&mut self.rows))
    }
}

/// MAPQ as the column shows it: 255 means "not available", as samtools prints
/// it; CRAM stores none for unmapped reads and htslib reports 0 for them.
pub(super) fn mapping_quality(r: &dyn sam::alignment::Record, cram: bool) -> io::Result<i32> {
    let missing = if cram && r.flags()?.is_unmapped() {
        0
    } else {
        255
    };
    Ok(r.mapping_quality()
        .transpose()?
        .map_or(missing, |q| i32::from(u8::from(q))))
}
