//! `VcfExec`: the physical scan of a VCF, one partition per scan unit, each
//! parsed on a blocking thread and streamed batch by batch.

use std::fmt;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchReceiverStream;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};

use super::batch::{GenotypeBatchBuilder, VariantBatchBuilder};
use super::header::VcfHeader;
use super::record::Fields;
use super::schema::{GenotypeColumn, VariantColumn};
use super::source::{Region, ScanUnit, VcfSource};

/// The (projected) columns of one of the two VCF tables.
#[derive(Debug, Clone)]
pub enum Layout {
    Variants(Vec<VariantColumn>),
    Genotypes(Vec<GenotypeColumn>),
}

impl Layout {
    pub fn project(&self, projection: &[usize]) -> Layout {
        match self {
            Layout::Variants(c) => Layout::Variants(projection.iter().map(|&i| c[i]).collect()),
            Layout::Genotypes(c) => Layout::Genotypes(projection.iter().map(|&i| c[i]).collect()),
        }
    }

    fn builder(
        &self,
        header: &VcfHeader,
        schema: SchemaRef,
        zero_based: bool,
    ) -> Box<dyn BatchSink> {
        match self {
            Layout::Variants(c) => Box::new(VariantBatchBuilder::new(
                header,
                schema,
                c.clone(),
                zero_based,
            )),
            Layout::Genotypes(c) => Box::new(GenotypeBatchBuilder::new(
                header,
                schema,
                c.clone(),
                zero_based,
            )),
        }
    }
}

/// What the scan loop needs of a batch builder.
trait BatchSink: Send {
    fn append(&mut self, f: &Fields, end: i64) -> Result<(), String>;
    fn len(&self) -> usize;
    fn use_info_end(&self) -> bool;
    fn finish(&mut self) -> Result<RecordBatch>;
}

macro_rules! impl_sink {
    ($t:ty) => {
        impl BatchSink for $t {
            fn append(&mut self, f: &Fields, end: i64) -> Result<(), String> {
                <$t>::append(self, f, end)
            }
            fn len(&self) -> usize {
                <$t>::len(self)
            }
            fn use_info_end(&self) -> bool {
                <$t>::use_info_end(self)
            }
            fn finish(&mut self) -> Result<RecordBatch> {
                <$t>::finish(self)
            }
        }
    };
}
impl_sink!(VariantBatchBuilder);
impl_sink!(GenotypeBatchBuilder);

#[derive(Debug)]
pub struct VcfExec {
    source: Arc<VcfSource>,
    schema: SchemaRef,
    layout: Layout,
    zero_based: bool,
    units: Vec<ScanUnit>,
    regions: Arc<[Region]>,
    limit: Option<usize>,
    properties: Arc<PlanProperties>,
}

impl VcfExec {
    pub fn new(
        source: Arc<VcfSource>,
        schema: SchemaRef,
        layout: Layout,
        zero_based: bool,
        units: Vec<ScanUnit>,
        regions: Vec<Region>,
        limit: Option<usize>,
    ) -> VcfExec {
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(units.len().max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        VcfExec {
            source,
            schema,
            layout,
            zero_based,
            units,
            regions: regions.into(),
            limit,
            properties,
        }
    }
}

impl DisplayAs for VcfExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let columns: Vec<&str> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        write!(
            f,
            "VcfExec: file={}, partitions={}, projection=[{}]",
            self.source.display,
            self.units.len(),
            columns.join(", ")
        )?;
        if !self.regions.is_empty() {
            let regions: Vec<String> = self
                .regions
                .iter()
                .map(|r| format!("{}:{}-{}", r.chrom, r.start, r.end))
                .collect();
            let how = if self.source.index.is_some() {
                "index"
            } else {
                "scan"
            };
            write!(f, ", regions=[{}] via {how}", regions.join(", "))?;
        }
        if let Some(limit) = self.limit {
            write!(f, ", limit={limit}")?;
        }
        Ok(())
    }
}

impl ExecutionPlan for VcfExec {
    fn name(&self) -> &str {
        "VcfExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let mut builder = RecordBatchReceiverStream::builder(self.schema.clone(), 2);
        let Some(unit) = self.units.get(partition).cloned() else {
            return Ok(builder.build());
        };
        let tx = builder.tx();
        let scan = Scan {
            source: self.source.clone(),
            sink: self
                .layout
                .builder(&self.source.header, self.schema.clone(), self.zero_based),
            regions: self.regions.clone(),
            batch_size: context.session_config().batch_size(),
            limit: self.limit,
        };
        builder.spawn_blocking(move || {
            // Stop quietly when the consumer has gone (query cancelled or done).
            let send = |batch: Result<RecordBatch>| tx.blocking_send(batch).is_ok();
            if let Err(e) = scan.run(&unit, &send) {
                send(Err(e));
            }
            Ok(())
        });
        Ok(builder.build())
    }
}

struct Scan {
    source: Arc<VcfSource>,
    sink: Box<dyn BatchSink>,
    regions: Arc<[Region]>,
    batch_size: usize,
    limit: Option<usize>,
}

impl Scan {
    fn run(mut self, unit: &ScanUnit, send: &dyn Fn(Result<RecordBatch>) -> bool) -> Result<()> {
        let file = &self.source.display;
        let mut lines = self.source.open_unit(unit)?;
        let use_info_end = self.sink.use_info_end();
        let mut buf = Vec::with_capacity(1024);
        let mut emitted = 0usize;
        let fail =
            |loc: String, msg: &str| DataFusionError::Execution(format!("{file}: {loc}: {msg}"));
        loop {
            let more = lines
                .next_line(&mut buf)
                .map_err(|e| fail(lines.location(), &e.to_string()))?;
            if !more {
                break;
            }
            if buf.is_empty() || buf[0] == b'#' {
                continue;
            }
            let line = std::str::from_utf8(&buf)
                .map_err(|e| fail(lines.location(), &format!("invalid UTF-8: {e}")))?;
            let fields = Fields::split(line).map_err(|e| fail(lines.location(), &e))?;
            let end = fields
                .end(use_info_end)
                .map_err(|e| fail(lines.location(), &e))?;
            if !self.regions.is_empty()
                && !self
                    .regions
                    .iter()
                    .any(|r| r.overlaps(fields.chrom, fields.pos, end.max(fields.pos)))
            {
                continue;
            }
            self.sink
                .append(&fields, end)
                .map_err(|e| fail(lines.location(), &e))?;
            let limit_reached = self.limit.is_some_and(|l| emitted + self.sink.len() >= l);
            if self.sink.len() >= self.batch_size || limit_reached {
                emitted += self.sink.len();
                if !send(self.sink.finish()) {
                    return Ok(());
                }
                if self.limit.is_some_and(|l| emitted >= l) {
                    return Ok(());
                }
            }
        }
        if self.sink.len() > 0 {
            send(self.sink.finish());
        }
        Ok(())
    }
}
