//! `genoflight-cache.json`: what a converted cache was built from and what
//! it holds, so a reader can find a region's rows and a rerun of
//! `build-cache` can tell finished, verified parts from missing or damaged
//! ones.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The manifest's file name in a converted cache directory.
pub const MANIFEST: &str = "genoflight-cache.json";

/// Bumped when the layout of the Parquet files changes.
pub const FORMAT_VERSION: u32 = 1;

/// Names this manifest's kind of directory (a converted VEP cache).
pub const FORMAT: &str = "genoflight-vep-cache-parquet";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    /// `blob::model_fingerprint()` of the writer.
    pub model_fingerprint: String,
    /// The source `<version>_<assembly>` directory (absolute).
    pub source: PathBuf,
    /// Its species directory name (`homo_sapiens_refseq`) and own name
    /// (`84_GRCh38`): the cache's identity, which the directory of the
    /// converted cache need not repeat.
    pub species_dir: String,
    pub cache_dir: String,
    pub info_txt: FileStamp,
    /// One part per chromosome and kind of source data, in build order.
    pub parts: Vec<Part>,
}

/// A source file as it was when converted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    /// Relative to the source directory.
    pub path: String,
    pub size: u64,
    /// Seconds since the epoch.
    pub mtime: i64,
    pub crc32: String,
}

/// What a part converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartKind {
    /// `<start>-<end>.gz|.sereal` -> transcripts.parquet
    Transcripts,
    /// `<start>-<end>_reg.*` -> regulatory.parquet, motifs.parquet
    Regulatory,
    /// `_var.gz` files or `all_vars.gz` -> variation.parquet
    Variation,
}

impl PartKind {
    /// The Parquet files a part writes, by table name.
    pub fn tables(self) -> &'static [&'static str] {
        match self {
            PartKind::Transcripts => &["transcripts"],
            PartKind::Regulatory => &["regulatory", "motifs"],
            PartKind::Variation => &["variation"],
        }
    }
}

/// One chromosome's data of one kind: its sources and its Parquet files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    pub chrom: String,
    pub kind: PartKind,
    pub sources: Vec<FileStamp>,
    /// Source regions (row groups) in order: a region file each, or 1 Mb
    /// bins of an `all_vars.gz`.
    pub regions: Vec<Region>,
    pub files: Vec<OutputFile>,
}

/// A region of a part: which row group of each output file holds its rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Region {
    pub start: i64,
    pub end: i64,
    /// Per output file (same order as `Part::files`): its row group, or
    /// none when the region has no rows there.
    pub row_groups: Vec<Option<usize>>,
}

/// A written Parquet file, relative to the converted cache directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputFile {
    pub path: String,
    pub table: String,
    pub rows: u64,
    pub size: u64,
    pub crc32: String,
}

impl Manifest {
    pub fn read(dir: &Path) -> Result<Manifest, String> {
        let path = dir.join(MANIFEST);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}: not a genoflight converted cache manifest ({e}); rebuild it with \
                 `genoflight build-cache`",
                path.display()
            )
        })?;
        if manifest.format != FORMAT {
            return Err(format!(
                "{}: format '{}' is not {FORMAT}",
                path.display(),
                manifest.format
            ));
        }
        Ok(manifest)
    }

    /// Written to a temporary file then renamed: a reader or an interrupted
    /// build sees the old manifest or the new one, never half of one.
    pub fn write(&self, dir: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| format!("cannot encode the manifest: {e}"))?;
        write_atomic(&dir.join(MANIFEST), text.as_bytes())
    }

    /// Whether this manifest's files can be read by this build.
    pub fn current(&self) -> bool {
        self.format_version == FORMAT_VERSION
            && self.model_fingerprint == super::blob::model_fingerprint()
    }
}

/// `bytes` to `path` through `<path>.tmp` and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = tmp_path(path);
    std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Where `path` is written before it is complete.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Size, modification time and CRC-32 of a file. `rel` names it in the stamp.
pub fn stamp(path: &Path, rel: String) -> Result<FileStamp, String> {
    let (size, mtime) = size_mtime(path)?;
    Ok(FileStamp {
        path: rel,
        size,
        mtime,
        crc32: crc32_file(path)?,
    })
}

/// Size and modification time (seconds since the epoch).
pub fn size_mtime(path: &Path) -> Result<(u64, i64), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Ok((meta.len(), mtime))
}

pub fn crc32_file(path: &Path) -> Result<String, String> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut crc = flate2::Crc::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        crc.update(&buf[..n]);
    }
    Ok(format!("{:08x}", crc.sum()))
}

impl OutputFile {
    /// Whether the file under `dir` is the one written: same size and CRC-32.
    pub fn verify(&self, dir: &Path) -> bool {
        let path = dir.join(&self.path);
        size_mtime(&path).is_ok_and(|(size, _)| size == self.size)
            && crc32_file(&path).is_ok_and(|c| c == self.crc32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.parquet");
        write_atomic(&path, b"hello").unwrap();
        assert!(!tmp_path(&path).exists());
        let s = stamp(&path, "x.parquet".into()).unwrap();
        let out = OutputFile {
            path: s.path.clone(),
            table: "t".into(),
            rows: 1,
            size: s.size,
            crc32: s.crc32.clone(),
        };
        assert!(out.verify(dir.path()));
        std::fs::write(&path, b"hellp").unwrap();
        assert!(!out.verify(dir.path()));
        std::fs::remove_file(&path).unwrap();
        assert!(!out.verify(dir.path()));
        assert!(Manifest::read(dir.path()).is_err());
    }
}
