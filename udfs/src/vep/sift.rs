//! SIFT and PolyPhen from the cache's ProteinFunctionPredictionMatrix:
//! a gzip-compressed `VEP` header then, per peptide position, 20 little-endian
//! 16-bit values in amino-acid order ACDEFGHIKLMNPQRSTVWY; `0xFFFF` is no
//! prediction, else the top 6 bits are the prediction code and the low 10
//! bits the score x 1000. Written as VEP does: `tolerated_low_confidence(0.17)`.

use std::io::Read;

use genoflight_catalog::vep::model::PredictionMatrix;

const HEADER: &[u8] = b"VEP";
const AAS: &[u8; 20] = b"ACDEFGHIKLMNPQRSTVWY";

fn prediction_name(analysis: &str, code: u16) -> Option<&'static str> {
    match (analysis, code) {
        ("sift", 0) => Some("tolerated"),
        ("sift", 1) => Some("deleterious"),
        ("sift", 2) => Some("tolerated - low confidence"),
        ("sift", 3) => Some("deleterious - low confidence"),
        ("polyphen", 0) => Some("probably damaging"),
        ("polyphen", 1) => Some("possibly damaging"),
        ("polyphen", 2) => Some("benign"),
        ("polyphen", 3) => Some("unknown"),
        _ => None,
    }
}

/// The uncompressed matrix (gzip when `compressed`).
pub fn matrix_bytes(m: &PredictionMatrix) -> Option<Vec<u8>> {
    if !m.compressed {
        return Some(m.matrix.clone());
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(m.matrix.as_slice())
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

/// (prediction, score) for amino acid `aa` at 1-based peptide position `pos`.
pub fn lookup(analysis: &str, matrix: &[u8], pos: i64, aa: u8) -> Option<(&'static str, f64)> {
    if !matrix.starts_with(HEADER) || pos < 1 {
        return None;
    }
    let i = AAS.iter().position(|&a| a == aa.to_ascii_uppercase())?;
    let offset = HEADER.len() + ((pos as usize - 1) * AAS.len() + i) * 2;
    let bytes = matrix.get(offset..offset + 2)?;
    let v = u16::from_le_bytes([bytes[0], bytes[1]]);
    if v == 0xFFFF {
        return None;
    }
    let name = prediction_name(analysis, v >> 14)?;
    Some((name, f64::from(v & 0x3FF) / 1000.0))
}

/// `name(score)` with spaces and ` - ` as `_`, the score as Perl prints it.
pub fn render(name: &str, score: f64) -> String {
    let name = name.replace(" - ", "_").replace(' ', "_");
    format!("{name}({score})")
}

/// A transcript's SIFT and PolyPhen (humvar) matrices, decompressed once:
/// every missense row of the transcript looks them up.
#[derive(Debug, Default)]
pub struct Predictions {
    sift: Option<Vec<u8>>,
    polyphen: Option<Vec<u8>>,
}

impl Predictions {
    pub fn of(predictions: &[PredictionMatrix]) -> Predictions {
        let find = |analysis: &str| {
            predictions
                .iter()
                .find(|m| {
                    m.analysis == analysis
                        && (analysis != "polyphen"
                            || m.sub_analysis.as_deref().is_none_or(|s| s == "humvar"))
                })
                .and_then(matrix_bytes)
        };
        Predictions {
            sift: find("sift"),
            polyphen: find("polyphen"),
        }
    }

    /// The SIFT or PolyPhen value of a single amino-acid substitution.
    pub fn predict(
        &self,
        analysis: &str,
        pos: i64,
        ref_pep: &str,
        alt_pep: &str,
    ) -> Option<String> {
        if ref_pep.len() != 1 || alt_pep.len() != 1 || ref_pep == alt_pep {
            return None;
        }
        let bytes = match analysis {
            "sift" => self.sift.as_deref()?,
            "polyphen" => self.polyphen.as_deref()?,
            _ => return None,
        };
        let (name, score) = lookup(analysis, bytes, pos, alt_pep.as_bytes()[0])?;
        Some(render(name, score))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_lookup() {
        let mut m = HEADER.to_vec();
        for pos in 0..2u16 {
            for aa in 0..20u16 {
                let v: u16 = if pos == 1 && aa == 16 {
                    (2 << 14) | 170
                } else {
                    0xFFFF
                };
                m.extend(v.to_le_bytes());
            }
        }
        // position 2, T (index 16): tolerated - low confidence, 0.17
        assert_eq!(
            lookup("sift", &m, 2, b'T'),
            Some(("tolerated - low confidence", 0.17))
        );
        assert_eq!(lookup("sift", &m, 1, b'T'), None);
        assert_eq!(lookup("sift", &m, 3, b'T'), None);
        assert_eq!(
            render("tolerated - low confidence", 0.17),
            "tolerated_low_confidence(0.17)"
        );
        assert_eq!(render("benign", 0.001), "benign(0.001)");
        assert_eq!(render("deleterious", 0.0), "deleterious(0)");
        assert_eq!(render("probably damaging", 1.0), "probably_damaging(1)");
    }
}
