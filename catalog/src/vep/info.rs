//! A VEP cache's `info.txt`: tab-separated `key value` lines describing the
//! cache (assembly, serialiser, variation columns, SIFT/PolyPhen, sources).

use std::path::Path;

/// How region files are serialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serialiser {
    /// gzipped Perl Storable, `<start>-<end>.gz` (VEP's default).
    Storable,
    /// Sereal, `<start>-<end>.sereal`.
    Sereal,
}

/// Columns of a variation line when `info.txt` does not list them (VEP's
/// own default for caches that predate `variation_cols`).
const DEFAULT_VARIATION_COLS: &[&str] = &[
    "variation_name",
    "failed",
    "somatic",
    "start",
    "end",
    "allele_string",
    "strand",
    "minor_allele",
    "minor_allele_freq",
];

#[derive(Debug, Clone)]
pub struct CacheInfo {
    /// The species directory's name (`homo_sapiens_refseq`): more specific
    /// than the `species` key, which merged and RefSeq caches share.
    pub species_dir: String,
    /// `species` from info.txt, else the species directory.
    pub species: String,
    /// The release, from the `<version>_<assembly>` directory name.
    pub version: String,
    /// `assembly` from info.txt, else from the directory name.
    pub assembly: String,
    /// Every `key value` line in file order; repeated keys (`source_ESP`) kept.
    pub entries: Vec<(String, String)>,
    pub variation_cols: Vec<String>,
    pub serialiser: Serialiser,
    /// `var_type tabix`: known variants in one tabix `all_vars.gz` per
    /// chromosome instead of per-region `_var.gz` files.
    pub tabix_variation: bool,
    pub sift: Option<String>,
    pub polyphen: Option<String>,
    pub regulatory: bool,
}

impl CacheInfo {
    /// Reads `<dir>/info.txt`; `dir` is the `<version>_<assembly>` directory.
    pub fn read(dir: &Path) -> Result<CacheInfo, String> {
        let path = dir.join("info.txt");
        let text = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let text = String::from_utf8_lossy(&text);
        let dir_name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let species_dir = dir
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        CacheInfo::parse(&text, dir_name, species_dir)
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses info.txt text; `dir_name` is `<version>_<assembly>`.
    pub fn parse(text: &str, dir_name: &str, species_dir: &str) -> Result<CacheInfo, String> {
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            // VEP writes a tab; older hand-made files use spaces.
            let (key, value) = line
                .split_once('\t')
                .or_else(|| line.split_once(' '))
                .ok_or_else(|| format!("line {}: expected `key<TAB>value`, got '{line}'", n + 1))?;
            entries.push((key.trim().to_string(), value.trim().to_string()));
        }
        let get = |k: &str| {
            entries
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        let (version, dir_assembly) = match dir_name.split_once('_') {
            Some((v, a)) if !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()) => {
                (v.to_string(), Some(a.to_string()))
            }
            _ => (String::new(), None),
        };
        let assembly = get("assembly")
            .or(dir_assembly)
            .ok_or("no `assembly` line and the directory is not named <version>_<assembly>")?;
        let species = get("species").unwrap_or_else(|| species_dir.to_string());
        let variation_cols = match get("variation_cols") {
            Some(cols) => cols.split(',').map(|c| c.trim().to_string()).collect(),
            None => DEFAULT_VARIATION_COLS
                .iter()
                .map(|c| c.to_string())
                .collect(),
        };
        let serialiser = match get("serialiser_type").as_deref() {
            None | Some("storable") => Serialiser::Storable,
            Some("sereal") => Serialiser::Sereal,
            Some(other) => return Err(format!("unknown serialiser_type '{other}'")),
        };
        let flag = |k: &str| get(k).filter(|v| !v.is_empty() && v != "0");
        Ok(CacheInfo {
            species_dir: if species_dir.is_empty() {
                species.clone()
            } else {
                species_dir.to_string()
            },
            species,
            version,
            assembly,
            tabix_variation: get("var_type").as_deref() == Some("tabix"),
            sift: flag("sift"),
            polyphen: flag("polyphen"),
            regulatory: flag("regulatory").is_some(),
            variation_cols,
            serialiser,
            entries,
        })
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated key (`source_ESP`), in file order.
    pub fn get_all(&self, key: &str) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_flags_and_columns() {
        let text = "# CACHE UPDATED 2016\nsift\tb\npolyphen\tb\nregulatory\t1\nassembly\tGRCh38\n\
            species\thomo_sapiens\nvariation_cols\tchr,variation_name,start\nvar_type\ttabix\n\
            serialiser_type\tsereal\nsource_ESP\t20141103\nsource_ESP\tV2-SSA137\n";
        let info = CacheInfo::parse(text, "84_GRCh38", "homo_sapiens_refseq").unwrap();
        assert_eq!(info.version, "84");
        assert_eq!(info.assembly, "GRCh38");
        assert_eq!(info.species, "homo_sapiens");
        assert_eq!(info.species_dir, "homo_sapiens_refseq");
        assert_eq!(info.variation_cols, ["chr", "variation_name", "start"]);
        assert!(info.tabix_variation && info.regulatory);
        assert_eq!(info.serialiser, Serialiser::Sereal);
        assert_eq!(info.sift.as_deref(), Some("b"));
        assert_eq!(info.get_all("source_ESP"), ["20141103", "V2-SSA137"]);
    }

    #[test]
    fn defaults_and_errors() {
        let info = CacheInfo::parse("sift\tb\n", "90_GRCh37", "mus").unwrap();
        assert_eq!(info.assembly, "GRCh37");
        assert_eq!(info.serialiser, Serialiser::Storable);
        assert!(!info.tabix_variation && !info.regulatory);
        assert_eq!(info.variation_cols[0], "variation_name");
        assert!(CacheInfo::parse("garbage\n", "84_GRCh38", "x").is_err());
        assert!(CacheInfo::parse("sift\tb\n", "cache", "x").is_err());
        assert!(CacheInfo::parse("serialiser_type\tjson\n", "84_GRCh38", "x").is_err());
    }
}
