//! GFF3 and GTF (.gff/.gff3/.gtf, BGZF .gz with .tbi) as tables: the eight
//! fixed columns and the attributes as a map.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, MapBuilder, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::{DataFusionError, Result};

use crate::columns::{TextColumn, skip_header_lines};
use crate::coords;
use crate::text::{Line, RecordSink, Region, TextFormat, TextSource, TextTable, in_regions};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Gff3,
    Gtf,
}

const NAMES: [&str; 9] = [
    "chrom",
    "source",
    "type",
    "start",
    "end",
    "score",
    "strand",
    "phase",
    "attributes",
];

fn attributes_builder() -> MapBuilder<StringBuilder, StringBuilder> {
    MapBuilder::new(None, StringBuilder::new(), StringBuilder::new())
}

#[derive(Debug)]
struct Gff {
    dialect: Dialect,
    schema: SchemaRef,
    zero_based: bool,
    /// Attributes promoted to columns, after `attributes`.
    promoted: Vec<String>,
}

/// Table column -> GFF field: `chrom, start, end, source, type, score, strand, phase, attributes`.
const FIELD_OF_COLUMN: [usize; 9] = [0, 3, 4, 1, 2, 5, 6, 7, 8];

impl TextFormat for Gff {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn sink(&self, projection: &[usize], projected: SchemaRef) -> Box<dyn RecordSink> {
        let columns = projection
            .iter()
            .map(|&i| match FIELD_OF_COLUMN.get(i) {
                Some(8) => Column::Attributes(Box::new(attributes_builder())),
                Some(&field) => {
                    let shift = if field == 3 && self.zero_based { -1 } else { 0 };
                    Column::Field(TextColumn::new(
                        field,
                        self.schema.field(i).data_type(),
                        shift,
                        field == 6,
                    ))
                }
                None => {
                    let key = self.promoted[i - FIELD_OF_COLUMN.len()].clone();
                    Column::Promoted(key, StringBuilder::new())
                }
            })
            .collect();
        Box::new(GffSink {
            dialect: self.dialect,
            schema: projected,
            columns,
            rows: 0,
        })
    }
}

enum Column {
    Field(TextColumn),
    /// The `attributes` map.
    Attributes(Box<MapBuilder<StringBuilder, StringBuilder>>),
    /// One attribute as its own column (NULL where the record lacks it).
    Promoted(String, StringBuilder),
}

struct GffSink {
    dialect: Dialect,
    schema: SchemaRef,
    columns: Vec<Column>,
    rows: usize,
}

fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `key=value;...` (GFF3) or `key "value"; ...` (GTF); repeated keys keep all values, joined by `,`.
fn parse_attributes(dialect: Dialect, text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    if text == "." {
        return out;
    }
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = match dialect {
            Dialect::Gff3 => match part.split_once('=') {
                Some((k, v)) => (k.trim().to_string(), percent_decode(v)),
                None => (part.to_string(), String::new()),
            },
            Dialect::Gtf => match part.split_once(char::is_whitespace) {
                Some((k, v)) => (k.to_string(), v.trim().trim_matches('"').to_string()),
                None => (part.to_string(), String::new()),
            },
        };
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            None => out.push((key, value)),
        }
    }
    out
}

impl RecordSink for GffSink {
    fn push(&mut self, line: &str, regions: &[Region]) -> Result<Line, String> {
        if line.starts_with("##FASTA") {
            return Ok(Line::End);
        }
        if line.starts_with('#') || line.trim().is_empty() {
            return Ok(Line::Skipped);
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() < 8 {
            return Err(format!(
                "expected 9 tab-separated GFF columns, found {}",
                fields.len()
            ));
        }
        let start: i64 = fields[3]
            .parse()
            .map_err(|_| format!("invalid start '{}'", fields[3]))?;
        let end: i64 = fields[4]
            .parse()
            .map_err(|_| format!("invalid end '{}'", fields[4]))?;
        if !in_regions(regions, fields[0], start, end) {
            return Ok(Line::Skipped);
        }
        let parsed = match self.columns.iter().any(|c| !matches!(c, Column::Field(_))) {
            true => parse_attributes(self.dialect, fields.get(8).copied().unwrap_or(".")),
            false => vec![],
        };
        for c in &mut self.columns {
            match c {
                Column::Field(c) => c.append(&fields, &NAMES)?,
                Column::Attributes(map) => {
                    for (k, v) in &parsed {
                        map.keys().append_value(k);
                        map.values().append_value(v);
                    }
                    map.append(true).map_err(|e| e.to_string())?;
                }
                Column::Promoted(key, b) => {
                    b.append_option(parsed.iter().find(|(k, _)| k == key).map(|(_, v)| v));
                }
            }
        }
        self.rows += 1;
        Ok(Line::Kept)
    }

    fn len(&self) -> usize {
        self.rows
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        let arrays = self
            .columns
            .iter_mut()
            .map(|c| -> ArrayRef {
                match c {
                    Column::Field(c) => c.finish(),
                    Column::Attributes(map) => Arc::new(map.finish()),
                    Column::Promoted(_, b) => Arc::new(b.finish()),
                }
            })
            .collect();
        crate::columns::record_batch(&self.schema, arrays, std::mem::take(&mut self.rows))
    }
}

/// A GFF3/GTF table; `promoted` attributes also get a column each (Utf8, named as the key).
pub fn open_gff(
    path: &Path,
    dialect: Dialect,
    zero_based: bool,
    promoted: &[String],
) -> Result<TextTable> {
    let source = TextSource::open(path, &mut |reader, display| {
        skip_header_lines(reader, |l| {
            l.starts_with(b"#") && !l.starts_with(b"##FASTA")
        })
        .map_err(|e| DataFusionError::Execution(format!("{display}: cannot read: {e}")))
    })?;
    let map_type = attributes_builder().finish().data_type().clone();
    let mut fields = vec![
        Field::new("chrom", DataType::Utf8, false),
        Field::new("start", DataType::Int64, false),
        Field::new("end", DataType::Int64, false),
        Field::new("source", DataType::Utf8, true),
        Field::new("type", DataType::Utf8, true),
        Field::new("score", DataType::Float64, true),
        Field::new("strand", DataType::Utf8, true),
        Field::new("phase", DataType::Int32, true),
        Field::new("attributes", map_type, true),
    ];
    for key in promoted {
        if fields.iter().any(|f| f.name() == key) {
            return Err(DataFusionError::Plan(format!(
                "{}: attribute '{key}' cannot become a column: the table already has one of that name",
                path.display()
            )));
        }
        fields.push(Field::new(key, DataType::Utf8, true));
    }
    let schema = Arc::new(Schema::new(fields).with_metadata(coords::schema_metadata(zero_based)));
    let format = Gff {
        dialect,
        schema,
        zero_based,
        promoted: promoted.to_vec(),
    };
    Ok(TextTable::new(
        "GffExec",
        Arc::new(source),
        Arc::new(format),
        zero_based,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_of_both_dialects() {
        let gtf = parse_attributes(Dialect::Gtf, r#"gene_id "g1"; tag "basic"; tag "CCDS";"#);
        assert_eq!(
            gtf,
            vec![
                ("gene_id".into(), "g1".into()),
                ("tag".into(), "basic,CCDS".into())
            ]
        );
        let gff = parse_attributes(Dialect::Gff3, "ID=a%3Bb;Parent=p1,p2");
        assert_eq!(
            gff,
            vec![
                ("ID".into(), "a;b".into()),
                ("Parent".into(), "p1,p2".into())
            ]
        );
    }
}
