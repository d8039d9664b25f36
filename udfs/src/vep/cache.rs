//! The served VEP cache a function names: found through its
//! `<cache>.transcripts` table, read through the catalog's `VepCache`, with
//! each transcript's annotation view built once and kept.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use datafusion::catalog::Session;
use datafusion::common::{DataFusionError, Result, TableReference, plan_err};
use datafusion::execution::session_state::SessionState;
use genoflight_catalog::vep::layout::AnnotatedChrom;
use genoflight_catalog::vep::model::{MotifFeature, RegulatoryFeature, Transcript};
use genoflight_catalog::vep::table::{VepCache, VepCacheTable};
use genoflight_catalog::vep::variation::KnownVariant;

use super::rows::FeatureSource;
use super::transcript::TxView;

/// Views kept before the map is dropped and rebuilt (bounds memory on
/// genome-wide inputs; a region's transcripts are reused while it is read).
const MAX_VIEWS: usize = 20_000;

/// A transcript's identity: chromosome, stable ID, start, end.
type TxKey = (String, String, i64, i64);

/// Known variants of one 1 Mb block, sorted by start.
type Block = ((String, i64), Arc<Vec<KnownVariant>>);

/// Known variants are read a block at a time and searched by start: a block
/// holds up to ~10^5 variants, too many to scan for every input variant.
const BLOCK: i64 = 1_000_000;
const BLOCKS_KEPT: usize = 4;

pub struct CacheSource {
    cache: Arc<VepCache>,
    views: Mutex<HashMap<TxKey, Arc<TxView>>>,
    blocks: Mutex<Vec<Block>>,
    /// A RefSeq or merged cache (`<species>_refseq`, `<species>_merged`).
    refseq: bool,
}

impl CacheSource {
    pub fn new(cache: Arc<VepCache>) -> CacheSource {
        // The species directory's name (a converted cache keeps its source's).
        let species = cache.info().species_dir.to_ascii_lowercase();
        CacheSource {
            refseq: species.ends_with("_refseq") || species.ends_with("_merged"),
            cache,
            views: Mutex::new(HashMap::new()),
            blocks: Mutex::new(Vec::new()),
        }
    }

    /// VEP (without --all_refseq) annotates a RefSeq or merged cache's
    /// RefSeq models only: accessions (`NM_`, `NR_`, `XM_`, `XR_` ...) or
    /// NCBI gene IDs (MT), not its CCDS, EST or RNA-seq models nor the
    /// pseudogenes named by symbol; a merged cache's Ensembl transcripts stay.
    fn wanted(&self, t: &Transcript) -> bool {
        if !self.refseq || t.source_cache.as_deref() == Some("Ensembl") {
            return true;
        }
        let id = t.stable_id.as_bytes();
        let accession = id.len() > 3
            && id[0].is_ascii_uppercase()
            && id[1].is_ascii_uppercase()
            && id[2] == b'_'
            && id[3].is_ascii_digit();
        accession || (!id.is_empty() && id.iter().all(u8::is_ascii_digit))
    }
}

impl FeatureSource for CacheSource {
    fn chromosome(&self, name: &str) -> Option<AnnotatedChrom> {
        self.cache.layout().annotated_chrom(name)
    }

    fn transcripts(&self, chrom: &str, start: i64, end: i64) -> Result<Vec<Arc<TxView>>> {
        let found = self.cache.transcripts(chrom, start.max(1), end)?;
        let mut views = self
            .views
            .lock()
            .map_err(|_| DataFusionError::Internal("VEP transcript views poisoned".into()))?;
        if views.len() > MAX_VIEWS {
            views.clear();
        }
        let found: Vec<Arc<Transcript>> = found.into_iter().filter(|t| self.wanted(t)).collect();
        // Merged caches: RefSeq models take the HGNC ID of the Ensembl
        // transcripts of the same gene symbol, as VEP's merged output shows.
        let hgnc: HashMap<&str, &str> = found
            .iter()
            .filter(|t| t.source_cache.as_deref() == Some("Ensembl"))
            .filter_map(|t| Some((t.gene_symbol.as_deref()?, t.gene_hgnc_id.as_deref()?)))
            .collect();
        let found: Vec<Arc<Transcript>> = found
            .iter()
            .map(|t| {
                match (t.gene_hgnc_id.is_none() && t.source_cache.is_some())
                    .then(|| t.gene_symbol.as_deref().and_then(|s| hgnc.get(s)))
                    .flatten()
                {
                    Some(id) => {
                        let mut copy = Transcript::clone(t);
                        copy.gene_hgnc_id = Some(id.to_string());
                        Arc::new(copy)
                    }
                    None => t.clone(),
                }
            })
            .collect();
        Ok(found
            .into_iter()
            .map(|t| {
                let key = (t.chrom.clone(), t.stable_id.clone(), t.start, t.end);
                views
                    .entry(key)
                    .or_insert_with(|| Arc::new(TxView::new(t)))
                    .clone()
            })
            .collect())
    }

    fn regulatory(&self, chrom: &str, start: i64, end: i64) -> Result<Vec<Arc<RegulatoryFeature>>> {
        let mut found = self.cache.regulatory(chrom, start.max(1), end)?;
        let mut seen = HashSet::new();
        found.retain(|f| seen.insert(f.stable_id.clone()));
        Ok(found)
    }

    /// A region file can hold one motif twice (the test cache does: 166 of
    /// 1,587); VEP's BaseRegFeat::merge_features keeps one per dbID.
    fn motifs(&self, chrom: &str, start: i64, end: i64) -> Result<Vec<Arc<MotifFeature>>> {
        let mut found = self.cache.motifs(chrom, start.max(1), end)?;
        let mut seen = HashSet::new();
        found.retain(|f| f.db_id.is_none_or(|id| seen.insert(id)));
        Ok(found)
    }

    fn known_variants(&self, chrom: &str, start: i64, end: i64) -> Result<Vec<KnownVariant>> {
        let mut out = Vec::new();
        let (first, last) = ((start.max(1) - 1) / BLOCK, (end.max(1) - 1) / BLOCK);
        for b in first..=last {
            let block = self.block(chrom, b)?;
            let from = block.partition_point(|k| k.start < start);
            out.extend(block[from..].iter().take_while(|k| k.start <= end).cloned());
        }
        Ok(out)
    }
}

impl CacheSource {
    fn block(&self, chrom: &str, b: i64) -> Result<Arc<Vec<KnownVariant>>> {
        let key = (chrom.to_string(), b);
        {
            let blocks = self.blocks.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((_, v)) = blocks.iter().find(|(k, _)| *k == key) {
                return Ok(v.clone());
            }
        }
        let (lo, hi) = (b * BLOCK + 1, (b + 1) * BLOCK);
        let mut found: Vec<KnownVariant> = self
            .cache
            .variation(chrom, lo, hi)?
            .into_iter()
            .filter(|k| k.start >= lo && k.start <= hi)
            .collect();
        found.sort_by_key(|k| k.start);
        let found = Arc::new(found);
        let mut blocks = self.blocks.lock().unwrap_or_else(|e| e.into_inner());
        if blocks.len() >= BLOCKS_KEPT {
            blocks.remove(0);
        }
        blocks.push((key, found.clone()));
        Ok(found)
    }
}

/// The cache served as `<name>` (its `<name>.transcripts` table), shared
/// per cache so transcript views are built once per session.
pub fn resolve_source(
    function: &str,
    session: &dyn Session,
    name: &str,
) -> Result<Arc<dyn FeatureSource>> {
    let state = session
        .as_any()
        .downcast_ref::<SessionState>()
        .ok_or_else(|| DataFusionError::Internal(format!("{function}(): no session state")))?;
    resolve_in_state(function, state, name)
}

pub fn resolve_in_state(
    function: &str,
    state: &SessionState,
    name: &str,
) -> Result<Arc<dyn FeatureSource>> {
    let reference = TableReference::partial(name, "transcripts");
    let missing = || {
        DataFusionError::Plan(format!(
            "{function}(): no VEP cache named '{name}' is served (configure [[vep_caches]] \
             name = \"{name}\" with its path; its tables are {name}.transcripts, ...)"
        ))
    };
    let schema = state
        .schema_for_ref(reference.clone())
        .map_err(|_| missing())?;
    let provider =
        futures::executor::block_on(schema.table(reference.table()))?.ok_or_else(missing)?;
    let any: &dyn Any = provider.as_ref();
    let Some(table) = any.downcast_ref::<VepCacheTable>() else {
        return plan_err!("{function}(): '{name}.transcripts' is not a VEP cache table");
    };
    Ok(shared(table.cache()))
}

/// One source per opened cache, so views survive across queries.
fn shared(cache: &Arc<VepCache>) -> Arc<dyn FeatureSource> {
    static SOURCES: Mutex<Vec<(usize, Arc<CacheSource>)>> = Mutex::new(Vec::new());
    let key = Arc::as_ptr(cache) as usize;
    let mut sources = SOURCES.lock().unwrap_or_else(|e| e.into_inner());
    // Drop sources whose cache only we still hold (reloaded configuration).
    sources.retain(|(_, s)| Arc::strong_count(&s.cache) > 1);
    if let Some((_, s)) = sources.iter().find(|(k, _)| *k == key) {
        return s.clone();
    }
    let s = Arc::new(CacheSource::new(cache.clone()));
    sources.push((key, s.clone()));
    s
}
