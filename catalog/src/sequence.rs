//! FASTA (.fa/.fasta/.fna, plain, gzip or BGZF) and FASTQ (.fq/.fastq, likewise)
//! as tables of records. Records span lines, so files are read start to end.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::Result;

use crate::text::{Line, RecordSink, Region, TextFormat, TextSource, TextTable};

/// Emit a batch once its sequences hold this many bytes (whole chromosomes
/// would otherwise overflow 32-bit string offsets).
const FULL_BYTES: usize = 256 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Fasta,
    Fastq,
}

#[derive(Debug)]
struct Sequences {
    kind: Kind,
    schema: SchemaRef,
}

fn schema(kind: Kind) -> SchemaRef {
    let mut fields = vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("description", DataType::Utf8, true),
        Field::new("sequence", DataType::Utf8, false),
    ];
    if kind == Kind::Fastq {
        fields.push(Field::new("quality_scores", DataType::Utf8, false));
    }
    Arc::new(Schema::new(fields))
}

impl TextFormat for Sequences {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn sink(&self, projection: &[usize], projected: SchemaRef) -> Box<dyn RecordSink> {
        Box::new(SequenceSink {
            kind: self.kind,
            schema: projected,
            projection: projection.to_vec(),
            columns: projection.iter().map(|_| StringBuilder::new()).collect(),
            record: None,
            bytes: 0,
            rows: 0,
        })
    }

    fn splittable(&self) -> bool {
        false
    }
}

#[derive(Default)]
struct Record {
    name: String,
    description: Option<String>,
    sequence: String,
    /// FASTQ: seen the `+` line.
    plus: bool,
    quality: String,
}

struct SequenceSink {
    kind: Kind,
    schema: SchemaRef,
    /// Table columns: 0 name, 1 description, 2 sequence, 3 quality_scores.
    projection: Vec<usize>,
    columns: Vec<StringBuilder>,
    record: Option<Record>,
    bytes: usize,
    rows: usize,
}

fn header(line: &str) -> Record {
    let (name, description) = match line[1..].split_once(char::is_whitespace) {
        Some((n, d)) => (
            n.to_string(),
            Some(d.trim().to_string()).filter(|d| !d.is_empty()),
        ),
        None => (line[1..].trim_end().to_string(), None),
    };
    Record {
        name,
        description,
        ..Record::default()
    }
}

impl SequenceSink {
    fn emit(&mut self, r: Record) {
        self.bytes += r.sequence.len() + r.quality.len();
        for (builder, column) in self.columns.iter_mut().zip(&self.projection) {
            match column {
                0 => builder.append_value(&r.name),
                1 => builder.append_option(r.description.as_deref()),
                2 => builder.append_value(&r.sequence),
                _ => builder.append_value(&r.quality),
            }
        }
        self.rows += 1;
    }

    fn push_fasta(&mut self, line: &str) -> Result<Line, String> {
        if line.starts_with('>') {
            if let Some(done) = self.record.replace(header(line)) {
                self.emit(done);
            }
            return Ok(Line::Kept);
        }
        match &mut self.record {
            Some(r) => r.sequence.push_str(line.trim_end()),
            None if line.starts_with(';') || line.trim().is_empty() => return Ok(Line::Skipped),
            None => return Err("sequence data before the first '>' header".into()),
        }
        Ok(Line::Kept)
    }

    fn push_fastq(&mut self, line: &str) -> Result<Line, String> {
        let Some(r) = &mut self.record else {
            if line.trim().is_empty() {
                return Ok(Line::Skipped);
            }
            if !line.starts_with('@') {
                return Err(format!(
                    "expected a FASTQ header starting with '@', found {:?}",
                    truncate(line)
                ));
            }
            self.record = Some(header(line));
            return Ok(Line::Kept);
        };
        if !r.plus {
            if line.starts_with('+') {
                r.plus = true;
                // A zero-length read has an empty (skipped) quality line.
                if r.sequence.is_empty() {
                    let done = self.record.take().expect("in a record");
                    self.emit(done);
                }
            } else if line.starts_with('@') && r.sequence.is_empty() {
                return Err(format!("record {} has no sequence and no '+' line", r.name));
            } else {
                r.sequence.push_str(line.trim_end());
            }
            return Ok(Line::Kept);
        }
        // Quality lines may start with '@' or '+': count characters, not markers.
        r.quality.push_str(line.trim_end());
        if r.quality.len() > r.sequence.len() {
            return Err(format!(
                "record {}: quality and sequence lengths differ ({} vs {} so far); is a quality line short?",
                r.name,
                r.quality.len(),
                r.sequence.len()
            ));
        }
        if r.quality.len() == r.sequence.len() {
            let done = self.record.take().expect("in a record");
            self.emit(done);
        }
        Ok(Line::Kept)
    }
}

fn truncate(s: &str) -> &str {
    s.char_indices().nth(40).map_or(s, |(i, _)| &s[..i])
}

impl RecordSink for SequenceSink {
    fn push(&mut self, line: &str, _regions: &[Region]) -> Result<Line, String> {
        match self.kind {
            Kind::Fasta => self.push_fasta(line),
            Kind::Fastq => self.push_fastq(line),
        }
    }

    fn len(&self) -> usize {
        self.rows
    }

    fn is_full(&self) -> bool {
        self.bytes >= FULL_BYTES
    }

    fn flush(&mut self) -> Result<(), String> {
        let Some(r) = self.record.take() else {
            return Ok(());
        };
        if self.kind == Kind::Fastq && r.quality.len() != r.sequence.len() {
            return Err(format!(
                "record {} is truncated: quality has {} of {} characters",
                r.name,
                r.quality.len(),
                r.sequence.len()
            ));
        }
        self.emit(r);
        Ok(())
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        self.bytes = 0;
        crate::columns::record_batch(&self.schema, arrays, std::mem::take(&mut self.rows))
    }
}

pub fn open_sequences(path: &Path, kind: Kind) -> Result<TextTable> {
    let source = TextSource::open(path, &mut |_, _| Ok(0))?;
    let format = Sequences {
        kind,
        schema: schema(kind),
    };
    let name = if kind == Kind::Fasta {
        "FastaExec"
    } else {
        "FastqExec"
    };
    Ok(TextTable::new(
        name,
        Arc::new(source),
        Arc::new(format),
        false,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::AsArray;

    fn run(kind: Kind, text: &str) -> Result<RecordBatch, String> {
        let format = Sequences {
            kind,
            schema: schema(kind),
        };
        let all: Vec<usize> = (0..format.schema.fields().len()).collect();
        let mut sink = format.sink(&all, format.schema.clone());
        for line in text.lines().filter(|l| !l.is_empty()) {
            sink.push(line, &[])?;
        }
        sink.flush()?;
        sink.finish().map_err(|e| e.to_string())
    }

    #[test]
    fn wrapped_fastq_with_marker_characters_in_quality() {
        let b = run(
            Kind::Fastq,
            "@r1 desc\nACGT\nAC\n+\n@@+I\n+I\n@r2\nA\n+r2\n@\n",
        )
        .unwrap();
        assert_eq!(b.num_rows(), 2);
        assert_eq!(b.column(2).as_string::<i32>().value(0), "ACGTAC");
        assert_eq!(b.column(3).as_string::<i32>().value(0), "@@+I+I");
        assert_eq!(b.column(1).as_string::<i32>().value(0), "desc");
        assert_eq!(b.column(3).as_string::<i32>().value(1), "@");
    }

    #[test]
    fn short_quality_and_missing_header_are_errors() {
        let e = run(Kind::Fastq, "@r1\nACGT\n+\nII\n").unwrap_err();
        assert!(e.contains("truncated"), "{e}");
        let e = run(Kind::Fastq, "r1\nACGT\n+\nIIII\n").unwrap_err();
        assert!(e.contains("'@'"), "{e}");
    }

    #[test]
    fn fasta_records_concatenate_lines() {
        let b = run(Kind::Fasta, ">chr1 first one\nACGT\nacgt\n>chr2\nNN\n").unwrap();
        assert_eq!(b.num_rows(), 2);
        assert_eq!(b.column(0).as_string::<i32>().value(1), "chr2");
        assert_eq!(b.column(2).as_string::<i32>().value(0), "ACGTacgt");
        assert!(b.column(1).is_null(1));
    }
}
