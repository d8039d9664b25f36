//! Sequence Ontology consequence terms as Ensembl VEP reports them: the
//! order (rank) VEP sorts a row's terms by, and the IMPACT of each.

/// One SO consequence term. The declaration order is VEP's severity order
/// (most severe first), which is also the order terms are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Term {
    TranscriptAblation,
    SpliceAcceptor,
    SpliceDonor,
    StopGained,
    Frameshift,
    StopLost,
    StartLost,
    TranscriptAmplification,
    FeatureElongation,
    FeatureTruncation,
    InframeInsertion,
    InframeDeletion,
    Missense,
    ProteinAltering,
    SpliceDonor5thBase,
    SpliceRegion,
    SpliceDonorRegion,
    SplicePolypyrimidineTract,
    IncompleteTerminalCodon,
    StartRetained,
    StopRetained,
    Synonymous,
    CodingSequence,
    MatureMirna,
    FivePrimeUtr,
    ThreePrimeUtr,
    NonCodingTranscriptExon,
    Intron,
    NmdTranscript,
    NonCodingTranscript,
    CodingTranscript,
    Upstream,
    Downstream,
    TfbsAblation,
    TfbsAmplification,
    TfBindingSite,
    RegulatoryRegionAblation,
    RegulatoryRegionAmplification,
    RegulatoryRegion,
    Intergenic,
    SequenceVariant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Impact {
    High,
    Moderate,
    Low,
    Modifier,
}

impl Impact {
    pub fn as_str(self) -> &'static str {
        match self {
            Impact::High => "HIGH",
            Impact::Moderate => "MODERATE",
            Impact::Low => "LOW",
            Impact::Modifier => "MODIFIER",
        }
    }
}

impl Term {
    pub fn so_term(self) -> &'static str {
        use Term::*;
        match self {
            TranscriptAblation => "transcript_ablation",
            SpliceAcceptor => "splice_acceptor_variant",
            SpliceDonor => "splice_donor_variant",
            StopGained => "stop_gained",
            Frameshift => "frameshift_variant",
            StopLost => "stop_lost",
            StartLost => "start_lost",
            TranscriptAmplification => "transcript_amplification",
            FeatureElongation => "feature_elongation",
            FeatureTruncation => "feature_truncation",
            InframeInsertion => "inframe_insertion",
            InframeDeletion => "inframe_deletion",
            Missense => "missense_variant",
            ProteinAltering => "protein_altering_variant",
            SpliceDonor5thBase => "splice_donor_5th_base_variant",
            SpliceRegion => "splice_region_variant",
            SpliceDonorRegion => "splice_donor_region_variant",
            SplicePolypyrimidineTract => "splice_polypyrimidine_tract_variant",
            IncompleteTerminalCodon => "incomplete_terminal_codon_variant",
            StartRetained => "start_retained_variant",
            StopRetained => "stop_retained_variant",
            Synonymous => "synonymous_variant",
            CodingSequence => "coding_sequence_variant",
            MatureMirna => "mature_miRNA_variant",
            FivePrimeUtr => "5_prime_UTR_variant",
            ThreePrimeUtr => "3_prime_UTR_variant",
            NonCodingTranscriptExon => "non_coding_transcript_exon_variant",
            Intron => "intron_variant",
            NmdTranscript => "NMD_transcript_variant",
            NonCodingTranscript => "non_coding_transcript_variant",
            CodingTranscript => "coding_transcript_variant",
            Upstream => "upstream_gene_variant",
            Downstream => "downstream_gene_variant",
            TfbsAblation => "TFBS_ablation",
            TfbsAmplification => "TFBS_amplification",
            TfBindingSite => "TF_binding_site_variant",
            RegulatoryRegionAblation => "regulatory_region_ablation",
            RegulatoryRegionAmplification => "regulatory_region_amplification",
            RegulatoryRegion => "regulatory_region_variant",
            Intergenic => "intergenic_variant",
            SequenceVariant => "sequence_variant",
        }
    }

    pub fn impact(self) -> Impact {
        use Term::*;
        match self {
            TranscriptAblation
            | SpliceAcceptor
            | SpliceDonor
            | StopGained
            | Frameshift
            | StopLost
            | StartLost
            | TranscriptAmplification
            | FeatureElongation
            | FeatureTruncation => Impact::High,
            InframeInsertion
            | InframeDeletion
            | Missense
            | ProteinAltering
            | RegulatoryRegionAblation => Impact::Moderate,
            SpliceDonor5thBase
            | SpliceRegion
            | SpliceDonorRegion
            | SplicePolypyrimidineTract
            | IncompleteTerminalCodon
            | StartRetained
            | StopRetained
            | Synonymous => Impact::Low,
            _ => Impact::Modifier,
        }
    }

    /// 1 for the most severe term (VEP's rank order).
    pub fn rank(self) -> u32 {
        self as u32 + 1
    }
}

/// Terms joined as VEP writes them: by rank, comma-separated.
pub fn join(terms: &[Term]) -> String {
    let mut sorted = terms.to_vec();
    sorted.sort();
    sorted.dedup();
    sorted
        .iter()
        .map(|t| t.so_term())
        .collect::<Vec<_>>()
        .join(",")
}

/// IMPACT of a row: that of its most severe term.
pub fn impact(terms: &[Term]) -> Option<Impact> {
    terms.iter().min().map(|t| t.impact())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_impact() {
        let terms = [
            Term::Intron,
            Term::SplicePolypyrimidineTract,
            Term::SpliceRegion,
        ];
        assert_eq!(
            join(&terms),
            "splice_region_variant,splice_polypyrimidine_tract_variant,intron_variant"
        );
        assert_eq!(impact(&terms), Some(Impact::Low));
        assert_eq!(
            join(&[Term::NmdTranscript, Term::Missense]),
            "missense_variant,NMD_transcript_variant"
        );
        assert_eq!(impact(&[Term::Upstream]).unwrap().as_str(), "MODIFIER");
        assert!(Term::StopGained.rank() < Term::Missense.rank());
    }
}
