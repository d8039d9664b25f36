//! The server's configuration, as normalised by the Python face
//! (docs/native-contract.md).

use std::path::PathBuf;

use genoflight_catalog::CatalogConfig;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Config {
    #[serde(default)]
    pub server: Listen,
    #[serde(flatten)]
    pub catalog: CatalogConfig,
    #[serde(default)]
    pub auth: Auth,
    #[serde(default)]
    pub tls: Option<Tls>,
    #[serde(default)]
    pub limits: Limits,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Listen {
    #[serde(default = "default_host")]
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default)]
    pub admin_port: Option<u16>,
    /// Send Utf8View/BinaryView as they are instead of Utf8/Binary.
    #[serde(default)]
    pub pass_view_types: bool,
    /// Listen on a non-loopback address although no users are configured.
    #[serde(default)]
    pub allow_remote_without_auth: bool,
    /// On SIGTERM, how long running queries may take before they are cancelled.
    #[serde(default = "default_grace")]
    pub shutdown_grace_s: f64,
}

fn default_grace() -> f64 {
    30.0
}

fn default_host() -> String {
    "127.0.0.1".into()
}

fn default_port() -> u16 {
    50051
}

impl Default for Listen {
    fn default() -> Self {
        Listen {
            host: default_host(),
            port: default_port(),
            admin_port: None,
            pass_view_types: false,
            allow_remote_without_auth: false,
            shutdown_grace_s: default_grace(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Auth {
    #[serde(default = "default_ttl")]
    pub token_ttl_s: u64,
    #[serde(default)]
    pub users: Vec<User>,
}

fn default_ttl() -> u64 {
    3600
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            token_ttl_s: default_ttl(),
            users: vec![],
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub name: String,
    pub password_hash: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Limits {
    pub memory_bytes: Option<usize>,
    pub query_timeout_s: Option<f64>,
    pub max_concurrent_queries: Option<usize>,
    pub max_result_rows: Option<u64>,
    pub max_result_bytes: Option<u64>,
}

impl Config {
    pub fn from_json(json: &str) -> Result<Config, String> {
        serde_json::from_str(json).map_err(|e| format!("invalid configuration: {e}"))
    }
}
