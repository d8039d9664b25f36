//! BED output (.bed.gz, BGZF + .tbi): `chrom, start, end` written 0-based
//! half-open, then the BED columns the result has, in BED order (`name,
//! score, strand, thick_start, thick_end, item_rgb, block_count, block_sizes,
//! block_starts`; a gap before a later one is filled with BED's "no value":
//! `.`, 0, `.`, start, end, 0), then any other columns as extra fields (BED3+N).

use std::path::Path;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::{Schema, SchemaRef};
use datafusion::common::{DataFusionError, Result};
use genoflight_catalog::coords::declared_zero_based;
use noodles::csi::binning_index::index::header::Builder as IndexHeader;

use super::columns::{self, Values};
use super::source::SourceFile;
use super::text::IndexedText;
use super::{Failure, Sink, Written};

const OPTIONAL: &[&str] = &[
    "name",
    "score",
    "strand",
    "thick_start",
    "thick_end",
    "item_rgb",
    "block_count",
    "block_sizes",
    "block_starts",
];

/// BED has no header: unknown contigs sort by name.
pub fn contig_order(_sources: &[SourceFile]) -> Result<Vec<String>> {
    Ok(vec![])
}

/// What the result's columns become.
struct Layout {
    /// How many of OPTIONAL are written (BED3 + this).
    optional: usize,
    /// Index in the schema of each OPTIONAL column present.
    present: Vec<Option<usize>>,
    extra: Vec<usize>,
    zero_based: bool,
}

fn layout(schema: &Schema) -> Result<Layout> {
    columns::require(
        schema,
        &["chrom", "start", "end"],
        "BED",
        "chrom, start, end (and optionally name, score, strand, thick_start, thick_end, \
         item_rgb, block_count, block_sizes, block_starts)",
    )?;
    let present: Vec<Option<usize>> = OPTIONAL.iter().map(|n| columns::find(schema, n)).collect();
    let optional = present
        .iter()
        .rposition(Option::is_some)
        .map_or(0, |i| i + 1);
    let blocks = &present[6..9];
    if optional > 6 && blocks.iter().any(Option::is_none) {
        return Err(DataFusionError::Plan(
            "cannot write BED: block_count, block_sizes and block_starts go together; select \
             all three or none"
                .into(),
        ));
    }
    let extra = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            !["chrom", "start", "end"].contains(&f.name().as_str())
                && !OPTIONAL.contains(&f.name().as_str())
        })
        .map(|(i, _)| i)
        .collect();
    Ok(Layout {
        optional,
        present,
        extra,
        zero_based: declared_zero_based(schema.metadata()).unwrap_or(false),
    })
}

pub fn sink(schema: &SchemaRef, path: &Path, _sql: &str) -> Result<Box<dyn Sink>> {
    let layout = layout(schema)?;
    let out = IndexedText::create(path, IndexHeader::bed().build(), 0)?;
    Ok(Box::new(BedSink {
        layout,
        out,
        line: String::new(),
    }))
}

struct BedSink {
    layout: Layout,
    out: IndexedText,
    line: String,
}

impl Sink for BedSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), Failure> {
        let chrom = columns::text(batch, "chrom")?.expect("checked");
        let start = columns::int(batch, "start")?.expect("checked");
        let end = columns::int(batch, "end")?.expect("checked");
        let thick_start = columns::int(batch, "thick_start")?;
        let optional: Vec<Option<Values>> = self.layout.present[..self.layout.optional]
            .iter()
            .map(|i| i.map(|i| columns::values(batch, i)).transpose())
            .collect::<Result<_>>()?;
        let extra: Vec<Values> = self
            .layout
            .extra
            .iter()
            .map(|&i| columns::values(batch, i))
            .collect::<Result<_>>()?;
        let shift = i64::from(!self.layout.zero_based);
        let mut line = std::mem::take(&mut self.line);
        for row in 0..batch.num_rows() {
            if chrom.is_null(row) || start.is_null(row) || end.is_null(row) {
                self.line = line;
                return Err(Failure::Error(DataFusionError::Execution(format!(
                    "cannot write BED: a row has no chrom, start or end (row {} of a batch); \
                     filter them out with WHERE",
                    row + 1
                ))));
            }
            let (c, s0, e) = (chrom.value(row), start.value(row) - shift, end.value(row));
            line.clear();
            line.push_str(c);
            line.push('\t');
            line.push_str(&s0.to_string());
            line.push('\t');
            line.push_str(&e.to_string());
            for (k, values) in optional.iter().enumerate() {
                line.push('\t');
                match (k, values) {
                    // thickStart is a start: 0-based in the file.
                    (3, Some(_)) => match &thick_start {
                        Some(t) if t.is_valid(row) => {
                            line.push_str(&(t.value(row) - shift).to_string())
                        }
                        _ => line.push_str(&s0.to_string()),
                    },
                    (_, Some(v)) if !v.is_null(row) => {
                        v.write(row, &mut line, ".");
                    }
                    (0 | 2, _) => line.push('.'),
                    (1 | 5, _) => line.push('0'),
                    (3, None) => line.push_str(&s0.to_string()),
                    (4, _) => line.push_str(&e.to_string()),
                    _ => line.push('.'),
                }
            }
            for values in &extra {
                line.push('\t');
                values.write(row, &mut line, ".");
            }
            line.push('\n');
            if let Err(f) = self.out.write_record(&line, c, s0 + 1, e) {
                self.line = line;
                return Err(f);
            }
        }
        self.line = line;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Written> {
        self.out.finish()
    }
}
