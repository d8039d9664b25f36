//! The `annotate_vep` table function: its arguments and options, the
//! provider (input columns + VEP's fields), and the execution node that
//! annotates each input batch on a blocking thread as it streams by.

use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type, SchemaRef};
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl};
use datafusion::common::{DataFusionError, Result, plan_err};
use datafusion::datasource::TableProvider;
use datafusion::logical_expr::Expr;
use genoflight_catalog::coords;

use super::alleles::VepVariant;
use super::batch_map::{BatchMap, MapTable};
use super::cache::resolve_source;
use super::fasta::{WithGenome, hgvs_settings, reference_matches};
use super::output::{OutRow, build_batch, output_schema};
use super::pick::{per_gene, pick};
use super::rows::{FeatureSource, Settings, variant_rows_with};
use super::sv::{MAX_SV_SIZE, SvColumns, SvInfo, SvRecord, is_structural, read_sv, sv_rows};
use crate::args::{Options, string_arg, table_arg};

const NAME: &str = "annotate_vep";
const USAGE: &str = "annotate_vep('<variants table>', '<vep cache>' [, 'pick=true', 'per_gene=true', \
                     'canonical_only=true', 'distance=5000', 'check_existing=true', 'everything=true', \
                     'fasta=<FASTA table>', 'hgvs=true', 'hgvsg=true', 'shift_hgvs=false', 'check_ref=true', \
                     'max_sv_size=10000000'])";
const KNOWN: &[&str] = &[
    "pick",
    "per_gene",
    "canonical_only",
    "distance",
    "check_existing",
    "everything",
    "regulatory",
    "fasta",
    "hgvs",
    "hgvsg",
    "shift_hgvs",
    "check_ref",
    "max_sv_size",
];

/// How rows are chosen and what is looked up.
#[derive(Debug, Clone, Copy)]
pub struct AnnotateOptions {
    pub settings: Settings,
    pub pick: bool,
    pub per_gene: bool,
    pub check_existing: bool,
    /// Structural variants longer than this are skipped (`--max_sv_size`).
    pub max_sv_size: i64,
}

impl AnnotateOptions {
    fn parse(opts: &Options) -> Result<AnnotateOptions> {
        let everything = opts.bool("everything", false)?;
        let distance = opts.int("distance", 5000)?;
        if !(0..=10_000_000).contains(&distance) {
            return plan_err!("{NAME}(): option distance must be 0 to 10000000, got {distance}");
        }
        let pick = opts.bool("pick", false)?;
        let per_gene = opts.bool("per_gene", false)?;
        if pick && per_gene {
            return plan_err!("{NAME}(): options pick and per_gene exclude each other");
        }
        let max_sv_size = opts.int("max_sv_size", MAX_SV_SIZE)?;
        if max_sv_size < 0 {
            return plan_err!("{NAME}(): option max_sv_size must be 0 or more, got {max_sv_size}");
        }
        Ok(AnnotateOptions {
            settings: Settings {
                distance,
                regulatory: opts.bool("regulatory", everything)?,
                canonical_only: opts.bool("canonical_only", false)?,
            },
            pick,
            per_gene,
            check_existing: opts.bool("check_existing", everything)?,
            max_sv_size,
        })
    }
}

/// The cache, with the reference genome attached when `fasta=` is given.
fn with_genome(
    source: Arc<dyn FeatureSource>,
    session: &dyn Session,
    raw: &Options,
) -> Result<Arc<dyn FeatureSource>> {
    let everything = raw.bool("everything", false)?;
    Ok(match hgvs_settings(NAME, session, raw, everything)? {
        Some(hgvs) => Arc::new(WithGenome {
            inner: source,
            hgvs,
        }),
        None => source,
    })
}

/// The `annotate_vep` table function.
#[derive(Debug, Default)]
pub struct AnnotateVepFunction;

impl TableFunctionImpl for AnnotateVepFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if exprs.len() < 2 {
            return plan_err!("{NAME}(): needs a variants table and a VEP cache; usage: {USAGE}");
        }
        let (table_name, input) = table_arg(NAME, args.session(), exprs, 0)?;
        let cache_name = string_arg(NAME, exprs, 1, "VEP cache name")?;
        let raw = Options::parse(NAME, exprs, 2, KNOWN)?;
        let opts = AnnotateOptions::parse(&raw)?;
        let source = with_genome(
            resolve_source(NAME, args.session(), &cache_name)?,
            args.session(),
            &raw,
        )?;
        let columns = InputColumns::find(&input.schema(), &table_name)?;
        let full = output_schema(&input.schema());
        let job = Job {
            projection: (0..full.fields().len()).collect(),
            full: full.clone(),
            source,
            options: opts,
            columns,
        };
        Ok(Arc::new(MapTable::new(full, input, Arc::new(job))))
    }
}

/// Where the variant columns are in the input.
#[derive(Debug, Clone, Copy)]
struct InputColumns {
    chrom: usize,
    start: usize,
    reference: usize,
    alt: usize,
    id: Option<usize>,
    zero_based: bool,
    /// END/SVTYPE/SVLEN, read for structural records.
    sv: SvColumns,
}

impl InputColumns {
    fn find(schema: &SchemaRef, table: &str) -> Result<InputColumns> {
        let col = |name: &str| schema.index_of(name).ok();
        let need = |name: &str| {
            col(name).ok_or_else(|| {
                DataFusionError::Plan(format!(
                    "{NAME}(): table '{table}' has no column '{name}'; annotate_vep reads variant \
                     tables with chrom, start, ref, alt (and id) columns, as VCF tables have"
                ))
            })
        };
        let zero_based = coords::declared_zero_based(schema.metadata()).unwrap_or(false);
        Ok(InputColumns {
            chrom: need("chrom")?,
            start: need("start")?,
            reference: need("ref")?,
            alt: need("alt")?,
            id: col("id"),
            zero_based,
            sv: SvColumns::find(schema),
        })
    }
}

/// What annotating one batch needs.
pub struct Job {
    full: SchemaRef,
    projection: Vec<usize>,
    source: Arc<dyn FeatureSource>,
    options: AnnotateOptions,
    columns: InputColumns,
}

fn strings(batch: &RecordBatch, i: usize) -> Result<arrow::array::StringArray> {
    Ok(cast(batch.column(i), &DataType::Utf8)?
        .as_string::<i32>()
        .clone())
}

/// `annotate_vep`'s annotation for Rust callers holding variants as batches
/// (`annotate_vep_csq`, the `genoflight annotate` command): the same option
/// parsing, cache resolution and input columns as the SQL function.
pub fn annotator(
    session: &dyn Session,
    input: &SchemaRef,
    table: &str,
    cache: &str,
    options: &[Expr],
) -> Result<Job> {
    let full = output_schema(input);
    let raw = Options::parse(NAME, options, 0, KNOWN)?;
    Ok(Job {
        projection: (0..full.fields().len()).collect(),
        full,
        source: with_genome(resolve_source(NAME, session, cache)?, session, &raw)?,
        options: AnnotateOptions::parse(&raw)?,
        columns: InputColumns::find(input, table)?,
    })
}

impl BatchMap for Job {
    fn name(&self) -> &'static str {
        "AnnotateVepExec"
    }

    fn settings(&self) -> String {
        let o = &self.options;
        format!(
            "distance={}, regulatory={}, pick={}, per_gene={}, canonical_only={}, check_existing={}",
            o.settings.distance,
            o.settings.regulatory,
            o.pick,
            o.per_gene,
            o.settings.canonical_only,
            o.check_existing
        )
    }

    fn map(
        &self,
        batch: &RecordBatch,
        projection: &[usize],
        _projected: &SchemaRef,
    ) -> Result<RecordBatch> {
        let out = self.rows(batch)?;
        build_batch(&self.full, projection, batch, &out)
    }
}

impl Job {
    /// The `annotate_vep` table's rows for `batch` (input columns, then VEP's fields).
    pub fn annotate(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let out = self.rows(batch)?;
        build_batch(&self.full, &self.projection, batch, &out)
    }

    /// Whether the cache holds chromosome `name` (VEP leaves out the records
    /// of chromosomes it has no annotation for).
    pub fn knows_chromosome(&self, name: &str) -> bool {
        self.source.chromosome(name).is_some()
    }

    /// Every output row of `batch` in VEP's order, each naming its input row.
    pub fn rows(&self, batch: &RecordBatch) -> Result<Vec<OutRow>> {
        let c = &self.columns;
        let chrom = strings(batch, c.chrom)?;
        let start = cast(batch.column(c.start), &DataType::Int64)?;
        let start = start.as_primitive::<Int64Type>();
        let reference = strings(batch, c.reference)?;
        let alt = strings(batch, c.alt)?;
        let id = c.id.map(|i| strings(batch, i)).transpose()?;
        let sv = c.sv.decode(batch)?;
        let mut out: Vec<OutRow> = Vec::new();
        for row in 0..batch.num_rows() {
            if chrom.is_null(row) || start.is_null(row) || reference.is_null(row) {
                continue;
            }
            let pos = start.value(row) + i64::from(c.zero_based);
            let alt_text = (!alt.is_null(row)).then(|| alt.value(row));
            // Symbolic ALTs and breakends: VEP's structural variant path.
            let alts: Vec<&str> = alt_text.unwrap_or("").split(',').map(str::trim).collect();
            let svtype = sv.svtype(row);
            if is_structural(reference.value(row), &alts, svtype.as_deref()) {
                let Some(named) = self.source.chromosome(chrom.value(row)) else {
                    continue;
                };
                let values = sv.values(row, pos, reference.value(row).len() as i64);
                let info = SvInfo {
                    svtype: values.svtype.as_deref(),
                    end: values.end,
                    svlen: values.svlen,
                    chr2: values.chr2.as_deref(),
                    end2: values.end2,
                };
                let record = read_sv(
                    pos,
                    reference.value(row),
                    &alts,
                    info,
                    self.options.max_sv_size,
                );
                // VEP warns and writes nothing for a skipped structural record.
                let SvRecord::Annotate(variant) = record else {
                    continue;
                };
                let id = id
                    .as_ref()
                    .and_then(|a| (!a.is_null(row)).then(|| a.value(row)));
                // VEP's VCF parser names an SV's chromosome as the cache does
                // (get_source_chr_name), so its Location does too.
                let mut rows = sv_rows(
                    self.source.as_ref(),
                    &named.cache,
                    &named.cache,
                    id,
                    &variant,
                    &self.options.settings,
                    row,
                )?;
                if self.options.pick {
                    rows = pick(rows);
                } else if self.options.per_gene {
                    rows = per_gene(rows);
                }
                out.extend(rows);
                continue;
            }
            // Non-variant, symbolic and malformed records get no rows, as
            // VEP skips them (with a warning) rather than failing the run.
            let Ok(variant) = VepVariant::from_vcf(pos, reference.value(row), alt_text) else {
                continue;
            };
            if variant.annotated_alts().next().is_none() {
                continue;
            }
            let name = chrom.value(row);
            let Some(named) = self.source.chromosome(name) else {
                continue;
            };
            let cache_chrom = named.cache.as_str();
            let id = id
                .as_ref()
                .and_then(|a| (!a.is_null(row)).then(|| a.value(row)));
            let hgvs = self.source.hgvs();
            // VEP's --check_ref: a REF the genome does not have skips the record.
            if let Some(h) = hgvs.filter(|h| h.check_ref)
                && !reference_matches(h, &[cache_chrom, name], &variant)?
            {
                continue;
            }
            let mut rows = variant_rows_with(
                self.source.as_ref(),
                cache_chrom,
                &named.reported,
                id,
                &variant,
                &self.options.settings,
                row,
                hgvs,
            )?;
            if self.options.check_existing {
                super::existing::add_existing(
                    self.source.as_ref(),
                    cache_chrom,
                    &variant,
                    &mut rows,
                )?;
            }
            if self.options.pick {
                rows = pick(rows);
            } else if self.options.per_gene {
                rows = per_gene(rows);
            }
            out.extend(rows);
        }
        Ok(out)
    }
}
