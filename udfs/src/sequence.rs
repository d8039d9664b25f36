//! `sequence('<fasta table>', 'chr1' [, start, end])`: a sub-sequence of a
//! served FASTA read through its `.fai` (and `.gzi` when BGZF-compressed),
//! without reading the rest of the file, as `samtools faidx FILE chr1:start-end`.
//! Coordinates are 1-based and closed; an end past the sequence is clamped, as
//! samtools does. The region can also be written `'chr1:100-200'`.

use std::any::Any;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::TableFunctionArgs;
use datafusion::catalog::{Session, TableFunctionImpl, TableProvider};
use datafusion::common::{DataFusionError, Result, plan_err};
use datafusion::datasource::TableType;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use genoflight_catalog::scan::{blocking_stream, bounded_properties};
use genoflight_catalog::text::TextTable;
use noodles::core::{Position, Region};
use noodles::fasta;

use crate::args::{int_arg, string_arg, table_arg};

const NAME: &str = "sequence";

/// The region asked for, 1-based closed; `None` bounds mean the sequence's ends.
#[derive(Debug, Clone)]
struct Request {
    path: PathBuf,
    display: String,
    chrom: String,
    start: Option<i64>,
    end: Option<i64>,
    /// The argument as written when it was one region string: a sequence of
    /// exactly that name wins over reading its `:suffix` as a range.
    written: Option<String>,
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("start", DataType::Int64, false),
        Field::new("end", DataType::Int64, false),
        Field::new("sequence", DataType::Utf8, false),
    ]))
}

/// `chr1:100-200`, `chr1:100` (to the end) or `chr1`.
fn parse_region(text: &str) -> (String, Option<i64>, Option<i64>) {
    if let Some((name, range)) = text.rsplit_once(':') {
        let range = range.replace(',', "");
        let bounds = match range.split_once('-') {
            Some((a, b)) => a.parse().ok().zip(b.parse().ok().map(Some)),
            None => range.parse().ok().map(|a| (a, None)),
        };
        if let Some((a, b)) = bounds {
            return (name.to_string(), Some(a), b);
        }
    }
    (text.to_string(), None, None)
}

#[derive(Debug, Default)]
pub struct SequenceFunction;

impl TableFunctionImpl for SequenceFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        let (name, provider) = table_arg(NAME, args.session(), exprs, 0)?;
        let any: &dyn Any = provider.as_ref();
        let Some(table) = any
            .downcast_ref::<TextTable>()
            .filter(|t| t.exec_name() == "FastaExec")
        else {
            return plan_err!("{NAME}(): table '{name}' is not a FASTA table");
        };
        let region = string_arg(NAME, exprs, 1, "sequence name or region 'chr1:100-200'")?;
        let written = (exprs.len() <= 2).then(|| region.clone());
        let (chrom, mut start, mut end) = if exprs.len() > 2 {
            (region, None, None)
        } else {
            parse_region(&region)
        };
        if exprs.len() > 2 {
            start = Some(int_arg(NAME, exprs, 2, "start", 1)?);
            end = exprs
                .get(3)
                .map(|_| int_arg(NAME, exprs, 3, "end", 0))
                .transpose()?;
        }
        if exprs.len() > 4 {
            return plan_err!("{NAME}(): too many arguments (table, name, start, end)");
        }
        if start.is_some_and(|s| s < 1) {
            return plan_err!("{NAME}(): start must be at least 1 (coordinates are 1-based)");
        }
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            return plan_err!("{NAME}(): end {e} is before start {s}");
        }
        let source = table.source();
        Ok(Arc::new(SequenceTable(Request {
            path: source.path.clone(),
            display: source.display.clone(),
            chrom,
            start,
            end,
            written,
        })))
    }
}

#[derive(Debug)]
struct SequenceTable(Request);

#[async_trait]
impl TableProvider for SequenceTable {
    fn schema(&self) -> SchemaRef {
        schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let projection = projection.cloned();
        let projected = match &projection {
            Some(p) => Arc::new(schema().project(p)?),
            None => schema(),
        };
        Ok(Arc::new(SequenceExec {
            request: self.0.clone(),
            properties: bounded_properties(&projected, 1),
            schema: projected,
            projection,
        }))
    }
}

#[derive(Debug)]
struct SequenceExec {
    request: Request,
    schema: SchemaRef,
    projection: Option<Vec<usize>>,
    properties: Arc<PlanProperties>,
}

impl DisplayAs for SequenceExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let r = &self.request;
        let bound = |b: Option<i64>| b.map_or(String::new(), |b| b.to_string());
        write!(
            f,
            "SequenceExec: file={}, region={}:{}-{} via index",
            r.display,
            r.chrom,
            bound(r.start),
            bound(r.end)
        )
    }
}

impl ExecutionPlan for SequenceExec {
    fn name(&self) -> &str {
        "SequenceExec"
    }

    genoflight_catalog::leaf_plan_methods!();

    fn execute(
        &self,
        _partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let request = self.request.clone();
        let projection = self.projection.clone();
        Ok(blocking_stream(self.schema.clone(), move |send| {
            let batch = read(&request)?;
            let batch = match &projection {
                Some(p) => batch.project(p)?,
                None => batch,
            };
            send(Ok(batch));
            Ok(())
        }))
    }
}

fn fail(r: &Request, e: impl fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("{NAME}(): {}: {e}", r.display))
}

/// Reads the region through the index; one row.
fn read(r: &Request) -> Result<RecordBatch> {
    let mut reader = fasta::io::indexed_reader::Builder::default()
        .build_from_path(&r.path)
        .map_err(|e| {
            fail(
                r,
                format!("cannot open it with its index ({e}); index it with `samtools faidx`"),
            )
        })?;
    let lengths: Vec<(Vec<u8>, i64)> = reader
        .index()
        .as_ref()
        .iter()
        .map(|rec| (rec.name().to_vec(), rec.length() as i64))
        .collect();
    let length_of = |name: &str| {
        lengths
            .iter()
            .find(|(n, _)| n.as_slice() == name.as_bytes())
            .map(|(_, l)| *l)
    };
    let whole = r.written.as_deref().filter(|w| length_of(w).is_some());
    let (chrom, start, end) = match whole {
        Some(name) => (name, None, None),
        None => (r.chrom.as_str(), r.start, r.end),
    };
    let length = length_of(chrom)
        .ok_or_else(|| fail(r, format!("no sequence named '{chrom}' in its index")))?;
    let start = start.unwrap_or(1);
    let end = end.unwrap_or(length).min(length);
    let sequence = if start > end {
        String::new()
    } else {
        let position = |p: i64| Position::try_from(p as usize).map_err(|e| fail(r, e));
        let region = Region::new(chrom, position(start)?..=position(end)?);
        let record = reader.query(&region).map_err(|e| fail(r, e))?;
        String::from_utf8_lossy(record.sequence().as_ref()).into_owned()
    };
    Ok(RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(StringArray::from(vec![chrom])),
            Arc::new(Int64Array::from(vec![start])),
            Arc::new(Int64Array::from(vec![end.max(start - 1)])),
            Arc::new(StringArray::from(vec![sequence])),
        ],
    )?)
}

#[cfg(test)]
mod tests {
    use super::parse_region;

    #[test]
    fn regions_parse_as_samtools_writes_them() {
        assert_eq!(
            parse_region("chr1:100-200"),
            ("chr1".into(), Some(100), Some(200))
        );
        assert_eq!(
            parse_region("chr1:1,000-2,000"),
            ("chr1".into(), Some(1000), Some(2000))
        );
        assert_eq!(parse_region("chr1:100"), ("chr1".into(), Some(100), None));
        assert_eq!(parse_region("chr1"), ("chr1".into(), None, None));
        // Read as a range here; read() prefers a sequence named exactly so.
        assert_eq!(
            parse_region("HLA-A*01:01"),
            ("HLA-A*01".into(), Some(1), None)
        );
    }
}
