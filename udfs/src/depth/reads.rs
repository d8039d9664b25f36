//! Alignment records as the sweep needs them, from BAM (sequential or seeking
//! through the index) and SAM, with `samtools depth`'s read filters.

use std::fs::File;
use std::io::{self, BufReader};
use std::path::Path;

use genoflight_catalog::alignment::AlignmentFormat;
use noodles::bgzf;
use noodles::{bam, sam};

use super::sweep::Read;

/// Which reads count: none of `exclude` flags, mapping quality at least
/// `min_mapping_quality` (255, "unavailable", passes as samtools compares it).
#[derive(Debug, Clone, Copy)]
pub struct ReadFilter {
    pub exclude: u16,
    pub min_mapping_quality: u32,
}

const UNMAPPED: u16 = 0x4;

enum Inner {
    Bam(Box<bam::io::Reader<bgzf::io::Reader<File>>>, bam::Record),
    Sam(sam::io::Reader<BufReader<File>>, sam::Record),
}

/// The fields of the current record.
pub struct Current {
    /// Reference sequence index; `None` for unplaced records.
    pub tid: Option<usize>,
    /// 1-based start; `None` when the record has none.
    pub pos: Option<i64>,
    pub flags: u16,
    pub mapq: u32,
}

/// A reader of one alignment file, one record at a time, reusing its buffers.
pub struct Records {
    inner: Inner,
    header: std::sync::Arc<sam::Header>,
    /// SAM fields converted to BAM's encoding.
    cigar: Vec<u8>,
    qual: Vec<u8>,
    pub current: Current,
    /// Records read so far (for error messages).
    pub count: u64,
}

fn bad(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

impl Records {
    /// Opens `path` positioned at its first record.
    pub fn open(
        path: &Path,
        format: AlignmentFormat,
        header: std::sync::Arc<sam::Header>,
    ) -> io::Result<Records> {
        let file = File::open(path)?;
        let inner = if format == AlignmentFormat::Bam {
            let mut r = bam::io::Reader::new(file);
            r.read_header()?;
            Inner::Bam(Box::new(r), bam::Record::default())
        } else if format == AlignmentFormat::Sam {
            let mut r = sam::io::Reader::new(BufReader::with_capacity(1 << 20, file));
            r.read_header()?;
            Inner::Sam(r, sam::Record::default())
        } else {
            return Err(io::Error::other(format!(
                "depth() reads BAM and SAM, not {format:?}"
            )));
        };
        Ok(Records {
            inner,
            header,
            cigar: Vec::new(),
            qual: Vec::new(),
            current: Current {
                tid: None,
                pos: None,
                flags: 0,
                mapq: 255,
            },
            count: 0,
        })
    }

    /// Moves a BAM reader to a virtual offset (from the index).
    pub fn seek(&mut self, pos: bgzf::VirtualPosition) -> io::Result<()> {
        match &mut self.inner {
            Inner::Bam(r, _) => r.get_mut().seek(pos).map(|_| ()),
            Inner::Sam(..) => Err(io::Error::other("SAM files cannot seek")),
        }
    }

    /// Reads the next record; false at the end of the file.
    pub fn next(&mut self) -> io::Result<bool> {
        let c = &mut self.current;
        match &mut self.inner {
            Inner::Bam(r, rec) => {
                if r.read_record(rec)? == 0 {
                    return Ok(false);
                }
                c.tid = rec.reference_sequence_id().transpose()?;
                c.pos = rec
                    .alignment_start()
                    .transpose()?
                    .map(|p| usize::from(p) as i64);
                c.flags = u16::from(rec.flags());
                c.mapq = rec
                    .mapping_quality()
                    .map_or(255, |q| u32::from(u8::from(q)));
            }
            Inner::Sam(r, rec) => {
                if r.read_record(rec)? == 0 {
                    return Ok(false);
                }
                c.tid = rec.reference_sequence_id(&self.header).transpose()?;
                c.pos = rec
                    .alignment_start()
                    .transpose()?
                    .map(|p| usize::from(p) as i64);
                c.flags = u16::from(rec.flags()?);
                c.mapq = rec
                    .mapping_quality()
                    .transpose()?
                    .map_or(255, |q| u32::from(u8::from(q)));
            }
        }
        self.count += 1;
        Ok(true)
    }

    /// Whether the current record counts (placed, with a start, and passing the filter).
    pub fn accepted(&self, f: &ReadFilter) -> bool {
        let c = &self.current;
        c.tid.is_some()
            && c.pos.is_some()
            && c.flags & f.exclude == 0
            && c.mapq >= f.min_mapping_quality
    }

    /// The current record's CIGAR and qualities for the sweep.
    pub fn read(&mut self) -> io::Result<Read<'_>> {
        let pos = self.current.pos.unwrap_or(1);
        let unmapped = self.current.flags & UNMAPPED != 0;
        match &self.inner {
            Inner::Bam(_, rec) => Ok(Read {
                pos,
                unmapped,
                cigar: rec.cigar().as_bytes(),
                qual: rec.quality_scores().as_bytes(),
            }),
            Inner::Sam(_, rec) => {
                self.cigar.clear();
                let text = rec.cigar();
                let text = text.as_ref();
                if text != b"*" {
                    let mut n: u32 = 0;
                    for &b in text {
                        if b.is_ascii_digit() {
                            n = n
                                .checked_mul(10)
                                .and_then(|n| n.checked_add(u32::from(b - b'0')))
                                .ok_or_else(|| bad("CIGAR operation too long"))?;
                            continue;
                        }
                        let op = b"MIDNSHP=X".iter().position(|&x| x == b).ok_or_else(|| {
                            bad(format!("invalid CIGAR operation '{}'", b as char))
                        })?;
                        self.cigar
                            .extend_from_slice(&((n << 4) | op as u32).to_le_bytes());
                        n = 0;
                    }
                }
                self.qual.clear();
                let q = rec.quality_scores();
                let q = q.as_ref();
                if q != b"*" {
                    self.qual.extend(q.iter().map(|&b| b.saturating_sub(33)));
                }
                Ok(Read {
                    pos,
                    unmapped,
                    cigar: &self.cigar,
                    qual: &self.qual,
                })
            }
        }
    }
}
