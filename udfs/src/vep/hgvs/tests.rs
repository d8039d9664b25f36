//! HGVS on a synthetic two-exon transcript whose genome is known base by
//! base. Expected strings follow the HGVS rules (3' rule, dup, fs, ext),
//! worked out by hand from the sequences below.
//!
//! Forward genome 1..=400: 1-100 `GATC` repeats; exon 1 101-150 (5' UTR
//! 101-110, CDS 1-40 at 111-150); intron 151-200 `GTAAGT` + `TC` x 21 +
//! `AG`; exon 2 201-260 (CDS 41-90 at 201-250, 3' UTR 251-260); then
//! `GATC` repeats. The same transcript on the minus strand of the
//! reverse-complemented genome gives the same notations (transcript
//! orientation), with HGVS_OFFSET negated.

use std::sync::Arc;

use genoflight_catalog::vep::model::{Exon, Transcript, Translation};

use super::*;
use crate::vep::annotate::annotate;

/// Codons 1-30: M A R L K K D W P G S T V H E Q F I N D Y G R S L P A T V *.
const CDS: &str =
    "ATGGCTCGACTGAAGAAGGATTGGCCTGGATCTACTGTCCATGAGCAGTTCATCAACGACTACGGCCGCAGCCTCCCCGCCACCGTGTAA";
const UTR5: &str = "CTTCCGCGCC";
const UTR3: &str = "CAGTAGCCCC";
const PEPTIDE: &str = "MARLKKDWPGSTVHEQFINDYGRSLPATV";

fn intron() -> String {
    format!("GTAAGT{}AG", "TC".repeat(21))
}

fn forward_genome() -> String {
    let g = format!(
        "{}{UTR5}{}{}{}{UTR3}{}",
        "GATC".repeat(25),
        &CDS[..40],
        intron(),
        &CDS[40..],
        "GATC".repeat(35)
    );
    assert_eq!(g.len(), 400);
    g
}

fn transcript(strand: i8, coding: bool) -> TxView {
    // Minus strand: position p of the forward layout is 401 - p.
    let m = |p: i64| if strand > 0 { p } else { 401 - p };
    let span = |a: i64, b: i64| (m(a).min(m(b)), m(a).max(m(b)));
    let exon = |(s, e): (i64, i64)| Exon {
        start: s,
        end: e,
        strand,
        ..Default::default()
    };
    let (start, end) = span(101, 260);
    let (cs, ce) = span(111, 250);
    let t = Transcript {
        chrom: "1".into(),
        start,
        end,
        strand,
        stable_id: if coding { "ENST_P" } else { "ENST_N" }.into(),
        version: Some(1),
        biotype: if coding { "protein_coding" } else { "lncRNA" }.into(),
        exons: vec![exon(span(101, 150)), exon(span(201, 260))],
        translation: coding.then(|| Translation {
            stable_id: Some("ENSP_P".into()),
            version: Some(1),
            ..Default::default()
        }),
        cdna_coding_start: coding.then_some(11),
        cdna_coding_end: coding.then_some(100),
        coding_region_start: coding.then_some(cs),
        coding_region_end: coding.then_some(ce),
        translateable_seq: coding.then(|| CDS.to_string()),
        peptide: coding.then(|| PEPTIDE.to_string()),
        five_prime_utr: coding.then(|| UTR5.to_string()),
        three_prime_utr: coding.then(|| UTR3.to_string()),
        codon_table: 1,
        ..Default::default()
    };
    TxView::new(Arc::new(t))
}

fn window(strand: i8) -> Window {
    let g = forward_genome();
    let seq = if strand > 0 {
        g
    } else {
        reverse_complement(&g)
    };
    Window {
        start: 1,
        seq: seq.into_bytes(),
    }
}

/// A variant given in forward-layout coordinates and alleles, placed on the
/// strand's genome; `(HGVSc, HGVSp, HGVS_OFFSET)`.
fn run(strand: i8, coding: bool, start: i64, end: i64, r: &str, a: &str) -> TranscriptHgvs {
    let (s, e, r, a) = if strand > 0 {
        (start, end, r.to_string(), a.to_string())
    } else {
        (
            401 - end,
            401 - start,
            reverse_complement(r),
            reverse_complement(a),
        )
    };
    let tx = transcript(strand, coding);
    let vf = VfAllele {
        start: s,
        end: e,
        ref_allele: &r,
        alt: &a,
    };
    let tva = annotate(&tx, &vf, 5000).expect("a row");
    let class = super::super::alleles::so_variation_class(&format!("{r}/{a}"));
    let shiftable = matches!(class, "insertion" | "deletion");
    transcript_hgvs(&window(strand), &tx, &vf, &tva, shiftable)
}

fn check(start: i64, end: i64, r: &str, a: &str, c: &str, p: Option<&str>, offset: Option<i64>) {
    for strand in [1i8, -1] {
        let got = run(strand, true, start, end, r, a);
        let want = TranscriptHgvs {
            hgvsc: Some(format!("ENST_P.1:{c}")),
            hgvsp: p.map(|p| format!("ENSP_P.1:{p}")),
            offset: offset.map(|o| o * i64::from(strand)),
        };
        assert_eq!(got, want, "{r}>{a} at {start}-{end}, strand {strand}");
    }
}

#[test]
fn substitutions() {
    // CDS 7 (genomic 117) C: codon 3 CGA (Arg).
    check(117, 117, "C", "G", "c.7C>G", Some("p.Arg3Gly"), None);
    check(117, 117, "C", "T", "c.7C>T", Some("p.Arg3Ter"), None);
    // Codon 4 CTG -> CTA: synonymous, `=` escaped as VEP writes it.
    check(122, 122, "G", "A", "c.12G>A", Some("p.Leu4%3D"), None);
    // Start codon ATG -> ACG.
    check(112, 112, "T", "C", "c.2T>C", Some("p.Met1?"), None);
    // Stop TAA -> CAA reads on through the 3' UTR (CAG TAG): Gln, Gln, stop.
    check(
        248,
        248,
        "T",
        "C",
        "c.88T>C",
        Some("p.Ter30GlnextTer2"),
        None,
    );
    // Stop TAA -> TAG: retained.
    check(250, 250, "A", "G", "c.90A>G", Some("p.Ter30%3D"), None);
    // Two bases of codon 4 (CTG -> GAG).
    check(
        120,
        121,
        "CT",
        "GA",
        "c.10_11delinsGA",
        Some("p.Leu4Glu"),
        None,
    );
    // CDS 20-24 ATTGG -> AA: the shared A is clipped; Asp7 Trp8 -> Glu.
    check(
        130,
        134,
        "ATTGG",
        "AA",
        "c.21_24delinsA",
        Some("p.Asp7_Trp8delinsGlu"),
        None,
    );
}

#[test]
fn non_coding_positions() {
    // 5' UTR: cDNA 5 is 6 before the A of ATG (cDNA 11).
    check(105, 105, "C", "T", "c.-6C>T", None, None);
    // 3' UTR: cDNA 105 is the 5th base after the stop codon (cDNA 100).
    check(255, 255, "A", "G", "c.*5A>G", None, None);
    // Intron: 5 bases after exon 1's last base (CDS 40), 3 before exon 2's first (CDS 41).
    check(155, 155, "G", "A", "c.40+5G>A", None, None);
    check(198, 198, "C", "T", "c.41-3C>T", None, None);
    // 26 bases into the 50-base intron, 25 before exon 2: the nearer exon counts.
    check(176, 176, "C", "G", "c.41-25C>G", None, None);
    // A non-coding transcript numbers the cDNA (`n.`).
    for strand in [1i8, -1] {
        let got = run(strand, false, 117, 117, "C", "G");
        assert_eq!(got.hgvsc.as_deref(), Some("ENST_N.1:n.17C>G"));
        assert_eq!(got.hgvsp, None);
    }
}

#[test]
fn deletions_insertions_and_the_3prime_rule() {
    // One base of codon 3 deleted: CGA CTG AAG -> CAC TGA: His then stop.
    check(118, 118, "G", "-", "c.8del", Some("p.Arg3HisfsTer2"), None);
    // AAG deleted from AAGAAG (CDS 13-18): moved 3 bases 3', Lys6 removed.
    check(
        123,
        125,
        "AAG",
        "-",
        "c.16_18del",
        Some("p.Lys6del"),
        Some(3),
    );
    // AAG inserted after CDS 18: a duplication of CDS 16-18, Lys6.
    check(129, 128, "-", "AAG", "c.16_18dup", Some("p.Lys6dup"), None);
    // A inserted after CDS 13 moves to after CDS 14 (AA): c.14dup; the new
    // frame first differs at Lys6 (-> Glu) and stops 10 residues on.
    check(
        124,
        123,
        "-",
        "A",
        "c.14dup",
        Some("p.Lys6GlufsTer10"),
        Some(1),
    );
    // GGG (Gly) between CDS 21 and 22 (Asp7 and Trp8).
    check(
        132,
        131,
        "-",
        "GGG",
        "c.21_22insGGG",
        Some("p.Asp7_Trp8insGly"),
        None,
    );
}

#[test]
fn genomic_notation() {
    let w = window(1);
    let g = |s, e, r: &str, a: &str, shift| {
        genomic_hgvs(
            &w,
            "1",
            &VfAllele {
                start: s,
                end: e,
                ref_allele: r,
                alt: a,
            },
            shift,
        )
    };
    assert_eq!(g(117, 117, "C", "G", false).as_deref(), Some("1:g.117C>G"));
    assert_eq!(
        g(123, 125, "AAG", "-", true).as_deref(),
        Some("1:g.126_128del")
    );
    assert_eq!(
        g(123, 125, "AAG", "-", false).as_deref(),
        Some("1:g.123_125del")
    );
    assert_eq!(
        g(129, 128, "-", "AAG", true).as_deref(),
        Some("1:g.126_128dup")
    );
    assert_eq!(
        g(132, 131, "-", "GGG", true).as_deref(),
        Some("1:g.131_132insGGG")
    );
}

#[test]
fn positions_parse_as_vep_reads_them() {
    assert_eq!(parse_position("100+5"), (100, 5));
    assert_eq!(parse_position("-20-3"), (-20, -3));
    assert_eq!(parse_position("*30"), (30, 0));
    assert_eq!(parse_position("17"), (17, 0));
    assert_eq!(versioned("ENST1.3", Some(4)), "ENST1.3");
    assert_eq!(versioned("ENST1", Some(4)), "ENST1.4");
    assert_eq!(versioned("ENST1", None), "ENST1");
}
