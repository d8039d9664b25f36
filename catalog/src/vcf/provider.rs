//! The VCF `TableProvider`s.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::Result;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;

use super::exec::{Layout, VcfExec};
use super::schema::{genotypes_schema, variants_schema};
use super::source::VcfSource;
use crate::region::RegionFilter;

#[derive(Debug)]
pub struct VcfTable {
    source: Arc<VcfSource>,
    schema: SchemaRef,
    layout: Layout,
    zero_based: bool,
}

/// Opens a VCF: its variants table, and its genotypes table when it has samples.
pub fn open_vcf(path: &std::path::Path, zero_based: bool) -> Result<(VcfTable, Option<VcfTable>)> {
    let source = Arc::new(VcfSource::open(path)?);
    if let Some(w) = &source.index_warning {
        tracing::warn!("{w}");
    }
    let (schema, columns) = variants_schema(&source.header, zero_based);
    let variants = VcfTable {
        source: source.clone(),
        schema,
        layout: Layout::Variants(columns),
        zero_based,
    };
    let genotypes = (!source.header.samples.is_empty()).then(|| {
        let (schema, columns) = genotypes_schema(&source.header, zero_based);
        VcfTable {
            source,
            schema,
            layout: Layout::Genotypes(columns),
            zero_based,
        }
    });
    Ok((variants, genotypes))
}

impl VcfTable {
    pub fn source(&self) -> &VcfSource {
        &self.source
    }
}

#[async_trait]
impl TableProvider for VcfTable {
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
                if RegionFilter::understands(e) {
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
        let all: Vec<usize> = (0..self.schema.fields().len()).collect();
        let projection = projection.unwrap_or(&all);
        let schema = Arc::new(self.schema.project(projection)?);
        let layout = self.layout.project(projection);
        let regions = RegionFilter::from_filters(filters, self.zero_based).regions();
        let units = self
            .source
            .plan(&regions, state.config().target_partitions())?;
        Ok(Arc::new(VcfExec::new(
            self.source.clone(),
            schema,
            layout,
            self.zero_based,
            units,
            regions,
            limit,
        )))
    }
}
