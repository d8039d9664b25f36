//! What a running server shares between the Flight service, signal handlers
//! and the admin API (through `genoflight._native`): the current engine
//! (swapped on catalog reload), auth, limits, the query registry.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use datafusion::execution::runtime_env::RuntimeEnv;
use serde_json::{Value, json};

use crate::auth::Authenticator;
use crate::config::Config;
use crate::engine::Engine;
use crate::limits::{Gate, PeakPool, QueryLimits, QueryPool, runtime_env};
use crate::queries::{Registry, gauge};

pub struct ServerState {
    engine: RwLock<Arc<Engine>>,
    config: Mutex<Config>,
    runtime: Arc<RuntimeEnv>,
    pub pool: Arc<PeakPool>,
    pub auth: Arc<Authenticator>,
    pub registry: Arc<Registry>,
    pub gate: Gate,
    pub limits: QueryLimits,
    /// Most memory one query may hold: the pool split between the queries
    /// allowed to run at once.
    query_memory: Option<usize>,
    draining: AtomicBool,
    reloads: AtomicU64,
    /// Serialises reloads (a SIGHUP during an admin reload waits).
    reloading: tokio::sync::Mutex<()>,
    /// Query execution runs here, not on the runtime serving gRPC: a plan
    /// that computes for seconds inside one poll then cannot stall other
    /// clients, timeouts, cancels or the admin API.
    queries: Mutex<Option<tokio::runtime::Runtime>>,
    query_handle: tokio::runtime::Handle,
}

impl ServerState {
    pub async fn new(config: Config) -> Result<Arc<ServerState>, String> {
        let auth = Authenticator::new(&config.auth)?;
        let (runtime, pool) = runtime_env(&config.limits).map_err(|e| e.strip_backtrace())?;
        let engine = Engine::with_runtime(&config, runtime.clone())
            .await
            .map_err(|e| e.strip_backtrace())?;
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let queries = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("genoflight-query")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the query runtime: {e}"))?;
        Ok(Arc::new(ServerState {
            query_handle: queries.handle().clone(),
            queries: Mutex::new(Some(queries)),
            engine: RwLock::new(Arc::new(engine)),
            runtime,
            pool,
            auth: Arc::new(auth),
            registry: Default::default(),
            gate: Gate::new(config.limits.max_concurrent_queries),
            limits: QueryLimits::new(&config.limits),
            query_memory: match (
                config.limits.memory_bytes,
                config.limits.max_concurrent_queries,
            ) {
                (Some(bytes), Some(n)) => Some(bytes / n.max(1)),
                (bytes, _) => bytes,
            },
            draining: AtomicBool::new(false),
            reloads: AtomicU64::new(0),
            reloading: Default::default(),
            config: Mutex::new(config),
        }))
    }

    /// The engine new requests use (queries already running keep theirs).
    pub fn engine(&self) -> Arc<Engine> {
        self.engine.read().unwrap().clone()
    }

    /// Rebuilds the catalog from `config` (or the current configuration,
    /// rescanning its directories) and swaps it in; connections, tokens,
    /// prepared statements and running queries are untouched. Only the
    /// catalog part (paths, tables, vep_caches) of a new configuration is
    /// applied; the rest needs a restart.
    pub async fn reload(&self, config: Option<Config>) -> Result<Value, String> {
        let _one_at_a_time = self.reloading.lock().await;
        let mut next = self.config.lock().unwrap().clone();
        if let Some(new) = config {
            next.catalog = new.catalog;
        }
        let engine = Engine::with_runtime(&next, self.runtime.clone())
            .await
            .map_err(|e| e.strip_backtrace())?;
        let summary = json!({
            "tables": engine.report().tables.len(),
            "warnings": engine.report().warnings,
        });
        *self.engine.write().unwrap() = Arc::new(engine);
        *self.config.lock().unwrap() = next;
        self.reloads.fetch_add(1, Ordering::Relaxed);
        Ok(summary)
    }

    /// Where query execution is spawned.
    pub fn query_runtime(&self) -> &tokio::runtime::Handle {
        &self.query_handle
    }

    /// A new query's share of the memory pool.
    pub fn query_pool(&self) -> Arc<QueryPool> {
        Arc::new(QueryPool::new(self.pool.clone(), self.query_memory))
    }

    /// From now on new queries are refused (graceful shutdown).
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// `/metrics`: the query counters plus memory pool and catalog gauges.
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        self.registry.prometheus(&mut out);
        gauge(
            &mut out,
            "genoflight_memory_pool_reserved_bytes",
            "gauge",
            "Bytes reserved in the query memory pool now.",
            self.pool.reserved_bytes() as u64,
        );
        gauge(
            &mut out,
            "genoflight_memory_pool_peak_bytes",
            "gauge",
            "Most bytes ever reserved in the pool at once.",
            self.pool.peak() as u64,
        );
        if let Some(limit) = self.pool.limit() {
            gauge(
                &mut out,
                "genoflight_memory_pool_limit_bytes",
                "gauge",
                "The pool's cap (limits.memory_bytes).",
                limit as u64,
            );
        }
        gauge(
            &mut out,
            "genoflight_tables",
            "gauge",
            "Tables in the catalog.",
            self.engine().report().tables.len() as u64,
        );
        gauge(
            &mut out,
            "genoflight_catalog_reloads_total",
            "counter",
            "Catalog reloads (SIGHUP or admin API).",
            self.reloads.load(Ordering::Relaxed),
        );
        out
    }

    /// `/readyz` and the admin status.
    pub fn status(&self) -> Value {
        json!({
            "ready": !self.draining(),
            "draining": self.draining(),
            "tables": self.engine().report().tables.len(),
            "running_queries": self.registry.running_count(),
            "queued_queries": self.gate.waiting(),
            "memory_reserved_bytes": self.pool.reserved_bytes(),
            "memory_peak_bytes": self.pool.peak(),
            "memory_limit_bytes": self.pool.limit(),
            "auth": self.auth.enabled(),
        })
    }
}

/// The server running in this process, for `genoflight._native`'s admin
/// calls: the state and the runtime that serves it.
static CURRENT: Mutex<Option<(Arc<ServerState>, tokio::runtime::Handle)>> = Mutex::new(None);

pub fn set_current(state: Option<(Arc<ServerState>, tokio::runtime::Handle)>) {
    *CURRENT.lock().unwrap() = state;
}

pub fn current() -> Option<(Arc<ServerState>, tokio::runtime::Handle)> {
    CURRENT.lock().unwrap().clone()
}

impl Drop for ServerState {
    fn drop(&mut self) {
        // Dropping a runtime may block, which is not allowed inside another
        // runtime; queries still running are abandoned with it.
        if let Some(runtime) = self.queries.lock().unwrap().take() {
            runtime.shutdown_background();
        }
    }
}
