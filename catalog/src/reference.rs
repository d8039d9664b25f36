//! Finding the reference FASTA a CRAM file was compressed against: the
//! table's `reference` option, else a served FASTA whose sequence names,
//! lengths and MD5 match the CRAM header's `@SQ` lines, else the `UR:` path
//! when it lies inside the data roots.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use noodles::fasta;
use noodles::sam;
use noodles::sam::header::record::value::map::reference_sequence::tag;

use crate::sandbox::DataRoots;

/// `(name, length)` of every sequence in a FASTA's `.fai`.
fn fai_lengths(fasta: &Path) -> Option<Vec<(String, u64)>> {
    let fai = File::open(format!("{}.fai", fasta.display())).ok()?;
    BufReader::new(fai)
        .lines()
        .map(|line| {
            let line = line.ok()?;
            let mut fields = line.split('\t');
            Some((fields.next()?.to_string(), fields.next()?.parse().ok()?))
        })
        .collect()
}

/// Why `fasta` cannot be `header`'s reference, or `None` when it can: every
/// `@SQ` name is in its index with the same length and, when `check_md5`,
/// the shortest sequence with an `M5` has that MD5. (A FASTA holding only
/// the region a CRAM covers, as `samtools view -T` accepts, fails the MD5
/// check but decodes: each CRAM slice carries the MD5 of its own span, which
/// the decoder verifies, so a wrong reference is still caught.)
pub fn mismatch(header: &sam::Header, fasta: &Path, check_md5: bool) -> Option<String> {
    let Some(lengths) = fai_lengths(fasta) else {
        return Some(format!(
            "{}: no readable .fai index beside it (samtools faidx)",
            fasta.display()
        ));
    };
    let lengths: std::collections::HashMap<String, u64> = lengths.into_iter().collect();
    let mut shortest: Option<(String, usize, Vec<u8>)> = None;
    for (name, map) in header.reference_sequences() {
        let name = String::from_utf8_lossy(name).to_string();
        let length = usize::from(map.length());
        match lengths.get(&name) {
            None => return Some(format!("{}: has no sequence {name}", fasta.display())),
            Some(&l) if l as usize != length => {
                return Some(format!(
                    "{}: sequence {name} has {l} bases, the CRAM header says {length}",
                    fasta.display()
                ));
            }
            _ => {}
        }
        if let Some(m5) = map.other_fields().get(&tag::MD5_CHECKSUM)
            && shortest.as_ref().is_none_or(|s| length < s.1)
        {
            shortest = Some((name, length, m5.to_vec()));
        }
    }
    let (name, _, m5) = shortest.filter(|_| check_md5)?;
    match sequence_md5(fasta, &name) {
        Ok(actual) if actual.eq_ignore_ascii_case(&String::from_utf8_lossy(&m5)) => None,
        Ok(actual) => Some(format!(
            "{}: MD5 of {name} is {actual}, the CRAM header says {}",
            fasta.display(),
            String::from_utf8_lossy(&m5)
        )),
        Err(e) => Some(format!("{}: cannot read {name}: {e}", fasta.display())),
    }
}

/// The SAM-spec MD5 of one sequence (upper case, no line breaks).
fn sequence_md5(fasta: &Path, name: &str) -> std::io::Result<String> {
    let mut reader = fasta::io::indexed_reader::Builder::default().build_from_path(fasta)?;
    let region: noodles::core::Region = name
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{e}")))?;
    let record = reader.query(&region)?;
    let mut md5 = Md5::new();
    for chunk in record.sequence().as_ref().chunks(1 << 16) {
        md5.update(chunk.to_ascii_uppercase());
    }
    Ok(md5.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The reference for a CRAM with `header`, or a message saying what to do.
pub fn resolve(
    cram: &Path,
    header: &sam::Header,
    configured: Option<&Path>,
    served_fastas: &[PathBuf],
    roots: &DataRoots,
) -> Result<PathBuf, String> {
    if let Some(path) = configured {
        return match mismatch(header, path, false) {
            None => Ok(path.to_path_buf()),
            Some(why) => Err(format!(
                "the configured reference does not match this CRAM: {why}"
            )),
        };
    }
    // A served FASTA with matching MD5s first, then one with the same names
    // and lengths (its slices' MD5s are checked while decoding).
    let mut rejected = Vec::new();
    for fasta in served_fastas {
        match mismatch(header, fasta, true) {
            None => return Ok(fasta.clone()),
            Some(why) => rejected.push(why),
        }
    }
    if let Some(fasta) = served_fastas
        .iter()
        .find(|f| mismatch(header, f, false).is_none())
    {
        return Ok(fasta.clone());
    }
    let uri = header
        .reference_sequences()
        .values()
        .find_map(|map| map.other_fields().get(&tag::URI).map(|u| u.to_string()));
    if let Some(uri) = uri {
        let path = PathBuf::from(uri.strip_prefix("file://").unwrap_or(&uri));
        if let Ok(inside) = roots.resolve(&path)
            && mismatch(header, &inside, false).is_none()
        {
            return Ok(inside);
        }
    }
    let mut message = format!(
        "{}: no reference FASTA found for this CRAM; set `reference` for it in a [[tables]] entry or serve its FASTA (with .fai) beside it",
        cram.display()
    );
    if !rejected.is_empty() {
        message.push_str(&format!(
            " (served FASTAs that do not match: {})",
            rejected.join("; ")
        ));
    }
    Err(message)
}
