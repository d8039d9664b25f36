//! `genoflight._native`: the Rust core as the Python package sees it
//! (docs/native-contract.md). Every call releases the GIL while it works.

use std::path::Path;
use std::sync::Arc;

use arrow::ipc::writer::StreamWriter;
use datafusion::common::DataFusionError;
use futures::TryStreamExt;
use pyo3::exceptions::{PyPermissionError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::config::Config;
use crate::engine::Engine;

fn runtime() -> PyResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the async runtime: {e}")))
}

fn parse_config(json: &str) -> PyResult<Config> {
    Config::from_json(json).map_err(PyValueError::new_err)
}

fn value_error(e: DataFusionError) -> PyErr {
    PyValueError::new_err(e.strip_backtrace())
}

#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Serves Flight SQL until SIGINT/SIGTERM. `reload`, if given, is called
/// (with no arguments) on SIGHUP and returns the fresh `config_json`.
#[pyfunction]
#[pyo3(signature = (config_json, reload=None))]
fn serve(py: Python<'_>, config_json: &str, reload: Option<Py<PyAny>>) -> PyResult<()> {
    let config = parse_config(config_json)?;
    let reload: Option<crate::serve::ReloadSource> = reload.map(|f| {
        Arc::new(move || {
            Python::attach(|py| {
                let json: String = f
                    .call0(py)
                    .and_then(|v| v.extract(py))
                    .map_err(|e| e.to_string())?;
                Config::from_json(&json)
            })
        }) as crate::serve::ReloadSource
    });
    py.detach(|| {
        crate::logging::init();
        runtime()?
            .block_on(crate::serve::run(config, reload))
            .map_err(PyRuntimeError::new_err)
    })
}

/// Raises ValueError if `config_json` would expose an unauthenticated server
/// beyond loopback (checked before anything binds, admin port included).
#[pyfunction]
fn check_exposure(config_json: &str) -> PyResult<()> {
    crate::serve::check_exposure(&parse_config(config_json)?).map_err(PyValueError::new_err)
}

/// An argon2id hash of `password` for `[[auth.users]] password_hash`.
#[pyfunction]
fn hash_password(py: Python<'_>, password: &str) -> PyResult<String> {
    py.detach(|| crate::auth::hash_password(password))
        .map_err(PyValueError::new_err)
}

/// The server running in this process; RuntimeError before it listens.
fn current() -> PyResult<(Arc<crate::state::ServerState>, tokio::runtime::Handle)> {
    crate::state::current()
        .ok_or_else(|| PyRuntimeError::new_err("the Flight SQL server is not running"))
}

/// JSON status of the running server, or None when none is running.
#[pyfunction]
fn server_status() -> Option<String> {
    crate::state::current().map(|(s, _)| s.status().to_string())
}

/// The running and recent queries, as JSON.
#[pyfunction]
fn server_queries() -> PyResult<String> {
    Ok(current()?.0.registry.json().to_string())
}

/// Prometheus text exposition of the server's metrics.
#[pyfunction]
fn server_metrics() -> PyResult<String> {
    Ok(current()?.0.prometheus())
}

/// Cancels query `id`; False if no such query is running.
#[pyfunction]
fn server_cancel(id: u64) -> PyResult<bool> {
    Ok(current()?.0.registry.cancel(id))
}

/// The served catalog as JSON (the `tables()` format).
#[pyfunction]
fn server_catalog(py: Python<'_>) -> PyResult<String> {
    let (state, handle) = current()?;
    py.detach(|| {
        handle
            .block_on(crate::listing::catalog_json(&state.engine()))
            .map_err(value_error)
    })
}

/// Rebuilds the catalog (from `config_json`, else rescanning the current
/// configuration); returns a JSON summary. ValueError keeps the old catalog.
#[pyfunction]
#[pyo3(signature = (config_json=None))]
fn server_reload(py: Python<'_>, config_json: Option<&str>) -> PyResult<String> {
    let config = config_json.map(parse_config).transpose()?;
    let (state, handle) = current()?;
    py.detach(|| {
        handle
            .block_on(state.reload(config))
            .map(|summary| summary.to_string())
            .map_err(PyValueError::new_err)
    })
}

/// The user an HTTP `Authorization` header value authenticates (Basic
/// user:password or a Flight bearer token); "anonymous" without users.
/// PermissionError with the reason otherwise.
#[pyfunction]
#[pyo3(signature = (authorization=None))]
fn server_authenticate(py: Python<'_>, authorization: Option<&str>) -> PyResult<String> {
    let (state, _) = current()?;
    let mut metadata = tonic::metadata::MetadataMap::new();
    if let Some(value) = authorization {
        let value = value
            .parse()
            .map_err(|_| PyPermissionError::new_err("malformed authorization header"))?;
        metadata.insert("authorization", value);
    }
    py.detach(|| state.auth.authenticate(&metadata))
        .map(|user| user.to_string())
        .map_err(|status| PyPermissionError::new_err(status.message().to_string()))
}

/// Runs one query in-process; returns the result as an Arrow IPC stream.
#[pyfunction]
fn query<'py>(py: Python<'py>, config_json: &str, sql: &str) -> PyResult<Bound<'py, PyBytes>> {
    let config = parse_config(config_json)?;
    let bytes = py.detach(|| -> PyResult<Vec<u8>> {
        runtime()?.block_on(async {
            let engine = Engine::new(&config).await.map_err(value_error)?;
            let stream = engine.query(sql).await.map_err(value_error)?;
            let schema = stream.schema();
            let batches: Vec<_> = stream.try_collect().await.map_err(value_error)?;
            let mut out = Vec::new();
            let mut writer =
                StreamWriter::try_new(&mut out, &schema).map_err(|e| value_error(e.into()))?;
            for b in &batches {
                writer.write(b).map_err(|e| value_error(e.into()))?;
            }
            writer.finish().map_err(|e| value_error(e.into()))?;
            drop(writer);
            Ok(out)
        })
    })?;
    Ok(PyBytes::new(py, &bytes))
}

/// Lists what `config_json` would serve, as JSON.
#[pyfunction]
fn tables(py: Python<'_>, config_json: &str) -> PyResult<String> {
    let config = parse_config(config_json)?;
    py.detach(|| {
        runtime()?.block_on(async {
            let engine = Engine::new(&config).await.map_err(value_error)?;
            crate::listing::catalog_json(&engine)
                .await
                .map_err(value_error)
        })
    })
}

/// Runs one query in-process and writes its result as the genomic file
/// `out_path` names (.vcf.gz, .bam, .fastq.gz, .bed.gz, .parquet), with its
/// index; returns a JSON summary {"format", "rows", "bytes", "index"}.
#[pyfunction]
fn export(py: Python<'_>, config_json: &str, sql: &str, out_path: &str) -> PyResult<String> {
    let config = parse_config(config_json)?;
    py.detach(|| {
        runtime()?.block_on(async {
            let engine = Engine::new(&config).await.map_err(value_error)?;
            crate::export::export(&engine, sql, Path::new(out_path))
                .await
                .map(|summary| summary.to_json())
                .map_err(value_error)
        })
    })
}

/// `genoflight annotate`: annotates the VCF `input` against the configured
/// VEP cache `cache` and writes it to `output` (standard output when empty)
/// as `format` ("vcf", "vcf.gz", "tab", "parquet"); `options` are
/// annotate_vep's 'name=value' strings. Returns a JSON summary.
#[pyfunction]
#[pyo3(signature = (config_json, input, cache, output, format, options, command_line))]
#[allow(clippy::too_many_arguments)]
fn annotate(
    py: Python<'_>,
    config_json: &str,
    input: &str,
    cache: &str,
    output: &str,
    format: &str,
    options: Vec<String>,
    command_line: &str,
) -> PyResult<String> {
    let config = parse_config(config_json)?;
    let cache_dir = config
        .catalog
        .vep_caches
        .iter()
        .find(|c| c.name == cache)
        .map(|c| c.path.clone())
        .ok_or_else(|| PyValueError::new_err(format!("no [[vep_caches]] named '{cache}'")))?;
    let request = crate::annotate::Request {
        input: input.into(),
        cache: cache.to_string(),
        cache_dir,
        output: (!output.is_empty()).then(|| output.into()),
        format: crate::annotate::Format::parse(format).map_err(PyValueError::new_err)?,
        options,
        command_line: command_line.to_string(),
    };
    py.detach(|| {
        let engine = runtime()?
            .block_on(Engine::new(&config))
            .map_err(value_error)?;
        crate::annotate::run(&engine, &request)
            .map(|summary| summary.json().to_string())
            .map_err(PyValueError::new_err)
    })
}

/// BGZF-compresses a text VCF to `dest` and writes its tabix index `dest.tbi`.
#[pyfunction]
fn bgzip_vcf(py: Python<'_>, src: &str, dest: &str) -> PyResult<()> {
    py.detach(|| genoflight_catalog::vcf::bgzip_and_index(Path::new(src), Path::new(dest)))
        .map_err(|e| PyValueError::new_err(format!("{src}: {e}")))
}

/// Converts the VEP cache at `cache_dir` into Parquet under `out_dir`
/// (`genoflight build-cache`); `progress(done, total, message)`, if given,
/// is called after each source file. Returns the build report as JSON.
#[pyfunction]
#[pyo3(signature = (cache_dir, out_dir, progress=None))]
fn build_cache(
    py: Python<'_>,
    cache_dir: &str,
    out_dir: &str,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    use genoflight_catalog::vep::converted::build;
    let report = py.detach(|| {
        let mut interrupted = None;
        // A callback that raises (KeyboardInterrupt too) stops the build.
        let mut report_progress = |p: &build::Progress| {
            let Some(f) = &progress else {
                return true;
            };
            Python::attach(|py| {
                let called = f
                    .call1(py, (p.done, p.total, p.message.as_str()))
                    .and_then(|_| py.check_signals());
                match called {
                    Ok(()) => true,
                    Err(e) => {
                        interrupted = Some(e);
                        false
                    }
                }
            })
        };
        let result = build::build_cache(
            Path::new(cache_dir),
            Path::new(out_dir),
            &mut report_progress,
        );
        match interrupted {
            Some(e) => Err(e),
            None => result.map_err(PyValueError::new_err),
        }
    })?;
    serde_json::to_string(&report).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(serve, m)?)?;
    m.add_function(wrap_pyfunction!(query, m)?)?;
    m.add_function(wrap_pyfunction!(tables, m)?)?;
    m.add_function(wrap_pyfunction!(bgzip_vcf, m)?)?;
    m.add_function(wrap_pyfunction!(annotate, m)?)?;
    m.add_function(wrap_pyfunction!(export, m)?)?;
    m.add_function(wrap_pyfunction!(build_cache, m)?)?;
    m.add_function(wrap_pyfunction!(check_exposure, m)?)?;
    m.add_function(wrap_pyfunction!(hash_password, m)?)?;
    m.add_function(wrap_pyfunction!(server_status, m)?)?;
    m.add_function(wrap_pyfunction!(server_queries, m)?)?;
    m.add_function(wrap_pyfunction!(server_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(server_cancel, m)?)?;
    m.add_function(wrap_pyfunction!(server_catalog, m)?)?;
    m.add_function(wrap_pyfunction!(server_reload, m)?)?;
    m.add_function(wrap_pyfunction!(server_authenticate, m)?)?;
    Ok(())
}
