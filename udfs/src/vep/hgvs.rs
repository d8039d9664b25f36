//! HGVS notation as Ensembl VEP 115 writes it (`--hgvs`, `--hgvsg`, with a
//! reference FASTA): ensembl-variation's TranscriptVariationAllele
//! `hgvs_transcript` / `hgvs_protein` and Utils::Sequence
//! `hgvs_variant_notation` / `format_hgvs_string`.
//!
//! HGVSc is worked out on the genome (the transcript's unspliced span, read
//! in transcript orientation) and mapped to `c.`/`n.` positions with intron
//! offsets (`c.100+5`), UTR positions (`c.-15`, `c.*30`); insertions and
//! deletions are first moved 3' in transcript orientation (`_return_3prime`,
//! VEP's default `--shift_hgvs 1`), by up to 1000 bases, and HGVS_OFFSET is
//! that shift times the transcript strand. HGVSp reads the cached CDS,
//! 3' UTR and peptide: substitutions, `=`, frameshifts (`fsTer<n>`), stop
//! gain/loss (`extTer<n>`), start loss (`?`), in-frame del/ins/delins/dup,
//! three-letter codes, `=` written `%3D` as VEP's output does.

use datafusion::common::Result;

use super::alleles::VepVariant;
use super::annotate::{TvaRow, VfAllele, protein_view};
use super::codon::{reverse_complement, translate_codon};
use super::consequence::Term;
use super::transcript::{TxView, overlap};

/// How far VEP looks for a 3' shift (`$area_to_search`).
const SHIFT_AREA: i64 = 1000;

/// Which HGVS notations to write, read from which genome.
#[derive(Clone)]
pub struct HgvsSettings {
    pub genome: std::sync::Arc<dyn Genome>,
    /// HGVSc/HGVSp/HGVS_OFFSET (`--hgvs`).
    pub transcript: bool,
    /// HGVSg (`--hgvsg`).
    pub genomic: bool,
    /// `--shift_hgvs` (VEP's default 1).
    pub shift: bool,
    /// `--check_ref`: records whose REF differs from the genome are skipped.
    pub check_ref: bool,
}

impl std::fmt::Debug for HgvsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HgvsSettings")
            .field("transcript", &self.transcript)
            .field("genomic", &self.genomic)
            .field("shift", &self.shift)
            .finish()
    }
}

/// Forward-strand genome sequence around a variant.
pub trait Genome: Send + Sync {
    /// Bases `[start, end]` (1-based, closed) of `chrom`, clipped to the
    /// sequence, upper case; `None` when the genome lacks the chromosome
    /// (tried under each of `names`, the cache's name first).
    fn fetch(&self, names: &[&str], start: i64, end: i64) -> Result<Option<Window>>;
}

/// A stretch of the forward strand: `seq[0]` is position `start`.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub start: i64,
    pub seq: Vec<u8>,
}

impl Window {
    /// Bases `[from, to]`, clipped to the window (Perl substr on a slice).
    pub fn get(&self, from: i64, to: i64) -> String {
        let end = self.start + self.seq.len() as i64 - 1;
        let (a, b) = (from.max(self.start), to.min(end));
        if a > b {
            return String::new();
        }
        let (a, b) = ((a - self.start) as usize, (b - self.start) as usize);
        String::from_utf8_lossy(&self.seq[a..=b]).into_owned()
    }

    /// The window VEP's HGVS needs around `[start, end]`: the shift search
    /// area on both sides and room for a duplicated insertion.
    pub fn span(v: &VepVariant) -> (i64, i64) {
        let (min, max) = (v.start.min(v.end), v.start.max(v.end));
        let longest = v.alts.iter().map(String::len).max().unwrap_or(0) as i64;
        let margin = SHIFT_AREA + 2 * (longest + (max - min + 1)) + 2;
        ((min - margin).max(1), max + margin)
    }
}

fn empty(s: &str) -> &str {
    if s == "-" { "" } else { s }
}

fn acgt(s: &str) -> bool {
    s.bytes()
        .all(|b| b"ACGT-".contains(&b.to_ascii_uppercase()))
}

/// An allele moved 3' (`_return_3prime`): how far, and the allele
/// sequences (forward strand) rotated as it moved.
#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    pub length: i64,
    /// Deleted (or inserted) bases after the move, forward strand.
    pub moved: String,
    /// The allele after the move (`-` for a deletion).
    pub alt: String,
}

/// `_return_3prime` for one allele on a transcript strand: an insertion or
/// deletion slides 3' (transcript orientation) while the base leaving one
/// end equals the reference base entering at the other.
pub fn shift_3prime(w: &Window, v: &VfAllele, strand: i8, shiftable: bool) -> Shift {
    let (r, a) = (empty(v.ref_allele), empty(v.alt));
    let (mut moved, mut alt) = if r.is_empty() && !a.is_empty() {
        (a.as_bytes().to_vec(), a.as_bytes().to_vec())
    } else if a.is_empty() && !r.is_empty() {
        (r.as_bytes().to_vec(), b"-".to_vec())
    } else {
        return Shift {
            length: 0,
            moved: r.to_string(),
            alt: v.alt.to_string(),
        };
    };
    let mut length = 0;
    if shiftable {
        let n = moved.len();
        if strand > 0 {
            let post = w.get(v.end + 1, v.end + SHIFT_AREA).into_bytes();
            for &base in post.iter().take((post.len() + 1).saturating_sub(n)) {
                if moved[0] != base {
                    break;
                }
                length += 1;
                moved.rotate_left(1);
                alt.rotate_left(1);
            }
        } else {
            let pre = w.get(v.start - SHIFT_AREA, v.start - 1).into_bytes();
            for &base in pre.iter().rev().take((pre.len() + 1).saturating_sub(n)) {
                if moved[n - 1] != base {
                    break;
                }
                length += 1;
                moved.rotate_right(1);
                alt.rotate_right(1);
            }
        }
    }
    Shift {
        length,
        moved: String::from_utf8_lossy(&moved).into_owned(),
        alt: String::from_utf8_lossy(&alt).into_owned(),
    }
}

/// `hgvs_variant_notation`'s result (positions on its reference sequence).
#[derive(Debug, Clone, PartialEq)]
struct Notation {
    start: i64,
    end: i64,
    reference: String,
    alt: String,
    kind: String,
}

/// Utils::Sequence::hgvs_variant_notation: `seq(a, b)` reads 1-based
/// positions of the reference sequence.
fn variant_notation(
    alt: &str,
    seq: &dyn Fn(i64, i64) -> String,
    s: i64,
    e: i64,
) -> Option<Notation> {
    let alt: String = alt.chars().filter(|&c| c != '-').collect();
    let ref_len = (e - s + 1).max(0);
    let reference = if ref_len > 0 {
        seq(s, e)
    } else {
        String::new()
    };
    if reference == alt {
        return None;
    }
    let mut n = Notation {
        start: s,
        end: e,
        reference: reference.clone(),
        alt: alt.clone(),
        kind: String::new(),
    };
    let alt_len = alt.len() as i64;
    n.kind = if alt.is_empty() {
        "del".into()
    } else if ref_len == alt_len {
        if ref_len == 1 {
            ">".into()
        } else if reverse_complement(&reference) == alt {
            "inv".into()
        } else {
            "delins".into()
        }
    } else if ref_len == 0 {
        // An insertion repeating the bases before it is a duplication.
        let before = e - alt_len;
        if before >= 0 && seq(before + 1, e) == alt {
            n.start = e - alt_len + 1;
            "dup".into()
        } else {
            n.start = e;
            n.end = s;
            "ins".into()
        }
    } else if alt_len % ref_len == 0 && alt == reference.repeat((alt_len / ref_len) as usize) {
        match alt_len / ref_len {
            2 => "dup".into(),
            m => format!("[{m}]"),
        }
    } else {
        "delins".into()
    };
    Some(n)
}

/// `_clip_alleles` on nucleotides: common leading then trailing bases go.
fn clip(n: &mut Notation) {
    let (r, a) = (n.reference.as_bytes(), n.alt.as_bytes());
    let mut lead = 0;
    while lead < r.len() && lead < a.len() && r[lead] == a[lead] {
        lead += 1;
    }
    let (r, a) = (&r[lead..], &a[lead..]);
    let mut trail = 0;
    while trail < r.len() && trail < a.len() && r[r.len() - 1 - trail] == a[a.len() - 1 - trail] {
        trail += 1;
    }
    let (r, a) = (&r[..r.len() - trail], &a[..a.len() - trail]);
    let (r, a) = (
        String::from_utf8_lossy(r).into_owned(),
        String::from_utf8_lossy(a).into_owned(),
    );
    n.start += lead as i64;
    n.end -= trail as i64;
    if r.is_empty() && !a.is_empty() {
        n.kind = "ins".into();
    }
    if !r.is_empty() && a.is_empty() {
        n.kind = "del".into();
    }
    n.reference = r;
    n.alt = a;
}

/// `format_hgvs_string` after the `<name>:<numbering>.` prefix.
fn format_nucleotide(n: &Notation, start: &str, end: &str) -> Option<String> {
    let coords = if start == end {
        start.to_string()
    } else {
        format!("{start}_{end}")
    };
    Some(match n.kind.as_str() {
        ">" => format!("{start}{}>{}", n.reference, n.alt),
        "inv" if n.reference.len() == 1 => format!("{start}{}>{}", n.reference, n.alt),
        "del" | "inv" | "dup" => format!("{coords}{}", n.kind),
        "delins" => format!("{coords}delins{}", n.alt),
        "ins" => format!("{coords}ins{}", n.alt),
        k if k.starts_with('[') => format!("{coords}{k}"),
        _ => return None,
    })
}

/// `<id>.<version>` unless the ID already ends in a version or is an LRG.
fn versioned(id: &str, version: Option<i64>) -> String {
    let has_version = id
        .rsplit_once('.')
        .is_some_and(|(_, v)| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()));
    match version {
        Some(v) if !has_version && !id.contains("LRG") => format!("{id}.{v}"),
        _ => id.to_string(),
    }
}

/// A transcript's unspliced sequence in transcript orientation, 1-based
/// from the transcript's 5' end (the transcript feature slice).
struct TxSlice<'a> {
    tx: &'a TxView,
    w: &'a Window,
}

impl TxSlice<'_> {
    fn len(&self) -> i64 {
        self.tx.tr.end - self.tx.tr.start + 1
    }

    fn genomic(&self, p: i64) -> i64 {
        if self.tx.strand() >= 0 {
            self.tx.tr.start + p - 1
        } else {
            self.tx.tr.end - p + 1
        }
    }

    fn seq(&self, a: i64, b: i64) -> String {
        let (a, b) = (a.max(1), b.min(self.len()));
        if a > b {
            return String::new();
        }
        if self.tx.strand() >= 0 {
            self.w.get(self.genomic(a), self.genomic(b))
        } else {
            reverse_complement(&self.w.get(self.genomic(b), self.genomic(a)))
        }
    }

    /// `_get_cDNA_position`: a slice position as `c.`/`n.` text.
    fn cdna_position(&self, p: i64) -> Option<String> {
        let g = self.genomic(p);
        let tx = self.tx;
        let strand = tx.strand();
        let mut exons: Vec<_> = tx.exons.iter().collect();
        exons.sort_by_key(|e| e.start);
        let mut found: Option<(i64, Option<String>)> = None;
        for (i, exon) in exons.iter().enumerate() {
            if g > exon.end {
                continue;
            }
            if g >= exon.start {
                let c = if strand > 0 {
                    exon.cdna_start + (g - exon.start)
                } else {
                    exon.cdna_start + (exon.end - g)
                };
                found = Some((c, None));
                break;
            }
            // Between exons: the nearer exon boundary (upstream on a tie
            // for forward-strand transcripts) and an offset into the intron.
            let prev = exons[if i == 0 { exons.len() - 1 } else { i - 1 }];
            let up = (g - prev.end).abs();
            let down = (exon.start - g).abs();
            found = Some(if up < down || (up == down && strand >= 0) {
                if strand >= 0 {
                    (prev.cdna_end, Some(format!("+{up}")))
                } else {
                    (prev.cdna_start, Some(format!("-{up}")))
                }
            } else if strand >= 0 {
                (exon.cdna_start, Some(format!("-{down}")))
            } else {
                (exon.cdna_end, Some(format!("+{down}")))
            });
            break;
        }
        let (coord, offset) = found?;
        let offset = offset.unwrap_or_default();
        match tx.coding.filter(|_| tx.tr.translation.is_some()) {
            Some(c) if coord > c.cdna_end => Some(format!("*{}{offset}", coord - c.cdna_end)),
            // An intronic position off the last stop codon base: VEP drops
            // the `+` and writes `*<offset>`.
            Some(c) if coord == c.cdna_end && !offset.is_empty() => {
                Some(format!("*{}", offset.trim_start_matches('+')))
            }
            Some(c) => {
                let rel = if coord >= c.cdna_start {
                    coord - c.cdna_start + 1
                } else {
                    coord - c.cdna_start
                };
                Some(format!("{rel}{offset}"))
            }
            None => Some(format!("{coord}{offset}")),
        }
    }
}

/// The exon coordinate and intron offset VEP parses back out of a position
/// (`m/(\-?[0-9]+)\+?(\-?[0-9]+)?/`).
fn parse_position(p: &str) -> (i64, i64) {
    let b = p.as_bytes();
    let mut i = b
        .iter()
        .position(|c| c.is_ascii_digit() || *c == b'-')
        .unwrap_or(b.len());
    let number = |i: &mut usize| -> Option<i64> {
        let s = *i;
        if *i < b.len() && b[*i] == b'-' {
            *i += 1;
        }
        let d = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        if *i == d {
            *i = s;
            return None;
        }
        p[s..*i].parse().ok()
    };
    let exon = number(&mut i).unwrap_or(0);
    if i < b.len() && b[i] == b'+' {
        i += 1;
    }
    (exon, number(&mut i).unwrap_or(0))
}

/// HGVSc, HGVSp and HGVS_OFFSET of one allele on one transcript.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TranscriptHgvs {
    pub hgvsc: Option<String>,
    pub hgvsp: Option<String>,
    pub offset: Option<i64>,
}

/// `hgvs_transcript` + `hgvs_protein` for `vf` on `tx` (whose consequence
/// row is `tva`), with the genome around the variant in `w`.
pub fn transcript_hgvs(
    w: &Window,
    tx: &TxView,
    vf: &VfAllele,
    tva: &TvaRow,
    shiftable: bool,
) -> TranscriptHgvs {
    let mut out = TranscriptHgvs::default();
    let tr = &tx.tr;
    if !acgt(vf.alt) || vf.alt == "*" {
        return out;
    }
    // _var2transcript_slice_coords: both ends inside the transcript.
    let inside = |g: i64| g >= tr.start && g <= tr.end;
    if !(inside(vf.start) && inside(vf.end)) {
        return out;
    }
    let strand = tx.strand();
    let shift = shift_3prime(w, vf, strand, shiftable);
    let slice = TxSlice { tx, w };
    let (s, e) = if strand >= 0 {
        (vf.start - tr.start + 1, vf.end - tr.start + 1)
    } else {
        (tr.end - vf.end + 1, tr.end - vf.start + 1)
    };
    let insertion = empty(vf.ref_allele).is_empty();
    let mut alt = if insertion {
        shift.alt.clone()
    } else {
        vf.alt.to_string()
    };
    if strand < 0 {
        alt = reverse_complement(&alt);
    }
    let seq = |a: i64, b: i64| slice.seq(a, b);
    if let Some(mut n) = variant_notation(&alt, &seq, s + shift.length, e + shift.length) {
        if n.kind != "dup" {
            clip(&mut n);
        }
        let start = slice.cdna_position(n.start);
        let end = if n.start == n.end {
            start.clone()
        } else {
            slice.cdna_position(n.end)
        };
        if let (Some(mut a), Some(mut b)) = (start, end) {
            let (pa, pb) = (parse_position(&a), parse_position(&b));
            if (pa.0 > pb.0 || (pa.0 == pb.0 && pa.1 > pb.1)) && !b.contains('*') {
                std::mem::swap(&mut a, &mut b);
            }
            let numbering = if tr.cdna_coding_start.is_some() || tx.coding.is_some() {
                "c"
            } else {
                "n"
            };
            out.hgvsc = format_nucleotide(&n, &a, &b).map(|body| {
                format!(
                    "{}:{numbering}.{body}",
                    versioned(&tr.stable_id, tr.version)
                )
            });
        }
    }
    out.hgvsp = protein(tx, vf, tva, &shift).map(|p| p.replace('=', "%3D"));
    if shift.length != 0 && (out.hgvsc.is_some() || out.hgvsp.is_some()) {
        out.offset = Some(shift.length * i64::from(strand.signum()));
    }
    out
}

/// BioPerl seq3 with VEP's `Xaa` -> `Ter`.
fn three_letter(pep: &str) -> String {
    pep.chars()
        .map(|c| match c {
            'A' => "Ala",
            'R' => "Arg",
            'N' => "Asn",
            'D' => "Asp",
            'C' => "Cys",
            'Q' => "Gln",
            'E' => "Glu",
            'G' => "Gly",
            'H' => "His",
            'I' => "Ile",
            'L' => "Leu",
            'K' => "Lys",
            'M' => "Met",
            'F' => "Phe",
            'P' => "Pro",
            'S' => "Ser",
            'T' => "Thr",
            'W' => "Trp",
            'Y' => "Tyr",
            'V' => "Val",
            'B' => "Asx",
            'Z' => "Glx",
            'U' => "Sec",
            'O' => "Pyl",
            'J' => "Xle",
            '*' | 'X' => "Ter",
            _ => "Xaa",
        })
        .collect()
}

/// Whole codons of `seq` translated with the standard table (BioPerl's
/// `translate()` as VEP calls it, a trailing partial codon dropped).
fn translate_all(seq: &str) -> String {
    seq.as_bytes()
        .chunks_exact(3)
        .map(|c| translate_codon(c, 1) as char)
        .collect()
}

/// Protein-level notation being built (`$hgvs_notation` of hgvs_protein).
#[derive(Debug, Clone)]
struct PNote {
    start: i64,
    end: i64,
    reference: String,
    alt: String,
    kind: String,
    original_ref: String,
    preseq: String,
}

struct ProteinCtx<'a> {
    tx: &'a TxView,
    /// CDS span of the (shifted) allele.
    cds: (i64, i64),
    /// The allele on the transcript strand, after the shift.
    alt_seq: String,
    ref_len: usize,
    alt_len: usize,
    frameshift: bool,
    start_lost: bool,
    stop_lost: bool,
}

impl ProteinCtx<'_> {
    fn peptide(&self) -> &str {
        self.tx.peptide.as_deref().unwrap_or("")
    }

    /// `_get_alternate_cds` (with the 3' UTR) translated.
    fn alternate_translation(&self) -> Option<String> {
        let cds = self.tx.translateable.as_deref()?;
        let (cs, ce) = self.cds;
        let up = cds.get(..(cs - 1).clamp(0, cds.len() as i64) as usize)?;
        let down = cds.get(ce.clamp(0, cds.len() as i64) as usize..)?;
        let utr = self.tx.three_utr.as_deref().unwrap_or("");
        Some(translate_all(&format!("{up}{}{down}{utr}", self.alt_seq)))
    }

    /// `_stop_loss_extra_AA`: residues to the first stop of the alternate
    /// translation, from the first changed residue (frameshifts) or past the
    /// reference stop.
    fn extra_aa(&self, ref_var_pos: i64, frameshift: bool) -> Option<i64> {
        if ref_var_pos == 0 {
            return None;
        }
        let alt = self.alternate_translation()?;
        let stop = alt.find('*')? as i64 + 1;
        let extra = if frameshift {
            stop - ref_var_pos
        } else {
            stop - 1 - self.peptide().len() as i64
        };
        (extra > 0).then_some(extra)
    }

    /// `_get_surrounding_peptides`.
    fn surrounding(&self, pos: i64, original_ref: &str, length: Option<usize>) -> Option<String> {
        let mut pep = self.peptide().to_string();
        if original_ref.starts_with('*') {
            pep.push_str(original_ref);
        }
        if pep.len() as i64 <= pos || pos < 1 {
            return None;
        }
        let rest = &pep[(pos - 1) as usize..];
        Some(match length {
            Some(n) => rest.chars().take(n).collect(),
            None => rest.to_string(),
        })
    }

    /// `_check_peptides_post_var` + `_shift_3prime` on peptides.
    fn shift_post(&self, n: &mut PNote) {
        let Some(post) = self.surrounding(n.end + 1, &n.original_ref, None) else {
            return;
        };
        let mut seq: Vec<u8> = match n.kind.as_str() {
            "ins" => n.alt.clone().into_bytes(),
            "del" => n.reference.clone().into_bytes(),
            _ => return,
        };
        if seq.is_empty() {
            return;
        }
        let post = post.as_bytes();
        for &p in post.iter().take((post.len() + 1).saturating_sub(seq.len())) {
            if seq[0] != p {
                break;
            }
            n.start += 1;
            n.end += 1;
            seq.rotate_left(1);
        }
        let seq = String::from_utf8_lossy(&seq).into_owned();
        if n.kind == "ins" {
            n.alt = seq;
        } else {
            n.reference = seq;
        }
    }
}

/// `_clip_alleles` on peptides; `=` when a stop is re-created.
fn clip_peptides(n: &mut PNote) {
    n.original_ref = n.reference.clone();
    let (mut r, mut a) = (n.reference.clone(), n.alt.clone());
    let mut pre = String::new();
    while !r.is_empty() {
        let (x, y) = (r.as_bytes()[0], a.as_bytes().first().copied());
        if x == b'*' && y == Some(b'*') {
            n.kind = "=".into();
            return;
        }
        if Some(x) != y {
            break;
        }
        n.start += 1;
        pre.push(x as char);
        r.remove(0);
        a.remove(0);
    }
    while !r.is_empty() && !a.is_empty() && r.as_bytes()[r.len() - 1] == a.as_bytes()[a.len() - 1] {
        r.pop();
        a.pop();
        n.end -= 1;
    }
    n.preseq = pre;
    if r == a {
        n.kind = "=".into();
    }
    if r.is_empty() && !a.is_empty() {
        n.kind = "ins".into();
    }
    if !r.is_empty() && a.is_empty() {
        n.kind = "del".into();
    }
    n.reference = r;
    n.alt = a;
}

/// `hgvs_protein`.
fn protein(tx: &TxView, vf: &VfAllele, tva: &TvaRow, shift: &Shift) -> Option<String> {
    let tr = &tx.tr;
    let translation = tr.translation.as_ref()?;
    let coding = tx.coding?;
    // _pre_consequence_predicates' `coding`, on the unshifted allele.
    if !overlap(vf.start, vf.end, coding.genomic_start, coding.genomic_end) {
        return None;
    }
    let strand = tx.strand();
    let delta = shift.length * i64::from(strand.signum());
    let insertion = empty(vf.ref_allele).is_empty();
    let moved_ref = if insertion {
        "-".to_string()
    } else {
        shift.moved.clone()
    };
    let moved_alt = if insertion {
        shift.moved.clone()
    } else {
        shift.alt.clone()
    };
    let moved = VfAllele {
        start: vf.start + delta,
        end: vf.end + delta,
        ref_allele: &moved_ref,
        alt: &moved_alt,
    };
    let view = protein_view(tx, &moved);
    let (Some(ps), Some(pe)) = view.protein else {
        return None;
    };
    let (Some(cs), Some(ce)) = view.cds else {
        return None;
    };
    let on_strand = |s: &str| {
        let s = empty(s).to_ascii_uppercase();
        if strand < 0 {
            reverse_complement(&s)
        } else {
            s
        }
    };
    let ctx = ProteinCtx {
        tx,
        cds: (cs, ce),
        alt_seq: on_strand(&moved_alt),
        ref_len: empty(vf.ref_allele).len(),
        alt_len: empty(vf.alt).len(),
        frameshift: tva.terms.contains(&Term::Frameshift),
        start_lost: tva.terms.contains(&Term::StartLost),
        stop_lost: tva.terms.contains(&Term::StopLost),
    };
    let mut n = PNote {
        start: ps,
        end: pe,
        reference: view.ref_pep.clone().unwrap_or_default(),
        alt: view.alt_pep.clone().unwrap_or_default(),
        kind: String::new(),
        original_ref: String::new(),
        preseq: String::new(),
    };
    let peps_known = view.ref_pep.is_some() && view.alt_pep.is_some();
    if peps_known && n.alt != n.reference {
        clip_peptides(&mut n);
    }
    protein_type(&ctx, &mut n, peps_known)?;
    peptides(&ctx, &mut n)?;
    let name = versioned(
        translation.stable_id.as_deref().or(tr.protein.as_deref())?,
        translation.version,
    );
    Some(format!("{name}:p.{}", format_protein(&ctx, &mut n)))
}

/// `_get_hgvs_protein_type`.
fn protein_type(ctx: &ProteinCtx, n: &mut PNote, peps_known: bool) -> Option<()> {
    if ctx.frameshift {
        n.kind = "fs".into();
        return Some(());
    }
    if peps_known {
        n.reference = n.reference.replacen('*', "X", 1);
        n.alt = n.alt.replacen('*', "X", 1);
        let (r, a) = (n.reference.len(), n.alt.len());
        n.kind = if n.reference.is_empty() || n.reference == "-" {
            "ins"
        } else if n.alt.is_empty() || n.alt == "-" {
            "del"
        } else if r == 1 && a == 1 {
            ">"
        } else if (a > 0 && r > 0 && a != r) || (a > 1 && r > 1) {
            "delins"
        } else {
            ">"
        }
        .into();
        return Some(());
    }
    // No peptides: the DNA allele lengths decide.
    if ctx.alt_len > 1 {
        n.kind = if n.start == n.end + 1 {
            "ins"
        } else if n.start != n.end {
            "delins"
        } else {
            ">"
        }
        .into();
    } else if ctx.ref_len > 1 {
        n.kind = "del".into();
    } else {
        return None;
    }
    Some(())
}

/// `_get_hgvs_peptides`: HGVS's reference and allele residues.
fn peptides(ctx: &ProteinCtx, n: &mut PNote) -> Option<()> {
    match n.kind.as_str() {
        "fs" => {
            // _get_fs_peptides: the first residue the new frame changes.
            let alt = ctx.alternate_translation()?;
            let mut reference = ctx.peptide().to_string();
            reference.push('*');
            if n.start > alt.len() as i64 {
                n.alt = "del".into();
                n.kind = "del".into();
            } else {
                while n.start <= alt.len() as i64 {
                    let at = (n.start - 1) as usize;
                    n.reference = reference.get(at..at + 1).unwrap_or("").to_string();
                    n.alt = alt[at..at + 1].to_string();
                    if n.reference == "*" && n.alt == "*" {
                        n.kind = "=".into();
                        break;
                    }
                    if n.reference != n.alt {
                        break;
                    }
                    n.start += 1;
                }
            }
        }
        "ins" => {
            ctx.shift_post(n);
            if !n.alt.contains('*') && duplication(ctx, n) {
                return Some(());
            }
            let min = n.start.min(n.end);
            n.reference = ctx.surrounding(min, &n.original_ref, Some(2))?;
        }
        "del" => ctx.shift_post(n),
        _ => {}
    }
    if n.reference != "-" {
        n.reference = three_letter(&n.reference);
    }
    n.alt = if n.alt == "-" {
        "del".into()
    } else {
        three_letter(&n.alt)
    };
    if ctx.start_lost {
        n.alt = "?".into();
        n.kind = String::new();
    } else if n.kind == "del" {
        if !n.reference.is_empty() {
            n.alt = "del".into();
        }
    } else if n.kind == "fs" {
        n.reference = n.reference.chars().take(3).collect();
    }
    Some(())
}

/// `_check_for_peptide_duplication`: inserted residues equal to the ones
/// just before make a `dup`.
fn duplication(ctx: &ProteinCtx, n: &mut PNote) -> bool {
    let Some(cds) = ctx.tx.translateable.as_deref() else {
        return false;
    };
    let full = translate_all(cds);
    let mut upstream: String = full.chars().take((n.start - 1).max(0) as usize).collect();
    upstream.push_str(&n.preseq);
    let len = n.alt.len() as i64;
    let at = n.start - len - 1;
    if at < 0 || (upstream.len() as i64) < at + len {
        return false;
    }
    if upstream[at as usize..(at + len) as usize] != n.alt {
        return false;
    }
    n.kind = "dup".into();
    n.end = n.start - 1;
    n.start -= len;
    n.alt = three_letter(&n.alt);
    true
}

fn first3(s: &str) -> String {
    s.chars().take(3).collect()
}

fn last3(s: &str) -> String {
    let n = s.chars().count();
    s.chars().skip(n.saturating_sub(3)).collect()
}

/// `_get_hgvs_protein_format`: the text after `p.`.
fn format_protein(ctx: &ProteinCtx, n: &mut PNote) -> String {
    if n.reference == n.alt && n.kind != "fs" && n.kind != "ins" {
        return format!("{}{}=", n.reference, n.start);
    }
    if ctx.stop_lost && (n.kind == "del" || n.kind == ">") {
        let alt = first3(&n.alt);
        let extra = ctx
            .extra_aa(n.start - 1, false)
            .map_or("?".to_string(), |x| x.to_string());
        return format!("{}{}{alt}extTer{extra}", n.reference, n.start);
    }
    match n.kind.as_str() {
        "dup" if n.start < n.end => format!(
            "{}{}_{}{}dup",
            first3(&n.alt),
            n.start,
            last3(&n.alt),
            n.end
        ),
        "dup" => format!("{}{}dup", n.alt, n.start),
        ">" => format!("{}{}{}", n.reference, n.start, n.alt),
        "delins" | "ins" => {
            // Residues after a new stop are not listed.
            if let Some(i) = n.alt.find("Ter") {
                n.alt.truncate(i + 3);
            }
            let first = first3(&n.reference);
            let last = last3(&n.reference);
            if n.start == n.end && n.kind == "delins" {
                format!("{first}{}delins{}", n.start, n.alt)
            } else {
                let (s, e) = (n.start.min(n.end), n.start.max(n.end));
                format!("{first}{s}_{last}{e}{}{}", n.kind, n.alt)
            }
        }
        "fs" if n.alt == "Ter" => format!("{}{}{}", n.reference, n.start, n.alt),
        "fs" => {
            let extra = ctx
                .extra_aa(n.start - 1, true)
                .map_or("?".to_string(), |x| x.to_string());
            format!("{}{}{}fsTer{extra}", n.reference, n.start, n.alt)
        }
        "del" if n.reference.len() > 3 => format!(
            "{}{}_{}{}del",
            first3(&n.reference),
            n.start,
            last3(&n.reference),
            n.end
        ),
        "del" => format!("{}{}del", n.reference, n.start),
        _ if n.start != n.end => format!("{}{}_{}{}", n.reference, n.start, n.alt, n.end),
        _ => format!("{}{}{}", n.reference, n.start, n.alt),
    }
}

/// HGVSg (`--hgvsg`): the allele on the chromosome, moved 3' on the forward
/// strand, `g.` numbering, named by the input chromosome.
pub fn genomic_hgvs(w: &Window, chrom: &str, vf: &VfAllele, shiftable: bool) -> Option<String> {
    if !acgt(vf.alt) || vf.alt == "*" {
        return None;
    }
    let shift = shift_3prime(w, vf, 1, shiftable);
    let insertion = empty(vf.ref_allele).is_empty();
    let alt = if insertion {
        shift.alt.clone()
    } else {
        vf.alt.to_string()
    };
    let seq = |a: i64, b: i64| w.get(a, b);
    let mut n = variant_notation(&alt, &seq, vf.start + shift.length, vf.end + shift.length)?;
    if n.kind != "dup" {
        clip(&mut n);
    }
    format_nucleotide(&n, &n.start.to_string(), &n.end.to_string())
        .map(|body| format!("{chrom}:g.{body}"))
}

#[cfg(test)]
mod tests;
