//! Motif feature fields (MotifFeatureVariationAllele): the matrix name, the
//! variant's position in the motif on the motif's strand, its transcription
//! factors, and the change of the matrix's relative binding score.

use genoflight_catalog::vep::model::{BindingMatrix, MotifFeature};

use super::alleles::VepVariant;
use super::codon::reverse_complement;
use super::output::OutRow;

pub fn motif_fields(row: &mut OutRow, mf: &MotifFeature, v: &VepVariant, alt: &str) {
    let matrix = mf.binding_matrix.as_ref();
    row.set("MOTIF_NAME", matrix.and_then(|m| m.stable_id.clone()));
    let pos = motif_pos(mf, v);
    row.set("MOTIF_POS", pos.map(|p| p.to_string()));
    if let Some(m) = matrix {
        let tfs = &m.transcription_factors;
        row.set(
            "TRANSCRIPTION_FACTORS",
            (!tfs.is_empty()).then(|| tfs.join(",")),
        );
        if let Some(p) = pos {
            row.set(
                "HIGH_INF_POS",
                Some(if informative(m, p) { "Y" } else { "N" }.to_string()),
            );
        }
        if let Some(delta) = score_delta(mf, m, v, alt) {
            row.set("MOTIF_SCORE_CHANGE", Some(format!("{delta:.3}")));
        }
    }
}

/// 1-based position of the variant's first base in the motif, read on the motif's strand.
fn motif_pos(mf: &MotifFeature, v: &VepVariant) -> Option<i64> {
    let p = if mf.strand >= 0 {
        v.start - mf.start + 1
    } else {
        mf.end - v.end + 1
    };
    (p >= 1 && p <= mf.end - mf.start + 1).then_some(p)
}

/// Per-position weights of a base (A, C, G, T).
fn weight(m: &BindingMatrix, pos: i64, base: char) -> Option<f64> {
    m.elements
        .iter()
        .find(|(p, _)| *p == pos)
        .and_then(|(_, w)| w.iter().find(|(b, _)| b.eq_ignore_ascii_case(&base)))
        .map(|(_, x)| *x)
}

/// A position is informative when one base dominates it: information
/// content of at least 1 bit over the normalised frequencies.
fn informative(m: &BindingMatrix, pos: i64) -> bool {
    let Some((_, w)) = m.elements.iter().find(|(p, _)| *p == pos) else {
        return false;
    };
    let total: f64 = w.iter().map(|(_, x)| x.max(0.0)).sum();
    if total <= 0.0 {
        return false;
    }
    let entropy: f64 = w
        .iter()
        .map(|(_, x)| x.max(0.0) / total)
        .filter(|p| *p > 0.0)
        .map(|p| -p * p.log2())
        .sum();
    2.0 - entropy >= 1.0
}

/// Relative score of a motif-length sequence: where its summed weight falls
/// between the matrix's worst and best sequences.
fn relative_score(m: &BindingMatrix, seq: &str) -> Option<f64> {
    let mut sum = 0.0;
    let (mut best, mut worst) = (0.0, 0.0);
    for (i, b) in seq.chars().enumerate() {
        let pos = i as i64 + 1;
        let (_, w) = m.elements.iter().find(|(p, _)| *p == pos)?;
        sum += weight(m, pos, b)?;
        best += w.iter().map(|(_, x)| *x).fold(f64::MIN, f64::max);
        worst += w.iter().map(|(_, x)| *x).fold(f64::MAX, f64::min);
    }
    (best > worst).then(|| (sum - worst) / (best - worst))
}

/// Alt minus ref relative score, for a substitution inside the motif.
fn score_delta(mf: &MotifFeature, m: &BindingMatrix, v: &VepVariant, alt: &str) -> Option<f64> {
    let seq = mf.seq.as_deref()?.to_ascii_uppercase();
    if alt.len() != v.ref_allele.len() || !alt.bytes().all(|b| b"ACGT".contains(&b)) {
        return None;
    }
    if v.start < mf.start || v.end > mf.end {
        return None;
    }
    // The cached sequence is on the motif's strand.
    let (at, allele) = if mf.strand >= 0 {
        ((v.start - mf.start) as usize, alt.to_string())
    } else {
        ((mf.end - v.end) as usize, reverse_complement(alt))
    };
    if at + allele.len() > seq.len() {
        return None;
    }
    let mut alt_seq = seq.clone();
    alt_seq.replace_range(at..at + allele.len(), &allele);
    Some(relative_score(m, &alt_seq)? - relative_score(m, &seq)?)
}
