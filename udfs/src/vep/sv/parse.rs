//! VCF records as Ensembl VEP's VCF parser reads structural variants
//! (Parser/VCF.pm create_StructuralVariationFeatures, ensembl-io VCF4
//! get_start/get_end, Parser.pm get_SO_term and validate_vf).

/// A structural variant in VEP's coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct SvVariant {
    pub start: i64,
    pub end: i64,
    /// The SO class (`class_SO_term`): `deletion`, `duplication`, ...
    pub class: &'static str,
    /// The allele string VEP keeps: the ALT alleles joined by `/`
    /// (`REF/ALT` for breakends), used to name unnamed variants.
    pub allele_string: String,
}

/// What VEP does with a structural record.
#[derive(Debug, Clone, PartialEq)]
pub enum SvRecord {
    /// Annotated as a structural variant.
    Annotate(SvVariant),
    /// Read as a structural variant but not annotated (VEP's
    /// skipped_variant_msg / vep_skip), with VEP's reason.
    Skip(String),
}

/// The INFO values VEP reads for a structural record.
#[derive(Debug, Clone, Copy, Default)]
pub struct SvInfo<'a> {
    pub svtype: Option<&'a str>,
    /// INFO END, when the record has one.
    pub end: Option<i64>,
    /// The first SVLEN value.
    pub svlen: Option<i64>,
    /// CHR2 and END2: a breakend's mate (Manta and others).
    pub chr2: Option<&'a str>,
    pub end2: Option<i64>,
}

/// VEP's default `--max_sv_size`.
pub const MAX_SV_SIZE: i64 = 10_000_000;

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `/[<\[\]][^\*]+[>\]\[]|^\.\w+|\w+\.$/` on the comma-joined ALTs.
fn symbolic_pattern(alts: &str) -> bool {
    let s = alts.as_bytes();
    for (i, &open) in s.iter().enumerate() {
        if !matches!(open, b'<' | b'[' | b']') {
            continue;
        }
        for (k, &c) in s.iter().enumerate().skip(i + 1) {
            if c == b'*' {
                break;
            }
            if k >= i + 2 && matches!(c, b'>' | b']' | b'[') {
                return true;
            }
        }
    }
    let dot_word = s.len() >= 2 && s[0] == b'.' && is_word(s[1]);
    let word_dot = s.len() >= 2 && s[s.len() - 1] == b'.' && is_word(s[s.len() - 2]);
    dot_word || word_dot
}

/// Whether VEP reads the record as a structural variant: REF+ALT are not
/// all A/C/G/T and SVTYPE is set or an ALT is symbolic or a breakend.
pub fn is_structural(reference: &str, alts: &[&str], svtype: Option<&str>) -> bool {
    let all_acgt = reference
        .bytes()
        .chain(alts.iter().flat_map(|a| a.bytes()))
        .all(|b| b"ACGT".contains(&b));
    !all_acgt && (svtype.is_some_and(|t| !t.is_empty()) || symbolic_pattern(&alts.join(",")))
}

/// Parser::get_SO_term: the SO class of an SVTYPE or ALT string.
pub fn so_term(kind: &str) -> Option<&'static str> {
    let upper = kind.to_ascii_uppercase();
    let abbrev: String = if let Some(me) = mobile_element(&upper) {
        me
    } else if upper.contains("DUP:TANDEM") || upper.contains("CNV:TR") {
        "TDUP".into()
    } else if upper.contains("CNV") {
        "CNV".into()
    } else if copy_number(&upper) {
        let bare = upper.trim_start_matches('<').trim_end_matches('>');
        match bare.strip_prefix("CN").map(|n| n.trim_start_matches('=')) {
            Some("0") => "DEL".into(),
            Some("2") => "DUP".into(),
            _ => "CNV".into(),
        }
    } else if upper.contains('[') || upper.contains(']') {
        "BND".into()
    } else if upper.starts_with('<') || upper.ends_with('>') {
        let bare = upper.replace(['<', '>'], "");
        bare.split(':').next().unwrap_or("").to_string()
    } else {
        upper
    };
    Some(match abbrev.as_str() {
        "INS" => "insertion",
        "INS_ME" => "mobile_element_insertion",
        "INS_ALU" => "Alu_insertion",
        "INS_HERV" => "HERV_insertion",
        "INS_LINE1" => "LINE1_insertion",
        "INS_SVA" => "SVA_insertion",
        "DEL" => "deletion",
        "DEL_ME" => "mobile_element_deletion",
        "DEL_ALU" => "Alu_deletion",
        "DEL_HERV" => "HERV_deletion",
        "DEL_LINE1" => "LINE1_deletion",
        "DEL_SVA" => "SVA_deletion",
        "TDUP" => "tandem_duplication",
        "DUP" => "duplication",
        "CNV" => "copy_number_variation",
        "INV" => "inversion",
        "BND" => "chromosome_breakpoint",
        _ => return None,
    })
}

/// `/(INS|DEL):(ME):?([A-Z0-9]+)?/i` -> `INS_ME`, `DEL_ALU`, ...
fn mobile_element(upper: &str) -> Option<String> {
    for kind in ["INS", "DEL"] {
        let needle = format!("{kind}:ME");
        if let Some(at) = upper.find(&needle) {
            let rest = &upper[at + needle.len()..];
            let rest = rest.strip_prefix(':').unwrap_or(rest);
            let element: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            let element = if element == "L1" {
                "LINE1".into()
            } else {
                element
            };
            let sub = if ["ALU", "HERV", "LINE1", "SVA"].contains(&element.as_str()) {
                element
            } else {
                "ME".into()
            };
            return Some(format!("{kind}_{sub}"));
        }
    }
    None
}

/// `/CN=?[0-9]/i`
fn copy_number(upper: &str) -> bool {
    upper.match_indices("CN").any(|(i, _)| {
        let rest = upper[i + 2..].strip_prefix('=').unwrap_or(&upper[i + 2..]);
        rest.bytes().next().is_some_and(|b| b.is_ascii_digit())
    })
}

/// One structural record (1-based POS) as VEP reads and validates it.
pub fn read_sv(
    pos: i64,
    reference: &str,
    alts: &[&str],
    info: SvInfo,
    max_sv_size: i64,
) -> SvRecord {
    // ensembl-io get_start: SVs, like indels, carry the base before.
    let symbolic = alts.iter().any(|a| a.contains(['<', '>', '[', ']']));
    let start =
        if info.svtype.is_some() || symbolic || alts.iter().any(|a| a.len() != reference.len()) {
            pos + 1
        } else {
            pos
        };
    let joined = alts.join("/");
    let kind = info.svtype.filter(|t| !t.is_empty()).unwrap_or(&joined);
    let Some(class) = so_term(kind) else {
        return SvRecord::Skip(format!("{kind} type is not supported"));
    };
    let breakpoint = class.contains("breakpoint");
    // A breakend's INFO END names its mate's position (Manta), not its end.
    let info_end = if breakpoint { None } else { info.end };
    let end = match (info_end, info.svlen) {
        (Some(end), _) => end,
        (None, Some(len)) => start + len.abs() - 1,
        (None, None) => start + reference.len() as i64 - 1,
    };
    let mut allele_string = joined.clone();
    if breakpoint {
        if let (Some(chr2), Some(mate)) = (info.chr2, info.end2.or(info.end)) {
            let bare = joined.trim_start_matches('<').trim_end_matches('>');
            let head = if bare.eq_ignore_ascii_case("BND") {
                "N".to_string()
            } else {
                format!("{joined}/N")
            };
            allele_string = format!("{head}[{chr2}:{mate}[");
        }
        if !(allele_string.starts_with('.') || allele_string.ends_with('.')) {
            allele_string = format!("{reference}/{allele_string}");
        }
    }
    if start >= end && class.to_ascii_lowercase().contains("del") {
        return SvRecord::Skip("deletion looks incomplete".into());
    }
    if start > end + 1 {
        return SvRecord::Skip(format!("start > end+1 : (START={start}, END={end})"));
    }
    if end - start > max_sv_size {
        return SvRecord::Skip(format!(
            "variant size ({}) is bigger than --max_sv_size ({max_sv_size})",
            end - start
        ));
    }
    SvRecord::Annotate(SvVariant {
        start,
        end,
        class,
        allele_string,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sv(pos: i64, r: &str, alt: &str, info: SvInfo) -> SvVariant {
        let alts: Vec<&str> = alt.split(',').collect();
        match read_sv(pos, r, &alts, info, MAX_SV_SIZE) {
            SvRecord::Annotate(v) => v,
            SvRecord::Skip(why) => panic!("skipped: {why}"),
        }
    }

    #[test]
    fn structural_detection() {
        assert!(is_structural("A", &["<DEL>"], None));
        assert!(is_structural("A", &["N[chr2:123["], None));
        assert!(is_structural("A", &["]chr2:123]N"], None));
        assert!(is_structural("A", &[".A"], None));
        assert!(is_structural("A", &["A."], None));
        assert!(is_structural("A", &["N"], Some("DEL")));
        // `*` and gVCF `<*>` are not structural; plain sequence never is.
        assert!(!is_structural("A", &["C", "*"], None));
        assert!(!is_structural("A", &["<*>"], None));
        assert!(!is_structural("AC", &["A"], Some("DEL")));
        assert!(!is_structural("A", &["."], None));
    }

    #[test]
    fn classes() {
        assert_eq!(so_term("<DEL>"), Some("deletion"));
        assert_eq!(so_term("DEL"), Some("deletion"));
        assert_eq!(so_term("<DUP>"), Some("duplication"));
        assert_eq!(so_term("<DUP:TANDEM>"), Some("tandem_duplication"));
        assert_eq!(so_term("<INS>"), Some("insertion"));
        assert_eq!(so_term("<INS:ME:ALU>"), Some("Alu_insertion"));
        assert_eq!(so_term("<INS:ME:L1>"), Some("LINE1_insertion"));
        assert_eq!(so_term("<INS:ME>"), Some("mobile_element_insertion"));
        assert_eq!(so_term("<INV>"), Some("inversion"));
        assert_eq!(so_term("<CNV>"), Some("copy_number_variation"));
        assert_eq!(so_term("<CN0>"), Some("deletion"));
        assert_eq!(so_term("<CN2>"), Some("duplication"));
        assert_eq!(so_term("<CN0>/<CN2>"), Some("copy_number_variation"));
        assert_eq!(so_term("N[chr2:123["), Some("chromosome_breakpoint"));
        assert_eq!(so_term("<FOO>"), None);
    }

    #[test]
    fn coordinates() {
        let end = |e| SvInfo {
            end: Some(e),
            ..Default::default()
        };
        let d = sv(100, "A", "<DEL>", end(200));
        assert_eq!((d.start, d.end, d.class), (101, 200, "deletion"));
        assert_eq!(d.allele_string, "<DEL>");
        let l = sv(
            100,
            "A",
            "<DUP>",
            SvInfo {
                svlen: Some(-50),
                ..Default::default()
            },
        );
        assert_eq!((l.start, l.end), (101, 150));
        let i = sv(100, "A", "<INS>", SvInfo::default());
        assert_eq!((i.start, i.end, i.class), (101, 101, "insertion"));
        let b = sv(100, "A", "A[chr2:5[", SvInfo::default());
        assert_eq!((b.start, b.end), (101, 101));
        assert_eq!(b.allele_string, "A/A[chr2:5[");
        // A single breakend is a BND only through SVTYPE; its alleles stay as written.
        let bnd = SvInfo {
            svtype: Some("BND"),
            ..Default::default()
        };
        let manta = SvInfo {
            svtype: Some("BND"),
            end: Some(5000),
            chr2: Some("22"),
            ..Default::default()
        };
        let m = sv(100, "A", "<BND>", manta);
        assert_eq!((m.start, m.end), (101, 101));
        assert_eq!(m.allele_string, "A/N[22:5000[");
        let dot = sv(100, "A", ".A", bnd);
        assert_eq!(
            (dot.class, dot.allele_string.as_str()),
            ("chromosome_breakpoint", ".A")
        );
        assert!(matches!(
            read_sv(100, "A", &[".A"], SvInfo::default(), MAX_SV_SIZE),
            SvRecord::Skip(_)
        ));
    }

    #[test]
    fn skipped() {
        let read = |alt: &str, info| read_sv(100, "A", &[alt], info, MAX_SV_SIZE);
        assert!(matches!(
            read("<FOO>", SvInfo::default()),
            SvRecord::Skip(_)
        ));
        // A deletion without END or SVLEN has no length.
        assert!(matches!(
            read("<DEL>", SvInfo::default()),
            SvRecord::Skip(_)
        ));
        let huge = SvInfo {
            end: Some(100 + MAX_SV_SIZE + 5),
            ..Default::default()
        };
        assert!(matches!(read("<DEL>", huge), SvRecord::Skip(_)));
    }
}
