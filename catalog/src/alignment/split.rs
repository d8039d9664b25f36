//! Where to cut an indexed BAM so that partitions read it in parallel.
//!
//! The cuts are virtual positions where records start, taken from the index
//! (the first chunk of a window's query), spread evenly by compressed offset.
//! A partition reads every record from its cut up to the next one, whatever
//! the records hold, so together the partitions read each record exactly once
//! (unplaced unmapped reads included, in the last part).

use noodles::bgzf::VirtualPosition;
use noodles::core::{Position, region::Interval};
use noodles::csi::BinningIndex;
use noodles::sam;

/// Compressed bytes below which another partition costs more than it saves.
const MIN_PART_BYTES: u64 = 4 << 20;

/// Index queries per reference sequence: how finely a large chromosome can be cut.
const WINDOWS_PER_REFERENCE: usize = 64;

/// At most `parts - 1` cuts, sorted; none when the file is small or the index is empty.
pub fn split_points(
    index: &dyn BinningIndex,
    header: &sam::Header,
    file_bytes: u64,
    parts: usize,
) -> Vec<VirtualPosition> {
    let parts = parts.min((file_bytes / MIN_PART_BYTES) as usize);
    if parts < 2 {
        return vec![];
    }
    let mut starts: Vec<VirtualPosition> = Vec::new();
    for (id, (_, reference)) in header.reference_sequences().iter().enumerate() {
        let length = reference.length().get();
        let Some(first) = first_record_from(index, id, 1) else {
            continue; // no reads on this reference
        };
        starts.push(first);
        for w in 1..WINDOWS_PER_REFERENCE.min(length) {
            starts.extend(first_record_from(
                index,
                id,
                1 + w * length / WINDOWS_PER_REFERENCE,
            ));
        }
    }
    starts.sort_unstable();
    starts.dedup();
    let (Some(&first), Some(&last)) = (starts.first(), starts.last()) else {
        return vec![];
    };
    let span = last.compressed() - first.compressed();
    let mut cuts: Vec<VirtualPosition> = Vec::new();
    for part in 1..parts {
        let target = first.compressed() + span * part as u64 / parts as u64;
        // The first record start at or after the target offset.
        let i = starts.partition_point(|p| p.compressed() < target);
        if let Some(&cut) = starts.get(i)
            && cut > first
            && cuts.last().is_none_or(|&c| cut > c)
        {
            cuts.push(cut);
        }
    }
    cuts
}

/// The virtual position of the first record the index lists for `id` at or after `pos`.
fn first_record_from(index: &dyn BinningIndex, id: usize, pos: usize) -> Option<VirtualPosition> {
    let start = Position::new(pos)?;
    let chunks = index.query(id, Interval::from(start..)).ok()?;
    chunks.iter().map(|c| c.start()).min()
}
