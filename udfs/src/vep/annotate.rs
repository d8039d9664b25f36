//! One allele of one variant against one transcript, as Ensembl's
//! TranscriptVariationAllele computes it: positions, codons, peptides,
//! exon/intron numbers, DISTANCE, and the consequence predicates of
//! Utils::VariationEffect with BaseTranscriptVariationAllele::_intron_effects.

use std::cell::OnceCell;

use super::codon::{reverse_complement, translate};
use super::consequence::Term;
use super::transcript::{Piece, TxView, ends, overlap, peptide_pieces};

/// A variant allele in VEP coordinates (`-` for an empty allele).
#[derive(Debug, Clone, Copy)]
pub struct VfAllele<'a> {
    pub start: i64,
    pub end: i64,
    pub ref_allele: &'a str,
    pub alt: &'a str,
}

/// What a (variant, allele, transcript) row reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TvaRow {
    pub terms: Vec<Term>,
    pub cdna: (Option<i64>, Option<i64>),
    pub cds: (Option<i64>, Option<i64>),
    pub protein: (Option<i64>, Option<i64>),
    pub amino_acids: Option<String>,
    pub codons: Option<String>,
    pub exon: Option<String>,
    pub intron: Option<String>,
    pub distance: Option<i64>,
}

fn empty(s: &str) -> &str {
    if s == "-" { "" } else { s }
}

fn is_dna(s: &str) -> bool {
    s.bytes().all(|b| {
        matches!(
            b.to_ascii_uppercase(),
            b'A' | b'C' | b'G' | b'T' | b'N' | b'-'
        )
    })
}

fn is_unambiguous_dna(s: &str) -> bool {
    s.bytes()
        .all(|b| matches!(b.to_ascii_uppercase(), b'A' | b'C' | b'G' | b'T' | b'-'))
}

/// Perl's truth for an optional string: defined, not empty, not "0".
fn truthy(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|s| !s.is_empty() && s != "0")
}

/// Replaces `len` characters of `seq` at 0-based `at` by `with` (Perl's
/// 4-argument substr, clamped to the string).
fn splice(seq: &str, at: i64, len: i64, with: &str) -> String {
    let n = seq.len() as i64;
    let a = at.clamp(0, n) as usize;
    let b = (at + len.max(0)).clamp(a as i64, n) as usize;
    format!("{}{}{}", &seq[..a], with, &seq[b..])
}

/// Perl's 3-argument substr, clamped.
fn substr(seq: &str, at: i64, len: i64) -> String {
    let n = seq.len() as i64;
    let a = at.clamp(0, n) as usize;
    let b = (at + len.max(0)).clamp(a as i64, n) as usize;
    seq[a..b].to_string()
}

#[derive(Debug, Default, Clone, Copy)]
struct IntronEffects {
    within_frameshift_intron: bool,
    intronic: bool,
    start_splice_site: bool,
    end_splice_site: bool,
    fifth_base: bool,
    donor_region: bool,
    polypyrimidine: bool,
    fifth_base_reverse: bool,
    donor_region_reverse: bool,
    polypyrimidine_reverse: bool,
    splice_region: bool,
}

/// `_intron_overlap`: splice_region_variant's windows.
fn intron_overlap(s: i64, e: i64, is: i64, ie: i64, insertion: bool) -> bool {
    overlap(s, e, is + 2, is + 7)
        || overlap(s, e, ie - 7, ie - 2)
        || overlap(s, e, is - 3, is - 1)
        || overlap(s, e, ie + 1, ie + 3)
        || (insertion && (s == is || e == ie || s == is + 2 || e == ie - 2))
}

/// The per-allele state the predicates read, computed once.
struct Ctx<'a> {
    tx: &'a TxView,
    vs: i64,
    ve: i64,
    /// Allele sequences on the transcript's strand, `` for empty.
    ref_seq: String,
    alt_seq: String,
    alt_raw: &'a str,
    increase: bool,
    decrease: bool,
    cdna: Vec<Piece>,
    cds: Vec<Piece>,
    cdna_se: (Option<i64>, Option<i64>),
    cds_se: (Option<i64>, Option<i64>),
    tl_se: (Option<i64>, Option<i64>),
    ie: IntronEffects,
    exonic: bool,
    ref_codon: Option<String>,
    alt_codon: Option<String>,
    ref_pep: Option<String>,
    alt_pep: Option<String>,
    /// stop_retained, which most coding predicates ask (VEP caches it too).
    stop_retained: OnceCell<bool>,
}

impl<'a> Ctx<'a> {
    fn new(tx: &'a TxView, vf: &VfAllele<'a>) -> Ctx<'a> {
        let strand = tx.strand();
        let on_strand = |s: &str| {
            let s = empty(s).to_ascii_uppercase();
            if strand < 0 {
                reverse_complement(&s)
            } else {
                s
            }
        };
        let ref_seq = on_strand(vf.ref_allele);
        let alt_seq = on_strand(vf.alt);
        let ref_len = vf.end - vf.start + 1;
        let alt_len = empty(vf.alt).len() as i64;
        let cdna = tx.cdna_pieces(vf.start, vf.end);
        let cds = tx.cds_pieces(&cdna);
        let tl = peptide_pieces(&cds);
        let (min, max) = (vf.start.min(vf.end), vf.start.max(vf.end));
        let stretch = if tx.has_frameshift_intron { 12 } else { 0 };
        let exonic = tx
            .exons
            .iter()
            .any(|e| overlap(min, max, e.start - stretch, e.end + stretch));
        let mut ctx = Ctx {
            tx,
            vs: vf.start,
            ve: vf.end,
            ref_seq,
            alt_seq,
            alt_raw: vf.alt,
            increase: alt_len > ref_len,
            decrease: alt_len < ref_len,
            cdna_se: ends(&cdna),
            cds_se: ends(&cds),
            tl_se: ends(&tl),
            cdna,
            cds,
            ie: IntronEffects::default(),
            exonic,
            ref_codon: None,
            alt_codon: None,
            ref_pep: None,
            alt_pep: None,
            stop_retained: OnceCell::new(),
        };
        ctx.ie = ctx.intron_effects(vf);
        let (r, a) = (ctx.ref_seq.clone(), ctx.alt_seq.clone());
        let (rc, ac) = (ctx.codon(&r), ctx.codon(&a));
        ctx.ref_codon = rc;
        ctx.alt_codon = ac;
        let (rp, ap) = (
            ctx.peptide(&r, &ctx.ref_codon),
            ctx.peptide(&a, &ctx.alt_codon),
        );
        ctx.ref_pep = rp;
        ctx.alt_pep = ap;
        ctx
    }

    fn strand(&self) -> i8 {
        self.tx.strand()
    }

    /// Introns whose ±3 flanked span overlaps the variant (the intron tree).
    fn overlapped_introns(&self) -> impl Iterator<Item = &super::transcript::IntronSpan> {
        let (min, max) = (self.vs.min(self.ve), self.vs.max(self.ve));
        self.tx
            .introns
            .iter()
            .filter(move |i| i.start <= i.end && overlap(min, max, i.start - 3, i.end + 3))
    }

    /// Introns whose boundary windows overlap the variant (the boundary
    /// tree): 3 bases into the exons and 16 into the intron, as far as the
    /// polypyrimidine tract reaches (acceptor -3 to -17, SO:0002169; its
    /// mirror on the minus strand). splice_region's own window (8 into the
    /// intron) is checked by `intron_overlap`.
    fn boundary_introns(&self) -> impl Iterator<Item = &super::transcript::IntronSpan> {
        let (min, max) = (self.vs.min(self.ve), self.vs.max(self.ve));
        self.tx.introns.iter().filter(move |i| {
            i.start <= i.end
                && (overlap(min, max, i.start - 3, i.start + 16)
                    || overlap(min, max, i.end - 16, i.end + 3))
        })
    }

    /// `_get_differing_regions`: offsets from the variant start where the
    /// alleles differ. With both alleles longer than one base, the positions
    /// where their bytes differ, past the shorter one included (Perl's string
    /// XOR pads it with NULs); otherwise the whole reference span.
    fn differing_regions(vf: &VfAllele) -> Vec<(i64, i64)> {
        let (r, a) = (empty(vf.ref_allele).as_bytes(), empty(vf.alt).as_bytes());
        if r.len() <= 1 || a.len() <= 1 {
            return vec![(0, r.len() as i64 - 1)];
        }
        let mut out: Vec<(i64, i64)> = Vec::new();
        for i in 0..r.len().max(a.len()) {
            if r.get(i) == a.get(i) {
                continue;
            }
            let i = i as i64;
            match out.last_mut() {
                Some((_, e)) if *e == i - 1 => *e = i,
                _ => out.push((i, i)),
            }
        }
        out
    }

    fn intron_effects(&self, vf: &VfAllele) -> IntronEffects {
        let mut ie = IntronEffects::default();
        for (ds, de) in Self::differing_regions(vf) {
            let (rs, re) = (self.vs + ds, self.vs + de);
            let insertion = rs == re + 1;
            for i in self.overlapped_introns() {
                if i.frameshift && overlap(rs, re, i.start, i.end) {
                    ie.within_frameshift_intron = true;
                    continue;
                }
                if overlap(rs, re, i.start + 2, i.end - 2)
                    || (insertion && (rs == i.start + 2 || re == i.end - 2))
                {
                    ie.intronic = true;
                }
            }
            for i in self.boundary_introns() {
                let (is, iend) = (i.start, i.end);
                if i.frameshift && overlap(rs, re, is, iend) {
                    ie.within_frameshift_intron = true;
                    continue;
                }
                ie.start_splice_site |= overlap(rs, re, is, is + 1);
                ie.end_splice_site |= overlap(rs, re, iend - 1, iend);
                ie.fifth_base |= overlap(rs, re, is + 4, is + 4);
                ie.donor_region |= overlap(rs, re, is + 2, is + 5);
                // An insertion touches the tract when either flanking base is
                // in it (ensembl-variation's tests: one between acceptor -3
                // and -2 is a polypyrimidine tract variant), unlike the donor terms.
                let (lo, hi) = (rs.min(re), rs.max(re));
                ie.polypyrimidine |= overlap(lo, hi, iend - 16, iend - 2);
                ie.fifth_base_reverse |= overlap(rs, re, iend - 4, iend - 4);
                ie.donor_region_reverse |= overlap(rs, re, iend - 5, iend - 2);
                ie.polypyrimidine_reverse |= overlap(lo, hi, is + 2, is + 16);
                // Reassigned per intron, as Ensembl does.
                if !(ie.start_splice_site || ie.end_splice_site) {
                    ie.splice_region = intron_overlap(rs, re, is, iend, insertion);
                }
            }
        }
        ie
    }

    /// TranscriptVariationAllele::codon for an allele on the transcript strand.
    fn codon(&self, seq: &str) -> Option<String> {
        let (ts, te) = (self.tl_se.0?, self.tl_se.1?);
        let (cs, ce) = (self.cds_se.0?, self.cds_se.1?);
        if !is_dna(seq) {
            return None;
        }
        let cds = self.tx.translateable.as_deref()?;
        let codon_cds_start = ts * 3 - 2;
        let codon_len = te * 3 - codon_cds_start + 1;
        let vf_nt_len = ce - cs + 1;
        let allele_len = seq.len() as i64;
        let edited = splice(cds, cs - 1, vf_nt_len, seq);
        let codon = substr(
            &edited,
            codon_cds_start - 1,
            codon_len + allele_len - vf_nt_len,
        );
        Some(if codon.is_empty() { "-".into() } else { codon })
    }

    fn peptide(&self, seq: &str, codon: &Option<String>) -> Option<String> {
        if !is_unambiguous_dna(seq) || !truthy(codon) {
            return None;
        }
        Some(translate(codon.as_deref()?, self.tx.tr.codon_table))
    }

    /// `_get_peptide_alleles`: both defined and true, `-` read as empty.
    fn pep_alleles(&self) -> Option<(String, String)> {
        if truthy(&self.alt_pep) && truthy(&self.ref_pep) {
            let f = |s: &Option<String>| empty(s.as_deref().unwrap_or("")).to_string();
            Some((f(&self.ref_pep), f(&self.alt_pep)))
        } else {
            None
        }
    }

    /// `_get_codon_alleles`: none for frameshifts.
    fn codon_alleles(&self) -> Option<(String, String)> {
        if self.frameshift() {
            return None;
        }
        let alt = self.alt_codon.as_deref()?;
        let r = self.ref_codon.as_deref()?;
        Some((empty(r).to_string(), empty(alt).to_string()))
    }

    fn within_cds(&self) -> bool {
        let len = self.tx.translateable.as_ref().map_or(0, |s| s.len() as i64);
        if self
            .cds
            .iter()
            .filter_map(|p| p.coord())
            .any(|(s, e)| e > 0 && s <= len)
        {
            return true;
        }
        if let Some(c) = self.tx.coding
            && self.ie.within_frameshift_intron
        {
            return overlap(self.vs, self.ve, c.genomic_start, c.genomic_end);
        }
        false
    }

    fn within_transcript(&self) -> bool {
        overlap(self.vs, self.ve, self.tx.tr.start, self.tx.tr.end)
    }

    fn within_cdna(&self) -> bool {
        let len = self.tx.cdna_len;
        if self
            .cdna
            .iter()
            .filter_map(|p| p.coord())
            .any(|(s, e)| e > 0 && s <= len)
        {
            return true;
        }
        self.ie.within_frameshift_intron && self.within_transcript()
    }

    fn before_coding(&self) -> bool {
        let Some(c) = self.tx.coding else {
            return false;
        };
        if self.vs == self.ve + 1 && self.vs == c.genomic_start {
            return true;
        }
        overlap(self.vs, self.ve, self.tx.tr.start, c.genomic_start - 1)
    }

    fn after_coding(&self) -> bool {
        let Some(c) = self.tx.coding else {
            return false;
        };
        if self.vs == self.ve + 1 && self.ve == c.genomic_end {
            return true;
        }
        overlap(self.vs, self.ve, c.genomic_end + 1, self.tx.tr.end)
    }

    fn partial_codon(&self) -> bool {
        let Some(ts) = self.tl_se.0 else { return false };
        let cds_len = self.tx.translateable.as_ref().map_or(0, |s| s.len() as i64);
        let last = cds_len - (ts * 3 - 2 - 1);
        last < 3 && last > 0
    }

    fn frameshift(&self) -> bool {
        if self.partial_codon() || self.stop_retained() {
            return false;
        }
        let (Some(cs), Some(ce)) = self.cds_se else {
            return false;
        };
        let var_len = ce - cs + 1;
        (self.alt_seq.len() as i64 - var_len).abs() % 3 != 0
    }

    fn overlaps_start_codon(&self) -> bool {
        if self.tx.has_attribute("cds_start_NF") {
            return false;
        }
        let (Some(s), Some(e)) = self.cdna_se else {
            return false;
        };
        let Some(c) = self.tx.coding else {
            return false;
        };
        s != 0 && e != 0 && overlap(s, e, c.cdna_start, c.cdna_start + 2)
    }

    fn overlaps_stop_codon(&self) -> bool {
        if self.tx.has_attribute("cds_end_NF") {
            return false;
        }
        let (Some(s), Some(e)) = self.cdna_se else {
            return false;
        };
        let Some(c) = self.tx.coding else {
            return false;
        };
        s != 0 && e != 0 && overlap(s, e, c.cdna_end - 2, c.cdna_end)
    }

    /// The 5' UTR and CDS with the allele spliced in at its cDNA position.
    fn edited_utr_cds(&self) -> Option<(String, String, usize)> {
        let (Some(s), Some(e)) = self.cdna_se else {
            return None;
        };
        let cds = self.tx.translateable.as_deref()?;
        let utr = self.tx.five_utr.as_deref().unwrap_or("");
        let joined = format!("{utr}{cds}");
        Some((
            splice(&joined, s - 1, e - s + 1, &self.alt_seq),
            cds.to_string(),
            utr.len(),
        ))
    }

    fn ins_del_start_altered(&self) -> bool {
        if !is_unambiguous_dna(self.alt_raw) || !self.overlaps_start_codon() {
            return false;
        }
        if !(self.increase || self.decrease) {
            return false;
        }
        let Some((edited, cds, utr_len)) = self.edited_utr_cds() else {
            return false;
        };
        // The same 5' UTR and still ATG after it: the start is kept.
        if let Some(utr) = self.tx.five_utr.as_deref().filter(|u| !u.is_empty())
            && utr_len <= edited.len()
            && &edited[..utr_len] == utr
            && substr(&edited, utr_len as i64, 3) == "ATG"
        {
            return false;
        }
        if edited.len() < cds.len() {
            return true;
        }
        cds != edited[edited.len() - cds.len()..]
    }

    fn inv_start_altered(&self) -> bool {
        if !is_unambiguous_dna(self.alt_raw) || !self.overlaps_start_codon() {
            return false;
        }
        if self.tx.five_utr.as_deref().is_none_or(str::is_empty) {
            return false;
        }
        let Some((edited, _, atg)) = self.edited_utr_cds() else {
            return false;
        };
        substr(&edited, atg as i64, 3) != "ATG"
    }

    fn ins_del_stop_altered(&self) -> bool {
        if !is_unambiguous_dna(self.alt_raw) || !self.overlaps_stop_codon() {
            return false;
        }
        if !(self.increase || self.decrease) {
            return false;
        }
        let (Some(s), Some(e)) = self.cdna_se else {
            return false;
        };
        let Some(cs) = self.cds_se.0.filter(|&c| c != 0) else {
            return false;
        };
        if s == 0 || e == 0 {
            return false;
        }
        let Some(cds) = self.tx.translateable.as_deref() else {
            return false;
        };
        let utr = self.tx.three_utr.as_deref().unwrap_or("");
        let joined = format!("{cds}{utr}");
        let edited = splice(&joined, cs - 1, e - s + 1, &self.alt_seq);
        if edited.len() < cds.len() {
            return true;
        }
        let codon = substr(&edited, cds.len() as i64 - 3, 3);
        translate(&codon, self.tx.tr.codon_table) != "*"
    }

    fn start_retained(&self) -> bool {
        (self.increase || self.decrease)
            && self.overlaps_start_codon()
            && !self.ins_del_start_altered()
    }

    /// `start_lost`; inside it, inframe_insertion sees start_lost as false
    /// (Ensembl's predicate cache holds 0 while it is being computed).
    fn start_lost(&self) -> bool {
        if !self.overlaps_start_codon() {
            return false;
        }
        if self.ins_del_start_altered()
            && !(self.inframe_insertion(false) || self.inframe_deletion())
        {
            return true;
        }
        if self.inv_start_altered() {
            return true;
        }
        let Some((r, a)) = self.pep_alleles() else {
            return false;
        };
        if r.is_empty() {
            return false;
        }
        self.tl_se.0 == Some(1) && !a.ends_with(&r) && !a.starts_with(&r)
    }

    fn inframe_insertion(&self, start_lost: bool) -> bool {
        let Some((rc, ac)) = self.codon_alleles() else {
            return false;
        };
        if start_lost {
            return false;
        }
        if ac.len() <= rc.len() {
            return false;
        }
        let Some((r, a)) = self.pep_alleles() else {
            return false;
        };
        if self.start_retained() && a.ends_with(&r) {
            return false;
        }
        // A stop in the inserted peptide ends it there.
        let a = match a.find('*') {
            Some(i) if i + 1 < a.len() => a[..=i].to_string(),
            _ => a,
        };
        a.starts_with(&r) || a.ends_with(&r)
    }

    fn inframe_deletion(&self) -> bool {
        if self.partial_codon() {
            return false;
        }
        let Some((rc, ac)) = self.codon_alleles() else {
            return false;
        };
        if ac.len() >= rc.len() {
            return false;
        }
        if rc.starts_with(&ac) || rc.ends_with(&ac) {
            return true;
        }
        let (r, a) = trim_sequences(&rc, &ac);
        a.is_empty() && r.len() % 3 == 0
    }

    /// VEP 115's stop_retained: never with a partial codon or a lost stop;
    /// with an alt peptide, `ref_eq_alt_sequence`; otherwise an indel over
    /// the stop codon that leaves it a stop.
    fn stop_retained(&self) -> bool {
        *self
            .stop_retained
            .get_or_init(|| self.stop_retained_uncached())
    }

    fn stop_retained_uncached(&self) -> bool {
        if self.partial_codon() || self.stop_lost() {
            return false;
        }
        match self.pep_alleles() {
            Some((r, a)) if !a.is_empty() => self.ref_eq_alt_sequence(&r, &a),
            _ => {
                (self.increase || self.decrease)
                    && self.overlaps_stop_codon()
                    && !self.ins_del_stop_altered()
            }
        }
    }

    /// VariationEffect::ref_eq_alt_sequence as released in 115 (116 dropped
    /// the first clause and made the second a test for a leading `*`): the
    /// protein with the alt peptide in place keeps its stop when (1) the ref
    /// peptide is the alt's first residue and the alt has a stop, (2) the
    /// protein is unchanged but for fewer than 3 residues added at its end,
    /// or (3) both peptides have their stop at the same place.
    fn ref_eq_alt_sequence(&self, r: &str, a: &str) -> bool {
        if r == "X" && a == "X" {
            return false;
        }
        let (Some(seq), (Some(ts), Some(te))) = (self.tx.peptide.as_deref(), self.tl_se) else {
            return false;
        };
        if ts > seq.len() as i64 && a.starts_with('*') {
            return true;
        }
        if (a.get(..1) == Some(r) && a.contains('*'))
            || (r.contains('*') && r.find('*') == a.find('*'))
        {
            return true;
        }
        // The protein with `a` in place of residues ts..te, compared with
        // the reference without building it: its first len(seq) residues
        // must be the reference, and it must be 1 or 2 residues longer.
        let at = ((ts - 1).max(0) as usize).min(seq.len());
        let upto = (at + (te - ts + 1).max(0) as usize).min(seq.len());
        let added = (a.len() + at) as i64 - upto as i64;
        if !(1..3).contains(&added) {
            return false;
        }
        let mut mutated = a.bytes().chain(seq[upto..].bytes());
        seq.as_bytes()[at..]
            .iter()
            .all(|&b| mutated.next() == Some(b))
    }

    fn stop_gained(&self) -> bool {
        if self.stop_retained() {
            return false;
        }
        let Some((r, a)) = self.pep_alleles() else {
            return false;
        };
        a.contains('*') && !r.contains('*')
    }

    fn stop_lost(&self) -> bool {
        match self.pep_alleles() {
            Some((r, a)) => !a.contains('*') && r.contains('*'),
            None => self.ins_del_stop_altered(),
        }
    }

    fn missense(&self) -> bool {
        let Some((r, a)) = self.pep_alleles() else {
            return false;
        };
        if self.start_lost()
            || self.stop_lost()
            || self.stop_gained()
            || self.partial_codon()
            || self.stop_retained()
        {
            return false;
        }
        // Only length-preserving alleles: a frameshift's `X` is not a missense.
        !self.increase && !self.decrease && r != a && r.len() == a.len()
    }

    fn synonymous(&self) -> bool {
        let Some((r, a)) = self.pep_alleles() else {
            return false;
        };
        if r.is_empty() {
            return false;
        }
        a == r && !self.stop_retained() && !a.contains('X') && !r.contains('X')
    }

    fn protein_altering(&self) -> bool {
        let Some((r, a)) = self.pep_alleles() else {
            return false;
        };
        if a.len() == r.len() || r.starts_with('*') || a.starts_with('*') {
            return false;
        }
        if a.starts_with(&r) || a.ends_with(&r) {
            return false;
        }
        !(self.inframe_deletion() || self.start_lost() || self.frameshift())
    }

    fn coding_unknown(&self) -> bool {
        if !self.within_cds() {
            return false;
        }
        let peps = self.pep_alleles();
        let unknown = !truthy(&self.alt_pep)
            || peps.is_none()
            || self.alt_pep.as_deref().is_some_and(|p| p.contains('X'))
            || peps.as_ref().is_some_and(|(r, _)| r.contains('X'));
        unknown
            && !(self.frameshift()
                || self.inframe_deletion()
                || self.protein_altering()
                || self.start_retained()
                || self.start_lost()
                || self.stop_retained()
                || self.stop_lost())
    }

    fn within_mature_mirna(&self) -> bool {
        let tr = &self.tx.tr;
        if tr.biotype != "miRNA" || !self.within_transcript() {
            return false;
        }
        tr.attributes
            .iter()
            .filter(|(c, _)| c == "miRNA")
            .filter_map(|(_, v)| {
                let (a, b) = v.split_once('-')?;
                Some((a.trim().parse::<i64>().ok()?, b.trim().parse::<i64>().ok()?))
            })
            .any(|(a, b)| {
                self.tx
                    .cdna_to_genomic(a, b)
                    .iter()
                    .any(|&(s, e)| overlap(self.vs, self.ve, s, e))
            })
    }

    fn non_coding_exon(&self) -> bool {
        if self.tx.tr.translation.is_some() || self.within_mature_mirna() {
            return false;
        }
        self.exonic
            && self
                .tx
                .exons
                .iter()
                .any(|e| overlap(self.vs, self.ve, e.start, e.end))
    }

    fn donor(&self) -> bool {
        if self.strand() >= 0 {
            self.ie.start_splice_site
        } else {
            self.ie.end_splice_site
        }
    }

    fn acceptor(&self) -> bool {
        if self.strand() >= 0 {
            self.ie.end_splice_site
        } else {
            self.ie.start_splice_site
        }
    }

    fn fifth_base(&self) -> bool {
        if self.strand() >= 0 {
            self.ie.fifth_base
        } else {
            self.ie.fifth_base_reverse
        }
    }

    fn donor_region(&self) -> bool {
        !self.fifth_base()
            && if self.strand() >= 0 {
                self.ie.donor_region
            } else {
                self.ie.donor_region_reverse
            }
    }

    /// Never for a variant that overlaps an exon (its OverlapConsequence
    /// excludes the `exon` pre-predicate, ensembl-variation PR #919): a
    /// deletion from the tract into the exon is an acceptor variant only.
    fn polypyrimidine(&self) -> bool {
        if self.exonic {
            return false;
        }
        if self.strand() >= 0 {
            self.ie.polypyrimidine
        } else {
            self.ie.polypyrimidine_reverse
        }
    }

    fn splice_region(&self) -> bool {
        !(self.donor() || self.acceptor() || self.fifth_base() || self.donor_region())
            && self.ie.splice_region
    }

    /// The consequences of an allele inside the transcript, VEP's order.
    fn terms(&self) -> Vec<Term> {
        let tr = &self.tx.tr;
        let (min, max) = (self.vs.min(self.ve), self.vs.max(self.ve));
        // A deletion removing the whole transcript: tier 1, nothing else is asked.
        if self.decrease && self.vs <= tr.start && self.ve >= tr.end {
            return vec![Term::TranscriptAblation];
        }
        // mature_miRNA_variant is tier 2: once it holds, tier-3 terms are not asked.
        if self.within_mature_mirna() {
            return vec![Term::MatureMirna];
        }
        let mut out = Vec::new();
        let mut add = |cond: bool, t: Term| {
            if cond {
                out.push(t);
            }
        };
        let boundary = self.boundary_introns().next().is_some();
        let intron = self.overlapped_introns().next().is_some();
        let (coding, utr) = match self.tx.coding {
            Some(c) => {
                let in_coding = overlap(min, max, c.genomic_start, c.genomic_end);
                let partly_utr = !in_coding || min < c.genomic_start || max > c.genomic_end;
                (in_coding && self.exonic, partly_utr)
            }
            None => (false, false),
        };
        if boundary {
            add(self.acceptor(), Term::SpliceAcceptor);
            add(self.donor(), Term::SpliceDonor);
        }
        if coding {
            add(self.stop_gained(), Term::StopGained);
            add(self.frameshift(), Term::Frameshift);
            add(self.stop_lost(), Term::StopLost);
            let start_lost = self.start_lost();
            add(start_lost, Term::StartLost);
            add(self.inframe_insertion(start_lost), Term::InframeInsertion);
            add(self.inframe_deletion(), Term::InframeDeletion);
            add(self.missense(), Term::Missense);
            add(self.protein_altering(), Term::ProteinAltering);
        }
        if boundary {
            add(self.fifth_base(), Term::SpliceDonor5thBase);
            add(self.splice_region(), Term::SpliceRegion);
            add(self.donor_region(), Term::SpliceDonorRegion);
            add(self.polypyrimidine(), Term::SplicePolypyrimidineTract);
        }
        if coding {
            add(self.partial_codon(), Term::IncompleteTerminalCodon);
            add(self.start_retained(), Term::StartRetained);
            add(self.stop_retained(), Term::StopRetained);
            add(self.synonymous(), Term::Synonymous);
            add(self.coding_unknown(), Term::CodingSequence);
        }
        if utr {
            let (five, three) = if self.strand() >= 0 {
                (self.before_coding(), self.after_coding())
            } else {
                (self.after_coding(), self.before_coding())
            };
            let in_cdna = self.within_cdna();
            add(five && in_cdna, Term::FivePrimeUtr);
            add(three && in_cdna, Term::ThreePrimeUtr);
        }
        add(self.non_coding_exon(), Term::NonCodingTranscriptExon);
        if intron {
            add(self.ie.intronic, Term::Intron);
        }
        add(tr.biotype == "nonsense_mediated_decay", Term::NmdTranscript);
        add(
            tr.translation.is_none() && !self.within_mature_mirna() && !self.non_coding_exon(),
            Term::NonCodingTranscript,
        );
        out
    }

    /// `display_codon`: lower case, the allele's own bases upper case.
    fn display_codon(&self, codon: &Option<String>, seq: &str) -> Option<String> {
        let codon = codon.as_deref()?;
        if codon.is_empty() {
            return None;
        }
        let cs = self.cds_se.0?;
        let mut d = codon.to_ascii_lowercase();
        if !seq.is_empty() {
            let pos = ((cs - 1) % 3) as usize;
            let end = (pos + seq.len()).min(d.len());
            if pos < end {
                let upper = d[pos..end].to_ascii_uppercase();
                d.replace_range(pos..end, &upper);
            }
        }
        Some(d)
    }
}

/// Utils::Sequence::trim_sequences: common prefix, then common suffix.
fn trim_sequences(a: &str, b: &str) -> (String, String) {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    while !a.is_empty() && !b.is_empty() && a[0] == b[0] {
        a = &a[1..];
        b = &b[1..];
    }
    while !a.is_empty() && !b.is_empty() && a[a.len() - 1] == b[b.len() - 1] {
        a = &a[..a.len() - 1];
        b = &b[..b.len() - 1];
    }
    (
        String::from_utf8_lossy(a).into_owned(),
        String::from_utf8_lossy(b).into_owned(),
    )
}

/// Exon or intron numbers overlapped (`3/11`, `2-4/11`).
fn numbers(
    spans: impl Iterator<Item = (usize, i64, i64)>,
    vs: i64,
    ve: i64,
    total: usize,
) -> Option<String> {
    let hits: Vec<usize> = spans
        .filter(|&(_, s, e)| overlap(vs, ve, s, e))
        .map(|(n, _, _)| n)
        .collect();
    match (hits.first(), hits.last()) {
        (Some(a), Some(b)) if a != b => Some(format!("{}-{}/{total}", a.min(b), a.max(b))),
        (Some(a), _) => Some(format!("{a}/{total}")),
        _ => None,
    }
}

/// What HGVSp reads of one allele placed on a transcript: its CDS and
/// peptide spans and the reference and allele peptides of the codons it
/// touches (TranscriptVariationAllele::peptide for both alleles).
#[derive(Debug, Clone, PartialEq)]
pub struct ProteinView {
    pub cds: (Option<i64>, Option<i64>),
    pub protein: (Option<i64>, Option<i64>),
    pub ref_pep: Option<String>,
    pub alt_pep: Option<String>,
}

pub fn protein_view(tx: &TxView, vf: &VfAllele) -> ProteinView {
    let ctx = Ctx::new(tx, vf);
    ProteinView {
        cds: ctx.cds_se,
        protein: ctx.tl_se,
        ref_pep: ctx.ref_pep,
        alt_pep: ctx.alt_pep,
    }
}

/// VEP's `distance_to_transcript`: the smallest of the four end-to-end distances.
pub fn distance_to(vs: i64, ve: i64, fs: i64, fe: i64) -> i64 {
    [vs - fs, vs - fe, ve - fs, ve - fe]
        .into_iter()
        .map(i64::abs)
        .min()
        .unwrap_or(0)
}

/// The row for one allele and one transcript, or `None` when the transcript
/// is farther than `distance` (no consequence).
pub fn annotate(tx: &TxView, vf: &VfAllele, distance: i64) -> Option<TvaRow> {
    let tr = &tx.tr;
    if !overlap(vf.start, vf.end, tr.start, tr.end) {
        let before = vf.end >= tr.start - distance && vf.end < tr.start;
        let after = vf.start <= tr.end + distance && vf.start > tr.end;
        let (up, down) = if tr.strand >= 0 {
            (before, after)
        } else {
            (after, before)
        };
        let term = match (up, down) {
            (true, _) => Term::Upstream,
            (_, true) => Term::Downstream,
            _ => return None,
        };
        return Some(TvaRow {
            terms: vec![term],
            distance: Some(distance_to(vf.start, vf.end, tr.start, tr.end)),
            ..Default::default()
        });
    }
    let ctx = Ctx::new(tx, vf);
    let terms = ctx.terms();
    if terms.is_empty() {
        return None;
    }
    let amino_acids = match (&ctx.ref_pep, &ctx.alt_pep) {
        (Some(r), Some(a)) if truthy(&ctx.alt_pep) && truthy(&ctx.ref_pep) => Some(if r != a {
            format!("{r}/{a}")
        } else {
            a.clone()
        }),
        _ => None,
    };
    let codons = match (
        ctx.display_codon(&ctx.ref_codon, &ctx.ref_seq),
        ctx.display_codon(&ctx.alt_codon, &ctx.alt_seq),
    ) {
        (Some(r), Some(a)) => Some(format!("{r}/{a}")),
        _ => None,
    };
    let exon = numbers(
        tx.exons
            .iter()
            .enumerate()
            .map(|(i, e)| (i + 1, e.start, e.end)),
        vf.start,
        vf.end,
        tx.exons.len(),
    );
    let (min, max) = (vf.start.min(vf.end), vf.start.max(vf.end));
    let intron = numbers(
        tx.introns
            .iter()
            .enumerate()
            .filter(|(_, i)| i.start <= i.end && overlap(min, max, i.start - 3, i.end + 3))
            .map(|(n, i)| (n + 1, i.start, i.end)),
        vf.start,
        vf.end,
        tx.introns.len(),
    );
    Some(TvaRow {
        terms,
        cdna: ctx.cdna_se,
        cds: ctx.cds_se,
        protein: ctx.tl_se,
        amino_acids,
        codons,
        exon,
        intron,
        distance: None,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::vep::transcript::tests::minus_strand;

    fn tx() -> TxView {
        let mut t = minus_strand();
        // 50 UTR bases, CDS of 210 (70 codons: ATG, 68 x GCA, TAA), 40 UTR.
        let mut cds = String::from("ATG");
        for _ in 0..68 {
            cds.push_str("GCA");
        }
        cds.push_str("TAA");
        t.translateable_seq = Some(cds);
        t.five_prime_utr = Some("C".repeat(50));
        t.three_prime_utr = Some("C".repeat(40));
        t.peptide = Some(format!("M{}", "A".repeat(68)));
        TxView::new(Arc::new(t))
    }

    fn run(start: i64, end: i64, r: &str, a: &str) -> TvaRow {
        annotate(
            &tx(),
            &VfAllele {
                start,
                end,
                ref_allele: r,
                alt: a,
            },
            5000,
        )
        .unwrap()
    }

    #[test]
    fn coding_snvs() {
        // cDNA 55 = CDS 5 = codon 2 (GCA) base 2, genomic 1099 - 54 = 1045.
        let row = run(1045, 1045, "G", "A");
        assert_eq!(row.cdna, (Some(55), Some(55)));
        assert_eq!(row.cds, (Some(5), Some(5)));
        assert_eq!(row.protein, (Some(2), Some(2)));
        assert_eq!(row.amino_acids.as_deref(), Some("A/V"));
        assert_eq!(row.codons.as_deref(), Some("gCa/gTa"));
        assert_eq!(row.terms, vec![Term::Missense]);
        assert_eq!(row.exon.as_deref(), Some("1/3"));
        // Third base of codon 2 (A -> G on the transcript): synonymous.
        let row = run(1044, 1044, "T", "C");
        assert_eq!(row.terms, vec![Term::Synonymous]);
        assert_eq!(row.amino_acids.as_deref(), Some("A"));
        // Start codon: ATG -> ACG.
        let row = run(1048, 1048, "A", "G");
        assert_eq!(row.terms, vec![Term::StartLost]);
        // Stop codon TAA -> TAG retained: cDNA 258-260 = genomic 542..540.
        let row = run(540, 540, "T", "C");
        assert_eq!(row.terms, vec![Term::StopRetained]);
        let row = run(542, 542, "A", "C");
        assert_eq!(row.terms, vec![Term::StopLost]);
        // Codon 3 GCA -> TCA... via first base: G (cDNA 57) -> T is missense (A/S).
        let row = run(1043, 1043, "C", "A");
        assert_eq!(row.amino_acids.as_deref(), Some("A/S"));
    }

    #[test]
    fn indels_and_noncoding_parts() {
        // Deletion of one coding base: frameshift, alt peptide X.
        let row = run(1045, 1045, "G", "-");
        assert_eq!(row.terms, vec![Term::Frameshift]);
        assert_eq!(row.amino_acids.as_deref(), Some("A/X"));
        assert_eq!(row.codons.as_deref(), Some("gCa/ga"));
        // Insertion of a codon between codons 2 and 3: inframe insertion.
        let row = run(1044, 1043, "-", "TTT");
        assert_eq!(row.terms, vec![Term::InframeInsertion]);
        assert_eq!(row.cds, (Some(7), Some(6)));
        assert_eq!(row.amino_acids.as_deref(), Some("-/K"));
        assert_eq!(row.codons.as_deref(), Some("-/AAA"));
        // 5' UTR, intron, splice sites.
        assert_eq!(run(1080, 1080, "A", "G").terms, vec![Term::FivePrimeUtr]);
        assert_eq!(run(950, 950, "A", "G").terms, vec![Term::Intron]);
        let row = run(950, 950, "A", "G");
        assert_eq!(row.intron.as_deref(), Some("1/2"));
        // Intron 1 is 900-999; on the minus strand its donor is 998-999.
        assert_eq!(run(999, 999, "C", "T").terms, vec![Term::SpliceDonor]);
        assert_eq!(run(900, 900, "C", "T").terms, vec![Term::SpliceAcceptor]);
        // Intron position +5 on the minus strand: 999 - 4.
        assert_eq!(
            run(995, 995, "C", "T").terms,
            vec![Term::SpliceDonor5thBase, Term::Intron]
        );
        assert_eq!(
            run(996, 996, "C", "T").terms,
            vec![Term::SpliceDonorRegion, Term::Intron]
        );
        // Last exonic base before the donor: splice region and missense/synonymous.
        let row = run(1000, 1000, "G", "A");
        assert!(row.terms.contains(&Term::SpliceRegion));
        // Upstream (minus strand: above the transcript end).
        let up = run(1200, 1200, "A", "G");
        assert_eq!(up.terms, vec![Term::Upstream]);
        assert_eq!(up.distance, Some(101));
        assert!(
            annotate(
                &tx(),
                &VfAllele {
                    start: 9000,
                    end: 9000,
                    ref_allele: "A",
                    alt: "G"
                },
                5000
            )
            .is_none()
        );
    }
}
