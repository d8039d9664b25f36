//! Chromosome synonyms as VEP reads them (BaseVEP::chromosome_synonyms): a
//! text file, one name per line followed by its synonyms, white-space
//! separated, every pair recorded both ways. VEP loads the cache's own
//! `chr_synonyms.txt` unless `--synonyms` names another file.

use std::collections::HashMap;
use std::path::Path;

/// The file name VEP looks for in a cache's `<version>_<assembly>` directory.
pub const FILE_NAME: &str = "chr_synonyms.txt";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Synonyms(HashMap<String, Vec<String>>);

impl Synonyms {
    /// Reads `path`; a missing file is no synonyms, an unreadable one an error.
    pub fn read_if_present(path: &Path) -> Result<Synonyms, String> {
        if path.is_file() {
            Synonyms::read(path)
        } else {
            Ok(Synonyms::default())
        }
    }

    /// Reads `path`, which must exist (a file the configuration names).
    pub fn read(path: &Path) -> Result<Synonyms, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "cannot read the chromosome synonyms {}: {e}",
                path.display()
            )
        })?;
        Ok(Synonyms::parse(&text))
    }

    pub fn parse(text: &str) -> Synonyms {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        let mut add = |a: &str, b: &str| {
            let list = map.entry(a.to_string()).or_default();
            if !list.iter().any(|x| x == b) {
                list.push(b.to_string());
            }
        };
        for line in text.lines() {
            let mut names = line.split_whitespace();
            let Some(name) = names.next() else { continue };
            for synonym in names {
                add(name, synonym);
                add(synonym, name);
            }
        }
        Synonyms(map)
    }

    /// The synonyms of `name`, in the file's order.
    pub fn of(&self, name: &str) -> &[String] {
        self.0.get(name).map(Vec::as_slice).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ways() {
        let s = Synonyms::parse("21\tchr21\n21 NC_000021.9\n\nMT\tchrM\n");
        assert_eq!(s.of("21"), ["chr21", "NC_000021.9"]);
        assert_eq!(s.of("NC_000021.9"), ["21"]);
        assert_eq!(s.of("chrM"), ["MT"]);
        assert!(s.of("22").is_empty());
        let missing = Path::new("/nonexistent/chr_synonyms.txt");
        assert_eq!(Synonyms::read_if_present(missing), Ok(Synonyms::default()));
        assert!(
            Synonyms::read(missing)
                .unwrap_err()
                .contains("/nonexistent/chr_synonyms.txt")
        );
    }
}
