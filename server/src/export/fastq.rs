//! FASTQ output (.fastq.gz, BGZF, which gzip readers also read): `name`,
//! `sequence`, `quality_scores` (Phred+33 text), `description` when the
//! result has it. From an alignment table, reads with flag 0x10 are
//! reverse-complemented back to how they were sequenced and reads without
//! qualities get Q1 (`"`), as `samtools fastq` does.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::SchemaRef;
use datafusion::common::{DataFusionError, Result};
use noodles::bgzf;
use noodles::fastq;

use super::columns;
use super::index::io_error;
use super::{Failure, Sink, Written};

pub struct FastqSink {
    path: PathBuf,
    writer: fastq::io::Writer<bgzf::io::Writer<BufWriter<File>>>,
    rows: u64,
}

impl FastqSink {
    pub fn create(schema: &SchemaRef, path: &Path) -> Result<FastqSink> {
        columns::require(
            schema,
            &["name", "sequence", "quality_scores"],
            "FASTQ",
            "name, sequence and quality_scores (and optionally description), as FASTQ and \
             BAM/SAM tables have them",
        )?;
        let file = File::create(path).map_err(|e| io_error(path, e))?;
        let bgzf = bgzf::io::Writer::new(BufWriter::with_capacity(1 << 20, file));
        Ok(FastqSink {
            path: path.to_path_buf(),
            writer: fastq::io::Writer::new(bgzf),
            rows: 0,
        })
    }
}

fn complement(base: u8) -> u8 {
    match base {
        b'A' => b'T',
        b'C' => b'G',
        b'G' => b'C',
        b'T' => b'A',
        b'a' => b't',
        b'c' => b'g',
        b'g' => b'c',
        b't' => b'a',
        b'R' => b'Y',
        b'Y' => b'R',
        b'K' => b'M',
        b'M' => b'K',
        b'B' => b'V',
        b'V' => b'B',
        b'D' => b'H',
        b'H' => b'D',
        other => other,
    }
}

impl Sink for FastqSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), Failure> {
        let names = columns::text(batch, "name")?.expect("checked");
        let descriptions = columns::text(batch, "description")?;
        let sequences = columns::text(batch, "sequence")?.expect("checked");
        let qualities = columns::text(batch, "quality_scores")?.expect("checked");
        let flags = columns::int(batch, "flags")?;
        for row in 0..batch.num_rows() {
            if names.is_null(row) || sequences.is_null(row) {
                return Err(Failure::Error(DataFusionError::Execution(format!(
                    "cannot write FASTQ: a read has no name or sequence (row {} of a batch); \
                     filter them out with WHERE",
                    row + 1
                ))));
            }
            let mut sequence = sequences.value(row).as_bytes().to_vec();
            let mut quality = if qualities.is_null(row) {
                vec![b'"'; sequence.len()]
            } else {
                qualities.value(row).as_bytes().to_vec()
            };
            if quality.len() != sequence.len() {
                return Err(Failure::Error(DataFusionError::Execution(format!(
                    "cannot write FASTQ: read {} has {} bases but {} quality scores",
                    names.value(row),
                    sequence.len(),
                    quality.len()
                ))));
            }
            let reverse = flags
                .as_ref()
                .is_some_and(|f| f.is_valid(row) && f.value(row) & 0x10 != 0);
            if reverse {
                sequence.reverse();
                sequence.iter_mut().for_each(|b| *b = complement(*b));
                quality.reverse();
            }
            let description = descriptions
                .as_ref()
                .filter(|d| d.is_valid(row))
                .map_or("", |d| d.value(row));
            let definition = fastq::record::Definition::new(names.value(row), description);
            let record = fastq::Record::new(definition, sequence, quality);
            self.writer
                .write_record(&record)
                .map_err(|e| io_error(&self.path, e))?;
            self.rows += 1;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Written> {
        let FastqSink {
            path, writer, rows, ..
        } = *self;
        writer
            .into_inner()
            .finish()
            .and_then(|mut file| file.flush())
            .map_err(|e| io_error(&path, e))?;
        Ok(Written { rows, index: None })
    }
}
