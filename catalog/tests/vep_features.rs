//! The feature tables' Arrow batches carry the decoded model's values, build
//! only the projected columns, and the computed coding span agrees with the
//! cached coding sequence.

use std::path::{Path, PathBuf};

use arrow::array::{
    Array, AsArray, BooleanArray, Float64Array, Int8Array, Int32Array, Int64Array, StringArray,
};
use arrow::datatypes::SchemaRef;
use genoflight_catalog::coords;
use genoflight_catalog::vep::convert::{RegionFeatures, decode_region_file};
use genoflight_catalog::vep::features::*;
use genoflight_catalog::vep::model::Transcript;

fn cache(rel: &str) -> Option<PathBuf> {
    let base = match std::env::var_os("GENOFLIGHT_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    };
    let p = base.join("vep/cache").join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipped: {} not present", p.display());
        None
    }
}

const TRANSCRIPT_FILES: [&str; 5] = [
    "homo_sapiens/84_GRCh38/21/25000001-26000000.gz",
    "homo_sapiens/84_GRCh38/22/25000001-26000000.gz",
    "homo_sapiens_refseq/84_GRCh38/21/25000001-26000000.gz",
    "homo_sapiens_merged/84_GRCh38/21/25000001-26000000.gz",
    "homo_sapiens/84_GRCh38/LRG_485/1-1000000.gz",
];

fn load(rel: &str) -> Option<RegionFeatures> {
    Some(decode_region_file(&cache(rel)?).unwrap())
}

fn strings(b: &arrow::array::RecordBatch, name: &str) -> Vec<Option<String>> {
    let a = b.column_by_name(name).unwrap();
    let a = a.as_any().downcast_ref::<StringArray>().unwrap();
    a.iter().map(|v| v.map(str::to_string)).collect()
}

fn i64s(b: &arrow::array::RecordBatch, name: &str) -> Vec<Option<i64>> {
    let a = b.column_by_name(name).unwrap();
    a.as_any()
        .downcast_ref::<Int64Array>()
        .unwrap()
        .iter()
        .collect()
}

#[test]
fn schemas_are_positional_and_one_based() {
    for s in [
        transcripts_schema(),
        exons_schema(),
        translations_schema(),
        regulatory_schema(),
        motifs_schema(),
    ] {
        let names: Vec<&str> = s
            .fields()
            .iter()
            .take(4)
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names, ["chrom", "start", "end", "strand"]);
        assert_eq!(coords::declared_zero_based(s.metadata()), Some(false));
    }
}

#[test]
fn transcript_rows_carry_the_model() {
    let Some(f) = load(TRANSCRIPT_FILES[0]) else {
        return;
    };
    let rows: Vec<&Transcript> = f.transcripts.iter().collect();
    let schema = transcripts_schema();
    let b = transcripts_batch(&rows, &schema).unwrap();
    assert_eq!(b.num_rows(), 68);
    assert_eq!(b.schema(), schema);
    let ids = strings(&b, "stable_id");
    let starts = i64s(&b, "start");
    let symbols = strings(&b, "gene_symbol");
    let proteins = strings(&b, "protein_id");
    let peptides = strings(&b, "peptide");
    let strands = b.column_by_name("strand").unwrap();
    let strands = strands.as_any().downcast_ref::<Int8Array>().unwrap();
    let canonical = b.column_by_name("is_canonical").unwrap();
    let canonical = canonical.as_any().downcast_ref::<BooleanArray>().unwrap();
    let exon_count = b.column_by_name("exon_count").unwrap();
    let exon_count = exon_count.as_any().downcast_ref::<Int32Array>().unwrap();
    let attributes = b.column_by_name("attributes").unwrap().as_map();
    for (i, t) in rows.iter().enumerate() {
        assert_eq!(ids[i].as_deref(), Some(t.stable_id.as_str()));
        assert_eq!(starts[i], Some(t.start));
        assert_eq!(strands.value(i), t.strand);
        assert_eq!(symbols[i], t.gene_symbol);
        assert_eq!(proteins[i], t.protein);
        assert_eq!(peptides[i], t.peptide);
        assert_eq!(canonical.value(i), t.is_canonical);
        assert_eq!(exon_count.value(i) as usize, t.exons.len());
        let entry = attributes.value(i);
        let keys = entry.column(0).as_string::<i32>();
        let values = entry.column(1).as_string::<i32>();
        let got: Vec<(String, String)> = (0..entry.len())
            .map(|j| (keys.value(j).to_string(), values.value(j).to_string()))
            .collect();
        assert_eq!(got, t.attributes);
    }
    // A projection builds just its columns, in its order; none at all keeps the count.
    let projected: SchemaRef = std::sync::Arc::new(schema.project(&[30, 4]).unwrap());
    let b = transcripts_batch(&rows, &projected).unwrap();
    assert_eq!(b.num_columns(), 2);
    assert_eq!(strings(&b, "stable_id"), ids);
    let empty = std::sync::Arc::new(schema.project(&[]).unwrap());
    assert_eq!(transcripts_batch(&rows, &empty).unwrap().num_rows(), 68);
    assert_eq!(transcripts_batch(&[], &schema).unwrap().num_rows(), 0);
    let bogus = std::sync::Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("nope", arrow::datatypes::DataType::Utf8, true),
    ]));
    assert!(
        transcripts_batch(&rows, &bogus)
            .unwrap_err()
            .to_string()
            .contains("nope")
    );
}

/// The coding span, computed from the translation's exons and offsets,
/// covers exactly as many exonic bases as the cached coding sequence has
/// (less the Ns Ensembl pads an incomplete first codon with).
#[test]
fn coding_span_matches_the_coding_sequence() {
    let mut checked = 0;
    for rel in TRANSCRIPT_FILES {
        let Some(f) = load(rel) else { return };
        for t in f.transcripts.iter().filter(|t| t.translation.is_some()) {
            let Some(cds) = &t.translateable_seq else {
                continue;
            };
            if !t.seq_edits.is_empty() {
                continue;
            }
            let (cs, ce) = coding_span(t).unwrap();
            assert!(cs <= ce && cs >= t.start && ce <= t.end, "{}", t.stable_id);
            let exonic: i64 = t
                .exons
                .iter()
                .map(|e| (e.end.min(ce) - e.start.max(cs) + 1).max(0))
                .sum();
            let padding = cds.bytes().take_while(|&b| b == b'N').count() as i64;
            assert!(
                exonic == cds.len() as i64 || exonic == cds.len() as i64 - padding,
                "{}: span {cs}-{ce} covers {exonic} exonic bases, CDS has {}",
                t.stable_id,
                cds.len()
            );
            // Independently, the cDNA coding positions land on the span's ends.
            if let (Some(a), Some(b)) = (t.cdna_coding_start, t.cdna_coding_end) {
                let mut on_genome = Vec::new();
                for e in &t.exons {
                    let len = e.end - e.start + 1;
                    for k in 0..len {
                        on_genome.push(if t.strand > 0 { e.start + k } else { e.end - k });
                    }
                }
                let (x, y) = (on_genome[a as usize - 1], on_genome[b as usize - 1]);
                assert_eq!((x.min(y), x.max(y)), (cs, ce), "{}", t.stable_id);
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked}");
}

#[test]
fn exon_and_translation_rows() {
    let Some(f) = load(TRANSCRIPT_FILES[0]) else {
        return;
    };
    let rows: Vec<&Transcript> = f.transcripts.iter().collect();
    let b = exons_batch(&rows, &exons_schema()).unwrap();
    let total: usize = rows.iter().map(|t| t.exons.len()).sum();
    assert_eq!(b.num_rows(), total);
    let tx = strings(&b, "transcript_id");
    let numbers = b.column_by_name("exon_number").unwrap();
    let numbers = numbers.as_any().downcast_ref::<Int32Array>().unwrap();
    let starts = i64s(&b, "start");
    let mut row = 0;
    for t in &rows {
        for (i, e) in t.exons.iter().enumerate() {
            assert_eq!(tx[row].as_deref(), Some(t.stable_id.as_str()));
            assert_eq!(numbers.value(row), i as i32 + 1);
            assert_eq!(starts[row], Some(e.start));
            row += 1;
        }
    }

    let b = translations_batch(&rows, &translations_schema()).unwrap();
    let coding: Vec<&&Transcript> = rows.iter().filter(|t| t.translation.is_some()).collect();
    assert_eq!(b.num_rows(), coding.len());
    assert!(coding.len() > 10 && coding.len() < rows.len());
    let lengths = i64s(&b, "protein_length");
    let ids = strings(&b, "stable_id");
    let features = b
        .column_by_name("protein_features")
        .unwrap()
        .as_list::<i32>();
    let sift = b.column_by_name("has_sift").unwrap();
    let sift = sift.as_any().downcast_ref::<BooleanArray>().unwrap();
    for (i, t) in coding.iter().enumerate() {
        let pep = t.peptide.as_deref().unwrap();
        assert_eq!(lengths[i], Some(pep.trim_end_matches('*').len() as i64));
        assert_eq!(ids[i], t.translation.as_ref().unwrap().stable_id);
        let pf = features.value(i);
        let pf = pf.as_struct();
        assert_eq!(pf.len(), t.protein_features.len());
        let names = pf.column_by_name("hseqname").unwrap().as_string::<i32>();
        for (j, p) in t.protein_features.iter().enumerate() {
            assert_eq!(Some(names.value(j)), p.hseqname.as_deref());
        }
        assert_eq!(
            sift.value(i),
            t.predictions.iter().any(|p| p.analysis == "sift")
        );
    }
}

#[test]
fn regulatory_and_motif_rows() {
    let Some(f) = load("homo_sapiens/84_GRCh38/21/25000001-26000000_reg.gz") else {
        return;
    };
    let reg: Vec<_> = f.regulatory.iter().collect();
    let b = regulatory_batch(&reg, &regulatory_schema()).unwrap();
    assert_eq!(b.num_rows(), 184);
    let types = strings(&b, "feature_type");
    let cells = b.column_by_name("cell_types").unwrap().as_map();
    for (i, r) in reg.iter().enumerate() {
        assert_eq!(types[i].as_deref(), Some(r.feature_type.as_str()));
        assert_eq!(cells.value(i).len(), r.cell_types.len());
    }

    let motifs: Vec<_> = f.motifs.iter().collect();
    let b = motifs_batch(&motifs, &motifs_schema()).unwrap();
    assert_eq!(b.num_rows(), 1587);
    let matrix = strings(&b, "binding_matrix_id");
    let scores = b.column_by_name("score").unwrap();
    let scores = scores.as_any().downcast_ref::<Float64Array>().unwrap();
    let tfs = b
        .column_by_name("transcription_factors")
        .unwrap()
        .as_list::<i32>();
    let seqs = strings(&b, "seq");
    for (i, m) in motifs.iter().enumerate() {
        let bm = m.binding_matrix.as_ref().unwrap();
        assert_eq!(matrix[i], bm.stable_id);
        assert_eq!(Some(scores.value(i)), m.score);
        let list = tfs.value(i);
        let list = list.as_string::<i32>();
        let got: Vec<&str> = list.iter().map(|s| s.unwrap()).collect();
        assert_eq!(got, bm.transcription_factors);
        assert_eq!(seqs[i], m.seq);
    }
    assert!(
        matrix
            .iter()
            .all(|m| m.as_deref().is_some_and(|m| m.starts_with("ENSPFM")))
    );

    // An older funcgen cache (the Sereal one): no motif ids, a factor:matrix label.
    let Some(f) = load("sereal/homo_sapiens/84_GRCh38/21/25000001-26000000_reg.sereal") else {
        return;
    };
    let motifs: Vec<_> = f.motifs.iter().collect();
    let b = motifs_batch(&motifs, &motifs_schema()).unwrap();
    assert_eq!(b.num_rows(), 19);
    let labels = strings(&b, "display_label");
    let names = strings(&b, "motif_name");
    for (label, name) in labels.iter().zip(&names) {
        let (label, name) = (label.as_deref().unwrap(), name.as_deref().unwrap());
        assert!(label.ends_with(&format!(":{name}")), "{label} {name}");
    }
    let reg: Vec<_> = f.regulatory.iter().collect();
    let b = regulatory_batch(&reg, &regulatory_schema()).unwrap();
    assert!(i64s(&b, "epigenome_count").iter().all(|c| c.is_some()));
}
