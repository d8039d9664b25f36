//! A line-oriented genomic file on disk (VCF, BED, GFF, ...): its compression,
//! index, and the line readers that scan it in partitions (byte ranges, or
//! index chunks for a region).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::common::{DataFusionError, Result};
use flate2::read::MultiGzDecoder;
use noodles::bgzf::{self, VirtualPosition};
use noodles::core::{Position, region::Interval};
use noodles::csi::{BinningIndex, binning_index::index::reference_sequence::bin::Chunk};

use crate::bgzf_split;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Plain,
    Bgzf,
    /// Ordinary (multi-member) gzip: readable, but only start to end.
    Gzip,
}

/// A genomic interval to restrict a scan to, 1-based closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub chrom: String,
    pub start: i64,
    pub end: i64,
}

impl Region {
    pub fn overlaps(&self, chrom: &str, start: i64, end: i64) -> bool {
        self.chrom == chrom && start <= self.end && end >= self.start
    }
}

pub type SharedIndex = Arc<dyn BinningIndex + Send + Sync>;

/// One partition of a scan.
#[derive(Debug, Clone)]
pub enum ScanUnit {
    /// Lines starting in `[start, end)`: byte offsets for plain files, BGZF
    /// block offsets for BGZF. `first` starts right after the header.
    Range {
        start: u64,
        end: Option<u64>,
        first: bool,
        line_starts_here: bool,
    },
    /// The index chunks of one region.
    Chunks(Vec<Chunk>),
}

pub struct TextSource {
    pub path: PathBuf,
    pub display: String,
    pub compression: Compression,
    /// Lines the format's header reader consumed.
    header_lines: u64,
    /// Where records start: a byte offset (plain, gzip) or a virtual position (BGZF).
    data_start: u64,
    pub index: Option<SharedIndex>,
    pub index_warning: Option<String>,
    len: u64,
}

impl std::fmt::Debug for TextSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextSource")
            .field("path", &self.path)
            .finish()
    }
}

fn io_err(file: &str, what: &str, e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("{file}: {what}: {e}"))
}

pub fn detect_compression(path: &Path) -> io::Result<Compression> {
    let mut magic = [0u8; 18];
    let mut f = File::open(path)?;
    let n = read_full(&mut f, &mut magic)?;
    Ok(if n >= 2 && magic[..2] == [0x1f, 0x8b] {
        if n == 18 && bgzf_split::is_block_header(&magic) {
            Compression::Bgzf
        } else {
            Compression::Gzip
        }
    } else {
        Compression::Plain
    })
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// The tabix or CSI index beside `path`, ignored (with a warning) when older than the data.
fn load_index(path: &Path, display: &str) -> (Option<SharedIndex>, Option<String>) {
    let data_mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    for ext in ["tbi", "csi"] {
        let index_path = PathBuf::from(format!("{}.{ext}", path.display()));
        let Ok(meta) = std::fs::metadata(&index_path) else {
            continue;
        };
        if let (Some(data), Ok(index)) = (data_mtime, meta.modified())
            && index < data
        {
            return (
                None,
                Some(format!(
                    "{display}: index {} is older than the data file; ignoring it (re-index with `tabix -p vcf`)",
                    index_path.display()
                )),
            );
        }
        let loaded: io::Result<SharedIndex> = if ext == "tbi" {
            noodles::tabix::fs::read(&index_path).map(|i| Arc::new(i) as SharedIndex)
        } else {
            noodles::csi::fs::read(&index_path).map(|i| Arc::new(i) as SharedIndex)
        };
        return match loaded {
            Ok(index) => (Some(index), None),
            Err(e) => (
                None,
                Some(format!(
                    "{display}: cannot read index {}: {e}; scanning without it",
                    index_path.display()
                )),
            ),
        };
    }
    (None, None)
}

/// Reads a format's header from the start of a file; returns how many lines it used.
pub type HeaderReader<'a> = &'a mut dyn FnMut(&mut dyn BufRead, &str) -> Result<u64>;

impl TextSource {
    pub fn open(path: &Path, read_header: HeaderReader) -> Result<TextSource> {
        let display = path.display().to_string();
        let compression =
            detect_compression(path).map_err(|e| io_err(&display, "cannot open", e))?;
        let file = File::open(path).map_err(|e| io_err(&display, "cannot open", e))?;
        let len = file
            .metadata()
            .map_err(|e| io_err(&display, "cannot stat", e))?
            .len();
        let (header_lines, data_start) = match compression {
            Compression::Plain => {
                let mut r = BufReader::new(file);
                let lines = read_header(&mut r, &display)?;
                let pos = r
                    .stream_position()
                    .map_err(|e| io_err(&display, "seek", e))?;
                (lines, pos)
            }
            Compression::Bgzf => {
                let mut r = bgzf::io::Reader::new(file);
                let lines = read_header(&mut r, &display)?;
                (lines, u64::from(r.virtual_position()))
            }
            Compression::Gzip => {
                let mut r = BufReader::new(MultiGzDecoder::new(file));
                (read_header(&mut r, &display)?, 0)
            }
        };
        let (index, index_warning) = match compression {
            Compression::Bgzf => load_index(path, &display),
            _ => (None, None),
        };
        Ok(TextSource {
            path: path.to_path_buf(),
            display,
            compression,
            header_lines,
            data_start,
            index,
            index_warning,
            len,
        })
    }

    /// Splits a scan into partitions: one per region through the index when
    /// there is one, else byte ranges of about equal size.
    pub fn plan(&self, regions: &[Region], target_partitions: usize) -> Result<Vec<ScanUnit>> {
        if !regions.is_empty()
            && let Some(index) = &self.index
        {
            return regions
                .iter()
                .map(|r| self.region_unit(index.as_ref(), r))
                .collect();
        }
        // Below ~1 MiB a partition costs more to set up than it saves.
        let n = target_partitions.clamp(1, (self.len / (1 << 20)) as usize + 1);
        let bounds: Vec<(u64, bool)> = match self.compression {
            Compression::Gzip => vec![],
            Compression::Plain => (1..n)
                .map(|i| self.len * i as u64 / n as u64)
                .filter(|&b| b > self.data_start)
                .map(|b| (b, false))
                .collect(),
            Compression::Bgzf => {
                let header_block = VirtualPosition::from(self.data_start).compressed();
                bgzf_split::boundaries(&self.path, self.len, n)
                    .map_err(|e| io_err(&self.display, "cannot split into partitions", e))?
                    .into_iter()
                    .filter(|(b, _)| *b > header_block)
                    .collect()
            }
        };
        let mut units = Vec::with_capacity(bounds.len() + 1);
        let mut start = (self.data_start, true, true);
        for &(b, line_starts_here) in &bounds {
            units.push(ScanUnit::Range {
                start: start.0,
                end: Some(b),
                first: start.1,
                line_starts_here: start.2,
            });
            start = (b, false, line_starts_here);
        }
        units.push(ScanUnit::Range {
            start: start.0,
            end: None,
            first: start.1,
            line_starts_here: start.2,
        });
        Ok(units)
    }

    fn region_unit(
        &self,
        index: &(dyn BinningIndex + Send + Sync),
        r: &Region,
    ) -> Result<ScanUnit> {
        let names = index.header().map(|h| h.reference_sequence_names());
        let Some(id) = names.and_then(|n| n.get_index_of(r.chrom.as_bytes())) else {
            // A contig the index does not know has no records.
            return Ok(ScanUnit::Chunks(vec![]));
        };
        // An open-ended region (`chrom = 'x'`, `start >= n`) ends at i64::MAX;
        // the index answers up to its own last position and refuses beyond it.
        let last = 1i64 << (u32::from(index.min_shift()) + 3 * u32::from(index.depth()));
        if r.start > last {
            return Ok(ScanUnit::Chunks(vec![]));
        }
        let pos = |p: i64| Position::try_from(p.clamp(1, last) as usize).expect("positive");
        let interval = Interval::from(pos(r.start)..=pos(r.end.max(r.start)));
        let chunks = index
            .query(id, interval)
            .map_err(|e| io_err(&self.display, "index query failed", e))?;
        Ok(ScanUnit::Chunks(chunks))
    }

    pub fn open_unit(&self, unit: &ScanUnit) -> Result<Box<dyn LineSource>> {
        let file = File::open(&self.path).map_err(|e| io_err(&self.display, "cannot open", e))?;
        let header_lines = self.header_lines;
        let err = |e| io_err(&self.display, "cannot seek", e);
        Ok(match (self.compression, unit) {
            (Compression::Gzip, _) => {
                let mut reader = BufReader::new(MultiGzDecoder::new(file));
                let mut skipped = Vec::new();
                for _ in 0..header_lines {
                    skipped.clear();
                    reader
                        .read_until(b'\n', &mut skipped)
                        .map_err(|e| io_err(&self.display, "cannot read", e))?;
                }
                Box::new(PlainLines {
                    reader,
                    pos: 0,
                    end: u64::MAX,
                    line: Some(header_lines),
                })
            }
            (
                Compression::Plain,
                ScanUnit::Range {
                    start, end, first, ..
                },
            ) => {
                let mut reader = BufReader::with_capacity(1 << 16, file);
                let pos = if *first {
                    reader.seek(SeekFrom::Start(*start)).map_err(err)?
                } else {
                    skip_partial_line(&mut reader, *start).map_err(err)?
                };
                let line = first.then_some(header_lines);
                Box::new(PlainLines {
                    reader,
                    pos,
                    end: end.unwrap_or(u64::MAX),
                    line,
                })
            }
            (
                Compression::Bgzf,
                ScanUnit::Range {
                    start,
                    end,
                    first,
                    line_starts_here,
                },
            ) => {
                let mut reader = bgzf::io::Reader::new(file);
                let vpos = if *first {
                    VirtualPosition::from(*start)
                } else {
                    VirtualPosition::try_from((*start, 0))
                        .map_err(|e| io_err(&self.display, "bad partition offset", e))?
                };
                reader.seek(vpos).map_err(err)?;
                if !*line_starts_here {
                    reader.read_until(b'\n', &mut Vec::new()).map_err(err)?;
                }
                Box::new(BgzfLines {
                    reader,
                    end_block: *end,
                    chunks: VecDeque::new(),
                    chunk_end: None,
                    line: first.then_some(header_lines),
                    last: vpos,
                })
            }
            (Compression::Bgzf, ScanUnit::Chunks(chunks)) => Box::new(BgzfLines {
                reader: bgzf::io::Reader::new(file),
                end_block: None,
                chunks: chunks.iter().copied().collect(),
                chunk_end: Some(VirtualPosition::default()),
                line: None,
                last: VirtualPosition::default(),
            }),
            (Compression::Plain, ScanUnit::Chunks(_)) => {
                unreachable!("chunks come from an index, which only BGZF files have")
            }
        })
    }
}

/// Positions `reader` at the first line starting at or after `start`.
fn skip_partial_line(reader: &mut BufReader<File>, start: u64) -> io::Result<u64> {
    reader.seek(SeekFrom::Start(start - 1))?;
    let mut skipped = Vec::new();
    let n = reader.read_until(b'\n', &mut skipped)?;
    Ok(start - 1 + n as u64)
}

/// Lines of a file, with where they came from for error messages.
pub trait LineSource: Send {
    /// Reads the next line into `buf` without its line ending; `false` at the end.
    fn next_line(&mut self, buf: &mut Vec<u8>) -> io::Result<bool>;
    /// Where the last line read starts, for error messages ("line 12").
    fn location(&self) -> String;
}

fn trim_eol(buf: &mut Vec<u8>) {
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    }
}

struct PlainLines<R> {
    reader: R,
    pos: u64,
    end: u64,
    line: Option<u64>,
}

impl<R: BufRead + Send> LineSource for PlainLines<R> {
    fn next_line(&mut self, buf: &mut Vec<u8>) -> io::Result<bool> {
        if self.pos >= self.end {
            return Ok(false);
        }
        buf.clear();
        let n = self.reader.read_until(b'\n', buf)?;
        if n == 0 {
            return Ok(false);
        }
        self.pos += n as u64;
        self.line = self.line.map(|l| l + 1);
        trim_eol(buf);
        Ok(true)
    }

    fn location(&self) -> String {
        match self.line {
            Some(l) => format!("line {l}"),
            None => format!("the line ending at byte offset {}", self.pos),
        }
    }
}

struct BgzfLines {
    reader: bgzf::io::Reader<File>,
    end_block: Option<u64>,
    chunks: VecDeque<Chunk>,
    /// End of the current chunk; `None` when reading a range instead.
    chunk_end: Option<VirtualPosition>,
    line: Option<u64>,
    last: VirtualPosition,
}

impl LineSource for BgzfLines {
    fn next_line(&mut self, buf: &mut Vec<u8>) -> io::Result<bool> {
        loop {
            let vpos = self.reader.virtual_position();
            if let Some(chunk_end) = self.chunk_end {
                if vpos >= chunk_end {
                    let Some(chunk) = self.chunks.pop_front() else {
                        return Ok(false);
                    };
                    self.reader.seek(chunk.start())?;
                    self.chunk_end = Some(chunk.end());
                    continue;
                }
            } else if self.end_block.is_some_and(|end| vpos.compressed() >= end) {
                return Ok(false);
            }
            buf.clear();
            self.last = vpos;
            if self.reader.read_until(b'\n', buf)? == 0 {
                if self.chunk_end.is_some() && !self.chunks.is_empty() {
                    self.chunk_end = Some(VirtualPosition::default());
                    continue;
                }
                return Ok(false);
            }
            self.line = self.line.map(|l| l + 1);
            trim_eol(buf);
            return Ok(true);
        }
    }

    fn location(&self) -> String {
        match self.line {
            Some(l) => format!("line {l}"),
            None => format!(
                "the record at BGZF offset {}:{}",
                self.last.compressed(),
                self.last.uncompressed()
            ),
        }
    }
}
