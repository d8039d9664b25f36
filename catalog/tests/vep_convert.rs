//! Cache region files become the feature model exactly as Perl reads the
//! objects (tests/perl/storable_oracle.pl `model`), with the MANIFEST's
//! object counts, and bad files are refused naming the file.

#![recursion_limit = "512"]

use std::path::{Path, PathBuf};
use std::process::Command;

use genoflight_catalog::vep::convert::{RegionFeatures, decode_region_file};
use genoflight_catalog::vep::model::{MotifFeature, RegulatoryFeature, Transcript};
use md5::{Digest, Md5};
use serde_json::{Value, json};

fn shared_data() -> PathBuf {
    match std::env::var_os("GENOFLIGHT_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    }
}

fn vep_dir() -> Option<PathBuf> {
    let dir = shared_data().join("vep");
    if dir.join("MANIFEST.tsv").exists() {
        Some(dir)
    } else {
        eprintln!("skipped: {} not present", dir.display());
        None
    }
}

type Counts = Vec<(String, String, usize)>;

/// MANIFEST rows for Storable (or also Sereal) region files: (path, [(chrom, kind, count)]).
fn manifest(dir: &Path, sereal: bool) -> Vec<(PathBuf, Counts)> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let wanted = cols.len() >= 5
            && (cols[2].starts_with("VEP cache Storable")
                || (sereal && cols[2] == "VEP cache Sereal"));
        if !wanted {
            continue;
        }
        // "21: 68 transcripts" or "21: 1587 MotifFeature; 21: 184 RegulatoryFeature"
        let counts = cols[4]
            .split("; ")
            .map(|part| {
                let (chrom, rest) = part.split_once(": ").unwrap();
                let (n, kind) = rest.split_once(' ').unwrap();
                (chrom.to_string(), kind.to_string(), n.parse().unwrap())
            })
            .collect();
        out.push((dir.join(cols[0]), counts));
    }
    out
}

#[test]
fn counts_match_the_manifest_for_every_region_file() {
    let Some(dir) = vep_dir() else { return };
    let rows = manifest(&dir, true);
    assert!(rows.len() >= 10, "{rows:?}");
    for (path, counts) in rows {
        let f = decode_region_file(&path).unwrap();
        for (chrom, kind, n) in counts {
            let got = match kind.as_str() {
                "transcripts" => f.transcripts.iter().filter(|t| t.chrom == chrom).count(),
                "RegulatoryFeature" => f.regulatory.iter().filter(|r| r.chrom == chrom).count(),
                "MotifFeature" => f.motifs.iter().filter(|m| m.chrom == chrom).count(),
                other => panic!("unknown kind {other}"),
            };
            assert_eq!(got, n, "{} {chrom} {kind}", path.display());
        }
    }
}

fn transcript_json(t: &Transcript) -> Value {
    json!({
        "chrom": t.chrom, "start": t.start, "end": t.end, "strand": t.strand,
        "stable_id": t.stable_id, "version": t.version, "biotype": t.biotype,
        "source": t.source, "source_cache": t.source_cache, "is_canonical": t.is_canonical,
        "gene_stable_id": t.gene_stable_id, "gene_symbol": t.gene_symbol,
        "gene_symbol_source": t.gene_symbol_source, "gene_hgnc_id": t.gene_hgnc_id,
        "gene_phenotype": t.gene_phenotype,
        "ccds": t.ccds, "refseq": t.refseq, "protein": t.protein,
        "swissprot": t.swissprot, "trembl": t.trembl, "uniparc": t.uniparc,
        "cdna_coding_start": t.cdna_coding_start, "cdna_coding_end": t.cdna_coding_end,
        "coding_region_start": t.coding_region_start, "coding_region_end": t.coding_region_end,
        "attributes": t.attributes.iter().map(|(c, v)| json!([c, v])).collect::<Vec<_>>(),
        "exons": t.exons.iter().map(|e| json!({
            "stable_id": e.stable_id, "start": e.start, "end": e.end, "strand": e.strand,
            "phase": e.phase, "end_phase": e.end_phase,
        })).collect::<Vec<_>>(),
        "introns": t.introns.iter().map(|(s, e)| json!([s, e])).collect::<Vec<_>>(),
        "translation": t.translation.as_ref().map(|tl| json!({
            "stable_id": tl.stable_id, "version": tl.version, "start": tl.start, "end": tl.end,
            "start_exon": tl.start_exon, "end_exon": tl.end_exon,
        })),
        "translateable_seq": t.translateable_seq, "peptide": t.peptide,
        "five_prime_utr": t.five_prime_utr, "three_prime_utr": t.three_prime_utr,
        "codon_table": t.codon_table,
        "protein_features": t.protein_features.iter().map(|p| json!({
            "start": p.start, "end": p.end, "analysis": p.analysis, "hseqname": p.hseqname,
        })).collect::<Vec<_>>(),
        "seq_edits": t.seq_edits.iter().map(|s| json!({
            "code": s.code, "start": s.start, "end": s.end, "alt_seq": s.alt_seq,
        })).collect::<Vec<_>>(),
        "predictions": t.predictions.iter().map(|p| json!({
            "analysis": p.analysis, "sub_analysis": p.sub_analysis,
            "translation_md5": p.translation_md5,
            "matrix_md5": Md5::digest(&p.matrix).iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "compressed": p.compressed,
        })).collect::<Vec<_>>(),
    })
}

fn regulatory_json(r: &RegulatoryFeature) -> Value {
    json!({
        "chrom": r.chrom, "start": r.start, "end": r.end, "strand": r.strand,
        "stable_id": r.stable_id, "feature_type": r.feature_type,
        "epigenome_count": r.epigenome_count,
        "cell_types": r.cell_types.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
    })
}

fn motif_json(m: &MotifFeature) -> Value {
    json!({
        "chrom": m.chrom, "start": m.start, "end": m.end, "strand": m.strand,
        "stable_id": m.stable_id, "score": m.score,
        "binding_matrix": m.binding_matrix.as_ref().map(|b| json!({
            "stable_id": b.stable_id, "name": b.name, "threshold": b.threshold,
            "elements": b.elements.iter().map(|(p, w)| json!([
                p, w.iter().map(|(c, x)| json!([c.to_string(), x])).collect::<Vec<_>>()
            ])).collect::<Vec<_>>(),
            "transcription_factors": b.transcription_factors,
        })),
        "cell_types": m.cell_types,
        "overlapping_regulatory_feature": m.overlapping_regulatory_feature,
        "seq": m.seq,
        "display_label": m.display_label,
    })
}

fn ours(f: &RegionFeatures) -> Value {
    json!({
        "transcripts": f.transcripts.iter().map(transcript_json).collect::<Vec<_>>(),
        "regulatory": f.regulatory.iter().map(regulatory_json).collect::<Vec<_>>(),
        "motifs": f.motifs.iter().map(motif_json).collect::<Vec<_>>(),
    })
}

/// Numbers compare by value (Perl prints 5461 where we hold 5461.0).
fn same(a: &Value, b: &Value, path: &str) -> Result<(), String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.as_f64() == y.as_f64() => Ok(()),
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                same(v, y.get(k).unwrap_or(&Value::Null), &format!("{path}.{k}"))?;
            }
            match y.keys().find(|k| !x.contains_key(*k)) {
                Some(k) => Err(format!("{path}.{k}: only on our side")),
                None => Ok(()),
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .try_for_each(|(i, (v, w))| same(v, w, &format!("{path}[{i}]"))),
        _ if a == b => Ok(()),
        _ => Err(format!("{path}: Perl {a} vs ours {b}")),
    }
}

#[test]
fn every_feature_equals_perls_reading_field_by_field() {
    let Some(dir) = vep_dir() else { return };
    let oracle = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/perl/storable_oracle.pl");
    let mut transcripts = 0;
    for (path, _) in manifest(&dir, false) {
        let out = Command::new("perl")
            .arg(&oracle)
            .arg("model")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let perls: Value = serde_json::from_slice(&out.stdout).unwrap();
        // The oracle lists chromosomes sorted; region files hold one.
        let f = decode_region_file(&path).unwrap();
        transcripts += f.transcripts.len();
        if let Err(e) = same(&perls, &ours(&f), "") {
            panic!("{}: {e}", path.display());
        }
    }
    assert!(transcripts > 1500, "{transcripts}");
}

#[test]
fn model_details_the_engine_relies_on() {
    let Some(dir) = vep_dir() else { return };
    let f = decode_region_file(&dir.join("cache/homo_sapiens/84_GRCh38/21/25000001-26000000.gz"))
        .unwrap();
    let t = f
        .transcripts
        .iter()
        .find(|t| t.stable_id == "ENST00000352957")
        .unwrap();
    // Minus strand: exons in transcript order, first exon holds the start codon.
    assert_eq!(t.strand, -1);
    assert!(t.exons.windows(2).all(|w| w[0].start > w[1].end));
    let tl = t.translation.as_ref().unwrap();
    assert_eq!(tl.start_exon, t.exons[0].stable_id);
    assert_eq!(tl.end_exon, t.exons.last().unwrap().stable_id);
    assert_eq!(t.introns.len(), t.exons.len() - 1);
    let cds = t.translateable_seq.as_deref().unwrap();
    let pep = t.peptide.as_deref().unwrap();
    assert_eq!(
        cds.len() as i64,
        t.cdna_coding_end.unwrap() - t.cdna_coding_start.unwrap() + 1
    );
    assert!(cds.starts_with("ATG") && pep.starts_with('M'));
    assert_eq!(t.trembl, None, "'-' is no cross reference");
    assert_eq!(t.predictions.len(), 3);
}

#[test]
fn bad_files_are_refused_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 4] = [
        ("notgzip.gz", b"plain text", "not valid gzip"),
        ("x.txt", b"", "not a VEP cache region file"),
        ("empty.sereal", b"", "Sereal"),
        ("missing.gz", b"", "cannot read"),
    ];
    for (name, bytes, text) in cases {
        let path = tmp.path().join(name);
        if name != "missing.gz" {
            std::fs::write(&path, bytes).unwrap();
        }
        let err = decode_region_file(&path).unwrap_err().to_string();
        assert!(err.contains(name) && err.contains(text), "{name}: {err}");
    }
    // Storable, but not a cache: a list at the top.
    let path = tmp.path().join("list.gz");
    let st = tmp.path().join("list.storable");
    let ok = Command::new("perl")
        .args(["-MStorable=nstore", "-e", "nstore([1], $ARGV[0])"])
        .arg(&st)
        .status()
        .unwrap();
    assert!(ok.success());
    let gz = Command::new("gzip").arg("-c").arg(&st).output().unwrap();
    std::fs::write(&path, gz.stdout).unwrap();
    let err = decode_region_file(&path).unwrap_err().to_string();
    assert!(
        err.contains("list.gz") && err.contains("not a hash of chromosomes"),
        "{err}"
    );
}

/// The model keeps no `mapper`: VEP's cached TranscriptMapper pairs are
/// exactly the exons laid end to end in transcript order, which is what
/// the engine maps through. Checked on every transcript file.
#[test]
fn cached_mappers_equal_the_exon_layout() {
    use genoflight_catalog::vep::perl::Document;
    use std::io::Read;
    let Some(dir) = vep_dir() else { return };
    let mut checked = 0;
    for (path, counts) in manifest(&dir, false) {
        if counts.iter().all(|c| c.1 != "transcripts") {
            continue;
        }
        let mut bytes = Vec::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(&path).unwrap())
            .read_to_end(&mut bytes)
            .unwrap();
        let doc: Document = genoflight_catalog::vep::storable::decode(&bytes).unwrap();
        let f = decode_region_file(&path).unwrap();
        let (_, list) = &doc.hash(doc.root).unwrap()[0];
        for (&node, t) in doc.array(*list).unwrap().iter().zip(&f.transcripts) {
            let pairs_by_kind = doc
                .get(node, "_variation_effect_feature_cache")
                .and_then(|c| doc.get(c, "mapper"))
                .and_then(|m| doc.get(m, "exon_coord_mapper"))
                .and_then(|m| doc.get(m, "_pair_cdna"))
                .and_then(|p| doc.hash(p))
                .unwrap_or_else(|| panic!("{}: no mapper pairs", t.stable_id));
            let mut pairs: Vec<[i64; 4]> = doc
                .array(pairs_by_kind[0].1)
                .unwrap()
                .iter()
                .map(|&p| {
                    let (from, to) = (doc.get(p, "from").unwrap(), doc.get(p, "to").unwrap());
                    [
                        doc.get_int(from, "start").unwrap(),
                        doc.get_int(from, "end").unwrap(),
                        doc.get_int(to, "start").unwrap(),
                        doc.get_int(to, "end").unwrap(),
                    ]
                })
                .collect();
            pairs.sort();
            let mut cdna = 1;
            let laid: Vec<[i64; 4]> = t
                .exons
                .iter()
                .map(|e| {
                    let len = e.end - e.start + 1;
                    cdna += len;
                    [cdna - len, cdna - 1, e.start, e.end]
                })
                .collect();
            assert_eq!(pairs, laid, "{}: {}", path.display(), t.stable_id);
            checked += 1;
        }
    }
    assert!(checked > 1500, "{checked}");
}
