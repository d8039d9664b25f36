//! A VEP cache opened once and shared: its info and layout, decoded region
//! files kept in a small LRU, the lookups `annotate_vep` uses, and the
//! `TableProvider` of its six tables.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::{TableProvider, TableType};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;

use super::converted::is_converted;
use super::converted::read::ConvertedStore;
use super::exec::{VepScanExec, each_line, feature_schema};
use super::info::CacheInfo;
use super::layout::{
    CacheLayout, FileToRead, RegionFile, RegionKind, find_cache_dir, in_read_order,
};
use super::model::{MotifFeature, RegulatoryFeature, Transcript};
use super::synonyms::Synonyms;
use super::variation::{KnownVariant, VariationColumns};
use crate::region::RegionFilter;
use crate::text::{Region, TextSource};

/// Decoded region files kept per cache: a human region file decodes to tens
/// of megabytes, and annotation revisits the same few regions.
const DEFAULT_LRU_FILES: usize = 8;

/// The features of one decoded region file.
#[derive(Debug, Default)]
pub struct RegionData {
    pub transcripts: Vec<Arc<Transcript>>,
    pub regulatory: Vec<Arc<RegulatoryFeature>>,
    pub motifs: Vec<Arc<MotifFeature>>,
    /// Known variants of a `_var.gz` file.
    pub variants: Vec<KnownVariant>,
}

/// A feature of a region file: where it lies, and what identifies it in
/// the neighbouring files that hold it too.
pub trait CacheFeature {
    /// (chrom, start, end)
    fn span(&self) -> (&str, i64, i64);
    /// (stable id, start, end)
    fn key(&self) -> (&str, i64, i64);
}

impl CacheFeature for Transcript {
    fn span(&self) -> (&str, i64, i64) {
        (&self.chrom, self.start, self.end)
    }
    fn key(&self) -> (&str, i64, i64) {
        (&self.stable_id, self.start, self.end)
    }
}

impl CacheFeature for RegulatoryFeature {
    fn span(&self) -> (&str, i64, i64) {
        (&self.chrom, self.start, self.end)
    }
    fn key(&self) -> (&str, i64, i64) {
        (&self.stable_id, self.start, self.end)
    }
}

impl CacheFeature for MotifFeature {
    fn span(&self) -> (&str, i64, i64) {
        (&self.chrom, self.start, self.end)
    }
    fn key(&self) -> (&str, i64, i64) {
        (
            self.stable_id.as_deref().unwrap_or(""),
            self.start,
            self.end,
        )
    }
}

/// The keys of the features a file's predecessor holds.
pub(crate) fn seen_keys<T: CacheFeature>(previous: Option<&[Arc<T>]>) -> HashSet<(&str, i64, i64)> {
    previous
        .map(|p| p.iter().map(|f| f.key()).collect())
        .unwrap_or_default()
}

/// A region's identity: its file and start (a converted cache's regions
/// are row groups of one file).
type RegionKey = (PathBuf, i64);

/// A small least-recently-used map: few entries, so a vector is enough.
#[derive(Debug)]
struct Lru {
    capacity: usize,
    /// Most recent last.
    entries: Vec<(RegionKey, Arc<RegionData>)>,
}

impl Lru {
    fn get(&mut self, key: &RegionKey) -> Option<Arc<RegionData>> {
        let i = self.entries.iter().position(|(p, _)| p == key)?;
        let entry = self.entries.remove(i);
        let data = entry.1.clone();
        self.entries.push(entry);
        Some(data)
    }

    fn put(&mut self, key: RegionKey, data: Arc<RegionData>) {
        self.entries.retain(|(p, _)| *p != key);
        self.entries.push((key, data));
        while self.entries.len() > self.capacity {
            self.entries.remove(0);
        }
    }
}

/// An opened VEP cache directory.
#[derive(Debug)]
pub struct VepCache {
    root: PathBuf,
    info: CacheInfo,
    layout: CacheLayout,
    variation: Arc<VariationColumns>,
    lru: Mutex<Lru>,
    /// Opened `all_vars.gz` files with their tabix index, per path.
    all_vars: Mutex<HashMap<PathBuf, Arc<TextSource>>>,
    /// A converted cache's Parquet files, read instead of the Perl files.
    converted: Option<ConvertedStore>,
}

fn exec_err(message: String) -> DataFusionError {
    DataFusionError::Execution(message)
}

impl VepCache {
    /// Opens the cache at `path`: a `<version>_<assembly>` directory with
    /// `info.txt`, or a species directory holding exactly one, or a cache
    /// converted by `genoflight build-cache`.
    pub fn open(path: &Path) -> Result<Arc<VepCache>> {
        VepCache::open_configured(path, None)
    }

    /// As [`VepCache::open`], with the chromosome synonyms read from
    /// `synonyms` (VEP's `--synonyms`) instead of the cache's own file.
    pub fn open_configured(path: &Path, synonyms: Option<&Path>) -> Result<Arc<VepCache>> {
        let root = find_cache_dir(path).map_err(exec_err)?;
        let (info, mut layout, converted) = if is_converted(&root) {
            let (store, info, layout) = ConvertedStore::open(&root).map_err(exec_err)?;
            (info, layout, Some(store))
        } else {
            let info = CacheInfo::read(&root).map_err(exec_err)?;
            let layout = CacheLayout::scan(&root, &info).map_err(exec_err)?;
            (info, layout, None)
        };
        if let Some(file) = synonyms {
            layout.synonyms = Synonyms::read(file).map_err(exec_err)?;
        }
        let variation = Arc::new(VariationColumns::new(&info));
        Ok(Arc::new(VepCache {
            root,
            info,
            layout,
            variation,
            lru: Mutex::new(Lru {
                capacity: DEFAULT_LRU_FILES,
                entries: Vec::new(),
            }),
            all_vars: Mutex::new(HashMap::new()),
            converted,
        }))
    }

    /// The `<version>_<assembly>` directory (or the converted cache's).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether this is a converted cache (`genoflight build-cache`).
    pub fn is_converted(&self) -> bool {
        self.converted.is_some()
    }

    pub fn info(&self) -> &CacheInfo {
        &self.info
    }

    pub fn layout(&self) -> &CacheLayout {
        &self.layout
    }

    pub fn variation_columns(&self) -> &Arc<VariationColumns> {
        &self.variation
    }

    /// Transcripts overlapping `[start, end]` (1-based closed) on `chrom`
    /// (`21` or `chr21`), each once even when several region files hold it.
    pub fn transcripts(&self, chrom: &str, start: i64, end: i64) -> Result<Vec<Arc<Transcript>>> {
        self.features(RegionKind::Transcripts, chrom, start, end, |d| {
            &d.transcripts
        })
    }

    /// Regulatory features overlapping `[start, end]` on `chrom`.
    pub fn regulatory(
        &self,
        chrom: &str,
        start: i64,
        end: i64,
    ) -> Result<Vec<Arc<RegulatoryFeature>>> {
        self.features(RegionKind::Regulatory, chrom, start, end, |d| &d.regulatory)
    }

    /// Motif features overlapping `[start, end]` on `chrom`.
    pub fn motifs(&self, chrom: &str, start: i64, end: i64) -> Result<Vec<Arc<MotifFeature>>> {
        self.features(RegionKind::Regulatory, chrom, start, end, |d| &d.motifs)
    }

    fn features<T: CacheFeature>(
        &self,
        kind: RegionKind,
        chrom: &str,
        start: i64,
        end: i64,
        pick: fn(&RegionData) -> &Vec<Arc<T>>,
    ) -> Result<Vec<Arc<T>>> {
        let mut out = Vec::new();
        for read in in_read_order(self.layout.regions(kind, chrom, start, end)) {
            let data = self.region(&read.file)?;
            let previous = self.previous(&read)?;
            let seen = seen_keys(previous.as_deref().map(|p| pick(p).as_slice()));
            for f in pick(&data) {
                let (_, s, e) = f.span();
                if s <= end && e.max(s) >= start && !seen.contains(&f.key()) {
                    out.push(f.clone());
                }
            }
        }
        Ok(out)
    }

    /// The decoded file read before `read`, whose features `read` must not
    /// report again.
    pub(crate) fn previous(&self, read: &FileToRead) -> Result<Option<Arc<RegionData>>> {
        read.previous.as_ref().map(|p| self.region(p)).transpose()
    }

    /// Known variants overlapping `[start, end]` on `chrom`, from the
    /// region `_var.gz` files or the tabix `all_vars.gz`.
    pub fn variation(&self, chrom: &str, start: i64, end: i64) -> Result<Vec<KnownVariant>> {
        let Some(dir) = self.layout.chrom(chrom) else {
            return Ok(vec![]);
        };
        let mut out = Vec::new();
        // As VEP: `var_type tabix` reads all_vars.gz, else the _var.gz files.
        if self.info.tabix_variation {
            let Some(path) = &dir.all_vars else {
                return Ok(out);
            };
            let source = self.all_vars_source(path)?;
            let region = Region {
                chrom: dir.name.clone(),
                start,
                end,
            };
            let regions = [region];
            for unit in source.plan(&regions, 1)? {
                each_line(&source, &unit, |line| {
                    if let Some(v) = self.variation.parse(line, &dir.name)?
                        && v.start <= end
                        && v.end.max(v.start) >= start
                        && self
                            .layout
                            .chrom(&v.chrom)
                            .is_some_and(|c| c.name == dir.name)
                    {
                        out.push(v);
                    }
                    Ok(true)
                })?;
            }
            return Ok(out);
        }
        for file in dir
            .files(RegionKind::Variation)
            .filter(|f| f.overlaps(start, end))
        {
            // A converted cache's row group is read, not kept: annotate_vep
            // keeps its own blocks of known variants, and a row group is cheap
            // to read again (a `_var.gz` file is not).
            let data = match &self.converted {
                Some(store) => Arc::new(store.region(file).map_err(exec_err)?),
                None => self.region(file)?,
            };
            out.extend(
                data.variants
                    .iter()
                    .filter(|v| v.start <= end && v.end.max(v.start) >= start)
                    .cloned(),
            );
        }
        Ok(out)
    }

    /// `all_vars.gz` opened once (its index read once).
    pub(crate) fn all_vars_source(&self, path: &Path) -> Result<Arc<TextSource>> {
        let mut map = self.all_vars.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = map.get(path) {
            return Ok(s.clone());
        }
        let source = Arc::new(TextSource::open(path, &mut |_, _| Ok(0))?);
        if let Some(w) = &source.index_warning {
            tracing::warn!("{w}");
        }
        map.insert(path.to_path_buf(), source.clone());
        Ok(source)
    }

    /// A region file decoded (through the LRU). Errors name the file.
    pub fn region(&self, file: &RegionFile) -> Result<Arc<RegionData>> {
        let key = (file.path.clone(), file.start);
        if let Some(hit) = self.lru.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(hit);
        }
        // Decoded outside the lock: two scans may decode the same file at
        // once, which costs time but never blocks the other files.
        let data = Arc::new(match &self.converted {
            Some(store) => store.region(file).map_err(exec_err)?,
            None => super::exec::decode_region(file, &self.variation)?,
        });
        self.lru
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .put(key, data.clone());
        Ok(data)
    }
}

/// The six tables of a cache schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VepTableKind {
    Transcripts,
    Exons,
    Translations,
    Regulatory,
    Motifs,
    Variation,
}

impl VepTableKind {
    pub const ALL: [VepTableKind; 6] = [
        VepTableKind::Transcripts,
        VepTableKind::Exons,
        VepTableKind::Translations,
        VepTableKind::Regulatory,
        VepTableKind::Motifs,
        VepTableKind::Variation,
    ];

    pub fn name(self) -> &'static str {
        match self {
            VepTableKind::Transcripts => "transcripts",
            VepTableKind::Exons => "exons",
            VepTableKind::Translations => "translations",
            VepTableKind::Regulatory => "regulatory",
            VepTableKind::Motifs => "motifs",
            VepTableKind::Variation => "variation",
        }
    }

    /// The region files this table reads.
    pub fn region_kind(self) -> RegionKind {
        match self {
            VepTableKind::Transcripts | VepTableKind::Exons | VepTableKind::Translations => {
                RegionKind::Transcripts
            }
            VepTableKind::Regulatory | VepTableKind::Motifs => RegionKind::Regulatory,
            VepTableKind::Variation => RegionKind::Variation,
        }
    }
}

/// One table of a cache. `annotate_vep` finds the cache of a registered
/// schema by downcasting any of its tables' provider to this type
/// (`let any: &dyn Any = provider.as_ref(); any.downcast_ref::<VepCacheTable>()`).
#[derive(Debug)]
pub struct VepCacheTable {
    cache: Arc<VepCache>,
    kind: VepTableKind,
    schema: SchemaRef,
}

impl VepCacheTable {
    pub fn new(cache: Arc<VepCache>, kind: VepTableKind) -> VepCacheTable {
        let schema = match kind {
            VepTableKind::Variation => cache.variation.schema(),
            _ => feature_schema(kind),
        };
        VepCacheTable {
            cache,
            kind,
            schema,
        }
    }

    pub fn cache(&self) -> &Arc<VepCache> {
        &self.cache
    }

    pub fn kind(&self) -> VepTableKind {
        self.kind
    }
}

#[async_trait]
impl TableProvider for VepCacheTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(RegionFilter::pushdown(filters))
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let projected = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => self.schema.clone(),
        };
        let regions = RegionFilter::from_filters(filters, false).regions();
        Ok(Arc::new(VepScanExec::new(
            self.cache.clone(),
            self.kind,
            projected,
            regions,
            limit,
            state.config().target_partitions(),
        )?))
    }
}
