//! `genoflight build-cache`: converts a VEP cache directory into a
//! converted cache, part by part (a chromosome's transcripts, regulatory
//! features or known variants). A part whose sources are unchanged and
//! whose files still match the manifest (size and CRC-32) is skipped, so a
//! rerun after an interruption converts only what is missing or damaged,
//! and a rerun over a complete cache writes nothing.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::blob;
use super::manifest::{
    FORMAT, FORMAT_VERSION, FileStamp, MANIFEST, Manifest, Part, PartKind, Region, size_mtime,
    stamp, tmp_path, write_atomic,
};
use super::write::PartWriter;
use crate::text::TextSource;
use crate::vep::exec::{decode_region, each_line};
use crate::vep::info::CacheInfo;
use crate::vep::layout::{CacheLayout, RegionFile, RegionKind, find_cache_dir};
use crate::vep::synonyms;
use crate::vep::table::RegionData;
use crate::vep::variation::{KnownVariant, VariationColumns};

/// Known variants of an `all_vars.gz` are stored in bins of this many
/// bases, one row group each (the size of a VEP region file).
const BIN: i64 = 1_000_000;

/// The error of a build stopped by its progress callback.
pub const INTERRUPTED: &str = "interrupted; run the same command again to resume";

/// Where a build is, for a progress bar: `done` of `total` source files.
#[derive(Debug, Clone)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
    /// The source file just converted, or the part skipped.
    pub message: String,
}

/// What a build did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BuildReport {
    pub source: PathBuf,
    pub out_dir: PathBuf,
    pub parts: usize,
    /// Parts written by this run; the others were complete and verified.
    pub converted: usize,
    pub skipped: usize,
    /// Source files read by this run.
    pub files_read: usize,
    /// Rows per table in the converted cache.
    pub rows: BTreeMap<String, u64>,
    /// Size of the converted cache's Parquet files.
    pub bytes: u64,
    pub seconds: f64,
}

/// A part to build: its sources.
struct Planned {
    chrom: String,
    kind: PartKind,
    /// Region files, or one `all_vars.gz`.
    regions: Vec<RegionFile>,
    all_vars: Option<PathBuf>,
    stamps: Vec<FileStamp>,
}

/// The path made absolute and free of `..`, following symlinks of the
/// part that exists.
fn absolute(path: &Path) -> Result<PathBuf, String> {
    let abs = std::path::absolute(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut existing = abs.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut out = existing
        .canonicalize()
        .map_err(|e| format!("{}: {e}", existing.display()))?;
    for name in rest.into_iter().rev() {
        if Path::new(&name)
            .components()
            .any(|c| c == Component::ParentDir)
        {
            return Err(format!("{}: '..' in a new directory name", path.display()));
        }
        out.push(name);
    }
    Ok(out)
}

/// Converts the VEP cache at `source` (a `<version>_<assembly>` directory
/// or a species directory holding one) into `out`. `progress` is called
/// after each source file; returning false stops the build (what is done
/// is kept: a rerun resumes).
pub fn build_cache(
    source: &Path,
    out: &Path,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<BuildReport, String> {
    let started = Instant::now();
    let root = find_cache_dir(source)?
        .canonicalize()
        .map_err(|e| format!("{}: {e}", source.display()))?;
    let out = absolute(out)?;
    if out == root || out.starts_with(&root) {
        return Err(format!(
            "{}: the output directory is inside the VEP cache {}; choose a directory outside it",
            out.display(),
            root.display()
        ));
    }
    if root.starts_with(&out) {
        return Err(format!(
            "{}: the output directory holds the VEP cache {}; choose a directory outside it",
            out.display(),
            root.display()
        ));
    }
    let info = CacheInfo::read(&root)?;
    let layout = CacheLayout::scan(&root, &info)?;
    let variation = Arc::new(VariationColumns::new(&info));
    let info_stamp = stamp(&root.join("info.txt"), "info.txt".into())?;

    let previous = prepare_out_dir(&out, &root)?;
    let _lock = BuildLock::take(&out)?;
    let fresh = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        model_fingerprint: blob::model_fingerprint(),
        source: root.clone(),
        species_dir: info.species_dir.clone(),
        cache_dir: root
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string(),
        info_txt: info_stamp.clone(),
        parts: Vec::new(),
    };
    // Parts of a manifest written by another format, model or info.txt are
    // all rebuilt.
    let reusable: Vec<Part> = match &previous {
        Some(m) if m.current() && m.info_txt.crc32 == info_stamp.crc32 => m.parts.clone(),
        _ => Vec::new(),
    };
    let mut manifest = Manifest {
        parts: reusable.clone(),
        ..fresh
    };
    if previous.as_ref() != Some(&manifest) {
        manifest.write(&out)?;
    }
    copy_info(&root, &out)?;

    let plan = plan(&root, &layout, &info)?;
    let total: usize = plan.iter().map(|p| p.stamps.len()).sum();
    let mut report = BuildReport {
        source: root.clone(),
        out_dir: out.clone(),
        parts: plan.len(),
        ..Default::default()
    };
    let mut done = 0usize;
    let mut parts = Vec::with_capacity(plan.len());
    for planned in &plan {
        let old = reusable
            .iter()
            .find(|p| p.chrom == planned.chrom && p.kind == planned.kind);
        if let Some(old) = old.filter(|old| unchanged(old, planned, &out)) {
            done += planned.stamps.len();
            report.skipped += 1;
            parts.push(old.clone());
            if !progress(&Progress {
                done,
                total,
                message: format!("{} {} (complete)", planned.chrom, kind_name(planned.kind)),
            }) {
                return Err(INTERRUPTED.into());
            }
            continue;
        }
        let part = convert_part(&out, planned, &layout, &variation, &mut |file| {
            done += 1;
            progress(&Progress {
                done,
                total,
                message: file.to_string(),
            })
        })
        .inspect_err(|_| {
            for table in planned.kind.tables() {
                let path = out.join(&planned.chrom).join(format!("{table}.parquet"));
                let _ = std::fs::remove_file(tmp_path(&path));
            }
        })?;
        report.converted += 1;
        report.files_read += planned.stamps.len();
        // Recorded at once: an interrupted build keeps this part.
        manifest
            .parts
            .retain(|p| !(p.chrom == part.chrom && p.kind == part.kind));
        manifest.parts.push(part.clone());
        manifest.write(&out)?;
        parts.push(part);
    }
    // Parts whose sources are gone go too.
    for p in &manifest.parts {
        if !parts.iter().any(|q| q.chrom == p.chrom && q.kind == p.kind) {
            for f in &p.files {
                let _ = std::fs::remove_file(out.join(&f.path));
            }
        }
    }
    if manifest.parts != parts {
        manifest.parts = parts;
        manifest.write(&out)?;
    }
    for p in &manifest.parts {
        for f in &p.files {
            *report.rows.entry(f.table.clone()).or_default() += f.rows;
            report.bytes += f.size;
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

fn kind_name(kind: PartKind) -> &'static str {
    match kind {
        PartKind::Transcripts => "transcripts",
        PartKind::Regulatory => "regulatory",
        PartKind::Variation => "variation",
    }
}

/// Held while a build writes into a directory (holds the builder's pid).
const LOCK: &str = ".genoflight-build.lock";

/// One build per directory at a time: a second one would write the same
/// temporary files. A lock left by a build that died (its process is gone)
/// is taken over, so a killed build still resumes.
struct BuildLock(PathBuf);

impl BuildLock {
    fn take(out: &Path) -> Result<BuildLock, String> {
        let path = out.join(LOCK);
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    use std::io::Write;
                    let _ = write!(f, "{}", std::process::id());
                    return Ok(BuildLock(path));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let pid = std::fs::read_to_string(&path).unwrap_or_default();
                    let pid = pid.trim();
                    let alive = !pid.is_empty()
                        && pid != std::process::id().to_string()
                        && Path::new("/proc").join(pid).exists();
                    if alive {
                        return Err(format!(
                            "{}: another build (process {pid}) is writing here; wait for it \
                             or stop it",
                            out.display()
                        ));
                    }
                    let _ = std::fs::remove_file(&path);
                }
                Err(e) => return Err(format!("{}: {e}", path.display())),
            }
        }
        Err(format!("{}: cannot take the build lock", path.display()))
    }
}

impl Drop for BuildLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Creates `out` or checks it is a converted cache of `root`; its manifest
/// if it has one.
fn prepare_out_dir(out: &Path, root: &Path) -> Result<Option<Manifest>, String> {
    if out.exists() && !out.is_dir() {
        return Err(format!("{}: not a directory", out.display()));
    }
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    if !out.join(MANIFEST).exists() {
        let mut entries = std::fs::read_dir(out)
            .map_err(|e| format!("{}: {e}", out.display()))?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name() != LOCK);
        if entries.next().is_some() {
            return Err(format!(
                "{}: not empty and not a converted VEP cache (no {MANIFEST}); give a new or \
                 empty directory",
                out.display()
            ));
        }
        return Ok(None);
    }
    match Manifest::read(out) {
        Ok(m) if m.source != root => Err(format!(
            "{}: holds the converted cache of {}, not of {}; choose another directory",
            out.display(),
            m.source.display(),
            root.display()
        )),
        Ok(m) => Ok(Some(m)),
        // A damaged manifest: everything is rebuilt.
        Err(e) => {
            tracing::warn!("{e}; rebuilding");
            Ok(None)
        }
    }
}

/// Copies `info.txt`, and the chromosome synonyms when the cache has them
/// (annotation reads them as VEP does), unless the copy is already equal.
fn copy_info(root: &Path, out: &Path) -> Result<(), String> {
    for name in ["info.txt", synonyms::FILE_NAME] {
        let src = root.join(name);
        if name != "info.txt" && !src.is_file() {
            continue;
        }
        let text = std::fs::read(&src).map_err(|e| format!("{}: {e}", src.display()))?;
        let dest = out.join(name);
        if std::fs::read(&dest).ok().as_deref() != Some(text.as_slice()) {
            write_atomic(&dest, &text)?;
        }
    }
    Ok(())
}

/// Relative name of a source file.
fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// The parts of the cache, with their source files' size and mtime (the
/// CRC-32 is added when a part is converted).
fn plan(root: &Path, layout: &CacheLayout, info: &CacheInfo) -> Result<Vec<Planned>, String> {
    let quick = |path: &Path| -> Result<FileStamp, String> {
        let (size, mtime) = size_mtime(path)?;
        Ok(FileStamp {
            path: rel(root, path),
            size,
            mtime,
            crc32: String::new(),
        })
    };
    let mut out = Vec::new();
    for dir in &layout.chromosomes {
        for (kind, region_kind) in [
            (PartKind::Transcripts, RegionKind::Transcripts),
            (PartKind::Regulatory, RegionKind::Regulatory),
            (PartKind::Variation, RegionKind::Variation),
        ] {
            let (regions, all_vars) = if kind == PartKind::Variation && info.tabix_variation {
                (Vec::new(), dir.all_vars.clone())
            } else {
                (dir.files(region_kind).cloned().collect::<Vec<_>>(), None)
            };
            if regions.is_empty() && all_vars.is_none() {
                continue;
            }
            let stamps = regions
                .iter()
                .map(|r| quick(&r.path))
                .chain(all_vars.iter().map(|p| quick(p)))
                .collect::<Result<Vec<_>, _>>()?;
            out.push(Planned {
                chrom: dir.name.clone(),
                kind,
                regions,
                all_vars,
                stamps,
            });
        }
    }
    Ok(out)
}

/// Whether a recorded part still stands: same source files (name, size,
/// mtime) and its Parquet files as written.
fn unchanged(old: &Part, planned: &Planned, out: &Path) -> bool {
    let same_sources = old.sources.len() == planned.stamps.len()
        && old
            .sources
            .iter()
            .zip(&planned.stamps)
            .all(|(a, b)| a.path == b.path && a.size == b.size && a.mtime == b.mtime);
    same_sources && !old.files.is_empty() && old.files.iter().all(|f| f.verify(out))
}

/// Converts one part; `each` is called after each source file (false stops).
fn convert_part(
    out: &Path,
    planned: &Planned,
    layout: &CacheLayout,
    variation: &Arc<VariationColumns>,
    each: &mut dyn FnMut(&str) -> bool,
) -> Result<Part, String> {
    let root = &layout.root;
    let mut writer = PartWriter::create(out, &planned.chrom, planned.kind, variation.clone())?;
    let mut regions = Vec::new();
    let mut sources = Vec::new();
    if let Some(path) = &planned.all_vars {
        regions = all_vars_regions(path, &planned.chrom, layout, variation, &mut writer)?;
        sources.push(stamp(path, rel(root, path))?);
        if !each(&rel(root, path)) {
            return Err(INTERRUPTED.into());
        }
    } else {
        let mut previous: Option<RegionData> = None;
        for file in &planned.regions {
            let data = decode_region(file, variation).map_err(|e| {
                format!(
                    "{} (a damaged or unreadable cache file: re-download or re-extract the \
                     cache)",
                    e.strip_backtrace()
                )
            })?;
            let row_groups = writer.region(&data, previous.as_ref())?;
            regions.push(Region {
                start: file.start,
                end: file.end,
                row_groups,
            });
            sources.push(stamp(&file.path, rel(root, &file.path))?);
            if !each(&rel(root, &file.path)) {
                return Err(INTERRUPTED.into());
            }
            previous = Some(data);
        }
    }
    Ok(Part {
        chrom: planned.chrom.clone(),
        kind: planned.kind,
        sources,
        regions,
        files: writer.finish()?,
    })
}

/// Streams an `all_vars.gz` (sorted by start, as tabix needs) into 1 Mb
/// bins. A bin's region ends at its last variant's end when that is
/// further, so a lookup overlapping a long variant still reads its bin.
fn all_vars_regions(
    path: &Path,
    chrom: &str,
    layout: &CacheLayout,
    variation: &VariationColumns,
    writer: &mut PartWriter,
) -> Result<Vec<Region>, String> {
    let source = TextSource::open(path, &mut |_, _| Ok(0)).map_err(|e| e.strip_backtrace())?;
    let mut regions = Vec::new();
    let mut bin: Option<i64> = None;
    let mut current: Vec<KnownVariant> = Vec::new();
    let mut flush = |b: i64, current: &mut Vec<KnownVariant>| -> Result<(), String> {
        let end = current
            .iter()
            .map(|v| v.end.max(v.start))
            .max()
            .unwrap_or(0)
            .max((b + 1) * BIN);
        let data = RegionData {
            variants: std::mem::take(current),
            ..Default::default()
        };
        let row_groups = writer.region(&data, None)?;
        regions.push(Region {
            start: b * BIN + 1,
            end,
            row_groups,
        });
        Ok(())
    };
    for unit in source.plan(&[], 1).map_err(|e| e.strip_backtrace())? {
        each_line(&source, &unit, |line| {
            let Some(v) = variation.parse(line, chrom)? else {
                return Ok(true);
            };
            // As VepCache::variation: lines of another chromosome are not this one's.
            if layout.chrom(&v.chrom).is_none_or(|c| c.name != chrom) {
                return Ok(true);
            }
            let b = (v.start - 1).max(0) / BIN;
            match bin {
                Some(prev) if b < prev => {
                    return Err(format!(
                        "not sorted by position (start {} after bin {}); sort and index it \
                         with tabix",
                        v.start,
                        prev * BIN + 1
                    ));
                }
                Some(prev) if b > prev => flush(prev, &mut current)?,
                _ => {}
            }
            bin = Some(b);
            current.push(v);
            Ok(true)
        })
        .map_err(|e| e.strip_backtrace())?;
    }
    if let Some(b) = bin {
        flush(b, &mut current)?;
    }
    Ok(regions)
}
