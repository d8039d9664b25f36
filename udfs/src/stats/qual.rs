//! `bcftools stats`' QUAL bins: QUAL (a float32) times ten, plus one, so bin
//! 0 holds missing and negative QUAL and bin `1 + 10q` the tenth [q, q + 0.1);
//! exact up to 10^5 (QUAL 9999.9), then ten times coarser per decade (its
//! `dist_t` with five exact powers of ten).

const EXACT: u32 = 100_000;
const PER_LEVEL: u32 = 90_000;
const EXACT_POWERS: i32 = 5;

/// The value bcftools inserts for a QUAL: `1 + (int)(qual * 10)` in float32,
/// 0 for missing (NaN) or negative. A product past `i32::MAX` converts as
/// x86 does (to `i32::MIN`), which is what bcftools builds do.
pub fn value(qual: f32) -> u32 {
    if qual.is_nan() || qual < 0.0 {
        return 0;
    }
    let scaled = qual * 10.0;
    let int = if scaled < 2_147_483_648.0 {
        scaled as i32
    } else {
        i32::MIN
    };
    int.wrapping_add(1) as u32
}

/// The histogram bin of an inserted value.
pub fn bin(value: u32) -> u32 {
    if value <= EXACT {
        return value;
    }
    let power = f64::from(value).log10() as i32;
    let level = power - EXACT_POWERS + 1;
    let step = 10f64.powi(level) as u32;
    let offset = (f64::from(value) - 10f64.powi(power)) / f64::from(step);
    (f64::from(EXACT + PER_LEVEL * (level as u32 - 1)) + offset) as u32
}

/// The first value of a bin.
fn bin_start(bin: u32) -> u32 {
    if bin < EXACT {
        return bin;
    }
    let level = (bin - EXACT) / PER_LEVEL + 1;
    let within = bin - EXACT - PER_LEVEL * (level - 1);
    let step = 10u64.pow(level);
    (10u64.pow(level + EXACT_POWERS as u32 - 1) + step * u64::from(within)) as u32
}

/// The lowest QUAL of a bin, as bcftools labels it; `None` for the bin of
/// missing and negative QUAL.
pub fn label(bin: u32) -> Option<f64> {
    let start = bin_start(bin);
    (start > 0).then(|| f64::from(start - 1) / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labelled(q: f32) -> Option<f64> {
        label(bin(value(q)))
    }

    fn near(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-6)
    }

    #[test]
    fn bins_as_bcftools_prints_them() {
        // Values checked against `bcftools stats` 1.16.
        assert!(near(labelled(29.57), 29.5));
        assert!(near(labelled(29.99), 29.9));
        assert!(near(labelled(0.05), 0.0));
        assert!(near(labelled(0.15), 0.1));
        assert!(near(labelled(0.25), 0.2));
        assert!(near(labelled(0.0), 0.0));
        assert!(near(labelled(999.0), 999.0));
        assert!(near(labelled(1000.0), 1000.0));
        assert!(near(labelled(12345.6), 12344.9));
        assert!(near(labelled(f32::INFINITY), 214_739_999.9));
        assert_eq!(labelled(-1.0), None);
        assert_eq!(labelled(-0.5), None);
        assert_eq!(labelled(f32::NAN), None);
    }
}
