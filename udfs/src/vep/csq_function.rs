//! `annotate_vep_csq('<variants table>', '<cache>' [, options])`: one row per
//! input record, its columns and `csq`, the record's consequences as Ensembl
//! VEP writes them in a VCF's `CSQ` INFO field (`--vcf`): entries in VEP's
//! order joined with `,`, fields with `|` in the order the `csq` column's
//! description (`Format: Allele|Consequence|...`) lists, as VEP's header
//! does. NULL when the record has no consequence (VEP skips it).

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl};
use datafusion::common::{DataFusionError, Result, TableReference, plan_err};
use datafusion::datasource::TableProvider;
use datafusion::execution::session_state::SessionState;
use genoflight_catalog::vep::table::{VepCache, VepCacheTable};

use super::batch_map::{BatchMap, MapTable};
use super::csq::{FieldFlags, csq_description, csq_value, vcf_fields};
use super::function::{Job, annotator};
use super::output::OutRow;
use crate::args::{string_arg, table_arg};

const NAME: &str = "annotate_vep_csq";
const USAGE: &str = "annotate_vep_csq('<variants table>', '<vep cache>' [, options of annotate_vep \
                     such as 'everything=true'])";

/// The column holding the CSQ value.
pub const CSQ_COLUMN: &str = "csq";

/// The opened cache served as `<name>` (its `<name>.transcripts` table).
pub fn served_cache(state: &SessionState, name: &str) -> Option<Arc<VepCache>> {
    let reference = TableReference::partial(name, "transcripts");
    let schema = state.schema_for_ref(reference.clone()).ok()?;
    let provider = futures::executor::block_on(schema.table(reference.table())).ok()??;
    let any: &dyn Any = provider.as_ref();
    Some(any.downcast_ref::<VepCacheTable>()?.cache().clone())
}

/// The CSQ rendering of one annotation: the fields VEP's options give.
#[derive(Debug, Clone)]
pub struct CsqFormat {
    pub fields: Vec<&'static str>,
}

impl CsqFormat {
    /// For `options` (annotate_vep's `name=value` strings) on `cache`.
    pub fn new<'a>(options: impl IntoIterator<Item = &'a str>, cache: &VepCache) -> CsqFormat {
        let flags = FieldFlags::new(options, &cache.info().species_dir);
        CsqFormat {
            fields: vcf_fields(&flags),
        }
    }

    /// The CSQ value of every input row of a batch of `rows` rows.
    pub fn per_record(&self, records: usize, rows: &[OutRow]) -> Vec<Option<String>> {
        let mut by_record: Vec<Vec<&OutRow>> = vec![Vec::new(); records];
        for r in rows {
            by_record[r.input].push(r);
        }
        by_record
            .into_iter()
            .map(|rs| csq_value(rs, &self.fields))
            .collect()
    }
}

/// The `annotate_vep_csq` table function.
#[derive(Debug, Default)]
pub struct AnnotateVepCsqFunction;

impl TableFunctionImpl for AnnotateVepCsqFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if exprs.len() < 2 {
            return plan_err!("{NAME}(): needs a variants table and a VEP cache; usage: {USAGE}");
        }
        let (table_name, input) = table_arg(NAME, args.session(), exprs, 0)?;
        let cache_name = string_arg(NAME, exprs, 1, "VEP cache name")?;
        let job = annotator(
            args.session(),
            &input.schema(),
            &table_name,
            &cache_name,
            &exprs[2..],
        )?;
        let state = args
            .session()
            .as_any()
            .downcast_ref::<SessionState>()
            .ok_or_else(|| DataFusionError::Internal(format!("{NAME}(): no session state")))?;
        let cache = served_cache(state, &cache_name).ok_or_else(|| {
            DataFusionError::Plan(format!("{NAME}(): no VEP cache named '{cache_name}'"))
        })?;
        let options: Vec<String> = (2..exprs.len())
            .map(|i| string_arg(NAME, exprs, i, "option 'name=value'"))
            .collect::<Result<_>>()?;
        let format = CsqFormat::new(options.iter().map(String::as_str), &cache);
        let input_schema = input.schema();
        let mut fields: Vec<Field> = input_schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        if fields.iter().any(|f| f.name() == CSQ_COLUMN) {
            return plan_err!(
                "{NAME}(): table '{table_name}' already has a column '{CSQ_COLUMN}'; select its \
                 other columns into a view first"
            );
        }
        let description = csq_description(&format.fields);
        fields.push(
            Field::new(CSQ_COLUMN, DataType::Utf8, true)
                .with_metadata(HashMap::from([("description".to_string(), description)])),
        );
        let schema = Arc::new(Schema::new(fields).with_metadata(input_schema.metadata().clone()));
        let map = CsqMap { job, format };
        Ok(Arc::new(MapTable::new(schema, input, Arc::new(map))))
    }
}

/// A batch of records and its `csq` column.
struct CsqMap {
    job: Job,
    format: CsqFormat,
}

impl BatchMap for CsqMap {
    fn name(&self) -> &'static str {
        "AnnotateVepCsqExec"
    }

    fn settings(&self) -> String {
        format!("fields={}", self.format.fields.len())
    }

    fn map(
        &self,
        batch: &RecordBatch,
        projection: &[usize],
        projected: &SchemaRef,
    ) -> Result<RecordBatch> {
        let rows = self.job.rows(batch)?;
        let mut csq = StringBuilder::new();
        for value in self.format.per_record(batch.num_rows(), &rows) {
            csq.append_option(value);
        }
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        columns.push(Arc::new(csq.finish()));
        let columns = projection.iter().map(|&i| columns[i].clone()).collect();
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        Ok(RecordBatch::try_new_with_options(
            projected.clone(),
            columns,
            &options,
        )?)
    }
}
