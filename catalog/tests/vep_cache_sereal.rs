//! The Sereal decoder on VEP's shared Sereal cache: the object counts of the
//! data MANIFEST, and corrupted copies that must fail cleanly, never panic.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use genoflight_catalog::vep::perl::Document;
use genoflight_catalog::vep::sereal::decode;

fn sereal_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/vep/cache/sereal/homo_sapiens/84_GRCh38/21")
}

fn read(name: &str) -> Option<Vec<u8>> {
    let path = sereal_dir().join(name);
    if !path.exists() {
        eprintln!("skipped: {} not present", path.display());
        return None;
    }
    Some(std::fs::read(path).unwrap())
}

/// Objects of `class` in `doc.root->{chrom}{key}` (or `->{chrom}` when the
/// value is the array itself, as in transcript files).
fn count(doc: &Document, chrom: &str, key: Option<&str>, class: &str) -> usize {
    let mut v = doc.get(doc.root, chrom).expect("chromosome key");
    if let Some(key) = key {
        v = doc.get(v, key).expect("feature key");
    }
    let items = doc.array(v).expect("an array of features");
    items
        .iter()
        .filter(|&&i| doc.class(i) == Some(class))
        .count()
}

#[test]
fn transcript_file_matches_the_manifest() {
    let Some(bytes) = read("25000001-26000000.sereal") else {
        return;
    };
    let doc = decode(&bytes).unwrap();
    // MANIFEST: "21: 70 transcripts".
    assert_eq!(count(&doc, "21", None, "Bio::EnsEMBL::Transcript"), 70);
    let first = doc.array(doc.get(doc.root, "21").unwrap()).unwrap()[0];
    let id = doc.get_str(first, "stable_id").unwrap();
    assert!(id.starts_with("ENST"), "{id}");
    let start = doc.get_int(first, "start").unwrap();
    let end = doc.get_int(first, "end").unwrap();
    assert!((24_000_000..27_000_000).contains(&start) && start <= end);
    // Shared objects come back as one value: each exon of the translation's
    // start exon is among the transcript's exons.
    let exons = doc.get(first, "_trans_exon_array").unwrap();
    for &e in doc.array(exons).unwrap() {
        assert_eq!(doc.class(e), Some("Bio::EnsEMBL::Exon"));
    }
}

#[test]
fn regulatory_file_matches_the_manifest() {
    let Some(bytes) = read("25000001-26000000_reg.sereal") else {
        return;
    };
    let doc = decode(&bytes).unwrap();
    // MANIFEST: "21: 19 MotifFeature; 21: 200 RegulatoryFeature".
    let reg = count(
        &doc,
        "21",
        Some("RegulatoryFeature"),
        "Bio::EnsEMBL::Funcgen::RegulatoryFeature",
    );
    let motifs = count(
        &doc,
        "21",
        Some("MotifFeature"),
        "Bio::EnsEMBL::Funcgen::MotifFeature",
    );
    assert_eq!((reg, motifs), (200, 19));
}

/// A tiny deterministic generator: the same mutations on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn corrupted_documents_fail_cleanly() {
    let Some(bytes) = read("25000001-26000000_reg.sereal") else {
        return;
    };
    // Mutating the snappy stream mostly breaks the decompression; mutating
    // a raw copy of the body reaches the tag decoder too.
    let raw = {
        let mut p = 6;
        let mut len = 0u64;
        let mut shift = 0;
        loop {
            let b = bytes[p];
            p += 1;
            len |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        let body = snap::raw::Decoder::new()
            .decompress_vec(&bytes[p..p + len as usize])
            .unwrap();
        let mut doc = b"=\xF3rl\x03\x00".to_vec();
        doc.extend(body);
        doc
    };
    assert!(decode(&raw).is_ok(), "the raw re-encoding decodes");
    let mut rng = Lcg(0x5e7ea1);
    let deadline = Instant::now() + Duration::from_secs(8);
    let mut tries = 0;
    let mut failures = 0;
    while Instant::now() < deadline && tries < 3000 {
        tries += 1;
        let source = if tries % 4 == 0 { &bytes } else { &raw };
        let mut m = source.clone();
        match rng.below(3) {
            0 => m.truncate(rng.below(m.len())),
            1 => {
                for _ in 0..=rng.below(8) {
                    let i = rng.below(m.len());
                    m[i] ^= 1 << rng.below(8);
                }
            }
            _ => {
                let i = rng.below(m.len());
                m[i] = rng.next() as u8;
            }
        }
        if let Err(e) = decode(&m) {
            failures += 1;
            assert!(!e.message.is_empty());
            assert!(e.to_string().contains("Sereal"), "{e}");
        }
    }
    assert!(tries >= 100, "only {tries} mutations ran");
    assert!(failures > 0, "no mutation was detected in {tries} tries");
}

/// The transcripts both release-84 caches hold (the Sereal one was built
/// six weeks later) decode to the same model in every field that build does
/// not change: coordinates, exons, introns, translation, sequences. Gene
/// symbols, attributes, protein features, SIFT/PolyPhen matrices and the
/// 5' UTR (not cached by the later build) legitimately differ.
#[test]
fn sereal_and_storable_transcripts_agree() {
    use genoflight_catalog::vep::convert::decode_region_file;
    let storable = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/vep/cache/homo_sapiens/84_GRCh38/21/25000001-26000000.gz");
    let sereal = sereal_dir().join("25000001-26000000.sereal");
    if !storable.exists() || !sereal.exists() {
        eprintln!("skipped: shared VEP caches not present");
        return;
    }
    let a = decode_region_file(&storable).unwrap().transcripts;
    let b = decode_region_file(&sereal).unwrap().transcripts;
    assert_eq!((a.len(), b.len()), (68, 70));
    let mut common = 0;
    let mut differing = Vec::new();
    for t in &a {
        let Some(u) = b.iter().find(|u| u.stable_id == t.stable_id) else {
            continue;
        };
        common += 1;
        macro_rules! diff {
            ($($f:ident),*) => {{
                let mut fields = Vec::new();
                $(if t.$f != u.$f { fields.push(stringify!($f)); })*
                fields
            }};
        }
        let fields = diff!(
            chrom,
            start,
            end,
            strand,
            version,
            biotype,
            is_canonical,
            ccds,
            protein,
            swissprot,
            uniparc,
            cdna_coding_start,
            cdna_coding_end,
            coding_region_start,
            coding_region_end,
            exons,
            introns,
            translation,
            translateable_seq,
            peptide,
            three_prime_utr,
            codon_table,
            seq_edits
        );
        if !fields.is_empty() {
            differing.push(format!("{}: {fields:?}", t.stable_id));
        }
    }
    assert_eq!(
        common, 68,
        "every Storable transcript is in the Sereal file"
    );
    assert!(differing.is_empty(), "{differing:?}");
    // The comparison can fail: the sequences are really there.
    assert!(a.iter().filter(|t| t.translateable_seq.is_some()).count() > 20);
}
