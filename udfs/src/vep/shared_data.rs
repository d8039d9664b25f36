//! Agreement with Ensembl VEP's own output on the shared test data (when it
//! is present): every (variant, allele, feature) row and field of
//! `expected/<stem>.default.txt` / `.everything.txt` against our rows.
//! The end-to-end test (tests/test_vep_annotate.py) asserts through a
//! server; this one prints the per-field mismatches for development.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use genoflight_catalog::vep::table::VepCache;

use super::alleles::VepVariant;
use super::cache::CacheSource;
use super::existing::add_existing;
use super::rows::{FeatureSource, Settings, variant_rows};

fn shared() -> PathBuf {
    std::env::var("GENOFLIGHT_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("/work/shared/data"))
        .join("vep")
}

fn read_text(path: &Path) -> String {
    let file = std::fs::File::open(path).expect("open");
    let mut text = String::new();
    if path.extension().is_some_and(|e| e == "gz") {
        flate2_free_gunzip(path, &mut text);
    } else {
        BufReader::new(file)
            .read_to_string(&mut text)
            .expect("read");
    }
    text
}

/// gzip input through the system's gzip (test-only; keeps the crate's dependencies).
fn flate2_free_gunzip(path: &Path, out: &mut String) {
    let o = std::process::Command::new("gzip")
        .arg("-dc")
        .arg(path)
        .output()
        .expect("gzip");
    out.push_str(&String::from_utf8_lossy(&o.stdout));
}

type Rows = BTreeMap<(String, String, String), BTreeMap<String, String>>;

fn expected(path: &Path) -> Rows {
    let text = read_text(path);
    let mut header: Vec<String> = Vec::new();
    let mut rows = Rows::new();
    for line in BufReader::new(text.as_bytes()).lines() {
        let line = line.unwrap();
        if line.starts_with("##") {
            continue;
        }
        if let Some(h) = line.strip_prefix('#') {
            header = h.split('\t').map(str::to_string).collect();
            continue;
        }
        let values: BTreeMap<String, String> = header
            .iter()
            .cloned()
            .zip(line.split('\t').map(str::to_string))
            .collect();
        let key = (
            values["Uploaded_variation"].clone(),
            values["Allele"].clone(),
            values["Feature"].clone(),
        );
        rows.insert(key, values);
    }
    rows
}

fn ours(source: &dyn FeatureSource, input: &Path, settings: &Settings, existing: bool) -> Rows {
    let text = read_text(input);
    let mut rows = Rows::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        let (chrom, pos, id, r, a) = (f[0], f[1].parse::<i64>().unwrap(), f[2], f[3], f[4]);
        let Ok(v) = VepVariant::from_vcf(pos, r, Some(a)) else {
            continue;
        };
        let Some(named) = source.chromosome(chrom) else {
            continue;
        };
        let cc = named.cache;
        let mut out =
            variant_rows(source, &cc, &named.reported, Some(id), &v, settings, 0).unwrap();
        if existing {
            add_existing(source, &cc, &v, &mut out).unwrap();
        }
        for r in out {
            let values: BTreeMap<String, String> = super::output::FIELDS
                .iter()
                .map(|n| (n.to_string(), r.get(n).unwrap_or("-").to_string()))
                .collect();
            let key = (
                values["Uploaded_variation"].clone(),
                values["Allele"].clone(),
                values["Feature"].clone(),
            );
            rows.insert(key, values);
        }
    }
    rows
}

/// Prints the differences; returns how many rows or fields differ.
fn compare(stem: &str, kind: &str, settings: Settings, existing: bool) -> usize {
    let base = shared();
    let cache_dir = base.join("cache/homo_sapiens/84_GRCh38");
    let exp = base.join(format!("expected/{stem}.{kind}.txt"));
    let input = ["vcf", "vcf.gz"]
        .iter()
        .map(|e| base.join(format!("input/{stem}.{e}")))
        .find(|p| p.exists());
    let (Some(input), true, true) = (input, cache_dir.exists(), exp.exists()) else {
        eprintln!("shared VEP data not found; skipping");
        return 0;
    };
    let cache = VepCache::open(&cache_dir).expect("cache");
    let source = CacheSource::new(cache);
    let want = expected(&exp);
    let got = ours(&source, &input, &settings, existing);
    let fields: Vec<String> = want
        .values()
        .next()
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default();
    let missing: Vec<_> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    eprintln!(
        "{stem}.{kind}: expected {} rows, ours {}, missing {}, extra {}",
        want.len(),
        got.len(),
        missing.len(),
        extra.len()
    );
    for k in missing.iter().take(10) {
        eprintln!("  missing {k:?}: {:?}", want[*k].get("Consequence"));
    }
    for k in extra.iter().take(10) {
        eprintln!("  extra {k:?}: {:?}", got[*k].get("Consequence"));
    }
    let mut bad = missing.len() + extra.len();
    for f in &fields {
        let (mut same, mut total) = (0, 0);
        let mut shown = 0;
        for (k, w) in &want {
            let Some(g) = got.get(k) else { continue };
            total += 1;
            let (a, b) = (
                w.get(f).map(String::as_str).unwrap_or("-"),
                g.get(f).map(String::as_str).unwrap_or("-"),
            );
            if a == b {
                same += 1;
            } else if shown < 4 {
                shown += 1;
                eprintln!("  {f} {k:?}: VEP {a:?} ours {b:?}");
            }
        }
        if same != total {
            eprintln!("  {f}: {same}/{total}");
            bad += total - same;
        }
    }
    bad
}

#[test]
fn against_vep_default() {
    let s = Settings {
        distance: 5000,
        regulatory: false,
        canonical_only: false,
    };
    for stem in [
        "test",
        "test3",
        "test_not_ordered",
        "idt_test",
        "test_no_trans",
    ] {
        compare(stem, "default", s, false);
    }
}

#[test]
fn against_vep_everything() {
    let s = Settings {
        distance: 5000,
        regulatory: true,
        canonical_only: false,
    };
    let bad: usize = ["test", "test3", "test_not_ordered"]
        .iter()
        .map(|stem| compare(stem, "everything", s, true))
        .sum();
    assert_eq!(bad, 0, "rows or fields differ from VEP's");
}

/// Every kind of allele at and around every exon boundary and coding end of
/// the chr21 cache's transcripts: no panic, every row has a consequence and
/// an impact, and positions render. (VEP's own answers for these are not in
/// the shared data; the cases above check the values.)
#[test]
fn every_allele_shape_near_exon_edges() {
    let dir = shared().join("cache/homo_sapiens/84_GRCh38");
    if !dir.exists() {
        eprintln!("shared VEP data not found; skipping");
        return;
    }
    let source = CacheSource::new(VepCache::open(&dir).expect("cache"));
    let settings = Settings {
        distance: 5000,
        regulatory: true,
        canonical_only: false,
    };
    let mut positions: Vec<i64> = Vec::new();
    for tx in source.transcripts("21", 25_500_000, 25_700_000).unwrap() {
        for e in &tx.exons {
            for p in [e.start, e.end] {
                positions.extend(p - 18..=p + 18);
            }
        }
        if let Some(c) = tx.coding {
            for p in [c.genomic_start, c.genomic_end] {
                positions.extend(p - 6..=p + 6);
            }
        }
    }
    positions.sort();
    positions.dedup();
    let shapes: &[(&str, &str)] = &[
        ("A", "C"),
        ("A", "G,T"),
        ("AC", "A"),
        ("ACG", "A"),
        ("ACGT", "A"),
        ("ACGTA", "A"),
        ("A", "AT"),
        ("A", "ATTT"),
        ("A", "ATG"),
        ("AC", "GT"),
        ("ACG", "TTA,A,ACGACG"),
        ("A", "N"),
        ("A", "*,C"),
    ];
    let started = std::time::Instant::now();
    let mut rows = 0;
    for &p in &positions {
        for (r, a) in shapes {
            let v = VepVariant::from_vcf(p, r, Some(a)).unwrap();
            let mut out = variant_rows(&source, "21", "21", None, &v, &settings, 0).unwrap();
            add_existing(&source, "21", &v, &mut out).unwrap();
            for row in &out {
                assert!(row.get("Consequence").is_some(), "{p} {r}>{a}: {row:?}");
                assert!(row.get("IMPACT").is_some());
            }
            rows += out.len();
        }
    }
    eprintln!(
        "{} variants, {rows} rows in {:?}",
        positions.len() * shapes.len(),
        started.elapsed()
    );
}
