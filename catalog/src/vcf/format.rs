//! VCF as two text formats: the variants table and the flat genotypes table.

use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::common::Result;

use super::batch::{GenotypeBatchBuilder, VariantBatchBuilder};
use super::header::VcfHeader;
use super::record::Fields;
use super::schema::{GenotypeColumn, VariantColumn, genotypes_schema, variants_schema};
use crate::text::{Line, RecordSink, Region, TextFormat, TextSource, TextTable, in_regions};

#[derive(Debug)]
struct Variants {
    header: Arc<VcfHeader>,
    schema: SchemaRef,
    columns: Vec<VariantColumn>,
    zero_based: bool,
}

#[derive(Debug)]
struct Genotypes {
    header: Arc<VcfHeader>,
    schema: SchemaRef,
    columns: Vec<GenotypeColumn>,
    zero_based: bool,
}

impl TextFormat for Variants {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn sink(&self, projection: &[usize], projected: SchemaRef) -> Box<dyn RecordSink> {
        let columns = projection.iter().map(|&i| self.columns[i]).collect();
        Box::new(VariantBatchBuilder::new(
            &self.header,
            projected,
            columns,
            self.zero_based,
        ))
    }
}

impl TextFormat for Genotypes {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn sink(&self, projection: &[usize], projected: SchemaRef) -> Box<dyn RecordSink> {
        let columns = projection.iter().map(|&i| self.columns[i]).collect();
        Box::new(GenotypeBatchBuilder::new(
            &self.header,
            projected,
            columns,
            self.zero_based,
        ))
    }
}

/// Both builders take a split record and its 1-based end.
macro_rules! vcf_sink {
    ($t:ty) => {
        impl RecordSink for $t {
            fn push(&mut self, line: &str, regions: &[Region]) -> Result<Line, String> {
                if line.starts_with('#') {
                    return Ok(Line::Skipped);
                }
                let fields = Fields::split(line)?;
                let end = fields.end(self.use_info_end())?;
                if !in_regions(regions, fields.chrom, fields.pos, end) {
                    return Ok(Line::Skipped);
                }
                self.append(&fields, end)?;
                Ok(Line::Kept)
            }

            fn len(&self) -> usize {
                <$t>::len(self)
            }

            fn finish(&mut self) -> Result<RecordBatch> {
                <$t>::finish(self)
            }
        }
    };
}
vcf_sink!(VariantBatchBuilder);
vcf_sink!(GenotypeBatchBuilder);

/// Opens a VCF: its variants table, and its genotypes table when it has samples.
pub fn open_vcf(path: &Path, zero_based: bool) -> Result<(TextTable, Option<TextTable>)> {
    let mut header = None;
    let source = Arc::new(TextSource::open(path, &mut |reader, display| {
        let h = VcfHeader::read(reader, display)?;
        let lines = h.line_count;
        header = Some(h);
        Ok(lines)
    })?);
    let header = Arc::new(header.expect("read by TextSource::open"));
    let (schema, columns) = variants_schema(&header, zero_based);
    let variants = Variants {
        header: header.clone(),
        schema,
        columns,
        zero_based,
    };
    let variants = TextTable::new("VcfExec", source.clone(), Arc::new(variants), zero_based);
    let genotypes = (!header.samples.is_empty()).then(|| {
        let (schema, columns) = genotypes_schema(&header, zero_based);
        let format = Genotypes {
            header,
            schema,
            columns,
            zero_based,
        };
        TextTable::new("VcfExec", source, Arc::new(format), zero_based)
    });
    Ok((variants, genotypes))
}
