//! VCF records as VEP reads them (ensembl-vep Parser/VCF.pm): indels lose
//! their shared first base, `-` stands for an empty allele, insertions sit
//! between `end` and `start = end + 1`; and VARIANT_CLASS
//! (Utils::Sequence::SO_variation_class) of the resulting allele string.

/// A variant in VEP's coordinates, alleles on the forward strand.
#[derive(Debug, Clone, PartialEq)]
pub struct VepVariant {
    pub start: i64,
    pub end: i64,
    /// Reference allele, `-` when empty (insertions).
    pub ref_allele: String,
    /// Alternate alleles in VCF order, `-` when empty (deletions).
    pub alts: Vec<String>,
}

/// Why a VCF record yields no VEP variant.
#[derive(Debug, Clone, PartialEq)]
pub enum Skip {
    /// ALT is `.` or missing: VEP skips non-variant lines by default.
    NonVariant,
    /// `<DEL>`, `<DUP>`, breakends: read by the structural-variant path.
    Symbolic,
    /// An allele string VEP's validate_vf rejects (no A, C, G, T or `-` in it).
    Invalid(String),
}

/// Alleles that stand for a deletion reported on another line: VEP gives
/// them no consequence (VariationFeatureOverlap's `_raw_allele_hashes`).
fn is_spanning_deletion(a: &str) -> bool {
    a == "*" || a == "<DEL:*>"
}

impl VepVariant {
    /// Converts one VCF record (1-based POS) as VEP's VCF parser does
    /// (Parser/VCF.pm create_VariationFeatures, then Parser::validate_vf).
    pub fn from_vcf(pos: i64, reference: &str, alt: Option<&str>) -> Result<VepVariant, Skip> {
        let reference = reference.trim();
        let mut alts: Vec<&str> = match alt.map(str::trim) {
            None | Some("") => return Err(Skip::NonVariant),
            Some(a) => a.split(',').map(str::trim).collect(),
        };
        // Perl's split drops trailing empty fields: `T,` is `T`.
        while alts.last() == Some(&"") {
            alts.pop();
        }
        if alts.first().is_none_or(|a| *a == ".") {
            return Err(Skip::NonVariant);
        }
        if super::sv::is_structural(reference, &alts, None) {
            return Err(Skip::Symbolic);
        }
        if reference.is_empty() || !reference.is_ascii() || alts.iter().any(|a| !a.is_ascii()) {
            return Err(Skip::Invalid(format!(
                "REF '{reference}' ALT '{}'",
                alts.join(",")
            )));
        }
        // The record spans REF as written, whatever trimming does to it.
        let end = pos + reference.len() as i64 - 1;
        let mut start = pos;
        let mut reference = reference.to_string();
        let mut alts: Vec<String> = alts.into_iter().map(str::to_string).collect();
        let is_indel = alts
            .iter()
            .any(|a| a.starts_with(['D', 'I']) || a.len() != reference.len());
        // First bases are compared as written, before validate_vf uppercases.
        let first = |s: &str| s.as_bytes().first().copied();
        let trim = if !is_indel {
            false
        } else if alts.len() > 1 {
            // Every allele shares its first base, `*`-types aside.
            let mut firsts = std::iter::once(&reference)
                .chain(alts.iter())
                .filter(|a| !a.contains('*'))
                .map(|a| first(a));
            let f = firsts.next().flatten();
            firsts.all(|x| x == f)
        } else {
            first(&reference) == first(&alts[0])
        };
        if trim {
            reference = reference[1..].to_string();
            for a in alts.iter_mut().filter(|a| !a.contains('*')) {
                *a = a[1..].to_string();
            }
            start += 1;
        }
        let allele = |s: String| {
            if s.is_empty() {
                "-".to_string()
            } else {
                s.to_ascii_uppercase()
            }
        };
        let v = VepVariant {
            start,
            end,
            ref_allele: allele(reference),
            alts: alts.into_iter().map(allele).collect(),
        };
        // validate_vf: `/([ACGT-]+\/*)+/`, unanchored, on the allele string.
        if !v.allele_string().bytes().any(|b| b"ACGT-".contains(&b)) {
            return Err(Skip::Invalid(format!(
                "allele string {}",
                v.allele_string()
            )));
        }
        Ok(v)
    }

    /// `REF/ALT1/ALT2` as VEP writes it.
    pub fn allele_string(&self) -> String {
        let mut s = self.ref_allele.clone();
        for a in &self.alts {
            s.push('/');
            s.push_str(a);
        }
        s
    }

    /// The alleles VEP computes consequences for, each once, in ALT order:
    /// not the reference itself, not `*` or `<DEL:*>` (a deletion reported
    /// on another line).
    pub fn annotated_alts(&self) -> impl Iterator<Item = &String> {
        self.alts.iter().enumerate().filter_map(move |(i, a)| {
            let fresh = !self.alts[..i].contains(a);
            (fresh && !is_spanning_deletion(a) && *a != self.ref_allele).then_some(a)
        })
    }

    /// VARIANT_CLASS: SO_variation_class of the allele string.
    pub fn variant_class(&self) -> &'static str {
        so_variation_class(&self.allele_string())
    }
}

/// Whether VEP's parser makes a variant of a VCF data line, which is what its
/// `--vcf` output writes: not a non-variant line, nor an allele string
/// validate_vf rejects; a structural record (SVTYPE, symbolic ALT) always.
pub fn reads_vcf_line(line: &str) -> bool {
    let f: Vec<&str> = line.splitn(9, '\t').collect();
    let (Some(pos), Some(reference), Some(alt)) = (
        f.get(1).and_then(|p| p.parse::<i64>().ok()),
        f.get(3),
        f.get(4),
    ) else {
        // What the VCF reader accepted but this cannot read is kept as it is.
        return true;
    };
    let svtype = f.get(7).is_some_and(|info| {
        info.split(';')
            .any(|kv| kv.split('=').next() == Some("SVTYPE"))
    });
    match VepVariant::from_vcf(pos, reference, Some(alt)) {
        Ok(_) | Err(Skip::Symbolic) => true,
        Err(Skip::NonVariant) => false,
        Err(Skip::Invalid(_)) => svtype,
    }
}

/// Utils::Sequence::SO_variation_class with the first allele the reference.
pub fn so_variation_class(alleles: &str) -> &'static str {
    let parts: Vec<&str> = alleles.split('/').collect();
    let upper = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_uppercase());
    if parts.len() > 1 && parts.iter().all(|p| p.len() == 1 && upper(p)) {
        return "SNV";
    }
    if parts.len() > 1 && parts.iter().all(|p| upper(p)) {
        return "substitution";
    }
    if parts.len() > 1 {
        let (reference, rest) = (parts[0], &parts[1..]);
        if reference == "-" {
            if rest.iter().all(|a| upper(a) || a.contains("INS")) {
                return "insertion";
            }
            if rest.len() == 1 && rest[0].contains("DEL") {
                return "deletion";
            }
        } else if upper(reference) && rest.iter().all(|a| a.contains('-') || a.contains("DEL")) {
            return "deletion";
        }
    }
    "sequence_alteration"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(pos: i64, r: &str, a: &str) -> VepVariant {
        VepVariant::from_vcf(pos, r, Some(a)).unwrap()
    }

    #[test]
    fn vcf_conversion() {
        let d = v(25769083, "CT", "C");
        assert_eq!(
            (d.start, d.end, d.ref_allele.as_str()),
            (25769084, 25769084, "T")
        );
        assert_eq!(d.alts, vec!["-"]);
        assert_eq!(d.variant_class(), "deletion");
        let i = v(25769085, "T", "TT");
        assert_eq!(
            (i.start, i.end, i.ref_allele.as_str()),
            (25769086, 25769085, "-")
        );
        assert_eq!(i.alts, vec!["T"]);
        assert_eq!(i.variant_class(), "insertion");
        let s = v(100, "C", "T");
        assert_eq!((s.start, s.end), (100, 100));
        assert_eq!(s.variant_class(), "SNV");
        // Multi-allelic: trimmed only when every allele shares the first base.
        let m = v(100, "CA", "C,CAA");
        assert_eq!((m.start, m.end), (101, 101));
        assert_eq!(m.alts, vec!["-", "AA"]);
        assert_eq!(m.variant_class(), "sequence_alteration");
        let n = v(100, "CA", "G,CAA");
        assert_eq!((n.start, n.end, n.ref_allele.as_str()), (100, 101, "CA"));
        let star = v(100, "CA", "C,*");
        assert_eq!(star.alts, vec!["-", "*"]);
        assert_eq!(star.annotated_alts().count(), 1);
        let gvcf = v(100, "CA", "C,<DEL:*>");
        assert_eq!(
            (gvcf.start, gvcf.alts.clone()),
            (101, vec!["-".into(), "<DEL:*>".into()])
        );
        assert_eq!(gvcf.annotated_alts().collect::<Vec<_>>(), ["-"]);
        // `<*>` is no structural allele to VEP (its pattern needs a non-`*`
        // between the brackets): the record is read, `<*>` an allele of it.
        let any = v(100, "C", "G,<*>");
        assert_eq!(any.annotated_alts().collect::<Vec<_>>(), ["G", "<*>"]);
        // A lone `*` of a longer REF is not trimmed (`A` is not `*`).
        let lone = v(100, "AT", "*");
        assert_eq!((lone.start, lone.ref_allele.as_str()), (100, "AT"));
        assert_eq!(lone.annotated_alts().count(), 0);
        assert_eq!(v(5, "AT", "GC").variant_class(), "substitution");
        assert_eq!(v(5, "C", "C").annotated_alts().count(), 0);
    }

    #[test]
    fn read_as_written() {
        // First bases compared before uppercasing: `c` is not `C`.
        let cased = v(100, "cT", "C");
        assert_eq!(
            (cased.start, cased.end, cased.ref_allele.as_str()),
            (100, 101, "CT")
        );
        assert_eq!(cased.alts, vec!["C"]);
        assert_eq!(cased.variant_class(), "substitution");
        let lower = v(100, "ct", "c");
        assert_eq!((lower.start, lower.ref_allele.as_str()), (101, "T"));
        assert_eq!(lower.alts, vec!["-"]);
        // IUPAC codes pass validate_vf (any A/C/G/T/- in the allele string).
        assert_eq!(v(100, "C", "Y").annotated_alts().collect::<Vec<_>>(), ["Y"]);
        assert_eq!(v(100, "C", "Y").variant_class(), "SNV");
        assert_eq!(v(100, "Y", "T").ref_allele, "Y");
        // `-` as ALT: a deletion of the REF base, not trimmed (same length).
        let dash = v(100, "C", "-");
        assert_eq!(
            (dash.start, dash.end, dash.variant_class()),
            (100, 100, "deletion")
        );
        // Repeated ALTs are one allele; a trailing comma is no allele.
        assert_eq!(v(100, "C", "T,T").annotated_alts().count(), 1);
        assert_eq!(v(100, "C", "T,").alts, vec!["T"]);
    }

    #[test]
    fn vcf_lines_vep_writes() {
        assert!(reads_vcf_line("21\t100\t.\tC\tT\t.\t.\t."));
        assert!(reads_vcf_line(
            "21\t100\t.\tC\t<DEL>\t.\t.\tSVTYPE=DEL;END=200"
        ));
        assert!(reads_vcf_line("21\t100\t.\tN\tN\t.\t.\tSVTYPE=CNV;END=200"));
        assert!(!reads_vcf_line("21\t100\t.\tC\t.\t.\t.\t."));
        assert!(!reads_vcf_line("21\t100\t.\tN\tN\t.\t.\t."));
    }

    #[test]
    fn skipped_records() {
        assert_eq!(VepVariant::from_vcf(1, "A", None), Err(Skip::NonVariant));
        assert_eq!(
            VepVariant::from_vcf(1, "A", Some(".")),
            Err(Skip::NonVariant)
        );
        assert_eq!(
            VepVariant::from_vcf(1, "A", Some("<DEL>")),
            Err(Skip::Symbolic)
        );
        // No A, C, G, T or `-` anywhere in the allele string.
        assert!(matches!(
            VepVariant::from_vcf(1, "N", Some("N")),
            Err(Skip::Invalid(_))
        ));
        assert!(matches!(
            VepVariant::from_vcf(1, "N", Some("*")),
            Err(Skip::Invalid(_))
        ));
        assert!(matches!(
            VepVariant::from_vcf(1, "É", Some("A")),
            Err(Skip::Invalid(_))
        ));
    }
}
