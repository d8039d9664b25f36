//! A transcript prepared for annotation: exons in transcript order with
//! their cDNA spans, introns, the coding region in cDNA and genomic
//! coordinates, and the genomic -> cDNA -> CDS -> peptide mapping
//! (Bio::EnsEMBL::TranscriptMapper as BaseTranscriptVariation uses it).

use std::sync::{Arc, OnceLock};

use genoflight_catalog::vep::model::Transcript;

use super::sift::Predictions;

/// `[start, end]` closed ranges overlap (VariationEffect::overlap); an
/// insertion `start = end + 1` overlaps only ranges holding both flanks.
pub fn overlap(s1: i64, e1: i64, s2: i64, e2: i64) -> bool {
    e1 >= s2 && s1 <= e2
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExonSpan {
    pub start: i64,
    pub end: i64,
    /// First and last cDNA position of the exon.
    pub cdna_start: i64,
    pub cdna_end: i64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntronSpan {
    pub start: i64,
    pub end: i64,
    /// Introns of at most 13 bases are read as frameshift introns (VEP).
    pub frameshift: bool,
}

/// A mapped stretch or a gap, as Bio::EnsEMBL::Mapper returns them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Piece {
    Coord(i64, i64),
    Gap,
}

impl Piece {
    pub fn coord(self) -> Option<(i64, i64)> {
        match self {
            Piece::Coord(s, e) => Some((s, e)),
            Piece::Gap => None,
        }
    }
}

/// First piece's start and last piece's end, undefined where a gap sits.
pub fn ends(pieces: &[Piece]) -> (Option<i64>, Option<i64>) {
    (
        pieces.first().and_then(|p| p.coord()).map(|c| c.0),
        pieces.last().and_then(|p| p.coord()).map(|c| c.1),
    )
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coding {
    pub cdna_start: i64,
    pub cdna_end: i64,
    pub genomic_start: i64,
    pub genomic_end: i64,
}

#[derive(Debug)]
pub struct TxView {
    pub tr: Arc<Transcript>,
    pub exons: Vec<ExonSpan>,
    pub introns: Vec<IntronSpan>,
    pub has_frameshift_intron: bool,
    /// Spliced length (Transcript::length).
    pub cdna_len: i64,
    pub coding: Option<Coding>,
    /// Phase of the first coding exon when the CDS starts incomplete.
    pub start_phase: i64,
    pub translateable: Option<String>,
    pub peptide: Option<String>,
    pub five_utr: Option<String>,
    pub three_utr: Option<String>,
    /// SIFT/PolyPhen matrices, decompressed on the first missense variant.
    predictions: OnceLock<Predictions>,
}

impl TxView {
    /// The transcript's SIFT/PolyPhen matrices (decompressed once).
    pub fn predictions(&self) -> &Predictions {
        self.predictions
            .get_or_init(|| Predictions::of(&self.tr.predictions))
    }

    pub fn new(tr: Arc<Transcript>) -> TxView {
        let strand = tr.strand;
        let mut exons: Vec<ExonSpan> = Vec::with_capacity(tr.exons.len());
        let mut order: Vec<(i64, i64)> = tr.exons.iter().map(|e| (e.start, e.end)).collect();
        // Transcript order: 5' to 3' on the transcript's strand.
        if strand >= 0 {
            order.sort();
        } else {
            order.sort_by(|a, b| b.cmp(a));
        }
        let mut c = 0;
        for (s, e) in order {
            let len = e - s + 1;
            exons.push(ExonSpan {
                start: s,
                end: e,
                cdna_start: c + 1,
                cdna_end: c + len,
            });
            c += len;
        }
        let introns: Vec<IntronSpan> = exons
            .windows(2)
            .map(|w| {
                let (start, end) = if strand >= 0 {
                    (w[0].end + 1, w[1].start - 1)
                } else {
                    (w[1].end + 1, w[0].start - 1)
                };
                IntronSpan {
                    start,
                    end,
                    frameshift: (end - start).abs() <= 12,
                }
            })
            .collect();
        let has_frameshift_intron = introns.iter().any(|i| i.frameshift && i.start <= i.end);
        let mut view = TxView {
            exons,
            has_frameshift_intron,
            introns,
            cdna_len: c,
            coding: None,
            start_phase: 0,
            translateable: tr
                .translateable_seq
                .as_ref()
                .map(|s| s.to_ascii_uppercase()),
            peptide: tr.peptide.clone(),
            five_utr: tr.five_prime_utr.as_ref().map(|s| s.to_ascii_uppercase()),
            three_utr: tr.three_prime_utr.as_ref().map(|s| s.to_ascii_uppercase()),
            predictions: OnceLock::new(),
            tr,
        };
        view.coding = view.find_coding();
        if let Some(coding) = view.coding {
            // A CDS that starts mid-codon is padded by its first exon's phase.
            let first = coding.genomic_start_5p(view.tr.strand);
            if let Some(exon) = view
                .tr
                .exons
                .iter()
                .find(|e| e.start <= first && first <= e.end)
                && view.has_attribute("cds_start_NF")
                && exon.phase > 0
            {
                view.start_phase = exon.phase;
            }
        }
        view
    }

    pub fn strand(&self) -> i8 {
        self.tr.strand
    }

    pub fn has_attribute(&self, code: &str) -> bool {
        self.tr.attributes.iter().any(|(c, _)| c == code)
    }

    pub fn attribute(&self, code: &str) -> Option<&str> {
        self.tr
            .attributes
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, v)| v.as_str())
    }

    fn find_coding(&self) -> Option<Coding> {
        let tr = &self.tr;
        tr.translation.as_ref()?;
        let (cs, ce) = match (tr.cdna_coding_start, tr.cdna_coding_end) {
            (Some(s), Some(e)) => (s, e),
            _ => {
                let (gs, ge) = (tr.coding_region_start?, tr.coding_region_end?);
                let (a, b) = (self.cdna_of(gs)?, self.cdna_of(ge)?);
                (a.min(b), a.max(b))
            }
        };
        let (gs, ge) = match (tr.coding_region_start, tr.coding_region_end) {
            (Some(s), Some(e)) => (s, e),
            _ => {
                let (a, b) = (self.genomic_of(cs)?, self.genomic_of(ce)?);
                (a.min(b), a.max(b))
            }
        };
        Some(Coding {
            cdna_start: cs,
            cdna_end: ce,
            genomic_start: gs,
            genomic_end: ge,
        })
    }

    /// cDNA position of a genomic position inside an exon.
    pub fn cdna_of(&self, g: i64) -> Option<i64> {
        self.exons
            .iter()
            .find(|e| e.start <= g && g <= e.end)
            .map(|e| {
                if self.strand() >= 0 {
                    e.cdna_start + (g - e.start)
                } else {
                    e.cdna_start + (e.end - g)
                }
            })
    }

    /// Genomic position of a cDNA position.
    pub fn genomic_of(&self, c: i64) -> Option<i64> {
        self.exons
            .iter()
            .find(|e| e.cdna_start <= c && c <= e.cdna_end)
            .map(|e| {
                if self.strand() >= 0 {
                    e.start + (c - e.cdna_start)
                } else {
                    e.end - (c - e.cdna_start)
                }
            })
    }

    /// Genomic -> cDNA for `[start, end]` (or an insertion, `start = end + 1`),
    /// pieces in cDNA order.
    pub fn cdna_pieces(&self, start: i64, end: i64) -> Vec<Piece> {
        if start == end + 1 {
            return self.cdna_insertion(end);
        }
        let mut spans: Vec<&ExonSpan> = self
            .exons
            .iter()
            .filter(|e| overlap(start, end, e.start, e.end))
            .collect();
        spans.sort_by_key(|e| e.start);
        let mut pieces = Vec::new();
        let mut at = start;
        for e in spans {
            if e.start > at {
                pieces.push(Piece::Gap);
            }
            let (s, t) = (start.max(e.start), end.min(e.end));
            let (a, b) = (self.cdna_of(s).unwrap_or(0), self.cdna_of(t).unwrap_or(0));
            pieces.push(Piece::Coord(a.min(b), a.max(b)));
            at = t + 1;
        }
        if at <= end || pieces.is_empty() {
            pieces.push(Piece::Gap);
        }
        if self.strand() < 0 {
            pieces.reverse();
        }
        pieces
    }

    /// An insertion between genomic `g` and `g + 1` (Mapper::map_insert): in
    /// cDNA it sits after the 5' flank or before the 3' flank, `start = end + 1`.
    fn cdna_insertion(&self, g: i64) -> Vec<Piece> {
        let (first, second) = if self.strand() >= 0 {
            (g, g + 1)
        } else {
            (g + 1, g)
        };
        match (self.cdna_of(first), self.cdna_of(second)) {
            (Some(x), _) => vec![Piece::Coord(x + 1, x)],
            (None, Some(y)) => vec![Piece::Coord(y, y - 1)],
            (None, None) => vec![Piece::Gap],
        }
    }

    /// cDNA pieces -> CDS pieces (TranscriptMapper::genomic2cds).
    pub fn cds_pieces(&self, cdna: &[Piece]) -> Vec<Piece> {
        let Some(coding) = self.coding else {
            return vec![Piece::Gap];
        };
        let (cs, ce, phase) = (coding.cdna_start, coding.cdna_end, self.start_phase);
        let mut out = Vec::new();
        for p in cdna {
            match *p {
                Piece::Gap => out.push(Piece::Gap),
                Piece::Coord(s, e) => {
                    if s == e + 1 {
                        if s > ce || e < cs {
                            out.push(Piece::Gap);
                        } else {
                            out.push(Piece::Coord(s - cs + 1 + phase, e - cs + 1 + phase));
                        }
                        continue;
                    }
                    if s > ce || e < cs {
                        out.push(Piece::Gap);
                        continue;
                    }
                    if s < cs {
                        out.push(Piece::Gap);
                    }
                    let (a, b) = (s.max(cs), e.min(ce));
                    out.push(Piece::Coord(a - cs + 1 + phase, b - cs + 1 + phase));
                    if e > ce {
                        out.push(Piece::Gap);
                    }
                }
            }
        }
        out
    }

    /// cDNA -> genomic for `[start, end]`: the genomic spans (for miRNA regions).
    pub fn cdna_to_genomic(&self, start: i64, end: i64) -> Vec<(i64, i64)> {
        self.exons
            .iter()
            .filter(|e| overlap(start, end, e.cdna_start, e.cdna_end))
            .filter_map(|e| {
                let (a, b) = (start.max(e.cdna_start), end.min(e.cdna_end));
                let (x, y) = (self.genomic_of(a)?, self.genomic_of(b)?);
                Some((x.min(y), x.max(y)))
            })
            .collect()
    }

    /// FLAGS: the attribute codes starting `cds_` (cds_start_NF, cds_end_NF),
    /// in cache order, as OutputFactory keeps them; not mRNA_start_NF and the like.
    pub fn flags(&self) -> Vec<&str> {
        self.tr
            .attributes
            .iter()
            .map(|(c, _)| c.as_str())
            .filter(|c| c.starts_with("cds_"))
            .collect()
    }
}

impl Coding {
    /// The genomic position of the first coding base on the transcript's strand.
    fn genomic_start_5p(&self, strand: i8) -> i64 {
        if strand >= 0 {
            self.genomic_start
        } else {
            self.genomic_end
        }
    }
}

/// CDS pieces -> peptide pieces (codon numbers).
pub fn peptide_pieces(cds: &[Piece]) -> Vec<Piece> {
    cds.iter()
        .map(|p| match *p {
            Piece::Coord(s, e) => Piece::Coord((s + 2) / 3, (e + 2) / 3),
            Piece::Gap => Piece::Gap,
        })
        .collect()
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use genoflight_catalog::vep::model::{Exon, Translation};

    /// A minus-strand, three-exon coding transcript for tests:
    /// exons 1000-1099, 800-899, 500-599 (transcript order); CDS from
    /// cDNA 51 (genomic 1049) to cDNA 260 (genomic 540).
    pub fn minus_strand() -> Transcript {
        let exon = |s, e| Exon {
            start: s,
            end: e,
            strand: -1,
            ..Default::default()
        };
        Transcript {
            chrom: "1".into(),
            start: 500,
            end: 1099,
            strand: -1,
            stable_id: "ENST_TEST".into(),
            biotype: "protein_coding".into(),
            exons: vec![exon(1000, 1099), exon(800, 899), exon(500, 599)],
            translation: Some(Translation::default()),
            cdna_coding_start: Some(51),
            cdna_coding_end: Some(260),
            ..Default::default()
        }
    }

    #[test]
    fn mapping_minus_strand() {
        let v = TxView::new(Arc::new(minus_strand()));
        assert_eq!(v.cdna_len, 300);
        assert_eq!(v.cdna_of(1099), Some(1));
        assert_eq!(v.cdna_of(1000), Some(100));
        assert_eq!(v.cdna_of(899), Some(101));
        assert_eq!(v.cdna_of(950), None);
        let c = v.coding.unwrap();
        assert_eq!((c.genomic_start, c.genomic_end), (540, 1049));
        assert_eq!(
            v.introns[0],
            IntronSpan {
                start: 900,
                end: 999,
                frameshift: false
            }
        );
        // A deletion across the exon 1 / intron 1 boundary: cDNA start unknown.
        let p = v.cdna_pieces(995, 1002);
        assert_eq!(p, vec![Piece::Coord(98, 100), Piece::Gap]);
        assert_eq!(ends(&p), (Some(98), None));
        // Insertion between 1010 and 1011 (both exonic): cDNA 89-90.
        assert_eq!(v.cdna_pieces(1011, 1010), vec![Piece::Coord(90, 89)]);
        let cds = v.cds_pieces(&v.cdna_pieces(1049, 1047));
        assert_eq!(cds, vec![Piece::Coord(1, 3)]);
        assert_eq!(peptide_pieces(&cds), vec![Piece::Coord(1, 1)]);
        assert_eq!(v.cds_pieces(&v.cdna_pieces(1060, 1060)), vec![Piece::Gap]);
        assert_eq!(v.cdna_to_genomic(99, 102), vec![(1000, 1001), (898, 899)]);
    }
}
