//! What kind of variant an ALT allele is, decided as bcftools decides it
//! (htslib 1.16 `bcf_set_variant_type`, which `bcftools stats` counts by), and
//! whether an SNP is a transition or a transversion (`bcftools stats`' TSTV).
//!
//! htslib's rules, in order:
//! - `*` (a deletion overlapping from upstream) is OVERLAP, counted nowhere;
//! - one-base REF and ALT: REF when ALT is `.`, `X` or the same base (case
//!   sensitive here, so `A>a` is an SNP), else SNP (`N` included);
//! - symbolic `<...>`: REF for `<X>`, `<*>` and `<NON_REF>` (gVCF/mpileup
//!   placeholders), OTHER for every other one (`<DEL>`, `<INS>`, `<CN2>` ...);
//! - an ALT opening with `[` or `]` is a breakend (BND), counted nowhere;
//! - otherwise the common prefix is trimmed (case-insensitive): an ALT that
//!   extends REF is an insertion (a breakend when it goes on with `[`/`]`), a
//!   REF that extends ALT a deletion, equal strings REF; then the common suffix
//!   is trimmed: one base left on each side is an SNP, a pure length change an
//!   indel, equal-length differences an MNP (`AC>GT`), anything else OTHER
//!   (`ACG>AT`, `ACT>TCGA`).

/// htslib's variant type bits (`VCF_SNP` ...); `0` is `VCF_REF`.
pub const SNP: u8 = 1;
pub const MNP: u8 = 2;
pub const INDEL: u8 = 4;
pub const OTHER: u8 = 8;
pub const BND: u8 = 16;
pub const OVERLAP: u8 = 32;

/// One ALT allele against REF: its type bit (0 for REF) and, for an indel,
/// its length (positive for insertions, negative for deletions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allele {
    pub kind: u8,
    pub len: i32,
}

impl Allele {
    const fn of(kind: u8, len: i32) -> Allele {
        Allele { kind, len }
    }

    /// The name `variant_type()` returns: bcftools' categories, with indels
    /// split into INS and DEL by the sign of their length.
    pub fn name(self) -> &'static str {
        match self.kind {
            SNP => "SNP",
            MNP => "MNP",
            INDEL if self.len > 0 => "INS",
            INDEL => "DEL",
            OTHER => "OTHER",
            BND => "BND",
            OVERLAP => "OVERLAP",
            _ => "REF",
        }
    }
}

fn same(a: u8, b: u8) -> bool {
    a.eq_ignore_ascii_case(&b)
}

/// Classifies `alt` against `reference` (one allele, no commas).
pub fn classify(reference: &[u8], alt: &[u8]) -> Allele {
    if alt == b"*" {
        return Allele::of(OVERLAP, 0);
    }
    // An empty allele (`A,` in ALT) is not a variant to htslib either.
    if alt.is_empty() || reference.is_empty() {
        return Allele::of(0, 0);
    }
    if reference.len() == 1 && alt.len() == 1 {
        let (r, a) = (reference[0], alt[0]);
        if a == b'.' || a == r || a == b'X' {
            return Allele::of(0, 0);
        }
        return Allele::of(SNP, 1);
    }
    if alt[0] == b'<' {
        if alt.starts_with(b"<X>") || alt.starts_with(b"<*>") || alt == b"<NON_REF>" {
            return Allele::of(0, 0);
        }
        return Allele::of(OTHER, 0);
    }
    if alt[0] == b'[' || alt[0] == b']' {
        return Allele::of(BND, 0);
    }
    let (rl, al) = (reference.len(), alt.len());
    let mut i = 0;
    while i < rl && i < al && same(reference[i], alt[i]) {
        i += 1;
    }
    if i < al && i == rl {
        if alt[i] == b'[' || alt[i] == b']' {
            return Allele::of(BND, 0);
        }
        return Allele::of(INDEL, al as i32 - rl as i32);
    }
    if i < rl && i == al {
        return Allele::of(INDEL, al as i32 - rl as i32);
    }
    if i == rl && i == al {
        return Allele::of(0, 0);
    }
    // Both have bases left after the prefix: trim the common suffix, keeping
    // at least one base on each side.
    let (mut re, mut ae) = (rl - 1, al - 1);
    while re > i && ae > i && same(reference[re], alt[ae]) {
        re -= 1;
        ae -= 1;
    }
    let (dr, da) = ((re - i) as i32, (ae - i) as i32);
    if ae == i {
        if re == i {
            return Allele::of(SNP, 1);
        }
        let kind = if same(reference[re], alt[ae]) {
            INDEL
        } else {
            OTHER
        };
        return Allele::of(kind, -dr);
    }
    if re == i {
        let kind = if same(reference[re], alt[ae]) {
            INDEL
        } else {
            OTHER
        };
        return Allele::of(kind, da);
    }
    let kind = if dr == da { MNP } else { OTHER };
    let len = if dr > da { -(dr + 1) } else { da + 1 };
    Allele::of(kind, len)
}

/// htslib's `bcf_acgt2int`: A, C, G, T (any case) as 0 to 3, else -1.
pub fn acgt(base: u8) -> i32 {
    match base.to_ascii_uppercase() {
        b'A' => 0,
        b'C' => 1,
        b'G' => 2,
        b'T' => 3,
        _ => -1,
    }
}

/// Transition or transversion, as `bcftools stats` counts an SNP allele in
/// TSTV: from the first base of REF and of the allele, both A/C/G/T and
/// different (so `ACG>TCG`, an SNP at the first base, is A>T); `None` when
/// the allele is not counted (not an SNP, `N`, or the same base).
pub fn substitution(reference: &[u8], allele: Allele, alt: &[u8]) -> Option<Substitution> {
    if allele.kind != SNP {
        return None;
    }
    let r = acgt(*reference.first()?);
    let a = acgt(*alt.first()?);
    if r < 0 || a < 0 || r == a {
        return None;
    }
    Some(if (r - a).abs() == 2 {
        Substitution::Transition
    } else {
        Substitution::Transversion
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Substitution {
    Transition,
    Transversion,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(r: &str, a: &str) -> &'static str {
        classify(r.as_bytes(), a.as_bytes()).name()
    }

    fn len(r: &str, a: &str) -> i32 {
        classify(r.as_bytes(), a.as_bytes()).len
    }

    #[test]
    fn snps_mnps_and_reference_alleles() {
        assert_eq!(kind("A", "C"), "SNP");
        assert_eq!(kind("a", "G"), "SNP");
        assert_eq!(kind("A", "N"), "SNP");
        assert_eq!(kind("N", "A"), "SNP");
        // htslib compares single bases case-sensitively...
        assert_eq!(kind("A", "a"), "SNP");
        // ...but trims prefixes and suffixes case-insensitively.
        assert_eq!(kind("AC", "Ac"), "REF");
        assert_eq!(kind("ACG", "Tcg"), "SNP");
        assert_eq!(kind("ACG", "TCG"), "SNP");
        assert_eq!(kind("ACGTA", "ACTTA"), "SNP");
        assert_eq!(kind("AC", "GT"), "MNP");
        assert_eq!(kind("AT", "TA"), "MNP");
        assert_eq!(kind("ACGT", "ATGA"), "MNP");
        for alt in [".", "A", "X", "<X>", "<*>", "<NON_REF>", ""] {
            assert_eq!(kind("A", alt), "REF", "A>{alt}");
        }
        assert_eq!(kind("AT", "<NON_REF>"), "REF");
        assert_eq!(kind("N", "."), "REF");
    }

    #[test]
    fn indels_and_their_lengths() {
        assert_eq!((kind("ACG", "A"), len("ACG", "A")), ("DEL", -2));
        assert_eq!((kind("A", "ACG"), len("A", "ACG")), ("INS", 2));
        assert_eq!((kind("A", "acg"), len("A", "acg")), ("INS", 2));
        assert_eq!((kind("AAC", "A"), len("AAC", "A")), ("DEL", -2));
        assert_eq!((kind("AGGT", "AG"), len("AGGT", "AG")), ("DEL", -2));
        assert_eq!((kind("ACGT", "ACGTT"), len("ACGT", "ACGTT")), ("INS", 1));
        // Suffix-anchored: G>.G inserts one base before the G.
        assert_eq!((kind("G", ".G"), len("G", ".G")), ("INS", 1));
        assert_eq!(kind("A", "A."), "INS");
    }

    #[test]
    fn complex_symbolic_breakends_and_overlaps() {
        assert_eq!(kind("ACG", "AT"), "OTHER");
        assert_eq!(kind("ACT", "TCGA"), "OTHER");
        assert_eq!(kind("ACGT", "AG"), "OTHER");
        assert_eq!(kind("AC", "X"), "OTHER");
        assert_eq!(kind("A", "<DEL>"), "OTHER");
        assert_eq!(kind("A", "<>"), "OTHER");
        assert_eq!(kind("A", "*"), "OVERLAP");
        assert_eq!(kind("AC", "*"), "OVERLAP");
        assert_eq!(kind("G", "G]17:198982]"), "BND");
        assert_eq!(kind("T", "]13:123456]T"), "BND");
        assert_eq!(kind("A", "A[1:5["), "BND");
        // Not a breakend to htslib 1.16: the bracket follows a changed base.
        assert_eq!(kind("AC", "G]1:5]"), "OTHER");
        assert_eq!(kind("A", "C]"), "OTHER");
        // One base each after trimming: an SNP, whatever the character.
        assert_eq!(kind("AC", "A]"), "SNP");
        assert_eq!(kind("A", "]"), "SNP");
    }

    #[test]
    fn transitions_and_transversions() {
        let sub = |r: &str, a: &str| {
            substitution(
                r.as_bytes(),
                classify(r.as_bytes(), a.as_bytes()),
                a.as_bytes(),
            )
        };
        use Substitution::*;
        assert_eq!(sub("A", "G"), Some(Transition));
        assert_eq!(sub("c", "T"), Some(Transition));
        assert_eq!(sub("A", "C"), Some(Transversion));
        assert_eq!(sub("G", "T"), Some(Transversion));
        // The first bases decide, as in bcftools: ACG>TCG is A>T.
        assert_eq!(sub("ACG", "TCG"), Some(Transversion));
        // An SNP inside (ACGTA>ACTTA) has equal first bases: not counted.
        assert_eq!(sub("ACGTA", "ACTTA"), None);
        assert_eq!(sub("A", "a"), None);
        assert_eq!(sub("A", "N"), None);
        assert_eq!(sub("N", "A"), None);
        assert_eq!(sub("A", "AT"), None);
        assert_eq!(sub("AC", "GT"), None);
        assert_eq!(sub("A", "."), None);
    }
}
