//! `TextExec`: the physical scan of a line-oriented file, one partition per
//! scan unit, each parsed on a blocking thread and streamed batch by batch.

use std::fmt;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::EmptyRecordBatchStream;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};

use super::source::{Region, ScanUnit, TextSource};
use super::{Line, RecordSink, TextFormat};
use crate::scan::{blocking_stream, bounded_properties, fmt_scan};

#[derive(Debug)]
pub struct TextExec {
    name: &'static str,
    source: Arc<TextSource>,
    format: Arc<dyn TextFormat>,
    projection: Vec<usize>,
    schema: SchemaRef,
    units: Vec<ScanUnit>,
    regions: Arc<[Region]>,
    limit: Option<usize>,
    properties: Arc<PlanProperties>,
}

impl TextExec {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: &'static str,
        source: Arc<TextSource>,
        format: Arc<dyn TextFormat>,
        projection: Vec<usize>,
        schema: SchemaRef,
        units: Vec<ScanUnit>,
        regions: Vec<Region>,
        limit: Option<usize>,
    ) -> TextExec {
        let properties = bounded_properties(&schema, units.len());
        TextExec {
            name,
            source,
            format,
            projection,
            schema,
            units,
            regions: regions.into(),
            limit,
            properties,
        }
    }
}

impl DisplayAs for TextExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let (file, partitions) = (&self.source.display, Some(self.units.len()));
        let indexed = self.source.index.is_some();
        fmt_scan(
            f,
            self.name,
            file,
            partitions,
            &self.schema,
            &self.regions,
            indexed,
            self.limit,
        )
    }
}

impl ExecutionPlan for TextExec {
    fn name(&self) -> &str {
        self.name
    }

    crate::leaf_plan_methods!();

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let Some(unit) = self.units.get(partition).cloned() else {
            return Ok(Box::pin(EmptyRecordBatchStream::new(self.schema.clone())));
        };
        let scan = Scan {
            source: self.source.clone(),
            sink: self.format.sink(&self.projection, self.schema.clone()),
            regions: self.regions.clone(),
            batch_size: context.session_config().batch_size(),
            limit: self.limit,
        };
        Ok(blocking_stream(self.schema.clone(), move |send| {
            scan.run(&unit, send)
        }))
    }
}

struct Scan {
    source: Arc<TextSource>,
    sink: Box<dyn RecordSink>,
    regions: Arc<[Region]>,
    batch_size: usize,
    limit: Option<usize>,
}

impl Scan {
    fn run(mut self, unit: &ScanUnit, send: &dyn Fn(Result<RecordBatch>) -> bool) -> Result<()> {
        let file = &self.source.display;
        let mut lines = self.source.open_unit(unit)?;
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
            if buf.is_empty() {
                continue;
            }
            let line = std::str::from_utf8(&buf)
                .map_err(|e| fail(lines.location(), &format!("invalid UTF-8: {e}")))?;
            match self
                .sink
                .push(line, &self.regions)
                .map_err(|e| fail(lines.location(), &e))?
            {
                Line::Kept | Line::Skipped => {}
                Line::End => break,
            }
            let limit_reached = self.limit.is_some_and(|l| emitted + self.sink.len() >= l);
            if self.sink.len() >= self.batch_size || self.sink.is_full() || limit_reached {
                emitted += self.sink.len();
                if !send(self.sink.finish()) || limit_reached {
                    return Ok(());
                }
            }
        }
        self.sink
            .flush()
            .map_err(|e| fail("end of file".into(), &e))?;
        if !self.sink.is_empty() {
            send(self.sink.finish());
        }
        Ok(())
    }
}
