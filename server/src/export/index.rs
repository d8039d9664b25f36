//! Indexes built while writing: tabix (.tbi) for BGZF text (VCF, BED), or a
//! CSI with a tabix header when a contig is longer than .tbi can address
//! (2^29 bp); .bai (or .csi) for BAM. Also the sort check both need.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use datafusion::common::{DataFusionError, Result};
use noodles::bgzf::VirtualPosition;
use noodles::core::Position;
use noodles::csi::binning_index::Indexer;
use noodles::csi::binning_index::index::Header;
use noodles::csi::binning_index::index::header::ReferenceSequenceNames;
use noodles::csi::binning_index::index::reference_sequence::bin::Chunk;
use noodles::csi::binning_index::index::reference_sequence::index::{BinnedIndex, LinearIndex};

/// The largest position a .tbi/.bai can index (min_shift 14, depth 5).
const TBI_MAX: i64 = 1 << 29;
const MIN_SHIFT: u8 = 14;

/// The CSI depth (with min_shift 14) that covers `max_len` bp.
fn csi_depth(max_len: i64) -> u8 {
    let mut depth = 5;
    while (1i64 << (MIN_SHIFT as u32 + 3 * depth as u32)) < max_len && depth < 12 {
        depth += 1;
    }
    depth
}

enum Binning {
    Linear(Indexer<LinearIndex>),
    Binned(Indexer<BinnedIndex>),
}

impl Binning {
    fn new(max_len: i64) -> Binning {
        if max_len > TBI_MAX {
            let depth = csi_depth(max_len);
            Binning::Binned(Indexer::new(MIN_SHIFT, depth).expect("valid min_shift/depth"))
        } else {
            Binning::Linear(Indexer::default())
        }
    }

    fn add(
        &mut self,
        context: Option<(usize, Position, Position, bool)>,
        chunk: Chunk,
    ) -> Result<()> {
        let added = match self {
            Binning::Linear(i) => i.add_record(context, chunk),
            Binning::Binned(i) => i.add_record(context, chunk),
        };
        added.map_err(|e| {
            DataFusionError::Execution(format!(
                "cannot index the output: {e} (a contig longer than its header length? \
                 write .parquet instead, or fix the contig lengths)"
            ))
        })
    }

    fn extension(&self, linear: &'static str) -> &'static str {
        match self {
            Binning::Linear(_) => linear,
            Binning::Binned(_) => "csi",
        }
    }
}

/// 1-based closed interval of a record, as the index needs it.
fn positions(start: i64, end: i64) -> Result<(Position, Position)> {
    let start_pos = usize::try_from(start)
        .ok()
        .and_then(Position::new)
        .ok_or_else(|| {
            DataFusionError::Execution(format!(
                "cannot index a record starting at {start}: positions must be at least 1"
            ))
        })?;
    let end_pos = usize::try_from(end.max(start))
        .ok()
        .and_then(Position::new)
        .unwrap_or(start_pos);
    Ok((start_pos, end_pos))
}

/// A tabix-style index of BGZF text records (names in order of appearance).
pub struct TabixIndexer {
    binning: Binning,
    header: Header,
    names: ReferenceSequenceNames,
}

impl TabixIndexer {
    /// `header`: the tabix header of the format (`Header::builder().vcf()`...);
    /// `max_len`: the longest contig known, choosing .tbi or .csi.
    pub fn new(header: Header, max_len: i64) -> TabixIndexer {
        TabixIndexer {
            binning: Binning::new(max_len),
            header,
            names: ReferenceSequenceNames::new(),
        }
    }

    /// Adds one record: contig, 1-based closed [start, end], and where it lies.
    pub fn add(
        &mut self,
        chrom: &str,
        start: i64,
        end: i64,
        from: VirtualPosition,
        to: VirtualPosition,
    ) -> Result<()> {
        let (id, _) = self.names.insert_full(chrom.into());
        let (start, end) = positions(start, end)?;
        self.binning
            .add(Some((id, start, end, true)), Chunk::new(from, to))
    }

    /// Writes the index beside `data` (`data.tbi` or `data.csi`); returns its path.
    pub fn write(self, data: &Path) -> Result<PathBuf> {
        let count = self.names.len();
        let mut header = self.header;
        *header.reference_sequence_names_mut() = self.names;
        let path = PathBuf::from(format!(
            "{}.{}",
            data.display(),
            self.binning.extension("tbi")
        ));
        let written = match self.binning {
            Binning::Linear(i) => {
                let index = i.set_header(header).build(count);
                noodles::tabix::fs::write(&path, &index)
            }
            Binning::Binned(i) => {
                let index = i.set_header(header).build(count);
                noodles::csi::fs::write(&path, &index)
            }
        };
        written.map_err(|e| io_error(&path, e))?;
        Ok(path)
    }
}

/// A BAM index (.bai, or .csi for references over 2^29 bp).
pub struct BamIndexer {
    binning: Binning,
    references: usize,
}

impl BamIndexer {
    pub fn new(references: usize, max_len: i64) -> BamIndexer {
        BamIndexer {
            binning: Binning::new(max_len),
            references,
        }
    }

    /// `placed`: (reference id, 1-based start, end, mapped), `None` for unplaced reads.
    pub fn add(
        &mut self,
        placed: Option<(usize, i64, i64, bool)>,
        from: VirtualPosition,
        to: VirtualPosition,
    ) -> Result<()> {
        let context = match placed {
            Some((id, start, end, mapped)) => {
                let (start, end) = positions(start, end)?;
                Some((id, start, end, mapped))
            }
            None => None,
        };
        self.binning.add(context, Chunk::new(from, to))
    }

    pub fn write(self, data: &Path) -> Result<PathBuf> {
        let path = PathBuf::from(format!(
            "{}.{}",
            data.display(),
            self.binning.extension("bai")
        ));
        let written = match self.binning {
            Binning::Linear(i) => noodles::bam::bai::fs::write(&path, &i.build(self.references)),
            Binning::Binned(i) => noodles::csi::fs::write(&path, &i.build(self.references)),
        };
        written.map_err(|e| io_error(&path, e))?;
        Ok(path)
    }
}

pub fn io_error(path: &Path, e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("{}: {e}", path.display()))
}

/// Why a stream of records cannot be indexed as it comes.
#[derive(Debug)]
pub struct Unsorted(pub String);

/// Checks records arrive grouped by contig, by start within a contig, and
/// (for BAM) contigs in header order with unplaced reads last.
#[derive(Default)]
pub struct SortCheck {
    current: Option<String>,
    rank: Option<usize>,
    last_start: i64,
    done: HashSet<String>,
    unplaced: bool,
}

impl SortCheck {
    /// `rank`: the contig's header index when header order matters (BAM).
    pub fn check(
        &mut self,
        chrom: Option<&str>,
        rank: Option<usize>,
        start: i64,
    ) -> Result<(), Unsorted> {
        let Some(chrom) = chrom else {
            self.unplaced = true;
            return Ok(());
        };
        if self.unplaced {
            return Err(Unsorted(format!(
                "a record on {chrom} follows unplaced records"
            )));
        }
        if self.current.as_deref() == Some(chrom) {
            if start < self.last_start {
                return Err(Unsorted(format!(
                    "{chrom}:{start} follows {chrom}:{}",
                    self.last_start
                )));
            }
            self.last_start = start;
            return Ok(());
        }
        if self.done.contains(chrom) {
            return Err(Unsorted(format!("{chrom} appears in two separate runs")));
        }
        if let (Some(prev), Some(now)) = (self.rank, rank)
            && now < prev
        {
            return Err(Unsorted(format!(
                "{chrom} comes after {} but before it in the header",
                self.current.as_deref().unwrap_or("?")
            )));
        }
        if let Some(prev) = self.current.take() {
            self.done.insert(prev);
        }
        self.current = Some(chrom.to_string());
        self.rank = rank;
        self.last_start = start;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_check_wants_grouped_contigs_and_rising_starts() {
        let mut c = SortCheck::default();
        assert!(c.check(Some("2"), None, 5).is_ok());
        assert!(c.check(Some("2"), None, 5).is_ok());
        assert!(c.check(Some("1"), None, 1).is_ok());
        assert!(c.check(Some("1"), None, 0).is_err());
        let mut c = SortCheck::default();
        c.check(Some("2"), None, 5).unwrap();
        c.check(Some("1"), None, 1).unwrap();
        assert!(c.check(Some("2"), None, 9).is_err());
    }

    #[test]
    fn sort_check_with_ranks_wants_header_order_and_unplaced_last() {
        let mut c = SortCheck::default();
        c.check(Some("b"), Some(1), 1).unwrap();
        assert!(c.check(Some("a"), Some(0), 1).is_err());
        let mut c = SortCheck::default();
        c.check(None, None, 0).unwrap();
        assert!(c.check(Some("a"), Some(0), 1).is_err());
    }

    #[test]
    fn long_contigs_get_a_deeper_csi() {
        assert_eq!(csi_depth(1 << 20), 5);
        assert_eq!(csi_depth((1 << 29) + 1), 6);
    }
}
