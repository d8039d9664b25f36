//! `depth('<alignment table>' [, 'option=value' ...])`: read depth over a BAM
//! or SAM table, as `samtools depth` computes it, as run-length blocks
//! `(chrom, start, end, depth)` or per-base rows `(chrom, pos, depth)`.
//!
//! mod.rs: the table function and its options; table.rs: the provider (schema,
//! region pushdown, partition plan); exec.rs: the execution plan (reading
//! records per work item); sweep.rs: the CIGAR sweep; reads.rs: records and
//! read filters.

mod exec;
mod reads;
mod sweep;
mod table;

use std::any::Any;
use std::sync::Arc;

use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{Result, plan_err};
use genoflight_catalog::alignment::{AlignmentFormat, AlignmentTable};
use noodles::sam;

use crate::args::{Options, table_arg};

pub use table::DepthTable;

const NAME: &str = "depth";

const KNOWN: &[&str] = &[
    "min_mapping_quality",
    "min_base_quality",
    "exclude_flags",
    "include_flags",
    "include_deletions",
    "all_positions",
    "per_base",
    "region",
    "partitions",
];

/// samtools depth's default filter: UNMAP, SECONDARY, QCFAIL, DUP.
pub const DEFAULT_EXCLUDE: u16 = 0x704;

/// Which zero-depth positions are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllPositions {
    /// Only positions inside some counted read's span (samtools depth).
    No,
    /// Every position of each contig with at least one counted read (`-a`).
    Covered,
    /// Every position of every contig (`-aa`).
    Every,
}

/// A `region` option, 1-based closed like samtools' `-r`.
#[derive(Debug, Clone)]
pub struct RegionOption {
    pub tid: usize,
    pub chrom: String,
    pub start: i64,
    pub end: i64,
}

#[derive(Debug, Clone)]
pub struct DepthOptions {
    pub min_mapping_quality: u32,
    pub min_base_quality: u32,
    pub exclude_flags: u16,
    pub include_deletions: bool,
    pub all_positions: AllPositions,
    pub per_base: bool,
    pub region: Option<RegionOption>,
    pub partitions: Option<usize>,
}

const FLAG_NAMES: &[(&str, u16)] = &[
    ("PAIRED", 0x1),
    ("PROPER_PAIR", 0x2),
    ("UNMAP", 0x4),
    ("MUNMAP", 0x8),
    ("REVERSE", 0x10),
    ("MREVERSE", 0x20),
    ("READ1", 0x40),
    ("READ2", 0x80),
    ("SECONDARY", 0x100),
    ("QCFAIL", 0x200),
    ("DUP", 0x400),
    ("SUPPLEMENTARY", 0x800),
];

/// Flags as samtools writes them: a number (decimal, 0x hex, 0 octal) or names
/// joined by `|` (commas separate options here, so not names).
pub fn parse_flags(key: &str, text: &str) -> Result<u16> {
    let t = text.trim();
    let number = if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u32::from_str_radix(hex, 16).ok()
    } else if t.len() > 1 && t.starts_with('0') && t.bytes().all(|b| b.is_ascii_digit()) {
        u32::from_str_radix(&t[1..], 8).ok()
    } else if t.bytes().all(|b| b.is_ascii_digit()) && !t.is_empty() {
        t.parse::<u32>().ok()
    } else {
        None
    };
    if let Some(n) = number {
        if n > 0xFFF {
            return plan_err!(
                "{NAME}(): option {key}: flag value {t} is out of range (at most 0xFFF)"
            );
        }
        return Ok(n as u16);
    }
    let mut flags = 0;
    for name in t.split('|').map(str::trim) {
        match FLAG_NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, v)) => flags |= v,
            None => {
                let names: Vec<&str> = FLAG_NAMES.iter().map(|(n, _)| *n).collect();
                return plan_err!(
                    "{NAME}(): option {key}: unknown flag '{name}' (a number, or names joined by '|': {})",
                    names.join(", ")
                );
            }
        }
    }
    Ok(flags)
}

fn quality(opts: &Options, key: &str) -> Result<u32> {
    let v = opts.int(key, 0)?;
    if !(0..=i64::from(u32::MAX)).contains(&v) {
        return plan_err!("{NAME}(): option {key} must not be negative, got {v}");
    }
    Ok(v as u32)
}

/// `chr1`, `chr1:100`, `chr1:100-` or `chr1:100-200` (1-based, closed).
fn parse_region(text: &str, header: &sam::Header) -> Result<RegionOption> {
    let refs = header.reference_sequences();
    let lookup = |name: &str| refs.get_index_of(name.as_bytes());
    let text = text.trim();
    if let Some(tid) = lookup(text) {
        return Ok(RegionOption {
            tid,
            chrom: text.to_string(),
            start: 1,
            end: i64::MAX / 4,
        });
    }
    let Some((chrom, range)) = text.rsplit_once(':') else {
        return plan_err!(
            "{NAME}(): option region: no contig '{text}' in the header (write chrom, chrom:start-end or chrom:start-)"
        );
    };
    let Some(tid) = lookup(chrom) else {
        return plan_err!("{NAME}(): option region: no contig '{chrom}' in the header");
    };
    let num = |s: &str| -> Result<i64> {
        let s = s.trim().replace('_', "");
        match s.parse::<i64>() {
            Ok(v) if v >= 1 => Ok(v),
            _ => plan_err!(
                "{NAME}(): option region: '{text}' is not chrom:start-end with 1-based positions"
            ),
        }
    };
    let (start, end) = match range.split_once('-') {
        None => (num(range)?, i64::MAX / 4),
        Some((a, "")) => (num(a)?, i64::MAX / 4),
        Some((a, b)) => (num(a)?, num(b)?),
    };
    if end < start {
        return plan_err!("{NAME}(): option region: '{text}' ends before it starts");
    }
    Ok(RegionOption {
        tid,
        chrom: chrom.to_string(),
        start,
        end,
    })
}

impl DepthOptions {
    pub fn parse(opts: &Options, table: &AlignmentTable, name: &str) -> Result<DepthOptions> {
        let mut exclude = DEFAULT_EXCLUDE;
        if let Some(v) = opts.str("exclude_flags") {
            // '+FLAGS' adds to the default set (samtools -G); 'FLAGS' replaces it.
            match v.trim().strip_prefix('+') {
                Some(more) => exclude |= parse_flags("exclude_flags", more)?,
                None => exclude = parse_flags("exclude_flags", v)?,
            }
        }
        if let Some(v) = opts.str("include_flags") {
            exclude &= !parse_flags("include_flags", v)?;
        }
        let all_positions = match opts
            .str("all_positions")
            .map(|s| s.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("false" | "0" | "no") => AllPositions::No,
            Some("true" | "1" | "yes" | "covered") => AllPositions::Covered,
            Some("all" | "2") => AllPositions::Every,
            Some(v) => {
                return plan_err!(
                    "{NAME}(): option all_positions must be true (samtools -a), all (-aa) or false, got '{v}'"
                );
            }
        };
        let region = match opts.str("region") {
            None => None,
            Some(text) => {
                if table.format() == AlignmentFormat::Sam {
                    return plan_err!(
                        "{NAME}(): option region needs an index, and '{name}' is SAM ({}), which has none: \
                         convert it to BAM and index it (samtools sort -o x.bam; samtools index x.bam)",
                        table.path().display()
                    );
                }
                if table.format() == AlignmentFormat::Cram {
                    return plan_err!(
                        "{NAME}(): option region is for indexed BAM; CRAM table '{name}' is read \
                         whole: restrict it with WHERE chrom = '...' AND start BETWEEN ... instead"
                    );
                }
                if table.index().is_none() {
                    return plan_err!(
                        "{NAME}(): option region needs an index, and '{name}' ({}) has no current .bai/.csi: \
                         run samtools index on it",
                        table.path().display()
                    );
                }
                Some(parse_region(text, table.header())?)
            }
        };
        let partitions = match opts.str("partitions") {
            None => None,
            Some(_) => {
                let n = opts.int("partitions", 1)?;
                if !(1..=1024).contains(&n) {
                    return plan_err!("{NAME}(): option partitions must be 1 to 1024, got {n}");
                }
                Some(n as usize)
            }
        };
        Ok(DepthOptions {
            min_mapping_quality: quality(opts, "min_mapping_quality")?,
            min_base_quality: quality(opts, "min_base_quality")?,
            exclude_flags: exclude,
            include_deletions: opts.bool("include_deletions", false)?,
            all_positions,
            per_base: opts.bool("per_base", false)?,
            region,
            partitions,
        })
    }
}

/// The `depth` table function.
#[derive(Debug, Default)]
pub struct DepthFunction;

impl TableFunctionImpl for DepthFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        let (name, provider) = table_arg(NAME, args.session(), exprs, 0)?;
        let any: &dyn Any = provider.as_ref();
        let Some(table) = any.downcast_ref::<AlignmentTable>() else {
            let hint = if provider.schema().fields().is_empty() {
                " (or it could not be opened: SELECT from it to see why)"
            } else {
                ""
            };
            return plan_err!(
                "{NAME}(): table '{name}' is not a BAM/SAM/CRAM alignment table{hint}"
            );
        };
        if table.format() == AlignmentFormat::Cram && table.reference().is_none() {
            return plan_err!(
                "{NAME}(): CRAM table '{name}' has no reference FASTA to decode against \
                 (set the table's `reference` option or serve the FASTA beside it)"
            );
        }
        let opts = Options::parse(NAME, exprs, 1, KNOWN)?;
        let options = DepthOptions::parse(&opts, table, &name)?;
        Ok(Arc::new(DepthTable::new(table, options)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_like_samtools() {
        assert_eq!(parse_flags("f", "0x704").unwrap(), 0x704);
        assert_eq!(parse_flags("f", "1796").unwrap(), 0x704);
        assert_eq!(parse_flags("f", "03404").unwrap(), 0x704);
        assert_eq!(
            parse_flags("f", "UNMAP|secondary|QCFAIL|DUP").unwrap(),
            0x704
        );
        assert!(parse_flags("f", "UNMAPPED").is_err());
        assert!(parse_flags("f", "0x1000").is_err());
    }
}
