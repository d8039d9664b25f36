//! Alignment records as the sweep needs them, from BAM (sequential or seeking
//! through the index), SAM and CRAM (sequential, decoded against its
//! reference), with `samtools depth`'s read filters.

use std::fs::File;
use std::io::{self, BufReader};
use std::path::Path;

use genoflight_catalog::alignment::AlignmentFormat;
use noodles::bgzf;
use noodles::sam::alignment::RecordBuf;
use noodles::sam::alignment::record::cigar::op::Kind;
use noodles::{bam, cram, fasta, sam};

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
    Cram(Box<CramRecords>),
}

/// A CRAM decoded one container at a time (noodles' own iterator borrows the
/// reader, which this struct must own).
struct CramRecords {
    reader: cram::io::Reader<File>,
    repository: fasta::Repository,
    container: cram::io::reader::Container,
    pending: std::vec::IntoIter<RecordBuf>,
    record: RecordBuf,
}

impl CramRecords {
    fn next(&mut self, header: &sam::Header) -> io::Result<bool> {
        loop {
            if let Some(r) = self.pending.next() {
                self.record = r;
                return Ok(true);
            }
            if self.reader.read_container(&mut self.container)? == 0 {
                return Ok(false);
            }
            let compression_header = self.container.compression_header()?;
            let mut decoded = Vec::new();
            for slice in self.container.slices() {
                let slice = slice?;
                let (core, external) = slice.decode_blocks()?;
                let records = slice.records(
                    self.repository.clone(),
                    header,
                    &compression_header,
                    &core,
                    &external,
                )?;
                for r in &records {
                    decoded.push(RecordBuf::try_from_alignment_record(header, r)?);
                }
            }
            self.pending = decoded.into_iter();
        }
    }
}

/// The BAM encoding of a CIGAR operation kind (`MIDNSHP=X`).
fn op_code(kind: Kind) -> u32 {
    match kind {
        Kind::Match => 0,
        Kind::Insertion => 1,
        Kind::Deletion => 2,
        Kind::Skip => 3,
        Kind::SoftClip => 4,
        Kind::HardClip => 5,
        Kind::Pad => 6,
        Kind::SequenceMatch => 7,
        Kind::SequenceMismatch => 8,
    }
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
    /// A CRAM needs `reference`, the FASTA it decodes against.
    pub fn open(
        path: &Path,
        format: AlignmentFormat,
        header: std::sync::Arc<sam::Header>,
        reference: Option<&Path>,
    ) -> io::Result<Records> {
        let file = File::open(path)?;
        let inner = if format == AlignmentFormat::Cram {
            let reference = reference.ok_or_else(|| io::Error::other("no reference FASTA"))?;
            let fasta = fasta::io::indexed_reader::Builder::default()
                .build_from_path(reference)
                .map_err(|e| io::Error::other(format!("reference {}: {e}", reference.display())))?;
            let repository =
                fasta::Repository::new(fasta::repository::adapters::IndexedReader::new(fasta));
            let mut reader = cram::io::Reader::new(file);
            reader.read_header()?;
            Inner::Cram(Box::new(CramRecords {
                reader,
                repository,
                container: Default::default(),
                pending: Vec::new().into_iter(),
                record: RecordBuf::default(),
            }))
        } else if format == AlignmentFormat::Bam {
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
            Inner::Sam(..) | Inner::Cram(..) => Err(io::Error::other(
                "only BAM files seek through an index here",
            )),
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
            Inner::Cram(records) => {
                if !records.next(&self.header)? {
                    return Ok(false);
                }
                let rec = &records.record;
                c.tid = rec.reference_sequence_id();
                c.pos = rec.alignment_start().map(|p| usize::from(p) as i64);
                c.flags = u16::from(rec.flags());
                // CRAM stores no MAPQ for unmapped reads; htslib reports 0.
                let missing = if rec.flags().is_unmapped() { 0 } else { 255 };
                c.mapq = rec
                    .mapping_quality()
                    .map_or(missing, |q| u32::from(u8::from(q)));
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
            Inner::Cram(records) => {
                let rec = &records.record;
                self.cigar.clear();
                for op in rec.cigar().as_ref() {
                    let len =
                        u32::try_from(op.len()).map_err(|_| bad("CIGAR operation too long"))?;
                    let code = (len << 4) | op_code(op.kind());
                    self.cigar.extend_from_slice(&code.to_le_bytes());
                }
                self.qual.clear();
                self.qual.extend_from_slice(rec.quality_scores().as_ref());
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
