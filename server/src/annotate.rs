//! `genoflight annotate`: a VCF annotated against a VEP cache and written as
//! Ensembl VEP writes it (`--vcf`: the records with a `CSQ` INFO field;
//! `--tab`), or as the `annotate_vep` table (Parquet). The input is read a
//! chunk of records at a time, each chunk annotated (on every core) and
//! written before the next is read, so memory stays bounded.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::common::{DataFusionError, ScalarValue};
use datafusion::logical_expr::Expr;
use datafusion::parquet::arrow::ArrowWriter;
use flate2::read::MultiGzDecoder;
use genoflight_catalog::text::source::{Compression, detect_compression};
use genoflight_catalog::vcf::header::VcfHeader;
use genoflight_catalog::vcf::schema::{VariantColumn, variants_schema};
use genoflight_catalog::vcf::{Fields, VariantBatchBuilder};
use genoflight_catalog::vep::layout::find_cache_dir;
use genoflight_catalog::vep::table::VepCache;
use genoflight_udfs::vep::alleles::reads_vcf_line;
use genoflight_udfs::vep::csq::{
    FieldFlags, csq_header, csq_value, info_with_csq, tab_fields, tab_header_columns, tab_line,
    vcf_fields,
};
use genoflight_udfs::vep::csq_function::served_cache;
use genoflight_udfs::vep::function::{Job, annotator};
use genoflight_udfs::vep::output::{OutRow, output_schema};
use noodles::{bgzf, tabix, vcf};

use crate::engine::Engine;

/// Records read, annotated and written at a time.
const CHUNK: usize = 8192;

/// The Ensembl VEP release whose output this reproduces.
const VEP_RELEASE: &str = "115";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// VEP's `--vcf`; BGZF-compressed and tabix-indexed when `bgzf`.
    Vcf { bgzf: bool },
    /// VEP's `--tab`.
    Tab,
    /// The `annotate_vep` table.
    Parquet,
}

impl Format {
    pub fn parse(name: &str) -> Result<Format, String> {
        match name {
            "vcf" => Ok(Format::Vcf { bgzf: false }),
            "vcf.gz" => Ok(Format::Vcf { bgzf: true }),
            "tab" => Ok(Format::Tab),
            "parquet" => Ok(Format::Parquet),
            other => Err(format!(
                "unknown output format '{other}' (vcf, vcf.gz, tab or parquet)"
            )),
        }
    }
}

/// What to annotate and where to write it.
pub struct Request {
    pub input: PathBuf,
    /// The configured `[[vep_caches]]` name.
    pub cache: String,
    /// Its configured path, for the error when it is no VEP cache.
    pub cache_dir: PathBuf,
    /// `None` writes to standard output.
    pub output: Option<PathBuf>,
    pub format: Format,
    /// `annotate_vep`'s `name=value` options.
    pub options: Vec<String>,
    /// The command as the user typed it, for the output's header.
    pub command_line: String,
}

/// What was done, for the command's summary line.
#[derive(Debug, Default)]
pub struct Summary {
    pub records: u64,
    pub written: u64,
    pub annotated: u64,
    pub rows: u64,
    /// Records left out, as VEP leaves them out: chromosomes the cache lacks.
    pub skipped: BTreeMap<String, u64>,
    pub warnings: Vec<String>,
}

impl Summary {
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "records": self.records,
            "written": self.written,
            "annotated": self.annotated,
            "rows": self.rows,
            "skipped_chromosomes": self.skipped,
            "warnings": self.warnings,
        })
    }
}

/// Runs one annotation on `engine` (whose configuration serves the cache).
pub fn run(engine: &Engine, request: &Request) -> Result<Summary, String> {
    let display = request.input.display().to_string();
    let mut reader = open_input(&request.input).map_err(|e| format!("{display}: {e}"))?;
    let header = VcfHeader::read(&mut reader, &display).map_err(message)?;
    let (schema, columns) = variants_schema(&header, false);
    let state = engine.context().state();
    let options: Vec<Expr> = request
        .options
        .iter()
        .map(|o| Expr::Literal(ScalarValue::Utf8(Some(o.clone())), None))
        .collect();
    let cache = served_cache(&state, &request.cache).ok_or_else(|| {
        let dir = &request.cache_dir;
        find_cache_dir(dir)
            .err()
            .unwrap_or_else(|| format!("{}: not a VEP cache (no transcripts found)", dir.display()))
    })?;
    let job = annotator(&state, &schema, &display, &request.cache, &options)
        .map_err(|e| message(e).replace("annotate_vep(): ", ""))?;
    let flags = FieldFlags::new(
        request.options.iter().map(String::as_str),
        &cache.info().species_dir,
    );
    let mut sink = Sink::open(request, &header, &schema, &cache, &flags)?;
    let mut summary = Summary::default();
    let mut chunk = Chunk::new(&header, &schema, &columns);
    let mut line = Vec::new();
    let mut line_number = header.line_count;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("{display}: line {}: {e}", line_number + 1))?;
        if n == 0 {
            break;
        }
        line_number += 1;
        let text = String::from_utf8(std::mem::take(&mut line))
            .map_err(|_| format!("{display}: line {line_number}: not UTF-8 text"))?;
        let text = text.trim_end_matches(['\n', '\r']).to_string();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        chunk
            .push(text)
            .map_err(|e| format!("{display}: line {line_number}: {e}"))?;
        if chunk.lines.len() >= CHUNK {
            chunk.flush(&job, &mut sink, &mut summary)?;
        }
    }
    chunk.flush(&job, &mut sink, &mut summary)?;
    sink.finish(&mut summary)?;
    Ok(summary)
}

/// DataFusion's message without its kind ("Execution error: ").
fn message(e: DataFusionError) -> String {
    match e {
        DataFusionError::Execution(m) | DataFusionError::Plan(m) => m,
        other => other.strip_backtrace(),
    }
}

fn open_input(path: &Path) -> io::Result<Box<dyn BufRead + Send>> {
    let file = File::open(path)?;
    Ok(match detect_compression(path)? {
        Compression::Plain => Box::new(BufReader::with_capacity(1 << 16, file)),
        Compression::Bgzf => Box::new(bgzf::io::Reader::new(file)),
        Compression::Gzip => Box::new(BufReader::new(MultiGzDecoder::new(file))),
    })
}

/// The records read but not yet written: their lines and their batch.
struct Chunk {
    lines: Vec<String>,
    builder: VariantBatchBuilder,
}

impl Chunk {
    fn new(header: &VcfHeader, schema: &SchemaRef, columns: &[VariantColumn]) -> Chunk {
        Chunk {
            lines: Vec::with_capacity(CHUNK),
            builder: VariantBatchBuilder::new(header, schema.clone(), columns.to_vec(), false),
        }
    }

    fn push(&mut self, line: String) -> Result<(), String> {
        let fields = Fields::split(&line)?;
        let end = fields.end(self.builder.use_info_end())?;
        self.builder.append(&fields, end)?;
        self.lines.push(line);
        Ok(())
    }

    fn flush(&mut self, job: &Job, sink: &mut Sink, summary: &mut Summary) -> Result<(), String> {
        if self.lines.is_empty() {
            return Ok(());
        }
        let batch = self.builder.finish().map_err(message)?;
        summary.records += batch.num_rows() as u64;
        if sink.format == Format::Parquet {
            // The annotate_vep table itself, slice by slice in order.
            let parts = in_parallel(&batch, |slice, _| job.annotate(&slice)).map_err(message)?;
            sink.write_table(&parts, summary)?;
        } else {
            let parts = in_parallel(&batch, |slice, offset| {
                let mut rows = job.rows(&slice)?;
                for r in &mut rows {
                    r.input += offset;
                }
                Ok(rows)
            })
            .map_err(message)?;
            let rows: Vec<OutRow> = parts.into_iter().flatten().collect();
            summary.rows += rows.len() as u64;
            sink.write(job, &self.lines, &rows, summary)?;
        }
        self.lines.clear();
        Ok(())
    }
}

/// `work` on slices of `batch` on every core: the results in batch order,
/// each slice given with its offset in `batch`.
fn in_parallel<T: Send>(
    batch: &RecordBatch,
    work: impl Fn(RecordBatch, usize) -> datafusion::common::Result<T> + Sync,
) -> datafusion::common::Result<Vec<T>> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n = batch.num_rows();
    let per = n.div_ceil(workers).max(1);
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .step_by(per)
            .map(|offset| {
                let slice = batch.slice(offset, per.min(n - offset));
                scope.spawn(move || work(slice, offset))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(DataFusionError::Internal(
                        "an annotation thread panicked".into(),
                    ))
                })
            })
            .collect()
    })
}

/// Where the output goes: a file (maybe BGZF) or standard output.
enum Target {
    Plain(BufWriter<Box<dyn Write + Send>>),
    Bgzf(bgzf::io::Writer<File>, PathBuf),
    Parquet(Box<ArrowWriter<Box<dyn Write + Send>>>),
}

struct Sink {
    target: Option<Target>,
    format: Format,
    fields: Vec<&'static str>,
    display: String,
}

fn io_error(display: &str, e: impl std::fmt::Display) -> String {
    format!("{display}: cannot write: {e}")
}

impl Sink {
    fn open(
        request: &Request,
        header: &VcfHeader,
        schema: &SchemaRef,
        cache: &VepCache,
        flags: &FieldFlags,
    ) -> Result<Sink, String> {
        let display = request
            .output
            .as_ref()
            .map_or("standard output".to_string(), |p| p.display().to_string());
        let raw: Box<dyn Write + Send> = match &request.output {
            None => Box::new(io::stdout()),
            Some(p) if request.format != (Format::Vcf { bgzf: true }) => {
                Box::new(File::create(p).map_err(|e| format!("{display}: cannot create: {e}"))?)
            }
            Some(_) => Box::new(io::sink()),
        };
        let (target, fields) = match request.format {
            Format::Vcf { bgzf } => {
                let fields = vcf_fields(flags);
                let text = vcf_header(header, cache, &fields, &request.command_line);
                let mut target = match (&request.output, bgzf) {
                    (Some(p), true) => {
                        let file = File::create(p)
                            .map_err(|e| format!("{display}: cannot create: {e}"))?;
                        Target::Bgzf(bgzf::io::Writer::new(file), p.clone())
                    }
                    _ => Target::Plain(BufWriter::with_capacity(1 << 16, raw)),
                };
                target
                    .write_text(&text)
                    .map_err(|e| io_error(&display, e))?;
                (target, fields)
            }
            Format::Tab => {
                let fields = tab_fields(flags);
                let text = tab_header(cache, &fields, &request.command_line);
                let mut target = Target::Plain(BufWriter::with_capacity(1 << 16, raw));
                target
                    .write_text(&text)
                    .map_err(|e| io_error(&display, e))?;
                (target, fields)
            }
            Format::Parquet => {
                let out = output_schema(schema);
                let writer = ArrowWriter::try_new(raw, out.clone(), None)
                    .map_err(|e| io_error(&display, e))?;
                (Target::Parquet(Box::new(writer)), Vec::new())
            }
        };
        Ok(Sink {
            target: Some(target),
            format: request.format,
            fields,
            display,
        })
    }

    /// Writes annotate_vep table batches (Parquet).
    fn write_table(&mut self, parts: &[RecordBatch], summary: &mut Summary) -> Result<(), String> {
        let Some(Target::Parquet(writer)) = self.target.as_mut() else {
            unreachable!("only a Parquet sink writes the table")
        };
        for part in parts {
            summary.rows += part.num_rows() as u64;
            summary.written += part.num_rows() as u64;
            writer.write(part).map_err(|e| io_error(&self.display, e))?;
        }
        Ok(())
    }

    /// Writes the rows of a chunk of records as VEP's VCF or tab lines.
    fn write(
        &mut self,
        job: &Job,
        lines: &[String],
        rows: &[OutRow],
        summary: &mut Summary,
    ) -> Result<(), String> {
        let target = self.target.as_mut().expect("open until finished");
        let display = &self.display;
        match self.format {
            Format::Vcf { .. } => {
                let mut by_record: Vec<Vec<&OutRow>> = vec![Vec::new(); lines.len()];
                for r in rows {
                    by_record[r.input].push(r);
                }
                let mut text = String::new();
                for (line, rs) in lines.iter().zip(by_record) {
                    let chrom = line.split('\t').next().unwrap_or_default();
                    if !job.knows_chromosome(chrom) {
                        // VEP leaves out records it has no annotation source for.
                        *summary.skipped.entry(chrom.to_string()).or_default() += 1;
                        continue;
                    }
                    if !reads_vcf_line(line) {
                        // Nor does it write a line it makes no variant of.
                        continue;
                    }
                    let csq = csq_value(rs, &self.fields);
                    summary.annotated += u64::from(csq.is_some());
                    summary.written += 1;
                    text.push_str(&with_info(line, csq.as_deref()));
                    text.push('\n');
                }
                target.write_text(&text).map_err(|e| io_error(display, e))?;
            }
            Format::Tab => {
                let mut text = String::new();
                for r in rows {
                    text.push_str(&tab_line(r, &self.fields));
                    text.push('\n');
                }
                summary.written += rows.len() as u64;
                target.write_text(&text).map_err(|e| io_error(display, e))?;
            }
            Format::Parquet => unreachable!("Parquet is written by write_table"),
        }
        Ok(())
    }

    fn finish(&mut self, summary: &mut Summary) -> Result<(), String> {
        let display = self.display.clone();
        match self.target.take() {
            Some(Target::Plain(mut w)) => w.flush().map_err(|e| io_error(&display, e)),
            Some(Target::Parquet(w)) => w.close().map(|_| ()).map_err(|e| io_error(&display, e)),
            Some(Target::Bgzf(w, path)) => {
                w.finish().map_err(|e| io_error(&display, e))?;
                if let Err(e) = write_tabix(&path) {
                    summary.warnings.push(format!(
                        "{display}: written but not indexed: {e} (tabix needs records sorted by \
                         chromosome and position: sort the input first, e.g. with bcftools sort)"
                    ));
                }
                Ok(())
            }
            None => Ok(()),
        }
    }
}

impl Target {
    fn write_text(&mut self, text: &str) -> io::Result<()> {
        match self {
            Target::Plain(w) => w.write_all(text.as_bytes()),
            Target::Bgzf(w, _) => w.write_all(text.as_bytes()),
            Target::Parquet(..) => Ok(()),
        }
    }
}

/// Writes `<path>.tbi` (or `.csi` for very long contigs) for a BGZF VCF.
fn write_tabix(path: &Path) -> io::Result<()> {
    let index = vcf::fs::index(path)?;
    let with = |ext: &str| PathBuf::from(format!("{}.{ext}", path.display()));
    match index {
        vcf::Index::Tabix(index) => tabix::fs::write(with("tbi"), &index),
        vcf::Index::Csi(index) => noodles::csi::fs::write(with("csi"), &index),
    }
}

/// A record line with its INFO column's CSQ set (the rest unchanged).
fn with_info(line: &str, csq: Option<&str>) -> String {
    let mut parts = line.splitn(9, '\t');
    let fixed: Vec<&str> = parts.by_ref().take(7).collect();
    let info = parts.next();
    let rest = parts.next();
    let mut out = fixed.join("\t");
    out.push('\t');
    out.push_str(&info_with_csq(info.unwrap_or("."), csq));
    if let Some(rest) = rest {
        out.push('\t');
        out.push_str(rest);
    }
    out
}

/// The `source_*` versions of a cache's info.txt (the last of a repeated
/// key, as VEP reads it), sorted by name as VEP writes them.
fn version_data(cache: &VepCache) -> BTreeMap<String, String> {
    cache
        .info()
        .entries
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("source_")?.to_string(), v.clone())))
        .collect()
}

fn now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// VEP's VCF header: the input's lines (but an earlier CSQ definition and
/// VEP lines), then the `##VEP` line (the VEP release reproduced, the
/// genoflight version that wrote it, time, cache, the cache's versions),
/// the CSQ definition, the command line, and the `#CHROM` line.
fn vcf_header(header: &VcfHeader, cache: &VepCache, fields: &[&str], command: &str) -> String {
    let mut lines: Vec<&str> = header
        .text
        .lines()
        .filter(|l| {
            let upper = l.to_ascii_uppercase();
            !(upper.starts_with("##VEP")
                || upper.starts_with("##GENOFLIGHT-COMMAND-LINE")
                || upper.contains("ID=CSQ,"))
        })
        .collect();
    let column_line = lines
        .pop()
        .unwrap_or("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO");
    let mut out = String::new();
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    let mut vep = format!(
        "##VEP=\"v{VEP_RELEASE}\" genoflight=\"{}\" time=\"{}\" cache=\"{}\"",
        env!("CARGO_PKG_VERSION"),
        now(),
        cache.root().display()
    );
    for (k, v) in version_data(cache) {
        vep.push_str(&format!(" {k}=\"{v}\""));
    }
    out.push_str(&vep);
    out.push('\n');
    out.push_str(&csq_header(fields));
    out.push('\n');
    out.push_str(&format!(
        "##genoflight-command-line='{}'\n",
        command.replace('\'', "\"")
    ));
    out.push_str(column_line);
    out.push('\n');
    out
}

/// VEP's `--tab` header, its first lines naming genoflight.
fn tab_header(cache: &VepCache, fields: &[&str], command: &str) -> String {
    let mut lines = vec![
        format!(
            "## genoflight annotate {}: Ensembl VEP {VEP_RELEASE} consequences",
            env!("CARGO_PKG_VERSION")
        ),
        format!("## Output produced at {}", now()),
        format!("## Using cache in {}", cache.root().display()),
    ];
    lines.extend(
        version_data(cache)
            .into_iter()
            .map(|(k, v)| format!("## {k} version {v}")),
    );
    let mut columns = tab_header_columns(fields);
    let column_line = columns.pop().unwrap_or_default();
    lines.extend(columns);
    lines.push(format!("## genoflight command-line: {command}"));
    lines.push(column_line);
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_column_is_replaced_and_the_rest_kept() {
        assert_eq!(
            with_info("1\t5\t.\tA\tC\t.\tPASS\t.\tGT\t0|1", Some("C|x")),
            "1\t5\t.\tA\tC\t.\tPASS\tCSQ=C|x\tGT\t0|1"
        );
        assert_eq!(
            with_info("1\t5\t.\tA\tC\t.\tPASS\tDP=2", None),
            "1\t5\t.\tA\tC\t.\tPASS\tDP=2"
        );
        assert_eq!(
            with_info("1\t5\t.\tA\tC\t.\tPASS", Some("C")),
            "1\t5\t.\tA\tC\t.\tPASS\tCSQ=C"
        );
        assert!(now().ends_with(" UTC") && now().len() == 23);
    }
}
