//! VEP's consequence predicates for structural variants
//! (Utils::VariationEffect, the StructuralVariationFeature branches, and the
//! OverlapConsequences whose variant_feature_class admits SVs): splice,
//! synonymous/missense/stop_gained and other sequence-only terms never apply.

use super::super::consequence::Term;
use super::super::transcript::{Piece, TxView, ends, overlap, peptide_pieces};
use super::parse::SvVariant;

/// deletion(): the class says deletion or loss.
pub fn deletion(class: &str) -> bool {
    let c = class.to_ascii_lowercase();
    c.contains("deletion") || c.contains("loss")
}

/// duplication() or tandem_duplication().
fn duplication(class: &str) -> bool {
    class.to_ascii_lowercase().contains("duplication")
}

/// copy_number_gain(): duplications or a class saying gain.
pub fn copy_number_gain(class: &str) -> bool {
    duplication(class) || class.to_ascii_lowercase().contains("gain")
}

fn copy_number_loss(class: &str) -> bool {
    class.to_ascii_lowercase().contains("loss")
}

/// insertion(): duplications, insertions and gains.
fn insertion(class: &str) -> bool {
    let c = class.to_ascii_lowercase();
    duplication(class) || c.contains("insertion") || c.contains("gain")
}

fn complete_overlap(v: &SvVariant, start: i64, end: i64) -> bool {
    v.start <= start && v.end >= end
}

fn complete_within(v: &SvVariant, start: i64, end: i64) -> bool {
    v.start >= start && v.end <= end
}

fn partial_overlap(v: &SvVariant, start: i64, end: i64) -> bool {
    overlap(v.start, v.end, start, end)
        && !complete_overlap(v, start, end)
        && (v.end > end || v.start < start)
}

/// The terms every feature type shares: ablation/amplification (with the
/// feature's own term), feature_elongation and feature_truncation.
fn feature_terms(
    v: &SvVariant,
    start: i64,
    end: i64,
    ablation: Term,
    amplification: Term,
) -> Vec<Term> {
    let mut terms = Vec::new();
    if complete_overlap(v, start, end) && deletion(v.class) {
        terms.push(ablation);
    }
    if complete_overlap(v, start, end) && copy_number_gain(v.class) {
        terms.push(amplification);
    }
    if complete_within(v, start, end) && (copy_number_gain(v.class) || insertion(v.class)) {
        terms.push(Term::FeatureElongation);
    }
    if (partial_overlap(v, start, end) || complete_within(v, start, end))
        && (copy_number_loss(v.class) || deletion(v.class))
    {
        terms.push(Term::FeatureTruncation);
    }
    terms
}

/// A regulatory feature's terms for an SV overlapping it.
pub fn regulatory_terms(v: &SvVariant, start: i64, end: i64) -> Vec<Term> {
    let mut terms = feature_terms(
        v,
        start,
        end,
        Term::RegulatoryRegionAblation,
        Term::RegulatoryRegionAmplification,
    );
    terms.push(Term::RegulatoryRegion);
    within_feature_tier(terms)
}

/// VEP tests consequences tier by tier and stops after the first tier (1 or
/// 2) that holds (get_all_OverlapConsequences). Within a regulatory or motif
/// feature its tier-2 term (regulatory_region_variant,
/// TF_binding_site_variant) always holds, so feature_elongation and
/// feature_truncation (tier 3) are never asked there.
fn within_feature_tier(mut terms: Vec<Term>) -> Vec<Term> {
    terms.retain(|t| !matches!(t, Term::FeatureElongation | Term::FeatureTruncation));
    terms.sort();
    terms
}

/// A motif feature's terms for an SV overlapping it.
pub fn motif_terms(v: &SvVariant, start: i64, end: i64) -> Vec<Term> {
    let mut terms = feature_terms(v, start, end, Term::TfbsAblation, Term::TfbsAmplification);
    terms.push(Term::TfBindingSite);
    within_feature_tier(terms)
}

/// Up/downstream of a transcript within `distance` (VEP's _upstream/_downstream).
pub fn flank_term(v: &SvVariant, tx: &TxView, distance: i64) -> Option<Term> {
    let tr = &tx.tr;
    let before = v.end >= tr.start - distance && v.end < tr.start;
    let after = v.start <= tr.end + distance && v.start > tr.end;
    let (up, down) = if tr.strand >= 0 {
        (before, after)
    } else {
        (after, before)
    };
    if up {
        Some(Term::Upstream)
    } else if down {
        Some(Term::Downstream)
    } else {
        None
    }
}

/// The terms of an SV overlapping transcript `tx`, by rank.
pub fn transcript_terms(v: &SvVariant, tx: &TxView) -> Vec<Term> {
    let tr = &tx.tr;
    let (s, e) = (v.start, v.end);
    let mut terms = feature_terms(
        v,
        tr.start,
        tr.end,
        Term::TranscriptAblation,
        Term::TranscriptAmplification,
    );
    // Tier 1: a transcript ablated or amplified as a whole gets nothing else.
    if terms
        .iter()
        .any(|t| matches!(t, Term::TranscriptAblation | Term::TranscriptAmplification))
    {
        terms.retain(|t| matches!(t, Term::TranscriptAblation | Term::TranscriptAmplification));
        return terms;
    }
    let in_exon = tx.exons.iter().any(|x| overlap(s, e, x.start, x.end));
    let mut frameshift_intron = false;
    let mut intronic = false;
    for i in tx.introns.iter().filter(|i| overlap(s, e, i.start, i.end)) {
        if i.frameshift {
            frameshift_intron = true;
        } else if overlap(s, e, i.start + 2, i.end - 2) {
            intronic = true;
        }
    }
    if intronic {
        terms.push(Term::Intron);
    }
    let within_cdna = in_exon || frameshift_intron;
    match &tx.coding {
        Some(c) => {
            let (cs, ce) = (c.genomic_start, c.genomic_end);
            let before = overlap(s, e, tr.start, cs - 1);
            let after = overlap(s, e, ce + 1, tr.end);
            let (five, three) = if tr.strand >= 0 {
                (before, after)
            } else {
                (after, before)
            };
            if five && within_cdna {
                terms.push(Term::FivePrimeUtr);
            }
            if three && within_cdna {
                terms.push(Term::ThreePrimeUtr);
            }
            let within_cds = tx
                .exons
                .iter()
                .any(|x| overlap(s, e, x.start.max(cs), x.end.min(ce)))
                || (frameshift_intron && overlap(s, e, cs, ce));
            if within_cds {
                let (start_codon, stop_codon) = if tr.strand >= 0 {
                    ((cs, cs + 2), (ce - 2, ce))
                } else {
                    ((ce - 2, ce), (cs, cs + 2))
                };
                if overlap(start_codon.0, start_codon.1, s, e) {
                    terms.push(Term::StartLost);
                }
                if deletion(v.class) && overlap(stop_codon.0, stop_codon.1, s, e) {
                    terms.push(Term::StopLost);
                }
                // frameshift(): a deletion inside one exon whose length is
                // not a multiple of three.
                let frameshift = (deletion(v.class) || copy_number_loss(v.class))
                    && tx.exons.iter().any(|x| complete_within(v, x.start, x.end))
                    && (e - s + 1) % 3 != 0;
                // inframe_deletion(): a deletion inside one exon, mapping to one
                // CDS stretch, whose length is a multiple of three
                // (inframe_insertion() is never true for an SV).
                let inframe = deletion(v.class)
                    && tx.exons.iter().any(|x| complete_within(v, x.start, x.end))
                    && (e - s + 1) % 3 == 0
                    && matches!(
                        tx.cds_pieces(&tx.cdna_pieces(s, e)).as_slice(),
                        [Piece::Coord(..)]
                    );
                if frameshift {
                    terms.push(Term::Frameshift);
                }
                if inframe {
                    terms.push(Term::InframeDeletion);
                }
                if !(frameshift || inframe) {
                    terms.push(Term::CodingSequence);
                }
            }
        }
        None => {
            if in_exon {
                terms.push(Term::NonCodingTranscriptExon);
            } else {
                terms.push(Term::NonCodingTranscript);
            }
        }
    }
    if tr.biotype == "nonsense_mediated_decay" {
        terms.push(Term::NmdTranscript);
    }
    terms.sort();
    terms.dedup();
    terms
}

/// Start/end pairs of one span in a transcript's coordinates.
pub type Span = (Option<i64>, Option<i64>);

/// cDNA, CDS and protein positions of an SV in a transcript, as
/// TranscriptStructuralVariationAllele_to_output_hash writes them: cDNA when
/// the SV touches an exon, CDS and protein when it touches the coding
/// region; an end outside the transcript's exons is unknown (`?`).
pub fn transcript_positions(v: &SvVariant, tx: &TxView) -> (Span, Span, Span) {
    let (s, e) = (v.start, v.end);
    if !tx.exons.iter().any(|x| overlap(s, e, x.start, x.end)) {
        return ((None, None), (None, None), (None, None));
    }
    let cdna = tx.cdna_pieces(s, e);
    let coding = tx.coding.as_ref().is_some_and(|c| {
        tx.exons
            .iter()
            .any(|x| overlap(s, e, x.start.max(c.genomic_start), x.end.min(c.genomic_end)))
    });
    if !coding {
        return (ends(&cdna), (None, None), (None, None));
    }
    let cds = tx.cds_pieces(&cdna);
    let tl = peptide_pieces(&cds);
    (ends(&cdna), ends(&cds), ends(&tl))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::vep::transcript::tests::minus_strand;

    fn v(start: i64, end: i64, class: &'static str) -> SvVariant {
        SvVariant {
            start,
            end,
            class,
            allele_string: String::new(),
        }
    }

    #[test]
    fn class_predicates() {
        assert!(deletion("deletion") && deletion("copy_number_loss") && deletion("Alu_deletion"));
        assert!(!deletion("duplication"));
        assert!(copy_number_gain("tandem_duplication") && copy_number_gain("duplication"));
        assert!(!copy_number_gain("copy_number_variation") && !copy_number_gain("insertion"));
        assert!(insertion("insertion") && insertion("duplication") && !insertion("inversion"));
    }

    #[test]
    fn feature_level_terms() {
        // A deletion covering the whole feature ablates it.
        assert_eq!(
            regulatory_terms(&v(100, 300, "deletion"), 150, 250),
            vec![Term::RegulatoryRegionAblation, Term::RegulatoryRegion]
        );
        // Inside it or partly over it: the tier-2 overlap term alone
        // (feature_truncation is tier 3, never asked once it holds).
        assert_eq!(
            regulatory_terms(&v(160, 200, "deletion"), 150, 250),
            vec![Term::RegulatoryRegion]
        );
        assert_eq!(
            motif_terms(&v(100, 200, "deletion"), 150, 250),
            vec![Term::TfBindingSite]
        );
        // A duplication covering it amplifies it; inside it elongates it.
        assert_eq!(
            motif_terms(&v(100, 300, "duplication"), 150, 250),
            vec![Term::TfbsAmplification, Term::TfBindingSite]
        );
        assert_eq!(
            regulatory_terms(&v(160, 200, "insertion"), 150, 250),
            vec![Term::RegulatoryRegion]
        );
        // Inversions and unspecified CNVs only overlap.
        assert_eq!(
            regulatory_terms(&v(100, 300, "inversion"), 150, 250),
            vec![Term::RegulatoryRegion]
        );
    }

    #[test]
    fn transcript_level_terms() {
        let tx = TxView::new(Arc::new(minus_strand()));
        let (ts, te) = (tx.tr.start, tx.tr.end);
        // Tier 1 alone: nothing else is asked once the transcript is ablated or amplified.
        assert_eq!(
            transcript_terms(&v(ts - 10, te + 10, "deletion"), &tx),
            vec![Term::TranscriptAblation]
        );
        assert_eq!(
            transcript_terms(&v(ts - 10, te + 10, "tandem_duplication"), &tx),
            vec![Term::TranscriptAmplification]
        );
        let partial = transcript_terms(&v(ts - 10, ts + 5, "deletion"), &tx);
        assert!(partial.contains(&Term::FeatureTruncation));
        assert!(!partial.contains(&Term::TranscriptAblation));
        let inv = transcript_terms(&v(ts - 10, te + 10, "inversion"), &tx);
        assert!(
            !inv.contains(&Term::TranscriptAblation) && !inv.contains(&Term::FeatureTruncation)
        );
        // Flanks: a minus-strand transcript's upstream lies after its end.
        assert_eq!(
            flank_term(&v(te + 100, te + 200, "deletion"), &tx, 5000),
            Some(Term::Upstream)
        );
        assert_eq!(
            flank_term(&v(ts - 200, ts - 100, "deletion"), &tx, 5000),
            Some(Term::Downstream)
        );
        assert_eq!(
            flank_term(&v(ts - 9000, ts - 6000, "deletion"), &tx, 5000),
            None
        );
        // Inside a coding exon: 3 bases in frame, 4 a frameshift.
        let c = tx.coding.as_ref().unwrap();
        let x = *tx
            .exons
            .iter()
            .find(|x| x.start.max(c.genomic_start) + 10 < x.end.min(c.genomic_end))
            .unwrap();
        let at = x.start.max(c.genomic_start) + 2;
        let three = transcript_terms(&v(at, at + 2, "deletion"), &tx);
        assert!(three.contains(&Term::InframeDeletion) && !three.contains(&Term::CodingSequence));
        let four = transcript_terms(&v(at, at + 3, "deletion"), &tx);
        assert!(four.contains(&Term::Frameshift) && !four.contains(&Term::InframeDeletion));
        let dup = transcript_terms(&v(at, at + 2, "duplication"), &tx);
        assert!(dup.contains(&Term::CodingSequence) && dup.contains(&Term::FeatureElongation));
        // Over the whole transcript both ends fall outside its exons.
        let whole = transcript_positions(&v(ts - 10, te + 10, "deletion"), &tx);
        assert_eq!(whole.0, (None, None));
        // Inside one exon: both ends map, in cDNA order.
        let x = tx.exons[0];
        let (cdna, _, _) = transcript_positions(&v(x.start + 1, x.start + 2, "deletion"), &tx);
        let (a, b) = (
            tx.cdna_of(x.start + 1).unwrap(),
            tx.cdna_of(x.start + 2).unwrap(),
        );
        assert_eq!(cdna, (Some(a.min(b)), Some(a.max(b))));
    }
}
