//! Translation as VEP does it for codon alleles: whole codons through the
//! transcript's NCBI codon table (1 standard, 2 vertebrate mitochondrial),
//! ambiguous codons as `X`, a trailing partial codon as `X`.

const BASES: &[u8; 4] = b"TCAG";
/// NCBI table 1 in TCAG order (first base slowest).
const STANDARD: &[u8; 64] = b"FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG";
/// NCBI table 2 (vertebrate mitochondrial).
const VERT_MITO: &[u8; 64] = b"FFLLSSSSYY**CCWWLLLLPPPPHHQQRRRRIIMMTTTTNNKKSS**VVVVAAAADDEEGGGG";

fn index(b: u8) -> Option<usize> {
    BASES.iter().position(|&x| x == b.to_ascii_uppercase())
}

/// The amino acid of one codon (`X` when it holds anything but ACGT).
pub fn translate_codon(codon: &[u8], table: i64) -> u8 {
    let t = if table == 2 { VERT_MITO } else { STANDARD };
    match (index(codon[0]), index(codon[1]), index(codon[2])) {
        (Some(a), Some(b), Some(c)) => t[a * 16 + b * 4 + c],
        _ => b'X',
    }
}

/// A codon allele's peptide: `-` when empty, `X` for a trailing partial
/// codon unless the whole codons are a stop alone (TranscriptVariationAllele::peptide).
pub fn translate(seq: &str, table: i64) -> String {
    let bytes: Vec<u8> = seq.bytes().filter(|&b| b != b'-').collect();
    let mut out: String = bytes
        .chunks_exact(3)
        .map(|c| translate_codon(c, table) as char)
        .collect();
    if !bytes.len().is_multiple_of(3) && out != "*" {
        out.push('X');
    }
    if out.is_empty() {
        out.push('-');
    }
    out
}

pub fn reverse_complement(seq: &str) -> String {
    seq.bytes()
        .rev()
        .map(|b| match b {
            b'A' => 'T',
            b'C' => 'G',
            b'G' => 'C',
            b'T' => 'A',
            b'a' => 't',
            b'c' => 'g',
            b'g' => 'c',
            b't' => 'a',
            b'N' => 'N',
            b'n' => 'n',
            b'-' => '-',
            other => other as char,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codons() {
        assert_eq!(translate("ATGTAA", 1), "M*");
        assert_eq!(translate("GCA", 1), "A");
        assert_eq!(translate("CT", 1), "X");
        assert_eq!(translate("T", 1), "X");
        assert_eq!(translate("-", 1), "-");
        assert_eq!(translate("CTTA", 1), "LX");
        assert_eq!(translate("TAAC", 1), "*");
        assert_eq!(translate("TGAA", 1), "*");
        assert_eq!(translate("TAACTGA", 1), "*LX");
        assert_eq!(translate("NGA", 1), "X");
        assert_eq!(translate("TGA", 2), "W");
        assert_eq!(translate("AGA", 2), "*");
        assert_eq!(reverse_complement("ACGT-N"), "N-ACGT");
    }
}
