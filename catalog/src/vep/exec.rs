//! `VepScanExec`: the scan of one cache table. Partitions are region files
//! (or index chunks of a tabix `all_vars.gz`), pruned by the query's
//! chrom/start/end predicates using the ranges in the file names; files are
//! decoded on the blocking pool through the cache's LRU.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};

use super::convert::decode_region_file;
use super::features;
use super::layout::{FileToRead, RegionFile, RegionKind, in_read_order};
use super::table::{CacheFeature, RegionData, VepCache, VepTableKind, seen_keys};
use super::variation::{VariationBatch, VariationColumns, VariationSink};
use crate::scan::{blocking_stream, bounded_properties};
use crate::text::source::ScanUnit;
use crate::text::{Line, RecordSink, Region, TextSource, in_regions};

/// The full schema of a feature table (not `variation`, whose columns come
/// from the cache's info.txt).
pub fn feature_schema(kind: VepTableKind) -> SchemaRef {
    match kind {
        VepTableKind::Transcripts => features::transcripts_schema(),
        VepTableKind::Exons => features::exons_schema(),
        VepTableKind::Translations => features::translations_schema(),
        VepTableKind::Regulatory => features::regulatory_schema(),
        VepTableKind::Motifs => features::motifs_schema(),
        VepTableKind::Variation => unreachable!("variation's schema is the cache's"),
    }
}

fn exec_err(message: String) -> DataFusionError {
    DataFusionError::Execution(message)
}

/// Decodes one region file: Storable/Sereal features, or `_var.gz` text.
/// Errors name the file.
pub(crate) fn decode_region(file: &RegionFile, variation: &VariationColumns) -> Result<RegionData> {
    if file.kind == RegionKind::Variation {
        return read_var_file(file, variation);
    }
    let decoded = decode_region_file(&file.path).map_err(|e| {
        let msg = e.to_string();
        let path = file.path.display().to_string();
        exec_err(if msg.contains(&path) {
            msg
        } else {
            format!("{path}: {msg}")
        })
    })?;
    Ok(RegionData {
        transcripts: decoded.transcripts.into_iter().map(Arc::new).collect(),
        regulatory: decoded.regulatory.into_iter().map(Arc::new).collect(),
        motifs: decoded.motifs.into_iter().map(Arc::new).collect(),
        variants: Vec::new(),
    })
}

/// Calls `each` on every line of one unit of `source` until it returns
/// false; an I/O, UTF-8 or `each` error names the file and the line.
pub(crate) fn each_line(
    source: &TextSource,
    unit: &ScanUnit,
    mut each: impl FnMut(&str) -> Result<bool, String>,
) -> Result<()> {
    let mut lines = source.open_unit(unit)?;
    let mut buf = Vec::with_capacity(1024);
    let fail = |loc: String, e: &str| exec_err(format!("{}: {loc}: {e}", source.display));
    while lines
        .next_line(&mut buf)
        .map_err(|e| fail(lines.location(), &e.to_string()))?
    {
        let line = std::str::from_utf8(&buf)
            .map_err(|e| fail(lines.location(), &format!("invalid UTF-8: {e}")))?;
        if !each(line).map_err(|e| fail(lines.location(), &e))? {
            break;
        }
    }
    Ok(())
}

fn read_var_file(file: &RegionFile, variation: &VariationColumns) -> Result<RegionData> {
    let source = TextSource::open(&file.path, &mut |_, _| Ok(0))?;
    let mut variants = Vec::new();
    for unit in source.plan(&[], 1)? {
        each_line(&source, &unit, |line| {
            variants.extend(variation.parse(line, &file.chrom)?);
            Ok(true)
        })?;
    }
    Ok(RegionData {
        variants,
        ..Default::default()
    })
}

/// What one partition reads.
#[derive(Debug, Clone)]
enum ScanFile {
    Region(FileToRead),
    /// A part of a chromosome's tabix `all_vars.gz`.
    AllVars {
        chrom: String,
        path: PathBuf,
        unit: ScanUnit,
    },
}

#[derive(Debug)]
pub struct VepScanExec {
    cache: Arc<VepCache>,
    kind: VepTableKind,
    schema: SchemaRef,
    partitions: Vec<Vec<ScanFile>>,
    /// Region file names read, for EXPLAIN.
    files: Vec<String>,
    regions: Arc<[Region]>,
    limit: Option<usize>,
    properties: Arc<PlanProperties>,
}

impl VepScanExec {
    pub fn new(
        cache: Arc<VepCache>,
        kind: VepTableKind,
        schema: SchemaRef,
        regions: Vec<Region>,
        limit: Option<usize>,
        target_partitions: usize,
    ) -> Result<VepScanExec> {
        let layout = cache.layout();
        let mut scan = Vec::new();
        let mut files = Vec::new();
        if kind == VepTableKind::Variation && cache.info().tabix_variation {
            for dir in &layout.chromosomes {
                let Some(path) = &dir.all_vars else {
                    continue;
                };
                let mine: Vec<Region> = regions
                    .iter()
                    .filter(|r| layout.chrom(&r.chrom).is_some_and(|c| c.name == dir.name))
                    .map(|r| Region {
                        // The index knows the cache's own name for it.
                        chrom: dir.name.clone(),
                        ..r.clone()
                    })
                    .collect();
                if !regions.is_empty() && mine.is_empty() {
                    continue;
                }
                let source = cache.all_vars_source(path)?;
                for unit in source.plan(&mine, target_partitions)? {
                    scan.push(ScanFile::AllVars {
                        chrom: dir.name.clone(),
                        path: path.clone(),
                        unit,
                    });
                }
                files.push(format!("{}/all_vars.gz", dir.name));
            }
        } else {
            let wanted: Vec<&RegionFile> = if regions.is_empty() {
                layout.all(kind.region_kind()).collect()
            } else {
                regions
                    .iter()
                    .flat_map(|r| layout.regions(kind.region_kind(), &r.chrom, r.start, r.end))
                    .collect()
            };
            for read in in_read_order(wanted) {
                let name = read.file.path.file_name().unwrap_or_default();
                files.push(format!("{}/{}", read.file.chrom, name.to_string_lossy()));
                scan.push(ScanFile::Region(read));
            }
        }
        let n = target_partitions.clamp(1, scan.len().max(1));
        let mut partitions = vec![Vec::new(); n];
        // Neighbouring files in one partition: each file's predecessor was
        // mostly just decoded by the same scan.
        let len = scan.len().max(1);
        for (i, f) in scan.into_iter().enumerate() {
            partitions[i * n / len].push(f);
        }
        let properties = bounded_properties(&schema, partitions.len());
        Ok(VepScanExec {
            cache,
            kind,
            schema,
            partitions,
            files,
            regions: regions.into(),
            limit,
            properties,
        })
    }
}

impl DisplayAs for VepScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        const SHOWN: usize = 8;
        let mut files = self.files.iter().take(SHOWN).cloned().collect::<Vec<_>>();
        if self.files.len() > SHOWN {
            files.push(format!("... {} files", self.files.len()));
        }
        let columns: Vec<&str> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        write!(
            f,
            "VepCacheExec: cache={}, table={}, files=[{}], partitions={}, projection=[{}]",
            self.cache.root().display(),
            self.kind.name(),
            files.join(", "),
            self.partitions.len(),
            columns.join(", ")
        )?;
        if !self.regions.is_empty() {
            let regions: Vec<String> = self
                .regions
                .iter()
                .map(|r| format!("{}:{}-{}", r.chrom, r.start, r.end))
                .collect();
            write!(f, ", regions=[{}]", regions.join(", "))?;
        }
        if let Some(limit) = self.limit {
            write!(f, ", limit={limit}")?;
        }
        Ok(())
    }
}

impl ExecutionPlan for VepScanExec {
    fn name(&self) -> &str {
        "VepCacheExec"
    }

    crate::leaf_plan_methods!();

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let scan = Scan {
            cache: self.cache.clone(),
            kind: self.kind,
            schema: self.schema.clone(),
            files: self.partitions.get(partition).cloned().unwrap_or_default(),
            regions: self.regions.clone(),
            batch_size: context.session_config().batch_size().max(1),
            limit: self.limit,
        };
        Ok(blocking_stream(self.schema.clone(), move |send| {
            scan.run(send)
        }))
    }
}

/// Which features of a region file a scan reports: inside the regions, and
/// not held by the file read before it too.
struct Fresh<'a> {
    regions: &'a [Region],
    previous: Option<&'a RegionData>,
}

impl<'a> Fresh<'a> {
    fn filter<T: CacheFeature>(
        &self,
        features: &'a [Arc<T>],
        pick: fn(&RegionData) -> &Vec<Arc<T>>,
    ) -> impl Iterator<Item = &'a T> + use<'a, T> {
        let seen = seen_keys(self.previous.map(|p| pick(p).as_slice()));
        let regions = self.regions;
        features.iter().map(|f| f.as_ref()).filter(move |f| {
            let (chrom, start, end) = f.span();
            in_regions(regions, chrom, start, end) && !seen.contains(&f.key())
        })
    }
}

/// One partition's work, run on a blocking thread.
struct Scan {
    cache: Arc<VepCache>,
    kind: VepTableKind,
    schema: SchemaRef,
    files: Vec<ScanFile>,
    regions: Arc<[Region]>,
    batch_size: usize,
    limit: Option<usize>,
}

impl Scan {
    fn run(self, send: &dyn Fn(Result<RecordBatch>) -> bool) -> Result<()> {
        let mut emitted = 0usize;
        for file in &self.files {
            let left = self.limit.map(|l| l.saturating_sub(emitted));
            if left == Some(0) {
                break;
            }
            let more = match file {
                ScanFile::Region(f) => self.region_file(f, left, &mut emitted, send)?,
                ScanFile::AllVars { chrom, path, unit } => {
                    self.all_vars(chrom, path, unit, left, &mut emitted, send)?
                }
            };
            if !more {
                break;
            }
        }
        Ok(())
    }

    /// Emits the rows of one region file; false once the consumer is gone.
    fn region_file(
        &self,
        read: &FileToRead,
        left: Option<usize>,
        emitted: &mut usize,
        send: &dyn Fn(Result<RecordBatch>) -> bool,
    ) -> Result<bool> {
        let data = self.cache.region(&read.file)?;
        let previous = self.cache.previous(read)?;
        let fresh = Fresh {
            regions: &self.regions,
            previous: previous.as_deref(),
        };
        let cap = left.unwrap_or(usize::MAX);
        macro_rules! emit {
            ($rows:expr, $build:expr) => {{
                let rows: Vec<_> = $rows.take(cap).collect();
                for chunk in rows.chunks(self.batch_size) {
                    *emitted += chunk.len();
                    if !send($build(chunk)) {
                        return Ok(false);
                    }
                }
            }};
        }
        let schema = &self.schema;
        match self.kind {
            VepTableKind::Transcripts | VepTableKind::Exons | VepTableKind::Translations => {
                let rows = fresh.filter(&data.transcripts, |d| &d.transcripts);
                match self.kind {
                    VepTableKind::Transcripts => {
                        emit!(rows, |c| features::transcripts_batch(c, schema))
                    }
                    VepTableKind::Exons => emit!(rows, |c| features::exons_batch(c, schema)),
                    _ => emit!(rows, |c| features::translations_batch(c, schema)),
                }
            }
            VepTableKind::Regulatory => {
                let rows = fresh.filter(&data.regulatory, |d| &d.regulatory);
                emit!(rows, |c| features::regulatory_batch(c, schema))
            }
            VepTableKind::Motifs => {
                let rows = fresh.filter(&data.motifs, |d| &d.motifs);
                emit!(rows, |c| features::motifs_batch(c, schema))
            }
            VepTableKind::Variation => {
                // Variants are stored by their start, once: no ownership test.
                let rows = data
                    .variants
                    .iter()
                    .filter(|v| in_regions(&self.regions, &v.chrom, v.start, v.end));
                let columns = self.cache.variation_columns().clone();
                emit!(rows, |c: &[&_]| {
                    let mut batch = VariationBatch::new(columns.clone(), schema.clone());
                    for v in c {
                        batch.append(v);
                    }
                    batch.finish()
                })
            }
        }
        Ok(true)
    }

    /// Emits the known variants of one part of an `all_vars.gz`.
    fn all_vars(
        &self,
        chrom: &str,
        path: &std::path::Path,
        unit: &ScanUnit,
        left: Option<usize>,
        emitted: &mut usize,
        send: &dyn Fn(Result<RecordBatch>) -> bool,
    ) -> Result<bool> {
        let source = self.cache.all_vars_source(path)?;
        let columns = self.cache.variation_columns().clone();
        let mut sink = VariationSink::new(VariationBatch::new(columns, self.schema.clone()), chrom);
        let cap = left.unwrap_or(usize::MAX);
        let mut rows = 0usize;
        let mut more = true;
        each_line(&source, unit, |line| {
            if sink.push(line, &self.regions)? == Line::Kept {
                rows += 1;
            }
            if sink.len() >= self.batch_size || rows >= cap {
                *emitted += sink.len();
                more = send(sink.finish());
                return Ok(more && rows < cap);
            }
            Ok(true)
        })?;
        if !more || rows >= cap {
            return Ok(more);
        }
        if !sink.is_empty() {
            *emitted += sink.len();
            return Ok(send(sink.finish()));
        }
        Ok(true)
    }
}
