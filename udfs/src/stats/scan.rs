//! One pass over a VCF: its header for the sample names, then its records in
//! parallel stretches (BGZF blocks or byte ranges, as table scans split it),
//! each counted on its own thread, the counts added up at the end.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use datafusion::common::{DataFusionError, Result};
use genoflight_catalog::text::TextSource;
use genoflight_catalog::text::source::ScanUnit;
use genoflight_catalog::vcf::header::VcfHeader;

use super::accumulate::{Scratch, Stats};

/// The counts of the file at `path` and its sample names. `gone` says that
/// nobody waits for them any more (the query was cancelled): reading stops.
pub fn count(
    path: &Path,
    partitions: usize,
    gone: &(dyn Fn() -> bool + Sync),
) -> Result<(Stats, Vec<String>)> {
    let stop = &AtomicBool::new(false);
    let mut header = None;
    let source = TextSource::open(path, &mut |reader, display| {
        let h = VcfHeader::read(reader, display)?;
        let lines = h.line_count;
        header = Some(h);
        Ok(lines)
    })?;
    let samples = header.map(|h| h.samples).unwrap_or_default();
    let source = Arc::new(source);
    let units = source.plan(&[], partitions.max(1))?;
    let n = samples.len();
    let parts: Vec<Result<Stats>> = std::thread::scope(|scope| {
        let handles: Vec<_> = units
            .iter()
            .map(|unit| {
                let source = source.clone();
                scope.spawn(move || count_unit(&source, unit, n, stop, gone))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(DataFusionError::Execution(
                        "vcf_stats(): a counting thread panicked".into(),
                    ))
                })
            })
            .collect()
    });
    if gone() {
        return Err(DataFusionError::Execution(
            "vcf_stats(): cancelled: the query's consumer went away".into(),
        ));
    }
    let mut total = Stats::new(n);
    for part in parts {
        total.merge(&part?);
    }
    Ok((total, samples))
}

/// Counts one stretch; `stop` (set when another stretch failed) or `gone`
/// ends it early.
fn count_unit(
    source: &TextSource,
    unit: &ScanUnit,
    samples: usize,
    stop: &AtomicBool,
    gone: &(dyn Fn() -> bool + Sync),
) -> Result<Stats> {
    let file = &source.display;
    let fail = |loc: String, msg: &str| {
        stop.store(true, Ordering::Relaxed);
        DataFusionError::Execution(format!("vcf_stats(): {file}: {loc}: {msg}"))
    };
    let mut lines = source.open_unit(unit)?;
    let mut stats = Stats::new(samples);
    let mut scratch = Scratch::default();
    let mut buf = Vec::with_capacity(1024);
    let mut read = 0u64;
    loop {
        let more = lines
            .next_line(&mut buf)
            .map_err(|e| fail(lines.location(), &e.to_string()))?;
        if !more {
            break;
        }
        if buf.is_empty() || buf[0] == b'#' {
            continue;
        }
        stats
            .add_line(&buf, &mut scratch)
            .map_err(|e| fail(lines.location(), &e))?;
        read += 1;
        if read.is_multiple_of(65_536) && (stop.load(Ordering::Relaxed) || gone()) {
            stop.store(true, Ordering::Relaxed);
            break;
        }
    }
    Ok(stats)
}
