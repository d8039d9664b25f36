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
    /// `<DEL>`, `<DUP>`, breakends: structural variants are not annotated here.
    Symbolic,
    /// REF or ALT holds something other than sequence letters.
    Invalid(String),
}

fn is_symbolic(a: &str) -> bool {
    a.starts_with('<') || a.contains('[') || a.contains(']')
}

impl VepVariant {
    /// Converts one VCF record (1-based POS) as VEP's VCF parser does.
    pub fn from_vcf(pos: i64, reference: &str, alt: Option<&str>) -> Result<VepVariant, Skip> {
        let alt = match alt.map(str::trim) {
            None | Some("") | Some(".") => return Err(Skip::NonVariant),
            Some(a) => a,
        };
        let reference = reference.trim().to_ascii_uppercase();
        let mut alts: Vec<String> = alt
            .split(',')
            .map(|a| a.trim().to_ascii_uppercase())
            .collect();
        if alts.iter().any(|a| is_symbolic(a)) {
            return Err(Skip::Symbolic);
        }
        // VEP's validate_vf accepts A, C, G, T and N only.
        let letters = |s: &str| !s.is_empty() && s.bytes().all(|b| b"ACGTN".contains(&b));
        if !letters(&reference) {
            return Err(Skip::Invalid(format!("REF '{reference}'")));
        }
        if let Some(bad) = alts.iter().find(|a| a.as_str() != "*" && !letters(a)) {
            return Err(Skip::Invalid(format!("ALT '{bad}'")));
        }
        let mut start = pos;
        let mut reference = reference;
        let is_indel = alts.iter().any(|a| a.len() != reference.len());
        if is_indel {
            // Trim the shared first base only when every allele (ignoring `*`) has it.
            let first = |s: &str| s.as_bytes()[0];
            let f = first(&reference);
            let shared = alts
                .iter()
                .filter(|a| a.as_str() != "*")
                .all(|a| first(a) == f);
            if shared {
                reference = reference[1..].to_string();
                alts = alts
                    .into_iter()
                    .map(|a| if a == "*" { a } else { a[1..].to_string() })
                    .collect();
                start += 1;
            }
        }
        let dash = |s: String| if s.is_empty() { "-".to_string() } else { s };
        let end = start + reference.len() as i64 - 1;
        Ok(VepVariant {
            start,
            end,
            ref_allele: dash(reference),
            alts: alts.into_iter().map(dash).collect(),
        })
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

    /// The alleles VEP computes consequences for: not the reference itself,
    /// not `*` (a deletion reported on another line).
    pub fn annotated_alts(&self) -> impl Iterator<Item = &String> {
        self.alts
            .iter()
            .filter(move |a| a.as_str() != "*" && **a != self.ref_allele)
    }

    /// VARIANT_CLASS: SO_variation_class of the allele string.
    pub fn variant_class(&self) -> &'static str {
        so_variation_class(&self.allele_string())
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
        assert_eq!(v(5, "AT", "GC").variant_class(), "substitution");
        assert_eq!(v(5, "C", "C").annotated_alts().count(), 0);
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
        assert!(matches!(
            VepVariant::from_vcf(1, "A", Some("1")),
            Err(Skip::Invalid(_))
        ));
        assert!(matches!(
            VepVariant::from_vcf(1, "A", Some("R")),
            Err(Skip::Invalid(_))
        ));
    }
}
