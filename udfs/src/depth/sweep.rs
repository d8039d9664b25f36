//! The depth sweep: reads arrive sorted by start; each adds +1/-1 at the ends
//! of its counted stretches to a ring of differences over the window that is
//! still open, and every position before the next read's start is final and
//! flushed as runs of equal depth. No allocation per base or per read; memory
//! is the longest read span, whatever the file size.
//!
//! Positions are 1-based. A position's *state* is `Some(depth)` when it is
//! reported (inside some counted read's span, or any position of the contig
//! with `all_positions`) and `None` when it is not; blocks are maximal runs of
//! one `Some` state, exactly as `samtools depth` lists positions.

/// BAM CIGAR operation codes.
const M: u32 = 0;
const INS: u32 = 1;
const DEL: u32 = 2;
const SKIP: u32 = 3;
const SOFT: u32 = 4;
const HARD: u32 = 5;
const PAD: u32 = 6;
const EQ: u32 = 7;
const DIFF: u32 = 8;

/// What an alignment contributes: its 1-based start, its CIGAR (BAM-encoded
/// `len << 4 | op`, little-endian, 4 bytes an op) and base qualities (phred;
/// empty when absent, which counts every base, as htslib's 0xFF does).
pub struct Read<'a> {
    pub pos: i64,
    pub unmapped: bool,
    pub cigar: &'a [u8],
    pub qual: &'a [u8],
}

fn ops(cigar: &[u8]) -> impl Iterator<Item = (u32, i64)> + '_ {
    cigar.chunks_exact(4).map(|c| {
        let n = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        (n & 0xF, i64::from(n >> 4))
    })
}

impl Read<'_> {
    /// One past the last reference position, as htslib's `bam_endpos`: an
    /// unmapped read, or one that consumes no reference, spans one position.
    pub fn end(&self) -> Result<i64, String> {
        if self.unmapped {
            return Ok(self.pos + 1);
        }
        let mut len = 0;
        for (op, n) in ops(self.cigar) {
            match op {
                M | DEL | SKIP | EQ | DIFF => len += n,
                INS | SOFT | HARD | PAD => {}
                other => return Err(format!("unsupported CIGAR operation code {other}")),
            }
        }
        Ok(self.pos + len.max(1))
    }
}

/// How reads count, as `samtools depth -q/-J`.
#[derive(Debug, Clone, Copy)]
pub struct Counting {
    pub min_base_quality: u32,
    pub include_deletions: bool,
}

/// Receives the finished rows; `false` stops the sweep (limit reached or the
/// consumer gone). `open` is told each block start as soon as it is known.
pub trait Sink {
    fn block(&mut self, start: i64, end: i64, depth: i32) -> bool;
    fn base(&mut self, pos: i64, depth: i32) -> bool;
    fn open(&mut self, _start: i64) -> bool {
        true
    }
}

/// Turns runs of states into rows for one work item: blocks whose (natural)
/// start lies in `[from, to]` (the last one is finished past `to`), or bases in
/// `[from, to]`; positions outside `[lo, hi]` (the `region` option) are `None`.
pub struct Emitter<S> {
    from: i64,
    to: i64,
    lo: i64,
    hi: i64,
    per_base: bool,
    open: Option<(i64, i32)>,
    last: i64,
    done: bool,
    pub sink: S,
}

impl<S: Sink> Emitter<S> {
    pub fn new(per_base: bool, sink: S) -> Emitter<S> {
        Emitter {
            from: 1,
            to: i64::MAX / 4,
            lo: 1,
            hi: i64::MAX / 4,
            per_base,
            open: None,
            last: 0,
            done: false,
            sink,
        }
    }

    /// Starts a work item.
    pub fn start(&mut self, from: i64, to: i64, lo: i64, hi: i64) {
        self.from = from;
        self.to = to;
        self.lo = lo;
        self.hi = hi;
        self.open = None;
        self.last = 0;
        self.done = false;
    }

    /// Nothing more to emit for this item: past `to`, or the sink said stop.
    pub fn done(&self) -> bool {
        self.done
    }

    /// Positions `a..=b` have state `d`.
    pub fn run(&mut self, mut a: i64, b: i64, d: Option<i32>) {
        if self.done || a > b {
            return;
        }
        if a < self.lo {
            self.state(a, b.min(self.lo - 1), None);
            if b < self.lo {
                return;
            }
            a = self.lo;
        }
        if b > self.hi {
            if a <= self.hi {
                self.state(a, self.hi, d);
            }
            self.state(a.max(self.hi + 1), b, None);
        } else {
            self.state(a, b, d);
        }
    }

    fn state(&mut self, a: i64, b: i64, d: Option<i32>) {
        if self.done {
            return;
        }
        self.last = b;
        if self.per_base {
            if let Some(d) = d {
                for p in a.max(self.from)..=b.min(self.to) {
                    if !self.sink.base(p, d) {
                        self.done = true;
                        return;
                    }
                }
            }
            if b >= self.to {
                self.done = true;
            }
            return;
        }
        if let (Some((_, od)), Some(d)) = (self.open, d)
            && od == d
        {
            return;
        }
        if let Some((s, od)) = self.open.take()
            && s >= self.from
            && s <= self.to
            && !self.sink.block(s, a - 1, od)
        {
            self.done = true;
            return;
        }
        if a > self.to {
            self.done = true;
            return;
        }
        if let Some(d) = d {
            self.open = Some((a, d));
            if a >= self.from && !self.sink.open(a) {
                self.done = true;
            }
        }
    }

    /// The end of the item: the open block ends at the last position seen.
    pub fn finish(&mut self) {
        if self.done {
            return;
        }
        if let Some((s, d)) = self.open.take()
            && s >= self.from
            && s <= self.to
            && !self.sink.block(s, self.last, d)
        {
            self.done = true;
        }
    }
}

/// The ring of depth differences over the open window.
pub struct Sweep {
    diff: Vec<i32>,
    mask: usize,
    /// The next position to flush; everything before it has been emitted.
    base: i64,
    /// One past the end of the union of the spans of the reads added so far.
    cov_end: i64,
    /// Depth at `base - 1`.
    cur: i32,
    /// Contig length, and whether uncovered positions up to it are reported as 0.
    len: i64,
    fill_zero: bool,
}

impl Default for Sweep {
    fn default() -> Self {
        Sweep::new()
    }
}

impl Sweep {
    pub fn new() -> Sweep {
        let size = 1 << 15;
        Sweep {
            diff: vec![0; size],
            mask: size - 1,
            base: 1,
            cov_end: 1,
            cur: 0,
            len: 0,
            fill_zero: false,
        }
    }

    /// Starts a window whose first position (its state only a predecessor's,
    /// or emitted) is `base`.
    pub fn reset(&mut self, base: i64, len: i64, fill_zero: bool) {
        self.diff.fill(0);
        self.base = base;
        self.cov_end = base;
        self.cur = 0;
        self.len = len;
        self.fill_zero = fill_zero;
    }

    fn grow(&mut self, need: usize) {
        let size = need.next_power_of_two();
        let mut diff = vec![0; size];
        for p in self.base..=self.cov_end {
            diff[p as usize & (size - 1)] = self.diff[p as usize & self.mask];
        }
        self.diff = diff;
        self.mask = size - 1;
    }

    #[inline]
    fn add_run(&mut self, a: i64, b: i64, limit: i64) {
        let a = a.max(self.base);
        let b = b.min(limit);
        if a >= b {
            return;
        }
        self.diff[a as usize & self.mask] += 1;
        self.diff[b as usize & self.mask] -= 1;
    }

    /// Adds a read whose start is at or after every earlier read's, once
    /// everything before its start has been flushed; `end` is `read.end()`.
    pub fn add(&mut self, read: &Read, end: i64, counting: Counting) {
        if end <= self.base {
            return;
        }
        let need = (end.max(self.cov_end) - self.base + 1) as usize;
        if need > self.diff.len() {
            self.grow(need);
        }
        // An unmapped read spans one position, but samtools still walks its
        // CIGAR: what lands inside the spans seen so far counts, the rest is
        // overwritten before it is printed. Counting is clipped to match.
        let limit = if read.unmapped {
            self.cov_end.max(end)
        } else {
            end
        };
        self.cov_end = self.cov_end.max(end);
        let min_q = counting.min_base_quality;
        let qual = read.qual;
        let mut i = read.pos;
        let mut q = 0usize;
        for (op, n) in ops(read.cigar) {
            match op {
                M | EQ | DIFF => {
                    if min_q == 0 || q >= qual.len() {
                        self.add_run(i, i + n, limit);
                    } else {
                        // Runs of bases at or above the threshold; bases past the
                        // end of the qualities count, as htslib's missing ones.
                        let mut k = 0;
                        while k < n {
                            while k < n
                                && q + (k as usize) < qual.len()
                                && u32::from(qual[q + k as usize]) < min_q
                            {
                                k += 1;
                            }
                            let start = k;
                            while k < n
                                && (q + (k as usize) >= qual.len()
                                    || u32::from(qual[q + k as usize]) >= min_q)
                            {
                                k += 1;
                            }
                            if k > start {
                                self.add_run(i + start, i + k, limit);
                            }
                        }
                    }
                    i += n;
                    q += n as usize;
                }
                INS | SOFT => q += n as usize,
                DEL => {
                    // -J: a deletion counts when the next base's quality passes
                    // (samtools depth's rule, kept for compatibility).
                    if counting.include_deletions
                        && (min_q == 0 || q >= qual.len() || u32::from(qual[q]) >= min_q)
                    {
                        self.add_run(i, i + n, limit);
                    }
                    i += n;
                }
                SKIP => i += n,
                _ => {}
            }
        }
    }

    /// Emits every position before `upto`.
    pub fn flush<S: Sink>(&mut self, upto: i64, em: &mut Emitter<S>) {
        if upto <= self.base || em.done() {
            return;
        }
        let c = upto.min(self.cov_end);
        if self.base < c {
            let mask = self.mask;
            let mut p = self.base;
            let mut cur = self.cur;
            let i = p as usize & mask;
            cur += self.diff[i];
            self.diff[i] = 0;
            let mut run_start = p;
            let mut run_d = cur;
            p += 1;
            while p < c {
                let i = p as usize & mask;
                let d = self.diff[i];
                if d != 0 {
                    self.diff[i] = 0;
                    cur += d;
                    if cur != run_d {
                        em.run(run_start, p - 1, Some(run_d));
                        if em.done() {
                            return;
                        }
                        run_start = p;
                        run_d = cur;
                    }
                }
                p += 1;
            }
            em.run(run_start, c - 1, Some(run_d));
            self.cur = cur;
            self.base = c;
        }
        if self.base < upto {
            // Past every span: what is left in the ring here is the reads' ends.
            self.diff[self.base as usize & self.mask] = 0;
            self.cur = 0;
            let (a, b) = (self.base, upto - 1);
            if self.fill_zero {
                if a <= self.len {
                    em.run(a, b.min(self.len), Some(0));
                }
                if b > self.len {
                    em.run(a.max(self.len + 1), b, None);
                }
            } else {
                em.run(a, b, None);
            }
            self.base = upto;
        }
    }

    /// The end of the contig (or of the reads wanted): flush what is left.
    pub fn finish<S: Sink>(&mut self, em: &mut Emitter<S>) {
        self.flush(self.cov_end, em);
        if self.fill_zero && self.base <= self.len {
            self.flush(self.len + 1, em);
        }
        em.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cigar(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let mut n = 0u32;
        for c in text.bytes() {
            if c.is_ascii_digit() {
                n = n * 10 + u32::from(c - b'0');
                continue;
            }
            let op = b"MIDNSHP=X".iter().position(|&x| x == c).unwrap() as u32;
            out.extend_from_slice(&((n << 4) | op).to_le_bytes());
            n = 0;
        }
        out
    }

    #[derive(Default)]
    struct Rows {
        blocks: Vec<(i64, i64, i32)>,
        bases: Vec<(i64, i32)>,
    }

    impl Sink for Rows {
        fn block(&mut self, s: i64, e: i64, d: i32) -> bool {
            self.blocks.push((s, e, d));
            true
        }
        fn base(&mut self, p: i64, d: i32) -> bool {
            self.bases.push((p, d));
            true
        }
    }

    /// Naive per-position depth (samtools semantics) for the same reads.
    fn naive(
        reads: &[(i64, &str, Vec<u8>)],
        counting: Counting,
        len: i64,
        fill: bool,
    ) -> Vec<(i64, i32)> {
        let mut depth = vec![None::<i32>; (len + 200) as usize];
        for (pos, c, q) in reads {
            let cig = cigar(c);
            let r = Read {
                pos: *pos,
                unmapped: false,
                cigar: &cig,
                qual: q,
            };
            let end = r.end().unwrap();
            for p in *pos..end {
                depth[p as usize].get_or_insert(0);
            }
            let (mut i, mut k) = (*pos, 0usize);
            for (op, n) in ops(&cig) {
                for _ in 0..n {
                    match op {
                        M | EQ | DIFF => {
                            if k >= q.len() || u32::from(q[k]) >= counting.min_base_quality {
                                *depth[i as usize].as_mut().unwrap() += 1;
                            }
                            i += 1;
                            k += 1;
                        }
                        INS | SOFT => k += 1,
                        DEL => {
                            if counting.include_deletions
                                && (k >= q.len() || u32::from(q[k]) >= counting.min_base_quality)
                            {
                                *depth[i as usize].as_mut().unwrap() += 1;
                            }
                            i += 1;
                        }
                        SKIP => i += 1,
                        _ => {}
                    }
                }
            }
        }
        depth
            .iter()
            .enumerate()
            .skip(1)
            .filter_map(|(p, d)| match d {
                Some(d) => Some((p as i64, *d)),
                None if fill && (p as i64) <= len => Some((p as i64, 0)),
                None => None,
            })
            .collect()
    }

    fn sweep(
        reads: &[(i64, &str, Vec<u8>)],
        counting: Counting,
        len: i64,
        fill: bool,
        per_base: bool,
        from: i64,
        to: i64,
    ) -> Rows {
        let mut s = Sweep::new();
        s.reset(from - 1, len, fill);
        let mut em = Emitter::new(per_base, Rows::default());
        em.start(from, to, 1, i64::MAX / 4);
        {
            for (pos, c, q) in reads {
                let cig = cigar(c);
                let r = Read {
                    pos: *pos,
                    unmapped: false,
                    cigar: &cig,
                    qual: q,
                };
                let end = r.end().unwrap();
                if end < from {
                    continue;
                }
                s.flush(*pos, &mut em);
                if em.done() {
                    break;
                }
                s.add(&r, end, counting);
            }
            s.finish(&mut em);
        }
        em.sink
    }

    fn reads() -> Vec<(i64, &'static str, Vec<u8>)> {
        vec![
            (3, "5M", vec![30; 5]),
            (4, "2S3M2D3M", vec![10, 10, 30, 5, 30, 30, 30, 30]),
            (4, "4M100N4M", vec![]),
            (20, "3M1I3M", vec![30, 30, 30, 30, 2, 30, 30]),
            (40, "10S", vec![30; 10]),
            (60, "4M", vec![30; 4]),
        ]
    }

    #[test]
    fn per_base_and_blocks_match_a_naive_count() {
        for min_q in [0, 20] {
            for del in [false, true] {
                for fill in [false, true] {
                    let counting = Counting {
                        min_base_quality: min_q,
                        include_deletions: del,
                    };
                    let want = naive(&reads(), counting, 150, fill);
                    let rows = sweep(&reads(), counting, 150, fill, true, 1, i64::MAX / 4);
                    assert_eq!(rows.bases, want, "q={min_q} J={del} a={fill}");
                    // Blocks expand to the same positions, and adjacent blocks differ.
                    let blocks =
                        sweep(&reads(), counting, 150, fill, false, 1, i64::MAX / 4).blocks;
                    let expanded: Vec<(i64, i32)> = blocks
                        .iter()
                        .flat_map(|&(s, e, d)| (s..=e).map(move |p| (p, d)))
                        .collect();
                    assert_eq!(expanded, want);
                    for w in blocks.windows(2) {
                        assert!(w[0].1 + 1 < w[1].0 || w[0].2 != w[1].2);
                    }
                }
            }
        }
    }

    #[test]
    fn tiles_give_the_same_blocks_as_one_sweep() {
        let counting = Counting {
            min_base_quality: 0,
            include_deletions: false,
        };
        for fill in [false, true] {
            let whole = sweep(&reads(), counting, 150, fill, false, 1, i64::MAX / 4).blocks;
            for cut in 2..130 {
                let mut tiled = sweep(&reads(), counting, 150, fill, false, 1, cut - 1).blocks;
                tiled.extend(sweep(&reads(), counting, 150, fill, false, cut, i64::MAX / 4).blocks);
                assert_eq!(tiled, whole, "cut at {cut}, fill {fill}");
            }
        }
    }

    #[test]
    fn the_ring_grows_for_long_spans() {
        let counting = Counting {
            min_base_quality: 0,
            include_deletions: false,
        };
        let long = vec![
            (10, "5M200000N5M", vec![]),
            (11, "3M", vec![]),
            (200010, "3M", vec![]),
        ];
        let want = naive(&long, counting, 300_000, false);
        let rows = sweep(&long, counting, 300_000, false, true, 1, i64::MAX / 4);
        assert_eq!(rows.bases, want);
        let blocks = sweep(&long, counting, 300_000, false, false, 1, i64::MAX / 4).blocks;
        assert_eq!(blocks.len(), 7);
        assert_eq!(blocks[3], (15, 200009, 0));
    }
}
