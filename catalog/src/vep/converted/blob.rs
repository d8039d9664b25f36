//! The feature model as one JSON value per feature: the `model` column of a
//! converted cache, read back into the very values the Perl readers build.
//!
//! JSON keeps the format readable by any Parquet tool and follows the model
//! as it grows (serde derive), and the fingerprint of the model's field
//! names tells a reader that a converted cache predates the model. Floats
//! travel as their bit patterns and byte matrices as hex, so nothing is
//! rounded or inflated on the way.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::vep::model::{MotifFeature, RegulatoryFeature, Transcript};

/// One feature as its `model` column value.
pub fn encode<T: Serialize>(value: &T) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| format!("cannot encode a cache feature: {e}"))
}

/// A `model` column value back into its feature.
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| format!("model column: {e}"))
}

/// A checksum of the model's field names (every struct, nested ones
/// included): a converted cache written with other fields must be rebuilt.
pub fn model_fingerprint() -> String {
    let shapes = [
        serde_json::to_string(&sample_transcript()),
        serde_json::to_string(&RegulatoryFeature::default()),
        serde_json::to_string(&sample_motif()),
    ];
    let mut crc = flate2::Crc::new();
    for s in shapes {
        crc.update(s.unwrap_or_default().as_bytes());
    }
    format!("{:08x}", crc.sum())
}

/// A transcript with one of each nested value, so their fields count too.
fn sample_transcript() -> Transcript {
    Transcript {
        exons: vec![Default::default()],
        translation: Some(Default::default()),
        protein_features: vec![Default::default()],
        seq_edits: vec![Default::default()],
        predictions: vec![Default::default()],
        ..Default::default()
    }
}

fn sample_motif() -> MotifFeature {
    MotifFeature {
        binding_matrix: Some(Default::default()),
        ..Default::default()
    }
}

/// `Vec<u8>` as a hex string.
pub mod bytes {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(v.len() * 2);
        for b in v {
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
        s.serialize_str(&out)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        let digit = |c: u8| match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            _ => Err(serde::de::Error::custom("bad hex digit in a byte matrix")),
        };
        let raw = text.as_bytes();
        if raw.len() % 2 != 0 {
            return Err(serde::de::Error::custom("odd hex length in a byte matrix"));
        }
        raw.chunks(2)
            .map(|p| Ok((digit(p[0])? << 4) | digit(p[1])?))
            .collect()
    }
}

/// `Option<f64>` as its bit pattern.
pub mod float {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        v.map(f64::to_bits).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(f64::from_bits))
    }
}

/// A binding matrix's `(position, [(base, weight)])` with weights as bits.
pub mod weights {
    use super::*;

    type Bits = Vec<(i64, Vec<(char, u64)>)>;

    pub fn serialize<S: Serializer>(
        v: &[(i64, Vec<(char, f64)>)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let bits: Bits = v
            .iter()
            .map(|(p, w)| (*p, w.iter().map(|(b, x)| (*b, x.to_bits())).collect()))
            .collect();
        bits.serialize(s)
    }

    #[allow(clippy::type_complexity)]
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(i64, Vec<(char, f64)>)>, D::Error> {
        Ok(Bits::deserialize(d)?
            .into_iter()
            .map(|(p, w)| {
                (
                    p,
                    w.into_iter().map(|(b, x)| (b, f64::from_bits(x))).collect(),
                )
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vep::model::{BindingMatrix, PredictionMatrix};

    #[test]
    fn round_trips_bit_for_bit() {
        let mut t = sample_transcript();
        t.stable_id = "ENST1".into();
        t.predictions[0] = PredictionMatrix {
            analysis: "sift".into(),
            matrix: vec![0, 1, 0x7f, 0xff, 0x10],
            compressed: true,
            ..Default::default()
        };
        let back: Transcript = decode(&encode(&t).unwrap()).unwrap();
        assert_eq!(back, t);
        let m = MotifFeature {
            score: Some(0.1 + 0.2),
            binding_matrix: Some(BindingMatrix {
                threshold: Some(f64::MIN_POSITIVE),
                elements: vec![(1, vec![('A', 1.0 / 3.0), ('C', -0.0)])],
                ..Default::default()
            }),
            ..Default::default()
        };
        let back: MotifFeature = decode(&encode(&m).unwrap()).unwrap();
        assert_eq!(back, m);
        assert!(decode::<Transcript>("{").is_err());
        assert_eq!(model_fingerprint(), model_fingerprint());
    }
}
