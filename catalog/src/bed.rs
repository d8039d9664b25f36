//! BED (3 to 12 columns; .bed, BGZF .bed.gz with .tbi) as a table. Positions
//! are converted from BED's 0-based half-open to 1-based closed unless the
//! table is `zero_based`.

use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::{DataFusionError, Result};

use crate::columns::{TextColumn, skip_header_lines};
use crate::coords;
use crate::text::{Line, RecordSink, Region, TextFormat, TextSource, TextTable, in_regions};

const COLUMNS: [(&str, DataType); 12] = [
    ("chrom", DataType::Utf8),
    ("start", DataType::Int64),
    ("end", DataType::Int64),
    ("name", DataType::Utf8),
    ("score", DataType::Float64),
    ("strand", DataType::Utf8),
    ("thick_start", DataType::Int64),
    ("thick_end", DataType::Int64),
    ("item_rgb", DataType::Utf8),
    ("block_count", DataType::Int32),
    ("block_sizes", DataType::Utf8),
    ("block_starts", DataType::Utf8),
];

fn is_comment(line: &[u8]) -> bool {
    line.starts_with(b"#")
        || line.starts_with(b"track")
        || line.starts_with(b"browser")
        || line.starts_with(b"\n")
        || line.starts_with(b"\r\n")
}

#[derive(Debug)]
struct Bed {
    schema: SchemaRef,
    names: Arc<[String]>,
    zero_based: bool,
}

impl TextFormat for Bed {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn sink(&self, projection: &[usize], projected: SchemaRef) -> Box<dyn RecordSink> {
        let shift = i64::from(!self.zero_based);
        let columns = projection
            .iter()
            .map(|&i| {
                let ty = self.schema.field(i).data_type();
                // start and thick_start move to 1-based; ends are the same number.
                let s = if matches!(i, 1 | 6) { shift } else { 0 };
                TextColumn::new(i, ty, s, i == 5)
            })
            .collect();
        Box::new(BedSink {
            schema: projected,
            columns,
            names: self.names.clone(),
            rows: 0,
        })
    }
}

struct BedSink {
    schema: SchemaRef,
    columns: Vec<TextColumn>,
    names: Arc<[String]>,
    rows: usize,
}

impl RecordSink for BedSink {
    fn push(&mut self, line: &str, regions: &[Region]) -> Result<Line, String> {
        if is_comment(line.as_bytes()) {
            return Ok(Line::Skipped);
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() < 3 {
            return Err(format!(
                "expected at least 3 tab-separated BED columns, found {}",
                fields.len()
            ));
        }
        let start: i64 = fields[1]
            .parse()
            .map_err(|_| format!("invalid start '{}'", fields[1]))?;
        let end: i64 = fields[2]
            .parse()
            .map_err(|_| format!("invalid end '{}'", fields[2]))?;
        if !in_regions(regions, fields[0], start + 1, end) {
            return Ok(Line::Skipped);
        }
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        for c in &mut self.columns {
            c.append(&fields, &names)?;
        }
        self.rows += 1;
        Ok(Line::Kept)
    }

    fn len(&self) -> usize {
        self.rows
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        let arrays = self.columns.iter_mut().map(TextColumn::finish).collect();
        crate::columns::record_batch(&self.schema, arrays, std::mem::take(&mut self.rows))
    }
}

/// Opens a BED file; its column count comes from the first record.
pub fn open_bed(path: &Path, zero_based: bool) -> Result<TextTable> {
    let mut ncols = 3;
    let source = TextSource::open(path, &mut |reader, display| {
        let lines = skip_header_lines(reader, is_comment)
            .map_err(|e| DataFusionError::Execution(format!("{display}: cannot read: {e}")))?;
        let first = reader
            .fill_buf()
            .map_err(|e| DataFusionError::Execution(format!("{display}: {e}")))?;
        let first = first.split(|b| *b == b'\n').next().unwrap_or_default();
        ncols = first.split(|b| *b == b'\t').count().max(3);
        Ok(lines)
    })?;
    let fields: Vec<Field> = (0..ncols)
        .map(|i| match COLUMNS.get(i) {
            Some((name, ty)) => Field::new(*name, ty.clone(), i >= 3),
            None => Field::new(format!("col{}", i + 1), DataType::Utf8, true),
        })
        .collect();
    let names: Arc<[String]> = fields.iter().map(|f| f.name().clone()).collect();
    let schema = Arc::new(Schema::new(fields).with_metadata(coords::schema_metadata(zero_based)));
    let format = Bed {
        schema,
        names,
        zero_based,
    };
    Ok(TextTable::new(
        "BedExec",
        Arc::new(source),
        Arc::new(format),
        zero_based,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::AsArray;
    use arrow::datatypes::Int64Type;

    /// (start, strand) of a two-record BED6 read through the sink.
    fn read(zero_based: bool) -> Vec<(i64, Option<String>)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.bed");
        let text = "track name=x\n#c\nchr1\t0\t10\tA\t.\t.\nchr1\t5\t6\tB\t3\t+\n";
        std::fs::write(&path, text).unwrap();
        let schema =
            datafusion::datasource::TableProvider::schema(&open_bed(&path, zero_based).unwrap());
        assert_eq!(schema.fields().len(), 6);
        let names = schema.fields().iter().map(|f| f.name().clone()).collect();
        let bed = Bed {
            schema: schema.clone(),
            names,
            zero_based,
        };
        let mut sink = bed.sink(&[1, 5], Arc::new(schema.project(&[1, 5]).unwrap()));
        for line in text.lines() {
            sink.push(line, &[]).unwrap();
        }
        let b = sink.finish().unwrap();
        let starts = b.column(0).as_primitive::<Int64Type>();
        let strands = b.column(1).as_string::<i32>();
        starts
            .iter()
            .zip(strands.iter())
            .map(|(s, t)| (s.unwrap(), t.map(str::to_string)))
            .collect()
    }

    #[test]
    fn starts_are_one_based_unless_zero_based_and_dot_strand_is_null() {
        assert_eq!(read(false), vec![(1, None), (6, Some("+".into()))]);
        assert_eq!(read(true)[1].0, 5);
    }
}
