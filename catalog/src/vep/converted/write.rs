//! Writes one part of a converted cache: the rows of each source region as
//! one row group of the part's Parquet files (its table's columns, then
//! `duplicate` and `model`), each file written under a temporary name and
//! renamed once complete.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};

use super::blob;
use super::manifest::{OutputFile, PartKind, crc32_file, size_mtime, tmp_path};
use crate::vep::features;
use crate::vep::table::{CacheFeature, RegionData, seen_keys};
use crate::vep::variation::{VariationBatch, VariationColumns};

/// Column: the feature is held by the region before it too (VEP writes a
/// transcript into every region file its gene overlaps); the table reports
/// the rows where it is false.
pub const DUPLICATE: &str = "duplicate";
/// Column: the whole feature as JSON (`blob`), what annotation reads.
pub const MODEL: &str = "model";

/// A table's columns, then `duplicate` and `model` (not for `variation`,
/// whose columns are the whole variant).
pub fn stored_schema(table: &SchemaRef, with_model: bool) -> SchemaRef {
    if !with_model {
        return table.clone();
    }
    let mut fields: Vec<Field> = table.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(DUPLICATE, DataType::Boolean, false));
    fields.push(Field::new(MODEL, DataType::Utf8, false));
    Arc::new(Schema::new_with_metadata(fields, table.metadata().clone()))
}

/// The table schema of each file of a part.
fn table_schema(table: &str, variation: &VariationColumns) -> SchemaRef {
    match table {
        "transcripts" => features::transcripts_schema(),
        "regulatory" => features::regulatory_schema(),
        "motifs" => features::motifs_schema(),
        _ => variation.schema(),
    }
}

struct TableFile {
    table: &'static str,
    rel: String,
    path: PathBuf,
    tmp: PathBuf,
    table_schema: SchemaRef,
    schema: SchemaRef,
    writer: ArrowWriter<File>,
    rows: u64,
    row_groups: usize,
}

/// The Parquet files of one part, written region by region.
pub struct PartWriter {
    files: Vec<TableFile>,
    variation: Arc<VariationColumns>,
}

/// Row groups hold one region (≈1 Mb of genome): never split by row count.
fn properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(None)
        .set_statistics_enabled(EnabledStatistics::Page)
        .build()
}

impl PartWriter {
    /// Starts the files of `kind` for `chrom` under `out` (`<chrom>/<table>.parquet`).
    pub fn create(
        out: &Path,
        chrom: &str,
        kind: PartKind,
        variation: Arc<VariationColumns>,
    ) -> Result<PartWriter, String> {
        let dir = out.join(chrom);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut files = Vec::new();
        for &table in kind.tables() {
            let rel = format!("{chrom}/{table}.parquet");
            let path = out.join(&rel);
            let tmp = tmp_path(&path);
            let table_schema = table_schema(table, &variation);
            let schema = stored_schema(&table_schema, kind != PartKind::Variation);
            let file = File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
            let writer = ArrowWriter::try_new(file, schema.clone(), Some(properties()))
                .map_err(|e| format!("{}: {e}", tmp.display()))?;
            files.push(TableFile {
                table,
                rel,
                path,
                tmp,
                table_schema,
                schema,
                writer,
                rows: 0,
                row_groups: 0,
            });
        }
        Ok(PartWriter { files, variation })
    }

    /// Writes one region's rows; `previous` is the region before it on the
    /// chromosome. Returns each file's row group for it (none when empty).
    pub fn region(
        &mut self,
        data: &RegionData,
        previous: Option<&RegionData>,
    ) -> Result<Vec<Option<usize>>, String> {
        let mut groups = Vec::with_capacity(self.files.len());
        for i in 0..self.files.len() {
            let f = &self.files[i];
            let batch = match f.table {
                "transcripts" => features_batch(
                    &data.transcripts,
                    previous.map(|p| p.transcripts.as_slice()),
                    &f.table_schema,
                    &f.schema,
                    features::transcripts_batch,
                ),
                "regulatory" => features_batch(
                    &data.regulatory,
                    previous.map(|p| p.regulatory.as_slice()),
                    &f.table_schema,
                    &f.schema,
                    features::regulatory_batch,
                ),
                "motifs" => features_batch(
                    &data.motifs,
                    previous.map(|p| p.motifs.as_slice()),
                    &f.table_schema,
                    &f.schema,
                    features::motifs_batch,
                ),
                _ => {
                    let mut b = VariationBatch::new(self.variation.clone(), f.schema.clone());
                    for v in &data.variants {
                        b.append(v);
                    }
                    b.finish().map_err(|e| e.to_string())
                }
            }
            .map_err(|e| format!("{}: {e}", f.rel))?;
            let f = &mut self.files[i];
            if batch.num_rows() == 0 {
                groups.push(None);
                continue;
            }
            let fail =
                |e: datafusion::parquet::errors::ParquetError| format!("{}: {e}", f.tmp.display());
            f.writer.write(&batch).map_err(fail)?;
            f.writer.flush().map_err(fail)?;
            f.rows += batch.num_rows() as u64;
            groups.push(Some(f.row_groups));
            f.row_groups += 1;
        }
        Ok(groups)
    }

    /// Closes the files and renames them into place.
    pub fn finish(self) -> Result<Vec<OutputFile>, String> {
        let mut out = Vec::new();
        for f in self.files {
            let fail =
                |e: datafusion::parquet::errors::ParquetError| format!("{}: {e}", f.tmp.display());
            // Writes the footer and hands the file back.
            let file = f.writer.into_inner().map_err(fail)?;
            file.sync_all()
                .map_err(|e| format!("{}: {e}", f.tmp.display()))?;
            drop(file);
            std::fs::rename(&f.tmp, &f.path).map_err(|e| format!("{}: {e}", f.path.display()))?;
            let (size, _) = size_mtime(&f.path)?;
            out.push(OutputFile {
                path: f.rel,
                table: f.table.to_string(),
                rows: f.rows,
                size,
                crc32: crc32_file(&f.path)?,
            });
        }
        Ok(out)
    }
}

/// A feature table's batch with `duplicate` and `model` appended.
fn features_batch<T: CacheFeature + serde::Serialize>(
    rows: &[Arc<T>],
    previous: Option<&[Arc<T>]>,
    table_schema: &SchemaRef,
    schema: &SchemaRef,
    build: fn(&[&T], &SchemaRef) -> datafusion::common::Result<RecordBatch>,
) -> Result<RecordBatch, String> {
    let refs: Vec<&T> = rows.iter().map(|r| r.as_ref()).collect();
    let table = build(&refs, table_schema).map_err(|e| e.to_string())?;
    let seen = seen_keys(previous);
    let duplicate = BooleanArray::from_iter(refs.iter().map(|f| Some(seen.contains(&f.key()))));
    let models = refs
        .iter()
        .map(|f| blob::encode(*f))
        .collect::<Result<Vec<String>, String>>()?;
    let mut columns: Vec<ArrayRef> = table.columns().to_vec();
    columns.push(Arc::new(duplicate));
    columns.push(Arc::new(StringArray::from(models)));
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())
}
