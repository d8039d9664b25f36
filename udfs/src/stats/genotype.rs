//! One sample's GT, typed as htslib's `bcf_gt_type` types it for
//! `bcftools stats`: a missing allele anywhere makes the whole call missing,
//! one allele is haploid, and the ALT alleles it carries are reported (the
//! lower index first).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gt {
    /// `0/0`
    HomRef,
    /// `0/1`
    HetRefAlt,
    /// `1/1`
    HomAlt,
    /// `1/2`
    HetAltAlt,
    /// `0`
    HaploidRef,
    /// `1`
    HaploidAlt,
    /// `.`, `./.`, `0/.`, or an empty GT.
    Missing,
}

/// A typed call and the ALT alleles in it (1-based allele indices, 0 for none):
/// `first` is the lower, `second` the other one of a `1/2` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    pub gt: Gt,
    pub first: usize,
    pub second: usize,
}

/// Types a GT value (`0/1`, `1|2`, `./.`, `0`, ...). An allele that is not a
/// number is an error, whose text says which.
pub fn call(gt: &[u8]) -> Result<Call, String> {
    let (mut alleles, mut has_ref, mut first, mut second) = (0, false, 0usize, 0usize);
    let missing = Call {
        gt: Gt::Missing,
        first: 0,
        second: 0,
    };
    if gt.is_empty() {
        return Ok(missing);
    }
    for token in gt.split(|&b| b == b'/' || b == b'|') {
        if token == b"." {
            return Ok(missing);
        }
        let allele = number(token)
            .ok_or_else(|| format!("GT '{}' is not a genotype", String::from_utf8_lossy(gt)))?;
        if allele == 0 {
            has_ref = true;
        } else if first == 0 {
            first = allele;
        } else if allele != first {
            if allele < first {
                second = first;
                first = allele;
            } else {
                second = allele;
            }
        }
        alleles += 1;
    }
    let gt = match (alleles, has_ref, first, second) {
        (0, ..) => return Ok(missing),
        (1, true, ..) => Gt::HaploidRef,
        (1, false, ..) => Gt::HaploidAlt,
        (_, false, _, 0) => Gt::HomAlt,
        (_, false, ..) => Gt::HetAltAlt,
        (_, true, 0, _) => Gt::HomRef,
        _ => Gt::HetRefAlt,
    };
    Ok(Call { gt, first, second })
}

fn number(token: &[u8]) -> Option<usize> {
    if token.is_empty() || token.len() > 9 || !token.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        token
            .iter()
            .fold(0usize, |n, &d| n * 10 + usize::from(d - b'0')),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gt(text: &str) -> (Gt, usize, usize) {
        let c = call(text.as_bytes()).unwrap();
        (c.gt, c.first, c.second)
    }

    #[test]
    fn calls_are_typed_as_htslib_types_them() {
        assert_eq!(gt("0/0"), (Gt::HomRef, 0, 0));
        assert_eq!(gt("0|1"), (Gt::HetRefAlt, 1, 0));
        assert_eq!(gt("2/0"), (Gt::HetRefAlt, 2, 0));
        assert_eq!(gt("1/1"), (Gt::HomAlt, 1, 0));
        assert_eq!(gt("2|1"), (Gt::HetAltAlt, 1, 2));
        assert_eq!(gt("1/2"), (Gt::HetAltAlt, 1, 2));
        assert_eq!(gt("0/0/1"), (Gt::HetRefAlt, 1, 0));
        assert_eq!(gt("0"), (Gt::HaploidRef, 0, 0));
        assert_eq!(gt("3"), (Gt::HaploidAlt, 3, 0));
        for missing in [".", "./.", "0/.", ".|1", ""] {
            assert_eq!(gt(missing).0, Gt::Missing, "{missing}");
        }
        assert!(call(b"0/x").is_err());
        assert!(call(b"0//1").is_err());
    }
}
