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
    let start = motif_start(mf, v);
    row.set("MOTIF_POS", start.map(|p| p.to_string()));
    if let Some(m) = matrix {
        let tfs = &m.transcription_factors;
        row.set(
            "TRANSCRIPTION_FACTORS",
            (!tfs.is_empty()).then(|| tfs.join(",")),
        );
        // in_informative_position: single-base alleles only ("true SNPs").
        let high = v.start == v.end
            && alt != "-"
            && start.is_some_and(|p| p >= 1 && p <= motif_len(mf) && informative(m, p));
        row.set("HIGH_INF_POS", Some(if high { "Y" } else { "N" }.into()));
        // OutputFactory scores only alleles of A, C, G and T.
        let acgt = !alt.is_empty() && alt.bytes().all(|b| b"ACGT".contains(&b));
        if acgt && let Some(delta) = score_delta(mf, m, v, alt) {
            row.set("MOTIF_SCORE_CHANGE", Some(format!("{delta:.3}")));
        }
    }
}

fn motif_len(mf: &MotifFeature) -> i64 {
    mf.end - mf.start + 1
}

/// BindingMatrix::length: its number of positions.
fn matrix_len(mf: &MotifFeature) -> i64 {
    match mf.binding_matrix.as_ref().map(|m| m.elements.len()) {
        Some(n) if n > 0 => n as i64,
        _ => motif_len(mf),
    }
}

/// A genomic position as a 1-based motif position on the motif's strand
/// (unbounded: VEP's motif_start and motif_end bound it each on one side).
fn on_motif(mf: &MotifFeature, pos: i64) -> i64 {
    let p = pos - mf.start + 1;
    if mf.strand < 0 {
        matrix_len(mf) - p + 1
    } else {
        p
    }
}

/// MotifFeatureVariationAllele::motif_start: the variant's start in the
/// motif; no lower bound (an indel reaching into the motif from before it
/// gets 0 or less), none past the motif.
fn motif_start(mf: &MotifFeature, v: &VepVariant) -> Option<i64> {
    Some(on_motif(mf, v.start)).filter(|&p| p <= motif_len(mf))
}

/// motif_end: the variant's end likewise; none before the motif.
fn motif_end(mf: &MotifFeature, v: &VepVariant) -> Option<i64> {
    Some(on_motif(mf, v.end)).filter(|&p| p >= 1)
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

/// The allele on the motif's strand (feature_seq).
fn on_motif_strand(mf: &MotifFeature, allele: &str) -> String {
    if mf.strand < 0 && allele != "-" {
        reverse_complement(allele)
    } else {
        allele.to_string()
    }
}

/// motif_score_delta: alt minus ref relative score of the cached motif
/// sequence, for alleles of equal length. As VEP does it: the allele is
/// trimmed to the motif and spliced in at `motif_start` on either strand
/// (on the minus strand that is the variant's last motif base, so a
/// multi-base allele lands one further along).
fn score_delta(mf: &MotifFeature, m: &BindingMatrix, v: &VepVariant, alt: &str) -> Option<f64> {
    if alt == "-" || v.ref_allele == "-" || alt.len() != v.ref_allele.len() {
        return None;
    }
    let mut allele = on_motif_strand(mf, alt);
    let (mut start, end) = (motif_start(mf, v)?, motif_end(mf, v)?);
    let seq = mf.seq.as_deref()?.to_ascii_uppercase();
    let n = seq.len() as i64;
    if start < 1 {
        allele = allele.get((1 - start) as usize..).unwrap_or("").to_string();
        start = 1;
    }
    if end > n {
        let keep = (n - start + 1).clamp(0, allele.len() as i64) as usize;
        allele.truncate(keep);
    }
    if allele.len() as i64 > motif_len(mf) {
        return None;
    }
    let reference_score = relative_score(m, &seq)?;
    let at = ((start - 1) as usize).min(seq.len());
    let upto = (at + allele.len()).min(seq.len());
    let varied = format!("{}{}{}", &seq[..at], allele, &seq[upto..]);
    if varied.len() != seq.len() {
        return None;
    }
    Some(relative_score(m, &varied)? - reference_score)
}
