//! The served VEP cache a function names: found through its
//! `<cache>.transcripts` table, read through the catalog's `VepCache`, with
//! each transcript's annotation view built once and kept.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use datafusion::catalog::Session;
use datafusion::common::{DataFusionError, Result, TableReference, plan_err};
use datafusion::execution::session_state::SessionState;
use genoflight_catalog::vep::model::{MotifFeature, RegulatoryFeature};
use genoflight_catalog::vep::table::{VepCache, VepCacheTable};

use super::rows::FeatureSource;
use super::transcript::TxView;

/// Views kept before the map is dropped and rebuilt (bounds memory on
/// genome-wide inputs; a region's transcripts are reused while it is read).
const MAX_VIEWS: usize = 20_000;

/// A transcript's identity: chromosome, stable ID, start, end.
type TxKey = (String, String, i64, i64);

pub struct CacheSource {
    cache: Arc<VepCache>,
    views: Mutex<HashMap<TxKey, Arc<TxView>>>,
}

impl CacheSource {
    pub fn new(cache: Arc<VepCache>) -> CacheSource {
        CacheSource {
            cache,
            views: Mutex::new(HashMap::new()),
        }
    }
}

impl FeatureSource for CacheSource {
    fn chromosome(&self, name: &str) -> Option<String> {
        self.cache.layout().chrom(name).map(|c| c.name.clone())
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
        self.cache.regulatory(chrom, start.max(1), end)
    }

    fn motifs(&self, chrom: &str, start: i64, end: i64) -> Result<Vec<Arc<MotifFeature>>> {
        self.cache.motifs(chrom, start.max(1), end)
    }

    fn known_variants(
        &self,
        chrom: &str,
        start: i64,
        end: i64,
    ) -> Result<Vec<genoflight_catalog::vep::variation::KnownVariant>> {
        self.cache.variation(chrom, start.max(1), end)
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
