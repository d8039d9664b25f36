//! What to serve: the catalog part of the configuration (validated by the
//! Python face; see docs/native-contract.md).

use std::path::PathBuf;

use serde::Deserialize;

fn public() -> String {
    "public".into()
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct CatalogConfig {
    #[serde(default)]
    pub paths: Vec<PathEntry>,
    #[serde(default)]
    pub tables: Vec<TableEntry>,
    #[serde(default)]
    pub vep_caches: Vec<VepCacheEntry>,
}

/// A directory (scanned recursively) or a file to serve.
#[derive(Debug, Clone, Deserialize)]
pub struct PathEntry {
    pub path: PathBuf,
    #[serde(default = "public")]
    pub schema: String,
}

/// One table with explicit options.
#[derive(Debug, Clone, Deserialize)]
pub struct TableEntry {
    pub name: String,
    pub path: PathBuf,
    #[serde(default = "public")]
    pub schema: String,
    #[serde(default)]
    pub reference: Option<PathBuf>,
    #[serde(default)]
    pub zero_based: bool,
    /// GFF/GTF attributes promoted to their own columns.
    #[serde(default)]
    pub attributes: Vec<String>,
    /// BAM/SAM/CRAM tags as typed columns (`NM`, `XS:i`).
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VepCacheEntry {
    pub name: String,
    pub path: PathBuf,
    /// A chromosome synonyms file (VEP's `--synonyms`), read instead of the
    /// cache's own `chr_synonyms.txt`.
    #[serde(default)]
    pub synonyms: Option<PathBuf>,
}
