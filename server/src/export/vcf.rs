//! VCF output (.vcf.gz, BGZF + .tbi): one line per row from the variant table
//! columns (`chrom, start, end, id, ref, alt, qual, filter`), every other
//! column as an INFO field, and `genotypes` (list of per-sample structs) as
//! FORMAT + sample columns.
//!
//! The header is the source VCF's: its meta lines kept (FILTER, contig, ALT,
//! ...), INFO/FORMAT definitions kept for the fields the result still has,
//! new ones typed from the Arrow type, and the sample names. Without a source
//! VCF (a Parquet table, say) a minimal header is made, with the contigs the
//! rows use.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;

use arrow::array::{Array, AsArray, RecordBatch, StructArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::LogicalPlan;
use genoflight_catalog::coords::declared_zero_based;
use genoflight_catalog::text::TextSource;
use genoflight_catalog::vcf::header::VcfHeader;
use noodles::csi::binning_index::index::header::Builder as IndexHeader;

use super::columns::{self, Kind, Values, value_kind};
use super::source::{SourceFile, first_of};
use super::text::IndexedText;
use super::{Failure, Sink, Written};
use crate::engine::Engine;

/// Columns that are VCF's fixed fields, not INFO.
const FIXED: &[&str] = &[
    "chrom",
    "start",
    "end",
    "id",
    "ref",
    "alt",
    "qual",
    "filter",
    "genotypes",
];

/// An INFO field made from a result column.
#[derive(Debug, Clone)]
struct InfoColumn {
    column: usize,
    id: String,
    flag: bool,
}

/// A FORMAT field made from a field of the genotypes struct.
#[derive(Debug, Clone)]
struct FormatField {
    child: usize,
    id: String,
}

/// Everything decided before the first row: header, field mapping, contigs.
pub struct VcfSetup {
    /// Meta lines (`##...`), each ending in a newline.
    meta: String,
    samples: Option<Vec<String>>,
    infos: Vec<InfoColumn>,
    formats: Vec<FormatField>,
    genotypes: Option<usize>,
    contigs: Vec<String>,
    max_len: i64,
    zero_based: bool,
}

impl VcfSetup {
    pub async fn new(
        engine: &Engine,
        sql: &str,
        plan: &LogicalPlan,
        sources: &[SourceFile],
    ) -> Result<VcfSetup> {
        let schema = plan.schema().as_arrow().clone();
        columns::require(
            &schema,
            &["chrom", "start", "ref"],
            "VCF",
            "the variant columns chrom, start, ref (and optionally end, id, alt, qual, filter, \
             INFO columns, genotypes) as a VCF table has them",
        )?;
        let zero_based = declared_zero_based(schema.metadata()).unwrap_or(false);
        let header = match first_of(sources, &["vcf"]) {
            Some(source) => Some(read_header(&source.path)?),
            None => None,
        };
        let (infos, formats, genotypes) = map_columns(&schema, header.as_ref())?;
        let (mut meta, mut contigs, mut max_len, samples) = match &header {
            Some(h) => {
                let (meta, lengths) = kept_meta(h, &infos, &formats, genotypes.is_some());
                let max_len = lengths.into_iter().max().unwrap_or(0);
                let samples = (!h.samples.is_empty()).then(|| h.samples.clone());
                (meta, h.contigs.clone(), max_len, samples)
            }
            None => ("##fileformat=VCFv4.2\n".to_string(), vec![], 0, None),
        };
        if header.is_none() {
            let (found, longest) = data_contigs(engine, sql, &schema).await?;
            for c in &found {
                meta.push_str(&format!("##contig=<ID={c}>\n"));
            }
            contigs = found;
            max_len = longest;
        }
        let defined = header.as_ref();
        for info in &infos {
            if defined.is_none_or(|h| h.info(&info.id).is_none()) {
                let field = schema.field(info.column);
                meta.push_str(&definition(
                    "INFO",
                    &info.id,
                    field.data_type(),
                    field.name(),
                ));
            }
        }
        if let Some(g) = genotypes {
            let children = struct_fields(schema.field(g))?;
            for f in &formats {
                if defined.is_none_or(|h| !h.formats.iter().any(|d| d.id == f.id)) {
                    let field = &children[f.child];
                    meta.push_str(&definition(
                        "FORMAT",
                        &f.id,
                        field.data_type(),
                        field.name(),
                    ));
                }
            }
        }
        meta.push_str(&format!(
            "##genoflight_exportVersion={}\n##genoflight_exportCommand={}\n",
            env!("CARGO_PKG_VERSION"),
            one_line(sql)
        ));
        Ok(VcfSetup {
            meta,
            samples,
            infos,
            formats,
            genotypes,
            contigs,
            max_len,
            zero_based,
        })
    }

    /// Contig order for sorting: the header's.
    pub fn contigs(&self) -> Vec<String> {
        self.contigs.clone()
    }

    pub fn sink(&self, _schema: &SchemaRef, path: &Path) -> Result<Box<dyn Sink>> {
        let out = IndexedText::create(path, IndexHeader::vcf().build(), self.max_len)?;
        Ok(Box::new(VcfSink {
            setup: VcfSetupRef {
                meta: self.meta.clone(),
                samples: self.samples.clone(),
                infos: self.infos.clone(),
                formats: self.formats.clone(),
                genotypes: self.genotypes,
                zero_based: self.zero_based,
            },
            out,
            header_written: false,
            line: String::new(),
        }))
    }
}

/// The parts of the setup a sink owns.
struct VcfSetupRef {
    meta: String,
    samples: Option<Vec<String>>,
    infos: Vec<InfoColumn>,
    formats: Vec<FormatField>,
    genotypes: Option<usize>,
    zero_based: bool,
}

fn read_header(path: &Path) -> Result<VcfHeader> {
    let mut header = None;
    TextSource::open(path, &mut |reader, display| {
        let h = VcfHeader::read(reader, display)?;
        let lines = h.line_count;
        header = Some(h);
        Ok(lines)
    })?;
    header.ok_or_else(|| DataFusionError::Execution(format!("{}: no VCF header", path.display())))
}

/// A valid VCF ID from a column name (`count(*)` -> `count___`).
fn vcf_id(name: &str) -> String {
    let mut id: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if id.is_empty() || id.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        id.insert(0, '_');
    }
    id
}

/// The VCF ID a column or struct field stands for: its `vcf.id` metadata
/// (set by VCF tables), an `info_` name a VCF table gave to avoid a clash,
/// else its name (upper-cased for FORMAT fields, which tables lower-case).
fn field_id(field: &Field, known: &dyn Fn(&str) -> bool, format: bool) -> String {
    if let Some(id) = field.metadata().get("vcf.id") {
        return id.clone();
    }
    let name = field.name();
    if let Some(rest) = name.strip_prefix(if format { "format_" } else { "info_" })
        && known(rest)
    {
        return rest.to_string();
    }
    if format {
        let upper = name.to_uppercase();
        if known(&upper) || !known(name) {
            return vcf_id(&upper);
        }
    }
    vcf_id(name)
}

fn struct_fields(field: &Field) -> Result<Vec<Field>> {
    if let DataType::List(item) | DataType::LargeList(item) = field.data_type()
        && let DataType::Struct(fields) = item.data_type()
    {
        return Ok(fields.iter().map(|f| f.as_ref().clone()).collect());
    }
    Err(DataFusionError::Plan(format!(
        "cannot write VCF: column 'genotypes' is {}, not a list of per-sample structs \
         (sample_id, gt, ...) as VCF tables have it",
        field.data_type()
    )))
}

type Mapped = (Vec<InfoColumn>, Vec<FormatField>, Option<usize>);

fn map_columns(schema: &Schema, header: Option<&VcfHeader>) -> Result<Mapped> {
    let info_known = |id: &str| header.is_some_and(|h| h.info(id).is_some());
    let mut infos: Vec<InfoColumn> = Vec::new();
    let mut ids: HashSet<String> = HashSet::new();
    for (i, field) in schema.fields().iter().enumerate() {
        if FIXED.contains(&field.name().as_str()) {
            continue;
        }
        let Some((kind, _)) = value_kind(field.data_type()) else {
            return Err(DataFusionError::Plan(format!(
                "cannot write VCF: column '{}' has type {}, which an INFO field cannot hold; \
                 leave it out of the SELECT or cast it",
                field.name(),
                field.data_type()
            )));
        };
        let id = field_id(field, &info_known, false);
        if !ids.insert(id.clone()) {
            return Err(DataFusionError::Plan(format!(
                "cannot write VCF: two columns give INFO field {id}; rename one with AS"
            )));
        }
        infos.push(InfoColumn {
            column: i,
            id,
            flag: kind == Kind::Flag,
        });
    }
    let genotypes = columns::find(schema, "genotypes");
    let mut formats = Vec::new();
    if let Some(g) = genotypes {
        let format_known = |id: &str| header.is_some_and(|h| h.formats.iter().any(|d| d.id == id));
        for (child, field) in struct_fields(schema.field(g))?.iter().enumerate() {
            if field.name() == "sample_id" {
                continue;
            }
            if value_kind(field.data_type()).is_none() {
                return Err(DataFusionError::Plan(format!(
                    "cannot write VCF: genotypes field '{}' has type {}, which FORMAT cannot hold",
                    field.name(),
                    field.data_type()
                )));
            }
            formats.push(FormatField {
                child,
                id: field_id(field, &format_known, true),
            });
        }
        // GT must come first in FORMAT.
        formats.sort_by_key(|f| f.id != "GT");
    }
    Ok((infos, formats, genotypes))
}

/// `<ID=X,` of a structured meta line.
fn meta_id(line: &str) -> Option<&str> {
    let rest = &line[line.find("<ID=")? + 4..];
    let end = rest.find([',', '>']).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// The source header's meta lines for the output, and its contig lengths.
fn kept_meta(
    header: &VcfHeader,
    infos: &[InfoColumn],
    formats: &[FormatField],
    has_genotypes: bool,
) -> (String, Vec<i64>) {
    let infos: HashSet<&str> = infos.iter().map(|i| i.id.as_str()).collect();
    let formats: HashSet<&str> = formats.iter().map(|f| f.id.as_str()).collect();
    let mut out = String::with_capacity(header.text.len());
    let mut lengths = Vec::new();
    for line in header.text.lines() {
        if !line.starts_with("##") {
            continue; // the #CHROM line is written from the output's samples
        }
        let keep = if line.starts_with("##INFO=") {
            meta_id(line).is_some_and(|id| infos.contains(id))
        } else if line.starts_with("##FORMAT=") {
            has_genotypes && meta_id(line).is_some_and(|id| formats.contains(id))
        } else {
            if line.starts_with("##contig=")
                && let Some(at) = line.find("length=")
            {
                let digits: String = line[at + 7..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                lengths.extend(digits.parse::<i64>().ok());
            }
            true
        };
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    (out, lengths)
}

/// A new `##INFO`/`##FORMAT` line typed from the Arrow type.
fn definition(key: &str, id: &str, t: &DataType, column: &str) -> String {
    let (kind, list) = value_kind(t).unwrap_or((Kind::Text, false));
    let (number, ty) = match (kind, list) {
        (Kind::Flag, _) if key == "INFO" => ("0", "Flag"),
        (Kind::Flag, _) => ("1", "Integer"),
        (Kind::Integer, l) => (if l { "." } else { "1" }, "Integer"),
        (Kind::Float, l) => (if l { "." } else { "1" }, "Float"),
        (Kind::Text, l) => (if l { "." } else { "1" }, "String"),
    };
    format!(
        "##{key}=<ID={id},Number={number},Type={ty},Description=\"Column {} of a genoflight export\">\n",
        column.replace(['"', '\\'], "_")
    )
}

fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Contigs and the largest position of the rows, for a header made from scratch.
async fn data_contigs(engine: &Engine, sql: &str, schema: &Schema) -> Result<(Vec<String>, i64)> {
    let end = if columns::find(schema, "end").is_some() {
        "max(\"end\")"
    } else {
        "max(start)"
    };
    let select =
        format!("SELECT CAST(chrom AS VARCHAR), CAST({end} AS BIGINT) FROM {{}} GROUP BY chrom");
    let batches = super::stream::aggregate(engine, sql, &select).await?;
    let mut found: Vec<(String, i64)> = Vec::new();
    for b in &batches {
        let names = b.column(0).as_string::<i32>();
        let ends = b.column(1).as_primitive::<arrow::datatypes::Int64Type>();
        for i in 0..b.num_rows() {
            if names.is_valid(i) {
                found.push((names.value(i).to_string(), ends.value(i)));
            }
        }
    }
    found.sort_by_key(|c| natural_key(&c.0));
    let longest = found.iter().map(|(_, e)| *e).max().unwrap_or(0);
    Ok((found.into_iter().map(|(c, _)| c).collect(), longest))
}

/// `chr2` before `chr10`: the name with its number compared as a number.
pub fn natural_key(name: &str) -> (String, u64, String) {
    let digits_at = name
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(name.len());
    let rest = &name[digits_at..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let number = digits.parse().unwrap_or(u64::MAX);
    (
        name[..digits_at].to_string(),
        number,
        rest[digits.len()..].to_string(),
    )
}

struct VcfSink {
    setup: VcfSetupRef,
    out: IndexedText,
    header_written: bool,
    line: String,
}

impl VcfSink {
    fn write_header(&mut self, first: Option<&RecordBatch>) -> Result<()> {
        let mut text = self.setup.meta.clone();
        text.push_str("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO");
        if let Some(g) = self.setup.genotypes {
            let samples = match (&self.setup.samples, first) {
                (Some(s), _) => s.clone(),
                (None, Some(batch)) => first_samples(batch, g)?,
                (None, None) => vec![],
            };
            if !samples.is_empty() {
                text.push_str("\tFORMAT");
                for s in &samples {
                    text.push('\t');
                    text.push_str(s);
                }
            }
            self.setup.samples = Some(samples);
        }
        text.push('\n');
        self.out.write_header(&text)?;
        self.header_written = true;
        Ok(())
    }
}

/// Sample names from the first row's genotypes, when no source header gives them.
fn first_samples(batch: &RecordBatch, g: usize) -> Result<Vec<String>> {
    let list = batch.column(g).as_list::<i32>();
    if list.is_empty() || list.is_null(0) {
        return Ok(vec![]);
    }
    let row = list.value(0);
    let items = row.as_struct();
    let ids = items.column_by_name("sample_id").ok_or_else(|| {
        DataFusionError::Plan("cannot write VCF: genotypes has no sample_id field".into())
    })?;
    let ids = arrow::compute::cast(ids, &DataType::Utf8)?;
    Ok(ids
        .as_string::<i32>()
        .iter()
        .enumerate()
        .map(|(i, s)| s.map_or_else(|| format!("sample{}", i + 1), str::to_string))
        .collect())
}

/// The batch's columns, normalised once per batch.
struct Columns {
    chrom: arrow::array::StringArray,
    start: arrow::array::Int64Array,
    end: Option<arrow::array::Int64Array>,
    reference: arrow::array::StringArray,
    id: Option<Values>,
    alt: Option<Values>,
    qual: Option<Values>,
    filter: Option<Values>,
    infos: Vec<Values>,
    genotypes: Option<(arrow::array::ListArray, Vec<Values>)>,
}

impl Columns {
    fn new(batch: &RecordBatch, setup: &VcfSetupRef) -> Result<Columns> {
        let schema = batch.schema();
        let opt = |name: &str| -> Result<Option<Values>> {
            columns::find(&schema, name)
                .map(|i| columns::values(batch, i))
                .transpose()
        };
        let genotypes = match setup.genotypes {
            Some(g) => {
                let list = arrow::compute::cast(
                    batch.column(g),
                    &DataType::List(match batch.column(g).data_type() {
                        DataType::List(f) | DataType::LargeList(f) => f.clone(),
                        t => {
                            return Err(DataFusionError::Plan(format!(
                                "genotypes is {t}, not a list"
                            )));
                        }
                    }),
                )?
                .as_list::<i32>()
                .clone();
                let items: &StructArray = list.values().as_struct();
                let fields = setup
                    .formats
                    .iter()
                    .map(|f| {
                        let name = items.fields()[f.child].name().clone();
                        Values::new(items.column(f.child), &name)
                    })
                    .collect::<Result<Vec<_>>>()?;
                Some((list, fields))
            }
            None => None,
        };
        Ok(Columns {
            chrom: columns::text(batch, "chrom")?.expect("checked"),
            start: columns::int(batch, "start")?.expect("checked"),
            end: columns::int(batch, "end")?,
            reference: columns::text(batch, "ref")?.expect("checked"),
            id: opt("id")?,
            alt: opt("alt")?,
            qual: opt("qual")?,
            filter: opt("filter")?,
            infos: setup
                .infos
                .iter()
                .map(|c| columns::values(batch, c.column))
                .collect::<Result<Vec<_>>>()?,
            genotypes,
        })
    }
}

fn optional(values: &Option<Values>, row: usize, line: &mut String) {
    match values {
        Some(v) => {
            v.write(row, line, ".");
        }
        None => line.push('.'),
    }
}

impl Sink for VcfSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), Failure> {
        if !self.header_written {
            self.write_header(Some(batch))?;
        }
        let c = Columns::new(batch, &self.setup)?;
        let shift = i64::from(self.setup.zero_based);
        let samples = self.setup.samples.as_ref().map_or(0, Vec::len);
        let mut line = std::mem::take(&mut self.line);
        for row in 0..batch.num_rows() {
            line.clear();
            if c.chrom.is_null(row) || c.start.is_null(row) || c.reference.is_null(row) {
                return Err(Failure::Error(DataFusionError::Execution(format!(
                    "cannot write VCF: a row has no chrom, start or ref (row {} of a batch); \
                     filter them out with WHERE",
                    row + 1
                ))));
            }
            let chrom = c.chrom.value(row);
            let pos = c.start.value(row) + shift;
            let reference = c.reference.value(row);
            let end = match &c.end {
                Some(e) if e.is_valid(row) => e.value(row),
                _ => pos + reference.len().max(1) as i64 - 1,
            };
            line.push_str(chrom);
            write!(line, "\t{pos}\t").expect("to a String");
            optional(&c.id, row, &mut line);
            line.push('\t');
            line.push_str(reference);
            line.push('\t');
            optional(&c.alt, row, &mut line);
            line.push('\t');
            optional(&c.qual, row, &mut line);
            line.push('\t');
            optional(&c.filter, row, &mut line);
            line.push('\t');
            let info_start = line.len();
            for (info, values) in self.setup.infos.iter().zip(&c.infos) {
                if info.flag {
                    if values.flag(row) {
                        if line.len() > info_start {
                            line.push(';');
                        }
                        line.push_str(&info.id);
                    }
                    continue;
                }
                if values.is_null(row) {
                    continue;
                }
                let mark = line.len();
                if mark > info_start {
                    line.push(';');
                }
                line.push_str(&info.id);
                line.push('=');
                if !values.write(row, &mut line, ".") {
                    line.truncate(mark); // an empty list: absent
                }
            }
            if line.len() == info_start {
                line.push('.');
            }
            if let Some((list, fields)) = &c.genotypes
                && samples > 0
            {
                write_samples(&mut line, list, fields, &self.setup.formats, row, samples)?;
            }
            line.push('\n');
            if let Err(f) = self.out.write_record(&line, chrom, pos, end) {
                self.line = line;
                return Err(f);
            }
        }
        self.line = line;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<Written> {
        if !self.header_written {
            self.write_header(None)?;
        }
        self.out.finish()
    }
}

/// FORMAT and the sample columns of one row: the fields any sample has a value for.
fn write_samples(
    line: &mut String,
    list: &arrow::array::ListArray,
    fields: &[Values],
    formats: &[FormatField],
    row: usize,
    samples: usize,
) -> Result<(), Failure> {
    let offsets = list.value_offsets();
    let (from, to) = (offsets[row] as usize, offsets[row + 1] as usize);
    if list.is_null(row) || to - from != samples {
        return Err(Failure::Error(DataFusionError::Execution(format!(
            "cannot write VCF: a row has genotypes for {} samples but the header has {samples}; \
             select genotypes unchanged from the VCF table",
            if list.is_null(row) { 0 } else { to - from }
        ))));
    }
    let present: Vec<usize> = (0..fields.len())
        .filter(|&k| (from..to).any(|j| !fields[k].is_null(j)))
        .collect();
    let present = if present.is_empty() { vec![0] } else { present };
    line.push('\t');
    for (n, &k) in present.iter().enumerate() {
        if n > 0 {
            line.push(':');
        }
        line.push_str(&formats[k].id);
    }
    for j in from..to {
        line.push('\t');
        for (n, &k) in present.iter().enumerate() {
            if n > 0 {
                line.push(':');
            }
            match fields.get(k) {
                Some(v) => {
                    v.write(j, line, ".");
                }
                None => line.push('.'),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_natural_order() {
        assert_eq!(vcf_id("count(*)"), "count___");
        assert_eq!(vcf_id("1kg"), "_1kg");
        let mut v = vec!["chr10", "chr2", "chrX", "chr1"];
        v.sort_by_key(|c| natural_key(c));
        assert_eq!(v, vec!["chr1", "chr2", "chr10", "chrX"]);
        assert_eq!(meta_id("##INFO=<ID=DP,Number=1>"), Some("DP"));
    }

    #[test]
    fn new_definitions_are_typed_from_arrow() {
        let d = definition("INFO", "N", &DataType::Int64, "n");
        assert!(d.contains("Number=1,Type=Integer"), "{d}");
        let d = definition("INFO", "F", &DataType::Boolean, "f");
        assert!(d.contains("Number=0,Type=Flag"), "{d}");
        let list = DataType::List(std::sync::Arc::new(Field::new(
            "item",
            DataType::Float32,
            true,
        )));
        let d = definition("INFO", "L", &list, "l");
        assert!(d.contains("Number=.,Type=Float"), "{d}");
    }
}
