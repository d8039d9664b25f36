//! Known variants of a VEP cache: the lines of the per-region `_var.gz` files
//! (space-separated) or of a tabix `all_vars.gz` (tab-separated, chromosome
//! first), with columns named by info.txt's `variation_cols`. Parsed as
//! VEP's `parse_variation` does: `.` is undef, trailing empty fields may be
//! missing, `failed`/`somatic`/`phenotype_or_disease` default to 0, `end` to
//! `start` and `strand` to 1.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Builder, Int64Builder, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::Result;

use super::info::CacheInfo;
use crate::columns::record_batch;
use crate::coords::schema_metadata;
use crate::text::{Line, RecordSink, Region, in_regions};

/// One known variant (a line of the cache's variation data).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KnownVariant {
    /// The cache's chromosome name (`21`, not `chr21`).
    pub chrom: String,
    pub start: i64,
    pub end: i64,
    /// rsID or other identifier (`rs699`, `COSM12345`).
    pub variation_name: Option<String>,
    /// `REF/ALT[/ALT..]` on `strand`.
    pub allele_string: Option<String>,
    pub strand: i64,
    pub failed: i64,
    pub somatic: i64,
    pub phenotype_or_disease: i64,
    pub minor_allele: Option<String>,
    pub minor_allele_freq: Option<f64>,
    /// Comma-separated ClinVar significances.
    pub clin_sig: Option<String>,
    /// Comma-separated PubMed ids.
    pub pubmed: Option<String>,
    pub var_synonyms: Option<String>,
    /// Every other `variation_cols` column with a value, in column order:
    /// the population frequencies (`AFR`, `gnomADe_NFE`, ...) as VEP stores
    /// them, `allele:freq[,allele:freq]`.
    pub frequencies: Vec<(Arc<str>, String)>,
}

/// Columns whose values are integers (flags) in the table.
const INT_COLS: &[&str] = &["failed", "somatic", "phenotype_or_disease", "strand"];

/// How a cache's variation lines are laid out.
#[derive(Debug, Clone)]
pub struct VariationColumns {
    /// `variation_cols`, in file order.
    names: Vec<Arc<str>>,
    /// Tab-separated (tabix `all_vars.gz`) or single-space separated.
    tabix: bool,
    schema: SchemaRef,
}

impl VariationColumns {
    pub fn new(info: &CacheInfo) -> VariationColumns {
        let names: Vec<Arc<str>> = info
            .variation_cols
            .iter()
            .map(|c| Arc::from(c.as_str()))
            .collect();
        let mut fields = vec![
            Field::new("chrom", DataType::Utf8, false),
            Field::new("start", DataType::Int64, false),
            Field::new("end", DataType::Int64, false),
        ];
        for name in &names {
            if matches!(name.as_ref(), "chr" | "start" | "end") {
                continue;
            }
            // A name repeated in variation_cols would collide in the schema.
            if fields.iter().any(|f| f.name() == name.as_ref()) {
                continue;
            }
            let ty = if INT_COLS.contains(&name.as_ref()) {
                DataType::Int64
            } else if name.as_ref() == "minor_allele_freq" {
                DataType::Float64
            } else {
                DataType::Utf8
            };
            let nullable = !INT_COLS.contains(&name.as_ref());
            fields.push(Field::new(name.as_ref(), ty, nullable));
        }
        let schema = Arc::new(Schema::new_with_metadata(fields, schema_metadata(false)));
        VariationColumns {
            names,
            tabix: info.tabix_variation,
            schema,
        }
    }

    /// The `variation` table's schema: chrom, start, end, then the other
    /// `variation_cols` in order.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    pub fn tabix(&self) -> bool {
        self.tabix
    }

    /// Splits a line as VEP does (Perl `split` drops trailing empty fields;
    /// a missing field is simply undef here).
    fn fields<'a>(&self, line: &'a str) -> Vec<&'a str> {
        let sep = if self.tabix { '\t' } else { ' ' };
        line.split(sep).take(self.names.len()).collect()
    }

    /// Parses one line; `dir_chrom` is the chromosome directory it came from
    /// (used when the line has no `chr` column). `None` for blank and `#` lines.
    pub fn parse(&self, line: &str, dir_chrom: &str) -> Result<Option<KnownVariant>, String> {
        if line.is_empty() || line.starts_with('#') {
            return Ok(None);
        }
        let fields = self.fields(line);
        let mut v = KnownVariant {
            chrom: dir_chrom.to_string(),
            strand: 1,
            ..Default::default()
        };
        let mut start = None;
        let mut end = None;
        for (i, raw) in fields.iter().enumerate() {
            if raw.is_empty() || *raw == "." {
                continue;
            }
            let name = &self.names[i];
            let int = || {
                raw.parse::<i64>()
                    .map_err(|_| format!("{name}: '{raw}' is not an integer"))
            };
            match name.as_ref() {
                "chr" => v.chrom = raw.to_string(),
                "start" => start = Some(int()?),
                "end" => end = Some(int()?),
                "variation_name" => v.variation_name = Some(raw.to_string()),
                "allele_string" => v.allele_string = Some(raw.to_string()),
                // Perl's `||=` keeps defaults for 0 as well as undef.
                "strand" => v.strand = Some(int()?).filter(|&s| s != 0).unwrap_or(1),
                "failed" => v.failed = int()?,
                "somatic" => v.somatic = int()?,
                "phenotype_or_disease" => v.phenotype_or_disease = int()?,
                "minor_allele" => v.minor_allele = Some(raw.to_string()),
                "minor_allele_freq" => {
                    v.minor_allele_freq = Some(
                        raw.parse()
                            .map_err(|_| format!("minor_allele_freq: '{raw}' is not a number"))?,
                    )
                }
                "clin_sig" => v.clin_sig = Some(raw.to_string()),
                "pubmed" => v.pubmed = Some(raw.to_string()),
                "var_synonyms" => v.var_synonyms = Some(raw.to_string()),
                _ => v.frequencies.push((name.clone(), raw.to_string())),
            }
        }
        let start = start
            .ok_or_else(|| format!("no start position (columns: {})", self.names.join(",")))?;
        v.start = start;
        v.end = end.filter(|&e| e != 0).unwrap_or(start);
        Ok(Some(v))
    }

    /// The value of table column `name` for `v`, as text (for generic columns).
    fn text<'a>(&self, v: &'a KnownVariant, name: &str) -> Option<&'a str> {
        match name {
            "variation_name" => v.variation_name.as_deref(),
            "allele_string" => v.allele_string.as_deref(),
            "minor_allele" => v.minor_allele.as_deref(),
            "clin_sig" => v.clin_sig.as_deref(),
            "pubmed" => v.pubmed.as_deref(),
            "var_synonyms" => v.var_synonyms.as_deref(),
            _ => v
                .frequencies
                .iter()
                .find(|(k, _)| k.as_ref() == name)
                .map(|(_, val)| val.as_str()),
        }
    }
}

enum Builder {
    Str(StringBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
}

/// Builds `variation` batches of a projected schema from known variants.
pub struct VariationBatch {
    columns: Arc<VariationColumns>,
    projected: SchemaRef,
    names: Vec<String>,
    builders: Vec<Builder>,
    rows: usize,
}

impl VariationBatch {
    pub fn new(columns: Arc<VariationColumns>, projected: SchemaRef) -> VariationBatch {
        let names: Vec<String> = projected
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let builders = projected
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Int64 => Builder::Int(Int64Builder::new()),
                DataType::Float64 => Builder::Float(Float64Builder::new()),
                _ => Builder::Str(StringBuilder::new()),
            })
            .collect();
        VariationBatch {
            columns,
            projected,
            names,
            builders,
            rows: 0,
        }
    }

    pub fn append(&mut self, v: &KnownVariant) {
        for (name, builder) in self.names.iter().zip(self.builders.iter_mut()) {
            match builder {
                Builder::Int(b) => b.append_value(match name.as_str() {
                    "start" => v.start,
                    "end" => v.end,
                    "strand" => v.strand,
                    "failed" => v.failed,
                    "somatic" => v.somatic,
                    _ => v.phenotype_or_disease,
                }),
                Builder::Float(b) => b.append_option(v.minor_allele_freq),
                Builder::Str(b) if name == "chrom" => b.append_value(&v.chrom),
                Builder::Str(b) => b.append_option(self.columns.text(v, name)),
            }
        }
        self.rows += 1;
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    pub fn finish(&mut self) -> Result<RecordBatch> {
        let arrays: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .map(|b| match b {
                Builder::Str(b) => Arc::new(b.finish()) as ArrayRef,
                Builder::Int(b) => Arc::new(b.finish()),
                Builder::Float(b) => Arc::new(b.finish()),
            })
            .collect();
        let rows = std::mem::take(&mut self.rows);
        record_batch(&self.projected, arrays, rows)
    }
}

/// Lines of one variation file into batches, keeping those inside `regions`.
pub struct VariationSink {
    batch: VariationBatch,
    dir_chrom: String,
}

impl VariationSink {
    pub fn new(batch: VariationBatch, dir_chrom: &str) -> VariationSink {
        VariationSink {
            batch,
            dir_chrom: dir_chrom.to_string(),
        }
    }
}

impl RecordSink for VariationSink {
    fn push(&mut self, line: &str, regions: &[Region]) -> Result<Line, String> {
        let Some(v) = self.batch.columns.parse(line, &self.dir_chrom)? else {
            return Ok(Line::Skipped);
        };
        if !in_regions(regions, &v.chrom, v.start, v.end) {
            return Ok(Line::Skipped);
        }
        self.batch.append(&v);
        Ok(Line::Kept)
    }

    fn len(&self) -> usize {
        self.batch.len()
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        self.batch.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(cols: &str, tabix: bool) -> CacheInfo {
        let text = format!(
            "variation_cols\t{cols}\n{}",
            if tabix { "var_type\ttabix\n" } else { "" }
        );
        CacheInfo::parse(&text, "84_GRCh38", "homo_sapiens").unwrap()
    }

    #[test]
    fn parses_space_lines_with_missing_trailing_fields() {
        let cols = VariationColumns::new(&info(
            "variation_name,failed,somatic,start,end,allele_string,strand,minor_allele,minor_allele_freq,clin_sig,phenotype_or_disease,pubmed,AFR,AMR",
            false,
        ));
        let v = cols
            .parse("rs574523538   25000001  C/T  T 0.0002    T:0 T:0.5", "21")
            .unwrap()
            .unwrap();
        assert_eq!(v.chrom, "21");
        assert_eq!(
            (v.start, v.end, v.strand, v.failed),
            (25000001, 25000001, 1, 0)
        );
        assert_eq!(v.variation_name.as_deref(), Some("rs574523538"));
        assert_eq!(v.allele_string.as_deref(), Some("C/T"));
        assert_eq!(v.minor_allele_freq, Some(0.0002));
        assert_eq!(v.frequencies.len(), 2);
        assert_eq!(v.frequencies[1].1, "T:0.5");
        let short = cols.parse("rs1   5  G/A", "21").unwrap().unwrap();
        assert_eq!((short.start, short.end), (5, 5));
        assert!(cols.parse("rs1 x", "21").is_err());
        assert!(cols.parse("rs1   abc", "21").is_err());
        assert_eq!(cols.parse("", "21").unwrap(), None);
        let schema = cols.schema();
        assert_eq!(schema.field(0).name(), "chrom");
        assert_eq!(schema.field(3).name(), "variation_name");
        assert_eq!(
            schema.field_with_name("strand").unwrap().data_type(),
            &DataType::Int64
        );
    }

    #[test]
    fn parses_tabix_lines_with_dots() {
        let cols = VariationColumns::new(&info(
            "chr,variation_name,failed,somatic,start,end,allele_string,strand,gnomAD",
            true,
        ));
        let v = cols
            .parse("21\trs879182429\t.\t.\t8013350\t.\tT/G\t-1\tG:0.1", "x")
            .unwrap()
            .unwrap();
        assert_eq!(v.chrom, "21");
        assert_eq!((v.start, v.end, v.strand), (8013350, 8013350, -1));
        let mut batch = VariationBatch::new(Arc::new(cols.clone()), cols.schema());
        batch.append(&v);
        let b = batch.finish().unwrap();
        assert_eq!(b.num_rows(), 1);
        assert_eq!(b.num_columns(), 9);
    }
}
