//! A converted cache as the cache's storage: its manifest gives the layout
//! (one "region file" per row group), and a region's features come back
//! from the `model` column (transcripts, regulatory and motif features) or
//! the columns of `variation`, without decoding Perl data.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use serde::de::DeserializeOwned;

use super::blob;
use super::manifest::{Manifest, PartKind};
use super::write::MODEL;
use crate::vep::info::CacheInfo;
use crate::vep::layout::{CacheLayout, ChromDir, RegionFile, RegionKind};
use crate::vep::synonyms::{self, Synonyms};
use crate::vep::table::RegionData;
use crate::vep::variation::KnownVariant;

/// Where a region's rows are: per output file, its path and row group.
type Location = Vec<(PathBuf, Option<usize>)>;

/// An opened converted cache directory.
#[derive(Debug)]
pub struct ConvertedStore {
    dir: PathBuf,
    /// (chrom, kind, region start) -> the region's row groups.
    regions: HashMap<(String, RegionKind, i64), Location>,
    /// Parquet footers, read once per file.
    footers: Mutex<HashMap<PathBuf, ArrowReaderMetadata>>,
}

fn region_kind(kind: PartKind) -> RegionKind {
    match kind {
        PartKind::Transcripts => RegionKind::Transcripts,
        PartKind::Regulatory => RegionKind::Regulatory,
        PartKind::Variation => RegionKind::Variation,
    }
}

impl ConvertedStore {
    /// Opens `dir` (holding the manifest): the store, the source cache's
    /// info (its identity kept), and the layout of its regions.
    pub fn open(dir: &Path) -> Result<(ConvertedStore, CacheInfo, CacheLayout), String> {
        let manifest = Manifest::read(dir)?;
        if !manifest.current() {
            return Err(format!(
                "{}: converted by another genoflight version (format or feature model \
                 changed); rebuild it: genoflight build-cache {} {}",
                dir.display(),
                manifest.source.display(),
                dir.display()
            ));
        }
        let info_path = dir.join("info.txt");
        let text =
            std::fs::read(&info_path).map_err(|e| format!("{}: {e}", info_path.display()))?;
        let mut info = CacheInfo::parse(
            &String::from_utf8_lossy(&text),
            &manifest.cache_dir,
            &manifest.species_dir,
        )
        .map_err(|e| format!("{}: {e}", info_path.display()))?;
        // Known variants are row groups here, whatever the source held.
        info.tabix_variation = false;
        let mut chromosomes: Vec<ChromDir> = Vec::new();
        let mut regions = HashMap::new();
        for part in &manifest.parts {
            let kind = region_kind(part.kind);
            let Some(first) = part.files.first() else {
                continue;
            };
            if !chromosomes.iter().any(|c| c.name == part.chrom) {
                chromosomes.push(ChromDir {
                    name: part.chrom.clone(),
                    path: dir.join(&part.chrom),
                    regions: Vec::new(),
                    all_vars: None,
                });
            }
            let chrom_dir = chromosomes
                .iter_mut()
                .find(|c| c.name == part.chrom)
                .expect("pushed above");
            for r in &part.regions {
                chrom_dir.regions.push(RegionFile {
                    kind,
                    chrom: part.chrom.clone(),
                    start: r.start,
                    end: r.end,
                    path: dir.join(&first.path),
                    serialiser: info.serialiser,
                });
                let location = part
                    .files
                    .iter()
                    .zip(&r.row_groups)
                    .map(|(f, g)| (dir.join(&f.path), *g))
                    .collect();
                regions.insert((part.chrom.clone(), kind, r.start), location);
            }
        }
        for c in &mut chromosomes {
            c.regions
                .sort_by(|a, b| (a.start, a.end, &a.path).cmp(&(b.start, b.end, &b.path)));
        }
        let layout = CacheLayout {
            root: dir.to_path_buf(),
            chromosomes,
            synonyms: Synonyms::read_if_present(&dir.join(synonyms::FILE_NAME))?,
        };
        let store = ConvertedStore {
            dir: dir.to_path_buf(),
            regions,
            footers: Mutex::new(HashMap::new()),
        };
        Ok((store, info, layout))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The features of one region (row group). Errors name the file.
    pub fn region(&self, file: &RegionFile) -> Result<RegionData, String> {
        let location = self
            .regions
            .get(&(file.chrom.clone(), file.kind, file.start))
            .ok_or_else(|| {
                format!(
                    "{}: no region {}:{}-{} in the manifest",
                    self.dir.display(),
                    file.chrom,
                    file.start,
                    file.end
                )
            })?;
        let mut data = RegionData::default();
        for (path, group) in location {
            let Some(group) = group else {
                continue;
            };
            let table = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            let batches = self.read(path, *group, table != "variation")?;
            let fail = |e: String| format!("{} (row group {group}): {e}", path.display());
            match table {
                "transcripts" => data.transcripts = models(&batches).map_err(fail)?,
                "regulatory" => data.regulatory = models(&batches).map_err(fail)?,
                "motifs" => data.motifs = models(&batches).map_err(fail)?,
                _ => data.variants = variants(&batches).map_err(fail)?,
            }
        }
        Ok(data)
    }

    /// One row group: its `model` column only, or every column.
    fn read(
        &self,
        path: &Path,
        group: usize,
        model_only: bool,
    ) -> Result<Vec<RecordBatch>, String> {
        let fail = |e: String| format!("{}: {e}", path.display());
        let file = File::open(path).map_err(|e| fail(e.to_string()))?;
        let metadata = {
            let mut footers = self.footers.lock().unwrap_or_else(|e| e.into_inner());
            match footers.get(path) {
                Some(m) => m.clone(),
                None => {
                    let m = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
                        .map_err(|e| fail(e.to_string()))?;
                    footers.insert(path.to_path_buf(), m.clone());
                    m
                }
            }
        };
        if group >= metadata.metadata().num_row_groups() {
            return Err(fail(format!(
                "has no row group {group}; rebuild with genoflight build-cache"
            )));
        }
        let mut builder =
            ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata.clone())
                .with_row_groups(vec![group])
                .with_batch_size(8192);
        if model_only {
            let index = metadata
                .schema()
                .index_of(MODEL)
                .map_err(|e| fail(e.to_string()))?;
            let mask = ProjectionMask::roots(metadata.parquet_schema(), [index]);
            builder = builder.with_projection(mask);
        }
        let reader = builder.build().map_err(|e| fail(e.to_string()))?;
        reader
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(e.to_string()))
    }
}

/// Features from their `model` column.
fn models<T: DeserializeOwned>(batches: &[RecordBatch]) -> Result<Vec<Arc<T>>, String> {
    let mut out = Vec::new();
    for b in batches {
        let column = b
            .column_by_name(MODEL)
            .and_then(|c| c.as_string_opt::<i32>())
            .ok_or("no utf8 model column")?;
        for text in column.iter() {
            out.push(Arc::new(blob::decode(text.ok_or("null model")?)?));
        }
    }
    Ok(out)
}

/// Known variants from the `variation` columns: the inverse of
/// `VariationBatch::append` (an absent column keeps `parse`'s default).
fn variants(batches: &[RecordBatch]) -> Result<Vec<KnownVariant>, String> {
    let mut out = Vec::new();
    for b in batches {
        let schema = b.schema();
        let mut rows: Vec<KnownVariant> = (0..b.num_rows())
            .map(|_| KnownVariant {
                strand: 1,
                ..Default::default()
            })
            .collect();
        for (field, column) in schema.fields().iter().zip(b.columns()) {
            let name = field.name().as_str();
            match column.data_type() {
                DataType::Int64 => {
                    let values = column.as_primitive::<Int64Type>();
                    for (v, x) in rows.iter_mut().zip(values.iter()) {
                        let x = x.ok_or_else(|| format!("null {name}"))?;
                        match name {
                            "start" => v.start = x,
                            "end" => v.end = x,
                            "strand" => v.strand = x,
                            "failed" => v.failed = x,
                            "somatic" => v.somatic = x,
                            "phenotype_or_disease" => v.phenotype_or_disease = x,
                            _ => return Err(format!("unexpected integer column {name}")),
                        }
                    }
                }
                DataType::Float64 => {
                    let values = column.as_primitive::<Float64Type>();
                    for (v, x) in rows.iter_mut().zip(values.iter()) {
                        v.minor_allele_freq = x;
                    }
                }
                DataType::Utf8 => {
                    let values = column.as_string::<i32>();
                    let key: Arc<str> = Arc::from(name);
                    for (v, x) in rows.iter_mut().zip(values.iter()) {
                        let Some(x) = x else { continue };
                        let x = x.to_string();
                        match name {
                            "chrom" => v.chrom = x,
                            "variation_name" => v.variation_name = Some(x),
                            "allele_string" => v.allele_string = Some(x),
                            "minor_allele" => v.minor_allele = Some(x),
                            "clin_sig" => v.clin_sig = Some(x),
                            "pubmed" => v.pubmed = Some(x),
                            "var_synonyms" => v.var_synonyms = Some(x),
                            _ => v.frequencies.push((key.clone(), x)),
                        }
                    }
                }
                other => return Err(format!("unexpected column {name} of type {other}")),
            }
        }
        out.extend(rows);
    }
    Ok(out)
}
