//! `genoflight._native`: the Rust core as the Python package sees it
//! (docs/native-contract.md). Every call releases the GIL while it works.

use std::path::Path;

use arrow::ipc::writer::StreamWriter;
use datafusion::common::DataFusionError;
use futures::TryStreamExt;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
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

/// Serves Flight SQL until SIGINT/SIGTERM.
#[pyfunction]
fn serve(py: Python<'_>, config_json: &str) -> PyResult<()> {
    let config = parse_config(config_json)?;
    py.detach(|| {
        crate::logging::init();
        runtime()?
            .block_on(crate::serve::run(config))
            .map_err(PyRuntimeError::new_err)
    })
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

/// BGZF-compresses a text VCF to `dest` and writes its tabix index `dest.tbi`.
#[pyfunction]
fn bgzip_vcf(py: Python<'_>, src: &str, dest: &str) -> PyResult<()> {
    py.detach(|| genoflight_catalog::vcf::bgzip_and_index(Path::new(src), Path::new(dest)))
        .map_err(|e| PyValueError::new_err(format!("{src}: {e}")))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(serve, m)?)?;
    m.add_function(wrap_pyfunction!(query, m)?)?;
    m.add_function(wrap_pyfunction!(tables, m)?)?;
    m.add_function(wrap_pyfunction!(bgzip_vcf, m)?)?;
    Ok(())
}
