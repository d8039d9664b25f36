//! `TextTable`: the `TableProvider` of every line-oriented format.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::Result;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;

use super::TextFormat;
use super::exec::TextExec;
use super::source::TextSource;
use crate::region::RegionFilter;

#[derive(Debug)]
pub struct TextTable {
    /// Plan node name shown by EXPLAIN (`VcfExec`, `BedExec`, ...).
    exec_name: &'static str,
    source: Arc<TextSource>,
    format: Arc<dyn TextFormat>,
    zero_based: bool,
}

impl TextTable {
    pub fn new(
        exec_name: &'static str,
        source: Arc<TextSource>,
        format: Arc<dyn TextFormat>,
        zero_based: bool,
    ) -> TextTable {
        if let Some(w) = &source.index_warning {
            tracing::warn!("{w}");
        }
        TextTable {
            exec_name,
            source,
            format,
            zero_based,
        }
    }

    pub fn source(&self) -> &TextSource {
        &self.source
    }

    /// The plan node that scans it, which names its format (`FastaExec`, `BedExec`, ...).
    pub fn exec_name(&self) -> &'static str {
        self.exec_name
    }
}

#[async_trait]
impl TableProvider for TextTable {
    fn schema(&self) -> SchemaRef {
        self.format.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(RegionFilter::pushdown(filters))
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let schema = self.format.schema();
        let projection: Vec<usize> = projection
            .cloned()
            .unwrap_or_else(|| (0..schema.fields().len()).collect());
        let projected = Arc::new(schema.project(&projection)?);
        let regions = RegionFilter::from_filters(filters, self.zero_based).regions();
        // Multi-line records (FASTA, FASTQ) cannot start mid-file.
        let partitions = if self.format.splittable() {
            state.config().target_partitions()
        } else {
            1
        };
        let units = self.source.plan(&regions, partitions)?;
        Ok(Arc::new(TextExec::new(
            self.exec_name,
            self.source.clone(),
            self.format.clone(),
            projection,
            projected,
            units,
            regions,
            limit,
        )))
    }
}
