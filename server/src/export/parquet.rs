//! Parquet output: batches written as they arrive (ArrowWriter, ZSTD), the
//! result's schema metadata (the coordinate system) kept in the file.

use std::fs::File;
use std::path::Path;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::common::{DataFusionError, Result};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;

use super::index::io_error;
use super::{Failure, Sink, Written};

pub struct ParquetSink {
    writer: ArrowWriter<File>,
    rows: u64,
}

impl ParquetSink {
    pub fn create(schema: &SchemaRef, path: &Path) -> Result<ParquetSink> {
        let file = File::create(path).map_err(|e| io_error(path, e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
            .map_err(|e| DataFusionError::Execution(format!("{}: {e}", path.display())))?;
        Ok(ParquetSink { writer, rows: 0 })
    }
}

impl Sink for ParquetSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), Failure> {
        self.writer
            .write(batch)
            .map_err(|e| DataFusionError::Execution(format!("cannot write Parquet: {e}")))?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Written> {
        self.writer
            .close()
            .map_err(|e| DataFusionError::Execution(format!("cannot write Parquet: {e}")))?;
        Ok(Written {
            rows: self.rows,
            index: None,
        })
    }
}
