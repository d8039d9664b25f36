//! BAM output (+ .bai, or .csi for references over 2^29 bp): one record per
//! row from the alignment table columns (`name, chrom, start, flags, cigar,
//! mapping_quality, mate_chrom, mate_start, template_length, sequence,
//! quality_scores, tags`), encoded by noodles.
//!
//! The header is the source alignment file's (@HD with SO:coordinate, @SQ,
//! @RG, @PG, @CO) plus a @PG line for this export; without a source file it
//! is made from the contigs the rows use. The `tags` map holds SAM value text
//! without its type: `c,1,2` (subtype and numbers) is a `B` array; otherwise
//! the SAM specification's type for standard tags (and BWA's for its X? tags)
//! when the value fits it, else read from the text (integer `i`, number `f`,
//! one non-digit character `A`, otherwise `Z`) — so an `H` tag comes back as
//! `Z` and a whole-number `f` as `i`.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, MapArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::common::{DataFusionError, Result};
use genoflight_catalog::alignment::{AlignmentFormat, open_alignment};
use genoflight_catalog::coords::declared_zero_based;
use noodles::bam;
use noodles::bgzf;
use noodles::sam;
use noodles::sam::alignment::io::Write as _;

use super::columns;
use super::index::{BamIndexer, SortCheck, io_error};
use super::source::{SourceFile, first_of};
use super::{Failure, Sink, Written};
use crate::engine::Engine;

/// The alignment table's columns; the rest may be tag columns (`NM`, ...).
const FIXED: &[&str] = &[
    "name",
    "chrom",
    "start",
    "end",
    "flags",
    "cigar",
    "mapping_quality",
    "mate_chrom",
    "mate_start",
    "template_length",
    "sequence",
    "quality_scores",
    "tags",
];

pub struct BamSetup {
    header: sam::Header,
    max_len: i64,
}

impl BamSetup {
    pub async fn new(
        engine: &Engine,
        sql: &str,
        schema: &Schema,
        sources: &[SourceFile],
    ) -> Result<BamSetup> {
        require_columns(schema)?;
        let text = match first_of(sources, &["bam", "sam", "cram"]) {
            Some(source) => {
                let kind = match source.format.as_str() {
                    "bam" => AlignmentFormat::Bam,
                    "cram" => AlignmentFormat::Cram,
                    _ => AlignmentFormat::Sam,
                };
                let table = open_alignment(&source.path, kind, false)?;
                let mut writer = sam::io::Writer::new(Vec::new());
                writer
                    .write_header(table.header())
                    .map_err(|e| io_error(&source.path, e))?;
                String::from_utf8_lossy(&writer.into_inner()).into_owned()
            }
            None => data_header(engine, sql, columns::find(schema, "end").is_some()).await?,
        };
        let text = with_export_lines(&text, sql);
        let header: sam::Header = text
            .parse()
            .map_err(|e| DataFusionError::Execution(format!("cannot make the BAM header: {e}")))?;
        let max_len = header
            .reference_sequences()
            .values()
            .map(|r| usize::from(r.length()) as i64)
            .max()
            .unwrap_or(0);
        Ok(BamSetup { header, max_len })
    }

    /// Reference order for sorting: the header's @SQ lines.
    pub fn contigs(&self) -> Vec<String> {
        self.header
            .reference_sequences()
            .keys()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect()
    }

    pub fn sink(&self, schema: &SchemaRef, path: &Path) -> Result<Box<dyn Sink>> {
        require_columns(schema)?;
        let file = File::create(path).map_err(|e| io_error(path, e))?;
        let mut writer = bam::io::Writer::from(bgzf::io::Writer::new(BufWriter::with_capacity(
            1 << 20,
            file,
        )));
        writer
            .write_header(&self.header)
            .map_err(|e| io_error(path, e))?;
        let tag_columns = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| !FIXED.contains(&f.name().as_str()) && is_tag(f.name()))
            .map(|(i, f)| (i, f.name().clone()))
            .collect();
        Ok(Box::new(BamSink {
            path: path.to_path_buf(),
            header: self.header.clone(),
            writer,
            indexer: BamIndexer::new(self.header.reference_sequences().len(), self.max_len),
            check: SortCheck::default(),
            zero_based: declared_zero_based(schema.metadata()).unwrap_or(false),
            tag_columns,
            rows: 0,
            line: String::new(),
        }))
    }
}

fn require_columns(schema: &Schema) -> Result<()> {
    columns::require(
        schema,
        &["chrom", "start", "flags"],
        "BAM",
        "the alignment columns chrom, start, flags (and name, cigar, mapping_quality, \
         mate_chrom, mate_start, template_length, sequence, quality_scores, tags) as \
         BAM/SAM tables have them",
    )
}

/// `[A-Za-z][A-Za-z0-9]`: a SAM tag name.
fn is_tag(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 2 && b[0].is_ascii_alphabetic() && b[1].is_ascii_alphanumeric()
}

/// A header for rows without a source file: @SQ from the contigs the rows
/// use, as long as their furthest alignment end.
async fn data_header(engine: &Engine, sql: &str, has_end: bool) -> Result<String> {
    let end = if has_end {
        "coalesce(\"end\", start)"
    } else {
        "start"
    };
    let select = format!(
        "SELECT CAST(chrom AS VARCHAR), CAST(max({end}) AS BIGINT) \
         FROM {{}} WHERE chrom IS NOT NULL GROUP BY chrom"
    );
    let batches = super::stream::aggregate(engine, sql, &select).await?;
    let mut contigs: Vec<(String, i64)> = Vec::new();
    for b in &batches {
        let names = b.column(0).as_string::<i32>();
        let ends = b.column(1).as_primitive::<arrow::datatypes::Int64Type>();
        for i in 0..b.num_rows() {
            contigs.push((names.value(i).to_string(), ends.value(i).max(1)));
        }
    }
    contigs.sort_by_key(|c| super::vcf::natural_key(&c.0));
    let mut text = String::from("@HD\tVN:1.6\tSO:coordinate\n");
    for (name, len) in contigs {
        text.push_str(&format!("@SQ\tSN:{name}\tLN:{len}\n"));
    }
    Ok(text)
}

/// The header text with `SO:coordinate` on @HD and a @PG line for this export.
fn with_export_lines(text: &str, sql: &str) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    let mut has_hd = false;
    let mut last_pg: Option<String> = None;
    let mut pg_ids: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("@HD") {
            has_hd = true;
            let fields: Vec<&str> = rest
                .split('\t')
                .filter(|f| !f.is_empty() && !f.starts_with("SO:") && !f.starts_with("GO:"))
                .collect();
            out.push_str("@HD\t");
            out.push_str(&fields.join("\t"));
            out.push_str("\tSO:coordinate\n");
            continue;
        }
        if line.starts_with("@PG")
            && let Some(id) = line.split('\t').find_map(|f| f.strip_prefix("ID:"))
        {
            last_pg = Some(id.to_string());
            pg_ids.push(id.to_string());
        }
        out.push_str(line);
        out.push('\n');
    }
    if !has_hd {
        out.insert_str(0, "@HD\tVN:1.6\tSO:coordinate\n");
    }
    let mut id = "genoflight".to_string();
    let mut n = 1;
    while pg_ids.contains(&id) {
        id = format!("genoflight.{n}");
        n += 1;
    }
    let command = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    out.push_str(&format!(
        "@PG\tID:{id}\tPN:genoflight\t{}VN:{}\tCL:genoflight export \"{}\"\n",
        last_pg.map(|p| format!("PP:{p}\t")).unwrap_or_default(),
        env!("CARGO_PKG_VERSION"),
        command
    ));
    out
}

/// The type the SAM specification (or BWA, for its X? tags) gives a tag.
fn standard_type(tag: &str) -> Option<char> {
    Some(match tag {
        "AM" | "AS" | "CM" | "CP" | "FI" | "H0" | "H1" | "H2" | "HI" | "IH" | "MN" | "MQ"
        | "NH" | "NM" | "OP" | "PQ" | "SM" | "TC" | "UQ" => 'i',
        "BC" | "BQ" | "BZ" | "CB" | "CC" | "CO" | "CQ" | "CR" | "CS" | "CT" | "CY" | "E2"
        | "FS" | "LB" | "MC" | "MD" | "MI" | "MM" | "OA" | "OC" | "OQ" | "OX" | "PG" | "PT"
        | "PU" | "Q2" | "QT" | "QX" | "R2" | "RG" | "RT" | "RX" | "SA" | "U2" => 'Z',
        "CG" | "FZ" | "ML" => 'B',
        "TS" => 'A',
        // Not in the specification, but what BWA writes.
        "XT" => 'A',
        "X0" | "X1" | "XM" | "XO" | "XG" => 'i',
        "XA" => 'Z',
        _ => return None,
    })
}

/// `c,1,-2` (subtype, then numbers): how the tags map writes a B array.
fn is_b_array(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() >= 2
        && b"cCsSiIf".contains(&b[0])
        && b[1] == b','
        && value[2..].split(',').all(|n| n.parse::<f64>().is_ok())
}

fn is_float(value: &str) -> bool {
    !value.is_empty()
        && value.parse::<f64>().is_ok()
        && value
            .bytes()
            .all(|c| c.is_ascii_digit() || b".eE+-".contains(&c))
}

/// The SAM type of a tag written from its value text: the standard type when
/// the value fits it (files misuse standard names), else read from the text.
fn tag_type(tag: &str, value: &str) -> char {
    // No Z text (barcodes, MD strings, ...) looks like a typed number list.
    if is_b_array(value) {
        return 'B';
    }
    match standard_type(tag) {
        Some('i') if value.parse::<i64>().is_ok() => return 'i',
        Some('A') if value.len() == 1 => return 'A',
        Some('Z') => return 'Z',
        _ => {}
    }
    let b = value.as_bytes();
    if b.len() == 1 && !b[0].is_ascii_digit() {
        // One printable character: what type A holds (XS:A:+ of spliced
        // aligners, XT:A:U); a one-letter Z string is rarer.
        'A'
    } else if value.parse::<i64>().is_ok() {
        'i'
    } else if is_float(value) {
        'f'
    } else {
        'Z'
    }
}

struct BamSink {
    path: PathBuf,
    header: sam::Header,
    writer: bam::io::Writer<bgzf::io::Writer<BufWriter<File>>>,
    indexer: BamIndexer,
    check: SortCheck,
    zero_based: bool,
    /// Columns named like SAM tags (promoted tag columns, or the user's own).
    tag_columns: Vec<(usize, String)>,
    rows: u64,
    line: String,
}

fn fail(message: String) -> Failure {
    Failure::Error(DataFusionError::Execution(message))
}

impl BamSink {
    fn tags(batch: &RecordBatch) -> Result<Option<(MapArray, StringArray, StringArray)>> {
        let Some(i) = columns::find(&batch.schema(), "tags") else {
            return Ok(None);
        };
        let DataType::Map(..) = batch.column(i).data_type() else {
            return Err(DataFusionError::Plan(format!(
                "cannot write BAM: column 'tags' is {}, not the map of tag -> SAM value text \
                 BAM/SAM tables have",
                batch.column(i).data_type()
            )));
        };
        let map = batch.column(i).as_map().clone();
        let keys = arrow::compute::cast(map.keys(), &DataType::Utf8)?
            .as_string::<i32>()
            .clone();
        let values = arrow::compute::cast(map.values(), &DataType::Utf8)?
            .as_string::<i32>()
            .clone();
        Ok(Some((map, keys, values)))
    }
}

impl Sink for BamSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), Failure> {
        let text = |n: &str| columns::text(batch, n);
        let int = |n: &str| columns::int(batch, n);
        let (name, chrom, cigar, mate_chrom, sequence, quality) = (
            text("name")?,
            text("chrom")?.expect("checked"),
            text("cigar")?,
            text("mate_chrom")?,
            text("sequence")?,
            text("quality_scores")?,
        );
        let (start, flags, mapq, mate_start, tlen) = (
            int("start")?.expect("checked"),
            int("flags")?.expect("checked"),
            int("mapping_quality")?,
            int("mate_start")?,
            int("template_length")?,
        );
        let tags = Self::tags(batch)?;
        let tag_values: Vec<(String, columns::Values)> = self
            .tag_columns
            .iter()
            .map(|(i, n)| Ok((n.clone(), columns::values(batch, *i)?)))
            .collect::<Result<_>>()?;
        let shift = i64::from(self.zero_based);
        fn str_or<'a>(a: &'a Option<StringArray>, row: usize, default: &'static str) -> &'a str {
            match a {
                Some(a) if a.is_valid(row) => a.value(row),
                _ => default,
            }
        }
        let int_or = |a: &Option<arrow::array::Int64Array>, row: usize, default: i64| match a {
            Some(a) if a.is_valid(row) => a.value(row),
            _ => default,
        };
        let mut line = std::mem::take(&mut self.line);
        let mut value = String::new();
        for row in 0..batch.num_rows() {
            line.clear();
            let chrom_name = chrom.is_valid(row).then(|| chrom.value(row));
            let pos = if start.is_valid(row) {
                start.value(row) + shift
            } else {
                0
            };
            let mate_pos = match &mate_start {
                Some(m) if m.is_valid(row) => m.value(row) + shift,
                _ => 0,
            };
            let flag = if flags.is_valid(row) {
                flags.value(row)
            } else {
                0
            };
            line.push_str(str_or(&name, row, "*"));
            let mq = int_or(&mapq, row, 255);
            let chrom_text = chrom_name.unwrap_or("*");
            write!(line, "\t{flag}\t{chrom_text}\t{pos}\t{mq}\t").expect("to a String");
            line.push_str(str_or(&cigar, row, "*"));
            line.push('\t');
            line.push_str(str_or(&mate_chrom, row, "*"));
            let tl = int_or(&tlen, row, 0);
            write!(line, "\t{mate_pos}\t{tl}\t").expect("to a String");
            line.push_str(str_or(&sequence, row, "*"));
            line.push('\t');
            line.push_str(str_or(&quality, row, "*"));
            let mut written: Vec<&str> = Vec::new();
            if let Some((map, keys, values)) = &tags
                && map.is_valid(row)
            {
                let offsets = map.value_offsets();
                for j in offsets[row] as usize..offsets[row + 1] as usize {
                    let (k, v) = (keys.value(j), values.value(j));
                    line.push('\t');
                    line.push_str(k);
                    line.push(':');
                    line.push(tag_type(k, v));
                    line.push(':');
                    line.push_str(v);
                    written.push(k);
                }
            }
            for (tag, values) in &tag_values {
                if written.contains(&tag.as_str()) || values.is_null(row) {
                    continue;
                }
                value.clear();
                values.write(row, &mut value, "");
                line.push('\t');
                line.push_str(tag);
                line.push(':');
                line.push(tag_type(tag, &value));
                line.push(':');
                line.push_str(&value);
            }
            let record = sam::Record::try_from(line.as_bytes())
                .map_err(|e| fail(format!("cannot write BAM: bad record {line:?}: {e}")))?;
            let placed = match chrom_name {
                Some(c) => {
                    let id = self
                        .header
                        .reference_sequences()
                        .get_index_of(c.as_bytes())
                        .ok_or_else(|| {
                            fail(format!(
                                "cannot write BAM: a read is on {c}, which the header has no \
                                 @SQ line for (the source file's header is reused)"
                            ))
                        })?;
                    if let Err(u) = self.check.check(Some(c), Some(id), pos) {
                        self.line = line;
                        return Err(Failure::Unsorted(u));
                    }
                    let end = sam::alignment::Record::alignment_end(&record)
                        .transpose()
                        .map_err(|e| fail(format!("cannot write BAM: {e} in {line:?}")))?
                        .map_or(pos, |p| usize::from(p) as i64);
                    let mapped = flag & 0x4 == 0;
                    Some((id, pos.max(1), end.max(pos.max(1)), mapped))
                }
                None => {
                    if let Err(u) = self.check.check(None, None, 0) {
                        self.line = line;
                        return Err(Failure::Unsorted(u));
                    }
                    None
                }
            };
            let from = self.writer.get_ref().virtual_position();
            self.writer
                .write_alignment_record(&self.header, &record)
                .map_err(|e| fail(format!("cannot write BAM record {line:?}: {e}")))?;
            let to = self.writer.get_ref().virtual_position();
            self.indexer.add(placed, from, to)?;
            self.rows += 1;
        }
        self.line = line;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Written> {
        let BamSink {
            path,
            writer,
            indexer,
            rows,
            ..
        } = *self;
        writer
            .into_inner()
            .finish()
            .and_then(|mut file| file.flush())
            .map_err(|e| io_error(&path, e))?;
        let index = indexer.write(&path)?;
        Ok(Written {
            rows,
            index: Some(index),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_types() {
        assert_eq!(tag_type("NM", "1"), 'i');
        assert_eq!(tag_type("RG", "1"), 'Z');
        assert_eq!(tag_type("XB", "c,1,-2"), 'B');
        assert_eq!(tag_type("XI", "-12"), 'i');
        assert_eq!(tag_type("XF", "1.5"), 'f');
        assert_eq!(tag_type("XZ", "hello"), 'Z');
        assert_eq!(tag_type("XS", "+"), 'A');
        assert_eq!(tag_type("XT", "M"), 'A');
        // A standard name holding another type (htslib's auxf test file: H0:H:AA).
        assert_eq!(tag_type("H0", "AA"), 'Z');
        assert_eq!(tag_type("Zn", ""), 'Z');
        assert_eq!(tag_type("XZ", "inf"), 'Z');
    }

    #[test]
    fn header_gets_sorted_and_a_program_line() {
        let text = "@HD\tVN:1.6\tSO:unsorted\n@SQ\tSN:1\tLN:10\n@PG\tID:bwa\tPN:bwa\n";
        let out = with_export_lines(text, "SELECT *\nFROM t");
        assert!(out.starts_with("@HD\tVN:1.6\tSO:coordinate\n"), "{out}");
        assert!(
            out.contains("@PG\tID:genoflight\tPN:genoflight\tPP:bwa\t"),
            "{out}"
        );
        assert!(
            out.contains("CL:genoflight export \"SELECT * FROM t\""),
            "{out}"
        );
        let out = with_export_lines("@SQ\tSN:1\tLN:10\n", "x");
        assert!(out.starts_with("@HD\tVN:1.6\tSO:coordinate\n@SQ"), "{out}");
    }
}
