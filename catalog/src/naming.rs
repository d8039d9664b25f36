//! Which files are tables, and what they are called (a user-facing contract).

use std::path::Path;

/// A file format genoflight serves as a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Vcf,
    Bed,
    Gff3,
    Gtf,
    Fasta,
    Fastq,
    Bam,
    Cram,
    Sam,
    Parquet,
    Csv,
    Tsv,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Vcf => "vcf",
            Format::Bed => "bed",
            Format::Gff3 => "gff3",
            Format::Gtf => "gtf",
            Format::Fasta => "fasta",
            Format::Fastq => "fastq",
            Format::Bam => "bam",
            Format::Cram => "cram",
            Format::Sam => "sam",
            Format::Parquet => "parquet",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
        }
    }
}

/// Suffixes, longest first, so `.vcf.gz` wins over `.gz`.
const SUFFIXES: &[(&str, Format)] = &[
    (".vcf.gz", Format::Vcf),
    (".vcf.bgz", Format::Vcf),
    (".vcf", Format::Vcf),
    (".bed.gz", Format::Bed),
    (".bed.bgz", Format::Bed),
    (".bed", Format::Bed),
    (".gff3.gz", Format::Gff3),
    (".gff.gz", Format::Gff3),
    (".gff3", Format::Gff3),
    (".gff", Format::Gff3),
    (".gtf.gz", Format::Gtf),
    (".gtf", Format::Gtf),
    (".fasta.gz", Format::Fasta),
    (".fa.gz", Format::Fasta),
    (".fna.gz", Format::Fasta),
    (".fa.bgz", Format::Fasta),
    (".fasta.bgz", Format::Fasta),
    (".fna.bgz", Format::Fasta),
    (".fasta", Format::Fasta),
    (".fa", Format::Fasta),
    (".fna", Format::Fasta),
    (".fastq.gz", Format::Fastq),
    (".fq.gz", Format::Fastq),
    (".fq.bgz", Format::Fastq),
    (".fastq.bgz", Format::Fastq),
    (".fastq", Format::Fastq),
    (".fq", Format::Fastq),
    (".bam", Format::Bam),
    (".cram", Format::Cram),
    (".sam", Format::Sam),
    (".parquet", Format::Parquet),
    (".csv", Format::Csv),
    (".tsv", Format::Tsv),
];

/// Index and companion files: used by their data file, never tables.
const COMPANIONS: &[&str] = &[".tbi", ".csi", ".bai", ".crai", ".fai", ".gzi"];

/// The format of `path` and the file name with that format's suffix removed.
pub fn classify(path: &Path) -> Option<(Format, String)> {
    let name = path.file_name()?.to_str()?;
    let lower = name.to_ascii_lowercase();
    if COMPANIONS.iter().any(|c| lower.ends_with(c)) {
        return None;
    }
    SUFFIXES.iter().find_map(|(suffix, format)| {
        let stem = &name[..name.len().checked_sub(suffix.len())?];
        (lower.ends_with(suffix) && !stem.is_empty()).then(|| (*format, stem.to_string()))
    })
}

/// `[A-Za-z0-9_]` only; anything else becomes `_` (`ce#5` -> `ce_5`).
pub fn sanitize(stem: &str) -> String {
    stem.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The suffix `classify` stripped, as a name part: `x.vcf.gz` -> `vcf_gz`.
pub fn suffix_tag(path: &Path, stem: &str) -> String {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    sanitize(name[stem.len()..].trim_start_matches('.'))
}

/// The schema of a VEP cache found in a served directory:
/// `<species>_<version>_<assembly>` lowercased (`homo_sapiens_refseq/84_GRCh38`
/// -> `homo_sapiens_refseq_84_grch38`). `qualified` puts the species
/// directory's parent first, for two caches that would share a name
/// (`sereal/homo_sapiens/84_GRCh38` -> `sereal_homo_sapiens_84_grch38`).
pub fn vep_schema_name(cache_dir: &Path, qualified: bool) -> String {
    let part = |p: Option<&Path>| {
        p.and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string()
    };
    let species_dir = cache_dir.parent();
    let mut parts = vec![part(species_dir), part(Some(cache_dir))];
    if qualified {
        parts.insert(0, part(species_dir.and_then(|s| s.parent())));
    }
    let joined: Vec<String> = parts.into_iter().filter(|p| !p.is_empty()).collect();
    sanitize(&joined.join("_")).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_contract() {
        let c = |p: &str| classify(Path::new(p)).map(|(f, s)| (f, sanitize(&s)));
        assert_eq!(c("/d/22.vcf.gz"), Some((Format::Vcf, "22".into())));
        assert_eq!(c("/d/x.VCF"), Some((Format::Vcf, "x".into())));
        assert_eq!(c("/d/ce#5.vcf"), Some((Format::Vcf, "ce_5".into())));
        assert_eq!(c("/d/22.vcf.gz.tbi"), None);
        assert_eq!(c("/d/notes.txt"), None);
        assert_eq!(c("/d/.vcf"), None);
        assert_eq!(suffix_tag(Path::new("/d/x.vcf.gz"), "x"), "vcf_gz");
        let cache = Path::new("/d/sereal/homo_sapiens_refseq/84_GRCh38");
        assert_eq!(
            vep_schema_name(cache, false),
            "homo_sapiens_refseq_84_grch38"
        );
        assert_eq!(
            vep_schema_name(cache, true),
            "sereal_homo_sapiens_refseq_84_grch38"
        );
    }
}
