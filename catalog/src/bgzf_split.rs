//! Finding BGZF block boundaries to split a compressed file into partitions
//! without an index.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use flate2::read::DeflateDecoder;

const HEADER_LEN: usize = 18;
const MAX_BLOCK: usize = 1 << 16;

/// Whether `b` starts a BGZF block header (gzip member with the `BC` extra field).
pub fn is_block_header(b: &[u8]) -> bool {
    b.len() >= HEADER_LEN
        && b[..4] == [0x1f, 0x8b, 0x08, 0x04]
        && b[10..12] == [6, 0]
        && b[12..14] == *b"BC"
        && b[14..16] == [2, 0]
}

fn block_size(b: &[u8]) -> usize {
    u16::from_le_bytes([b[16], b[17]]) as usize + 1
}

/// About `n - 1` block offsets splitting the file evenly, each with whether a
/// line starts exactly there (the previous block ends with a newline).
pub fn boundaries(path: &Path, len: u64, n: usize) -> io::Result<Vec<(u64, bool)>> {
    let mut file = File::open(path)?;
    let mut out: Vec<(u64, bool)> = Vec::new();
    for i in 1..n {
        let guess = len * i as u64 / n as u64;
        let Some(prev) = find_block(&mut file, guess, len)? else {
            continue;
        };
        let (prev_size, last_byte) = block_last_byte(&mut file, prev)?;
        let boundary = prev + prev_size as u64;
        // The EOF marker block (28 bytes) holds nothing to split before.
        if boundary + 28 >= len || out.last().is_some_and(|(b, _)| *b >= boundary) {
            continue;
        }
        let Some(last_byte) = last_byte else { continue };
        out.push((boundary, last_byte == b'\n'));
    }
    Ok(out)
}

/// The first block starting at or after `from` whose successor also parses.
fn find_block(file: &mut File, from: u64, len: u64) -> io::Result<Option<u64>> {
    let mut buf = vec![0u8; 2 * MAX_BLOCK + HEADER_LEN];
    file.seek(SeekFrom::Start(from))?;
    let n = file.by_ref().take(buf.len() as u64).read(&mut buf)?;
    let mut filled = n;
    while filled < buf.len() {
        let k = file.read(&mut buf[filled..])?;
        if k == 0 {
            break;
        }
        filled += k;
    }
    let buf = &buf[..filled];
    for p in 0..filled.saturating_sub(HEADER_LEN) {
        if !is_block_header(&buf[p..]) {
            continue;
        }
        let next = p + block_size(&buf[p..]);
        let next_ok = from + next as u64 == len
            || (next + HEADER_LEN <= filled && is_block_header(&buf[next..]));
        if next_ok {
            return Ok(Some(from + p as u64));
        }
    }
    Ok(None)
}

/// Size of the block at `offset` and the last byte of its uncompressed data.
fn block_last_byte(file: &mut File, offset: u64) -> io::Result<(usize, Option<u8>)> {
    let mut header = [0u8; HEADER_LEN];
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(&mut header)?;
    let size = block_size(&header);
    let mut cdata = vec![0u8; size - HEADER_LEN];
    file.read_exact(&mut cdata)?;
    let deflated = &cdata[..cdata.len().saturating_sub(8)];
    let mut data = Vec::with_capacity(MAX_BLOCK);
    DeflateDecoder::new(deflated).read_to_end(&mut data)?;
    Ok((size, data.last().copied()))
}
