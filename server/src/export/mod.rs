//! `genoflight export`: a query's result written as a genomic file, chosen by
//! the output's suffix: VCF (.vcf.gz + .tbi), BAM (+ .bai), FASTQ (.fastq.gz),
//! BED (.bed.gz + .tbi) or Parquet. Batches stream from DataFusion to the
//! writer; headers come from the source table's file when the query reads one.
//!
//! Indexed formats need coordinate-sorted records. The query runs first as
//! given, partitions delivered in file order; if a record arrives out of
//! order, the output is dropped and the query re-runs wrapped in an ORDER BY
//! of the header's contig order and start.
//!
//! The output is written to a temporary file beside the target and renamed
//! when complete, so a failed export leaves no half-written file behind.

mod bam;
mod bed;
mod columns;
mod fastq;
mod index;
mod parquet;
mod source;
mod stream;
mod text;
mod vcf;

use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::common::{DataFusionError, Result};
use futures::StreamExt;
use serde_json::json;

use crate::engine::Engine;
use index::Unsorted;
use stream::Batches;

/// The formats `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Vcf,
    Bam,
    Fastq,
    Bed,
    Parquet,
}

const SUFFIXES: &[(&str, OutputFormat)] = &[
    (".vcf.gz", OutputFormat::Vcf),
    (".vcf.bgz", OutputFormat::Vcf),
    (".bam", OutputFormat::Bam),
    (".fastq.gz", OutputFormat::Fastq),
    (".fq.gz", OutputFormat::Fastq),
    (".bed.gz", OutputFormat::Bed),
    (".bed.bgz", OutputFormat::Bed),
    (".parquet", OutputFormat::Parquet),
];

impl OutputFormat {
    /// The format an output file name asks for.
    pub fn from_path(path: &Path) -> Result<OutputFormat> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        SUFFIXES
            .iter()
            .find(|(suffix, _)| name.ends_with(suffix))
            .map(|(_, f)| *f)
            .ok_or_else(|| {
                let known: Vec<&str> = SUFFIXES.iter().map(|(s, _)| *s).collect();
                DataFusionError::Plan(format!(
                    "cannot tell the export format of {}: use a file name ending in one of {} \
                     (VCF, BED and FASTQ are written BGZF-compressed)",
                    path.display(),
                    known.join(", ")
                ))
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Vcf => "vcf",
            OutputFormat::Bam => "bam",
            OutputFormat::Fastq => "fastq",
            OutputFormat::Bed => "bed",
            OutputFormat::Parquet => "parquet",
        }
    }
}

/// What an export wrote.
#[derive(Debug)]
pub struct Summary {
    pub format: OutputFormat,
    pub rows: u64,
    pub bytes: u64,
    pub index: Option<PathBuf>,
}

impl Summary {
    pub fn to_json(&self) -> String {
        json!({
            "format": self.format.as_str(),
            "rows": self.rows,
            "bytes": self.bytes,
            "index": self.index.as_ref().map(|p| p.display().to_string()),
        })
        .to_string()
    }
}

/// What a writer returns when it is done: rows written, and the index it
/// wrote beside its data file (at the temporary name).
pub struct Written {
    pub rows: u64,
    pub index: Option<PathBuf>,
}

/// Why writing a batch stopped.
pub enum Failure {
    Unsorted(Unsorted),
    Error(DataFusionError),
}

impl From<DataFusionError> for Failure {
    fn from(e: DataFusionError) -> Failure {
        Failure::Error(e)
    }
}

/// One output file being written, batch by batch.
pub trait Sink: Send {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), Failure>;
    fn finish(self: Box<Self>) -> Result<Written>;
}

/// Builds the sink for a result schema, writing to a given path.
pub type MakeSink<'a> = dyn Fn(&SchemaRef, &Path) -> Result<Box<dyn Sink>> + Send + Sync + 'a;

/// Runs `sql` on `engine` and writes its result to `out`.
pub async fn export(engine: &Engine, sql: &str, out: &Path) -> Result<Summary> {
    let format = OutputFormat::from_path(out)?;
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(DataFusionError::Plan(format!(
            "cannot write {}: directory {} does not exist",
            out.display(),
            dir.display()
        )));
    }
    if sql.trim().is_empty() {
        return Err(DataFusionError::Plan("the SQL query is empty".into()));
    }
    let plan = stream::plan(engine, sql).await?;
    let sources = source::scanned(engine, &plan)?;
    let tmp = temporary(out);
    let result = async {
        match format {
            OutputFormat::Parquet => {
                let (schema, batches) = stream::ordered(engine, plan).await?;
                let sink = parquet::ParquetSink::create(&schema, &tmp)?;
                drive(Box::new(sink), batches).await.map_err(|f| match f {
                    Failure::Error(e) => e,
                    Failure::Unsorted(u) => DataFusionError::Internal(u.0),
                })
            }
            OutputFormat::Fastq => {
                let (schema, batches) = stream::ordered(engine, plan).await?;
                let sink = fastq::FastqSink::create(&schema, &tmp)?;
                drive(Box::new(sink), batches).await.map_err(|f| match f {
                    Failure::Error(e) => e,
                    Failure::Unsorted(u) => DataFusionError::Internal(u.0),
                })
            }
            OutputFormat::Vcf => {
                let setup = vcf::VcfSetup::new(engine, sql, &plan, &sources).await?;
                let contigs = setup.contigs();
                let make = |s: &SchemaRef, p: &Path| setup.sink(s, p);
                sorted_export(engine, sql, plan, &contigs, &make, &tmp).await
            }
            OutputFormat::Bed => {
                let contigs = bed::contig_order(&sources)?;
                let make = |s: &SchemaRef, p: &Path| bed::sink(s, p, sql);
                sorted_export(engine, sql, plan, &contigs, &make, &tmp).await
            }
            OutputFormat::Bam => {
                let schema = plan.schema().as_arrow().clone();
                let setup = bam::BamSetup::new(engine, sql, &schema, &sources).await?;
                let contigs = setup.contigs();
                let make = |s: &SchemaRef, p: &Path| setup.sink(s, p);
                sorted_export(engine, sql, plan, &contigs, &make, &tmp).await
            }
        }
    }
    .await;
    let written = match result {
        Ok(w) => w,
        Err(e) => {
            remove_with_index(&tmp);
            return Err(e);
        }
    };
    let index = match written.index {
        Some(tmp_index) => {
            let ext = tmp_index
                .extension()
                .map(|e| e.to_string_lossy().into_owned())
                .unwrap_or_default();
            let target = PathBuf::from(format!("{}.{ext}", out.display()));
            // A stale index of another kind must not sit beside the new data.
            for other in ["tbi", "csi", "bai"] {
                if other != ext {
                    let _ = std::fs::remove_file(format!("{}.{other}", out.display()));
                }
            }
            rename(&tmp_index, &target)?;
            Some(target)
        }
        None => None,
    };
    rename(&tmp, out)?;
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    Ok(Summary {
        format,
        rows: written.rows,
        bytes,
        index,
    })
}

/// Writes an indexed format: the query as given, else re-run sorted.
async fn sorted_export(
    engine: &Engine,
    sql: &str,
    plan: datafusion::logical_expr::LogicalPlan,
    contigs: &[String],
    make: &MakeSink<'_>,
    tmp: &Path,
) -> Result<Written> {
    let (schema, batches) = stream::ordered(engine, plan).await?;
    let first = match drive(make(&schema, tmp)?, batches).await {
        Ok(w) => return Ok(w),
        Err(Failure::Error(e)) => return Err(e),
        Err(Failure::Unsorted(u)) => u,
    };
    tracing::info!("export: the result is not sorted ({}); sorting it", first.0);
    remove_with_index(tmp);
    let (schema, batches) = stream::sorted(engine, sql, contigs).await?;
    match drive(make(&schema, tmp)?, batches).await {
        Ok(w) => Ok(w),
        Err(Failure::Error(e)) => Err(e),
        Err(Failure::Unsorted(u)) => Err(DataFusionError::Execution(format!(
            "cannot index the output: after sorting, {}",
            u.0
        ))),
    }
}

async fn drive(mut sink: Box<dyn Sink>, mut batches: Batches) -> Result<Written, Failure> {
    while let Some(batch) = batches.next().await {
        let batch = batch?;
        if batch.num_rows() > 0 {
            sink.write(&batch)?;
        }
    }
    Ok(sink.finish()?)
}

fn temporary(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = out.parent().unwrap_or(Path::new(""));
    // Keeps the suffix last so the writers see the real format in it.
    dir.join(format!(".genoflight-{}-{name}", std::process::id()))
}

fn remove_with_index(tmp: &Path) {
    let _ = std::fs::remove_file(tmp);
    for ext in ["tbi", "csi", "bai"] {
        let _ = std::fs::remove_file(format!("{}.{ext}", tmp.display()));
    }
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to)
        .map_err(|e| DataFusionError::Execution(format!("cannot write {}: {e}", to.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_come_from_suffixes() {
        let f = |p: &str| OutputFormat::from_path(Path::new(p));
        assert_eq!(f("a/x.vcf.gz").unwrap(), OutputFormat::Vcf);
        assert_eq!(f("X.BAM").unwrap(), OutputFormat::Bam);
        assert_eq!(f("r.fq.gz").unwrap(), OutputFormat::Fastq);
        assert_eq!(f("p.bed.gz").unwrap(), OutputFormat::Bed);
        assert_eq!(f("chrom=1/part.parquet").unwrap(), OutputFormat::Parquet);
        let e = f("x.vcf").unwrap_err().to_string();
        assert!(e.contains(".vcf.gz") && e.contains("x.vcf"), "{e}");
    }
}
