//! Where a VEP cache keeps its data: `<species>/<version>_<assembly>/` with
//! `info.txt` and one directory per chromosome holding region files named
//! `<start>-<end>.gz` (transcripts), `<start>-<end>_reg.gz` (regulatory and
//! motif features), `<start>-<end>_var.gz` (known variants), `.sereal` for a
//! Sereal cache, or one tabix `all_vars.gz` of known variants.

use std::path::{Path, PathBuf};

use super::info::{CacheInfo, Serialiser};
use super::synonyms::{self, Synonyms};

/// What a region file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RegionKind {
    Transcripts,
    /// Regulatory and motif features.
    Regulatory,
    /// Known variants (text).
    Variation,
}

/// One region file, with the interval its name covers (1-based closed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionFile {
    pub kind: RegionKind,
    pub chrom: String,
    pub start: i64,
    pub end: i64,
    pub path: PathBuf,
    pub serialiser: Serialiser,
}

impl RegionFile {
    pub fn overlaps(&self, start: i64, end: i64) -> bool {
        self.start <= end && self.end >= start
    }
}

/// A chromosome directory: its region files sorted by start, and the tabix
/// variation file when the cache has one.
#[derive(Debug, Clone)]
pub struct ChromDir {
    pub name: String,
    pub path: PathBuf,
    pub regions: Vec<RegionFile>,
    pub all_vars: Option<PathBuf>,
}

impl ChromDir {
    pub fn files(&self, kind: RegionKind) -> impl Iterator<Item = &RegionFile> {
        self.regions.iter().filter(move |r| r.kind == kind)
    }
}

#[derive(Debug, Clone)]
pub struct CacheLayout {
    /// The `<version>_<assembly>` directory.
    pub root: PathBuf,
    pub chromosomes: Vec<ChromDir>,
    /// The cache's `chr_synonyms.txt`, if it has one.
    pub synonyms: Synonyms,
}

/// An input chromosome as VEP annotates it against a cache.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnotatedChrom {
    /// The cache's name for it.
    pub cache: String,
    /// The name VEP writes in Location and Uploaded_variation: the input's,
    /// except `M`, which VEP renames `MT`.
    pub reported: String,
}

/// Whether `dir` is a cache's `<version>_<assembly>` directory.
pub fn is_cache_dir(dir: &Path) -> bool {
    dir.join("info.txt").is_file()
}

/// Whether a directory met while scanning served paths is a cache: named
/// `<version>_<assembly>` and holding `info.txt` (a bare info.txt elsewhere
/// is just a file), or a converted cache (`genoflight build-cache`).
pub fn looks_like_cache(dir: &Path) -> bool {
    let named = dir
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split_once('_'))
        .is_some_and(|(v, a)| {
            !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) && !a.is_empty()
        });
    (named || super::converted::is_converted(dir)) && is_cache_dir(dir)
}

/// The `<version>_<assembly>` directory `path` designates: itself when it
/// holds `info.txt`, else its one subdirectory that does (a species
/// directory with one release).
pub fn find_cache_dir(path: &Path) -> Result<PathBuf, String> {
    if !path.exists() {
        return Err(format!("{}: no such directory", path.display()));
    }
    if !path.is_dir() {
        return Err(format!("{}: not a directory", path.display()));
    }
    if is_cache_dir(path) {
        return Ok(path.to_path_buf());
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && is_cache_dir(p))
        .collect();
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(format!(
            "{}: not a VEP cache: no info.txt in it or in a <version>_<assembly> directory below it",
            path.display()
        )),
        _ => Err(format!(
            "{}: holds several VEP caches ({}); name one",
            path.display(),
            found
                .iter()
                .filter_map(|p| p.file_name()?.to_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Parses a region file name: `25000001-26000000_reg.gz` ->
/// (Regulatory, 25000001, 26000000, Storable).
pub fn parse_region_name(name: &str) -> Option<(RegionKind, i64, i64, Serialiser)> {
    let (stem, serialiser) = if let Some(s) = name.strip_suffix(".sereal") {
        (s, Serialiser::Sereal)
    } else {
        (name.strip_suffix(".gz")?, Serialiser::Storable)
    };
    let (range, kind) = if let Some(r) = stem.strip_suffix("_reg") {
        (r, RegionKind::Regulatory)
    } else if let Some(r) = stem.strip_suffix("_var") {
        (r, RegionKind::Variation)
    } else {
        (stem, RegionKind::Transcripts)
    };
    // Variation region files are text whatever the serialiser.
    if kind == RegionKind::Variation && serialiser == Serialiser::Sereal {
        return None;
    }
    let (start, end) = range.split_once('-')?;
    let start: i64 = start.parse().ok()?;
    let end: i64 = end.parse().ok()?;
    (start >= 1 && start <= end).then_some((kind, start, end, serialiser))
}

impl CacheLayout {
    /// Lists the chromosome directories and region files under `root`. Files
    /// the serialiser does not use (a Storable `.gz` in a Sereal cache) are
    /// left out, as VEP would not read them.
    pub fn scan(root: &Path, info: &CacheInfo) -> Result<CacheLayout, String> {
        let entries = std::fs::read_dir(root).map_err(|e| format!("{}: {e}", root.display()))?;
        let mut chromosomes = Vec::new();
        for entry in entries.filter_map(|e| e.ok()) {
            let path = entry.path();
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_string)
            else {
                continue;
            };
            if !path.is_dir() || name.starts_with('.') {
                continue;
            }
            let files = std::fs::read_dir(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut dir = ChromDir {
                name: name.clone(),
                path: path.clone(),
                regions: Vec::new(),
                all_vars: None,
            };
            for file in files.filter_map(|e| e.ok()) {
                let file_path = file.path();
                let Some(file_name) = file_path.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                if file_name == "all_vars.gz" {
                    dir.all_vars = Some(file_path.clone());
                    continue;
                }
                let Some((kind, start, end, serialiser)) = parse_region_name(file_name) else {
                    continue;
                };
                if kind != RegionKind::Variation && serialiser != info.serialiser {
                    continue;
                }
                dir.regions.push(RegionFile {
                    kind,
                    chrom: name.clone(),
                    start,
                    end,
                    path: file_path,
                    serialiser,
                });
            }
            dir.regions
                .sort_by(|a, b| (a.start, a.end, &a.path).cmp(&(b.start, b.end, &b.path)));
            if !dir.regions.is_empty() || dir.all_vars.is_some() {
                chromosomes.push(dir);
            }
        }
        chromosomes.sort_by_key(|c| chrom_order(&c.name));
        Ok(CacheLayout {
            root: root.to_path_buf(),
            chromosomes,
            synonyms: Synonyms::read_if_present(&root.join(synonyms::FILE_NAME))?,
        })
    }

    /// The cache chromosome VEP annotates an input chromosome against
    /// (Parser::_have_chr, BaseVEP::get_source_chr_name): the name itself, a
    /// synonym of it, the name with `chr` removed or added, and `M` as `MT`;
    /// `None` for a chromosome VEP skips ("not found in annotation sources
    /// or synonyms"). Stricter than [`CacheLayout::chrom`], which table
    /// queries use: `chrM` reaches `MT` only through the synonyms here.
    pub fn annotated_chrom(&self, name: &str) -> Option<AnnotatedChrom> {
        let have = |n: &str| self.chromosomes.iter().any(|c| c.name == n);
        let found = |cache: &str| AnnotatedChrom {
            cache: cache.to_string(),
            reported: name.to_string(),
        };
        if have(name) {
            return Some(found(name));
        }
        if let Some(s) = self.synonyms.of(name).iter().find(|s| have(s)) {
            return Some(found(s));
        }
        let bare = match name.get(..3) {
            Some(p) if p.eq_ignore_ascii_case("chr") => Some(&name[3..]),
            _ => None,
        };
        match bare {
            Some(b) if have(b) => return Some(found(b)),
            None if have(&format!("chr{name}")) => return Some(found(&format!("chr{name}"))),
            _ => {}
        }
        (name == "M" && have("MT")).then(|| AnnotatedChrom {
            cache: "MT".into(),
            reported: "MT".into(),
        })
    }

    /// The directory of `chrom`, accepting `chr21` for `21` and `chrM` for
    /// `MT` (VEP caches name chromosomes without the prefix).
    pub fn chrom(&self, chrom: &str) -> Option<&ChromDir> {
        let find = |n: &str| self.chromosomes.iter().find(|c| c.name == n);
        if let Some(c) = find(chrom) {
            return Some(c);
        }
        let bare = chrom
            .strip_prefix("chr")
            .or_else(|| chrom.strip_prefix("Chr"))
            .or_else(|| chrom.strip_prefix("CHR"));
        match bare {
            Some("M") => find("MT").or_else(|| find("M")),
            Some(b) => find(b),
            None if chrom == "MT" => find("chrM"),
            None => find(&format!("chr{chrom}")),
        }
    }

    /// Region files of `kind` overlapping `[start, end]` on `chrom`.
    pub fn regions(&self, kind: RegionKind, chrom: &str, start: i64, end: i64) -> Vec<&RegionFile> {
        self.chrom(chrom)
            .map(|c| c.files(kind).filter(|r| r.overlaps(start, end)).collect())
            .unwrap_or_default()
    }

    /// Every region file of `kind`, chromosome by chromosome.
    pub fn all(&self, kind: RegionKind) -> impl Iterator<Item = &RegionFile> {
        self.chromosomes.iter().flat_map(move |c| c.files(kind))
    }
}

/// A region file to read, with the file read just before it on the same
/// chromosome (of the same kind), if any.
///
/// VEP writes a transcript into every region file its gene overlaps, so
/// neighbouring files share features. The files a scan reads are a run of
/// neighbours on each chromosome (those overlapping an interval, or all), so
/// a feature is reported once by skipping those its predecessor also holds.
#[derive(Debug, Clone)]
pub struct FileToRead {
    pub file: RegionFile,
    pub previous: Option<RegionFile>,
}

/// `files` without repeats, each with its predecessor among them; the order
/// is kept (for EXPLAIN).
pub fn in_read_order(files: Vec<&RegionFile>) -> Vec<FileToRead> {
    let mut unique: Vec<&RegionFile> = Vec::with_capacity(files.len());
    for f in files {
        // (A converted cache's regions share a file: its row groups differ.)
        if !unique
            .iter()
            .any(|u| u.path == f.path && u.start == f.start)
        {
            unique.push(f);
        }
    }
    let mut order: Vec<usize> = (0..unique.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (unique[a], unique[b]);
        (&x.chrom, x.kind as u8, x.start).cmp(&(&y.chrom, y.kind as u8, y.start))
    });
    let mut previous = vec![None; unique.len()];
    for pair in order.windows(2) {
        let (p, f) = (unique[pair[0]], unique[pair[1]]);
        if p.chrom == f.chrom && p.kind == f.kind {
            previous[pair[1]] = Some(p.clone());
        }
    }
    unique
        .into_iter()
        .zip(previous)
        .map(|(f, previous)| FileToRead {
            file: f.clone(),
            previous,
        })
        .collect()
}

/// Natural chromosome order: numbers, then X, Y, MT, then the rest by name.
fn chrom_order(name: &str) -> (u8, u64, String) {
    let bare = name.strip_prefix("chr").unwrap_or(name);
    match bare.parse::<u64>() {
        Ok(n) => (0, n, String::new()),
        Err(_) => match bare {
            "X" => (1, 0, String::new()),
            "Y" => (1, 1, String::new()),
            "MT" | "M" => (1, 2, String::new()),
            _ => (2, 0, name.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names() {
        use RegionKind::*;
        use Serialiser::*;
        assert_eq!(
            parse_region_name("25000001-26000000.gz"),
            Some((Transcripts, 25000001, 26000000, Storable))
        );
        assert_eq!(
            parse_region_name("1-1000000_reg.sereal"),
            Some((Regulatory, 1, 1000000, Sereal))
        );
        assert_eq!(
            parse_region_name("8000001-9000000_var.gz"),
            Some((Variation, 8000001, 9000000, Storable))
        );
        assert_eq!(parse_region_name("all_vars.gz"), None);
        assert_eq!(parse_region_name("info.txt"), None);
        assert_eq!(parse_region_name("9-1.gz"), None);
    }

    #[test]
    fn layout_ownership_and_chromosome_names() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("homo_sapiens").join("84_GRCh38");
        std::fs::create_dir_all(root.join("21")).unwrap();
        std::fs::create_dir_all(root.join("MT")).unwrap();
        std::fs::write(root.join("info.txt"), "assembly\tGRCh38\n").unwrap();
        for f in [
            "1-1000000.gz",
            "1000001-2000000.gz",
            "1-1000000_var.gz",
            "x.txt",
        ] {
            std::fs::write(root.join("21").join(f), "").unwrap();
        }
        std::fs::write(root.join("MT").join("1-1000000.sereal"), "").unwrap();
        let info = CacheInfo::read(&root).unwrap();
        let layout = CacheLayout::scan(&root, &info).unwrap();
        // MT only has a Sereal file, which a Storable cache does not read.
        assert_eq!(layout.chromosomes.len(), 1);
        assert!(layout.chrom("chr21").is_some() && layout.chrom("21").is_some());
        assert!(layout.chrom("chrMT").is_none());
        // VEP's rules for annotation.
        let named = |n: &str| layout.annotated_chrom(n).map(|c| (c.cache, c.reported));
        assert_eq!(named("21"), Some(("21".into(), "21".into())));
        assert_eq!(named("chr21"), Some(("21".into(), "chr21".into())));
        assert_eq!(named("CHR21"), Some(("21".into(), "CHR21".into())));
        assert_eq!(named("NC_000021.9"), None);
        let mut with_synonyms = layout.clone();
        with_synonyms.synonyms = Synonyms::parse("21\tNC_000021.9\n");
        assert_eq!(
            with_synonyms
                .annotated_chrom("NC_000021.9")
                .map(|c| c.cache),
            Some("21".into())
        );
        let files = layout.regions(RegionKind::Transcripts, "chr21", 999_999, 1_000_001);
        assert_eq!(files.len(), 2);
        let read = in_read_order(vec![files[1], files[0], files[1]]);
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].file.start, 1_000_001);
        assert_eq!(read[0].previous.as_ref().map(|p| p.start), Some(1));
        assert!(read[1].previous.is_none());
        assert!(in_read_order(vec![files[1]])[0].previous.is_none());
        assert_eq!(find_cache_dir(root.parent().unwrap()).unwrap(), root);
        assert!(find_cache_dir(&root.join("21")).is_err());
    }
}
