//! Converted VEP caches (`genoflight build-cache CACHE_DIR OUT_DIR`): a VEP
//! cache decoded once into Parquet, served under the same tables and read
//! by `annotate_vep` without decoding Perl data.
//!
//! OUT_DIR holds the source's `info.txt`, the manifest
//! `genoflight-cache.json` (manifest.rs) and per chromosome
//! `<chrom>/transcripts.parquet`, `regulatory.parquet`, `motifs.parquet`
//! and `variation.parquet`: one row group per source region file (1 Mb bins
//! of an `all_vars.gz`), in position order, zstd, with page statistics.
//! Feature files carry their table's columns (readable by any Parquet tool;
//! `WHERE NOT duplicate` gives each feature once) plus the whole feature as
//! JSON in `model` (blob.rs), which is what the cache reads back (read.rs).
//! exons and translations are views of the transcripts, as for a VEP cache.
//!
//! write.rs writes one part (a chromosome's files of one kind); build.rs
//! plans, skips verified parts and reports progress.

pub mod blob;
pub mod build;
pub mod manifest;
pub mod read;
pub mod write;

use std::path::Path;

/// Whether `dir` is a converted cache (holds the manifest).
pub fn is_converted(dir: &Path) -> bool {
    dir.join(manifest::MANIFEST).is_file()
}
