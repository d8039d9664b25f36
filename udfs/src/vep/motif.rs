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

/// The cached matrix holds frequencies; funcgen's Converter turns them into
/// probabilities with a 0.1 pseudocount, then log2 weights against a 0.25
/// background.
fn probabilities(m: &BindingMatrix, pos: i64) -> Option<[f64; 4]> {
    let (_, w) = m.elements.iter().find(|(p, _)| *p == pos)?;
    let f = |b: char| {
        w.iter()
            .find(|(x, _)| x.eq_ignore_ascii_case(&b))
            .map_or(0.0, |(_, v)| *v)
    };
    let freqs = [f('A'), f('C'), f('G'), f('T')];
    let sum: f64 = freqs.iter().sum();
    Some(freqs.map(|x| (x + 0.1) / (sum + 0.4)))
}

fn weights(m: &BindingMatrix, pos: i64) -> Option<[f64; 4]> {
    Some(probabilities(m, pos)?.map(|p| (p / 0.25).log2()))
}

fn base_index(b: char) -> Option<usize> {
    "ACGT".find(b.to_ascii_uppercase())
}

/// BindingMatrix::is_position_informative: information content (2 - entropy
/// of the probabilities) above 1.5 bits.
fn informative(m: &BindingMatrix, pos: i64) -> bool {
    let Some(p) = probabilities(m, pos) else {
        return false;
    };
    let h: f64 = p.iter().map(|x| -x * x.log2()).sum();
    2.0 - h > 1.5
}

/// relative_sequence_similarity_score: the summed weights of a sequence
/// between the matrix's lowest and highest possible sums.
fn relative_score(m: &BindingMatrix, seq: &str) -> Option<f64> {
    let (mut sum, mut best, mut worst) = (0.0, 0.0, 0.0);
    for (i, b) in seq.chars().enumerate() {
        let w = weights(m, i as i64 + 1)?;
        sum += w[base_index(b)?];
        best += w.iter().copied().fold(f64::MIN, f64::max);
        worst += w.iter().copied().fold(f64::MAX, f64::min);
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
