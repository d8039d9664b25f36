//! BAM (with .bai/.csi), CRAM (with .crai and its reference FASTA) and SAM as
//! tables of alignments, one row per record, fields as `samtools view` prints them.
//! This file is the provider; `exec` scans, `batch` builds columns, `filter`
//! checks MAPQ/flag predicates early, `split` cuts an indexed BAM into partitions.

mod batch;
mod exec;
mod filter;
mod split;
mod tags;

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, MapBuilder, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::{TableProvider, TableType};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use noodles::csi::BinningIndex;
use noodles::{bam, cram, sam};

use self::exec::{AlignmentExec, ScanRequest};
use self::filter::RecordFilter;
use self::tags::TagColumn;
use crate::coords;
use crate::region::RegionFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlignmentFormat {
    Bam,
    Cram,
    Sam,
}

/// Boxed so that it is `Sized`, as noodles' query wants.
pub type SharedIndex = Arc<Box<dyn BinningIndex + Send + Sync>>;

pub struct AlignmentTable {
    path: PathBuf,
    display: String,
    format: AlignmentFormat,
    header: Arc<sam::Header>,
    index: Option<SharedIndex>,
    /// CRAM only: its .crai and the reference FASTA it decodes against.
    crai: Option<Arc<cram::crai::Index>>,
    reference: Option<PathBuf>,
    schema: SchemaRef,
    /// Tags promoted to typed columns (after `tags`).
    tag_columns: Vec<TagColumn>,
    zero_based: bool,
}

impl fmt::Debug for AlignmentTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlignmentTable")
            .field("path", &self.path)
            .finish()
    }
}

/// What `depth()` and other functions over alignments need from a table.
impl AlignmentTable {
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn format(&self) -> AlignmentFormat {
        self.format
    }

    pub fn header(&self) -> &Arc<sam::Header> {
        &self.header
    }

    /// The .bai/.csi index, when the file has a current one.
    pub fn index(&self) -> Option<&SharedIndex> {
        self.index.as_ref()
    }

    pub fn zero_based(&self) -> bool {
        self.zero_based
    }

    /// CRAM: the reference FASTA records decode against.
    pub fn reference(&self) -> Option<&Path> {
        self.reference.as_deref()
    }

    pub fn with_reference(mut self, reference: PathBuf) -> AlignmentTable {
        self.reference = Some(reference);
        self
    }

    /// Adds a typed column per tag spec (`NM`, `XS:i`; see `tags`).
    pub fn with_tag_columns(mut self, specs: &[String]) -> Result<AlignmentTable> {
        let columns = specs
            .iter()
            .map(|s| TagColumn::parse(s))
            .collect::<Result<Vec<_>>>()
            .map_err(|e| err(&self.display, "tags", e.strip_backtrace()))?;
        for (i, c) in columns.iter().enumerate() {
            let name = c.name();
            if self.schema.field_with_name(&name).is_ok()
                || columns[..i].iter().any(|o| o.tag == c.tag)
            {
                return Err(err(
                    &self.display,
                    "tags",
                    format!("column '{name}' given twice"),
                ));
            }
        }
        self.schema = schema(self.zero_based, &columns);
        self.tag_columns = columns;
        Ok(self)
    }
}

fn tags_builder() -> MapBuilder<StringBuilder, StringBuilder> {
    MapBuilder::new(None, StringBuilder::new(), StringBuilder::new())
}

/// Columns before the promoted tags.
const FIXED_COLUMNS: usize = 13;

fn schema(zero_based: bool, tag_columns: &[TagColumn]) -> SchemaRef {
    let pos = |name: &str| Field::new(name, DataType::Int64, true);
    let mut fields = vec![
        Field::new("name", DataType::Utf8, true),
        Field::new("chrom", DataType::Utf8, true),
        pos("start"),
        pos("end"),
        Field::new("flags", DataType::Int32, false),
        Field::new("cigar", DataType::Utf8, true),
        Field::new("mapping_quality", DataType::Int32, true),
        Field::new("mate_chrom", DataType::Utf8, true),
        pos("mate_start"),
        Field::new("template_length", DataType::Int64, false),
        Field::new("sequence", DataType::Utf8, true),
        Field::new("quality_scores", DataType::Utf8, true),
        Field::new("tags", tags_builder().finish().data_type().clone(), true),
    ];
    fields.extend(
        tag_columns
            .iter()
            .map(|t| Field::new(t.name(), t.data_type(), true)),
    );
    Arc::new(Schema::new(fields).with_metadata(coords::schema_metadata(zero_based)))
}

fn err(display: &str, what: &str, e: impl fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("{display}: {what}: {e}"))
}

pub fn open_alignment(
    path: &Path,
    format: AlignmentFormat,
    zero_based: bool,
) -> Result<AlignmentTable> {
    let display = path.display().to_string();
    let file = File::open(path).map_err(|e| err(&display, "cannot open", e))?;
    let header = match format {
        AlignmentFormat::Bam => bam::io::Reader::new(file).read_header(),
        AlignmentFormat::Cram => cram::io::Reader::new(file).read_header(),
        AlignmentFormat::Sam => sam::io::Reader::new(BufReader::new(file)).read_header(),
    }
    .map_err(|e| err(&display, "cannot read the header", e))?;
    let index = match format {
        AlignmentFormat::Bam => load_index(path, &display),
        AlignmentFormat::Cram | AlignmentFormat::Sam => None,
    };
    let crai = match format {
        AlignmentFormat::Cram => load_crai(path, &display),
        _ => None,
    };
    Ok(AlignmentTable {
        path: path.to_path_buf(),
        display,
        format,
        header: Arc::new(header),
        index,
        crai,
        reference: None,
        schema: schema(zero_based, &[]),
        tag_columns: vec![],
        zero_based,
    })
}

/// The .crai beside a CRAM; a stale or unreadable one is ignored with a warning.
fn load_crai(path: &Path, file: &str) -> Option<Arc<cram::crai::Index>> {
    let index_path = PathBuf::from(format!("{}.crai", path.display()));
    let meta = std::fs::metadata(&index_path).ok()?;
    let data = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    if data.zip(meta.modified().ok()).is_some_and(|(d, i)| i < d) {
        tracing::warn!(
            "{file}: index {} is older than the data; ignoring it",
            index_path.display()
        );
        return None;
    }
    match cram::crai::fs::read(&index_path) {
        Ok(index) => Some(Arc::new(index)),
        Err(e) => {
            tracing::warn!("{file}: cannot read index {}: {e}", index_path.display());
            None
        }
    }
}

/// The .bai or .csi beside a BAM; a stale or unreadable one is ignored with a warning.
fn load_index(path: &Path, file: &str) -> Option<SharedIndex> {
    let data_mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    for ext in ["bai", "csi"] {
        let index_path = PathBuf::from(format!("{}.{ext}", path.display()));
        let Ok(meta) = std::fs::metadata(&index_path) else {
            continue;
        };
        if data_mtime
            .zip(meta.modified().ok())
            .is_some_and(|(d, i)| i < d)
        {
            tracing::warn!(
                "{file}: index {} is older than the data; ignoring it",
                index_path.display()
            );
            return None;
        }
        let loaded: io::Result<SharedIndex> = if ext == "bai" {
            bam::bai::fs::read(&index_path)
                .map(|i| Arc::new(Box::new(i) as Box<dyn BinningIndex + Send + Sync>))
        } else {
            noodles::csi::fs::read(&index_path)
                .map(|i| Arc::new(Box::new(i) as Box<dyn BinningIndex + Send + Sync>))
        };
        match loaded {
            Ok(i) => return Some(i),
            Err(e) => tracing::warn!("{file}: cannot read index {}: {e}", index_path.display()),
        }
    }
    None
}

#[async_trait]
impl TableProvider for AlignmentTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|e| {
                if RegionFilter::understands(e) || RecordFilter::understands(e) {
                    TableProviderFilterPushDown::Inexact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let projection: Vec<usize> = projection
            .cloned()
            .unwrap_or_else(|| (0..self.schema.fields().len()).collect());
        let schema = Arc::new(self.schema.project(&projection)?);
        let regions = RegionFilter::from_filters(filters, self.zero_based).regions();
        // A whole-file BAM scan runs in parallel between index cuts; a LIMIT
        // reads from the start on one partition so it can stop early.
        let cuts = match (&self.index, self.format) {
            (Some(index), AlignmentFormat::Bam) if regions.is_empty() && limit.is_none() => {
                let bytes = std::fs::metadata(&self.path).map_or(0, |m| m.len());
                let parts = state.config().target_partitions();
                split::split_points(&***index, &self.header, bytes, parts)
            }
            _ => vec![],
        };
        let request = ScanRequest {
            projection,
            schema,
            regions,
            filter: RecordFilter::from_filters(filters),
            limit,
            cuts,
        };
        Ok(Arc::new(AlignmentExec::new(self, request)))
    }
}
