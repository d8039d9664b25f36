//! Data roots: clients can never reach a path outside them, whether through
//! `..`, symlinks, or a table-function argument.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct DataRoots {
    roots: Vec<PathBuf>,
}

impl DataRoots {
    /// Roots are canonicalised once; a root that does not exist is skipped.
    pub fn new(paths: impl IntoIterator<Item = PathBuf>) -> DataRoots {
        DataRoots {
            roots: paths
                .into_iter()
                .filter_map(|p| p.canonicalize().ok())
                .collect(),
        }
    }

    /// The canonical form of `path` if it lies inside a root, else an error
    /// that names the path but not the roots.
    pub fn resolve(&self, path: &Path) -> Result<PathBuf, String> {
        let canonical = path
            .canonicalize()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if self.roots.iter().any(|r| canonical.starts_with(r)) {
            Ok(canonical)
        } else {
            Err(format!(
                "{} is outside the served data directories",
                path.display()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotdot_and_symlinks_cannot_escape() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("a.vcf"), "x").unwrap();
        std::fs::write(dir.path().join("secret"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("link")).unwrap();
        let roots = DataRoots::new([root.clone()]);
        assert!(roots.resolve(&root.join("a.vcf")).is_ok());
        assert!(roots.resolve(&root.join("../secret")).is_err());
        assert!(roots.resolve(&root.join("link")).is_err());
    }
}
