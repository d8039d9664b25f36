//! The engine shared by line-oriented formats (VCF, BED, GFF3/GTF): a file
//! source with partitions and index regions, a generic scan plan, and a
//! generic table provider. A format supplies only its schema and a
//! [`RecordSink`] that turns lines into batches.

mod exec;
pub mod source;
mod table;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::common::Result;

pub use exec::TextExec;
pub use source::{Region, TextSource};
pub use table::TextTable;

/// What became of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    Kept,
    /// A comment, a header line, or a record outside the scanned regions.
    Skipped,
    /// The records are over (a GFF3 `##FASTA` section follows).
    End,
}

/// Turns a format's lines into record batches of a projected schema.
pub trait RecordSink: Send {
    fn push(&mut self, line: &str, regions: &[Region]) -> Result<Line, String>;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn finish(&mut self) -> Result<RecordBatch>;
    /// Whether the batch should be emitted before `batch_size` rows
    /// (long sequences: keeps string offsets and memory bounded).
    fn is_full(&self) -> bool {
        false
    }
    /// The input is over: complete any record spanning several lines.
    fn flush(&mut self) -> Result<(), String> {
        Ok(())
    }
}

/// A line-oriented format: its table schema and a sink per scan partition.
pub trait TextFormat: std::fmt::Debug + Send + Sync + 'static {
    fn schema(&self) -> SchemaRef;
    /// A sink producing `projection` (indices into `schema()`) in that order.
    fn sink(&self, projection: &[usize], projected: SchemaRef) -> Box<dyn RecordSink>;
    /// Whether a record is one line, so byte ranges can be scanned in parallel.
    fn splittable(&self) -> bool {
        true
    }
}

/// Whether `[start, end]` (1-based, closed) on `chrom` is inside the scan:
/// no regions means everything.
pub fn in_regions(regions: &[Region], chrom: &str, start: i64, end: i64) -> bool {
    regions.is_empty()
        || regions
            .iter()
            .any(|r| r.overlaps(chrom, start, end.max(start)))
}
