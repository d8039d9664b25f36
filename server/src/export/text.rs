//! BGZF text output with a tabix index built as records are written (VCF, BED).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use datafusion::common::Result;
use noodles::bgzf;
use noodles::csi::binning_index::index::Header;

use super::index::{SortCheck, TabixIndexer, io_error};
use super::{Failure, Written};

pub struct IndexedText {
    path: PathBuf,
    writer: bgzf::io::Writer<BufWriter<File>>,
    indexer: TabixIndexer,
    check: SortCheck,
    pub rows: u64,
}

impl IndexedText {
    /// `tabix`: the index header of the format; `max_len`: longest contig known.
    pub fn create(path: &Path, tabix: Header, max_len: i64) -> Result<IndexedText> {
        let file = File::create(path).map_err(|e| io_error(path, e))?;
        Ok(IndexedText {
            path: path.to_path_buf(),
            writer: bgzf::io::Writer::new(BufWriter::with_capacity(1 << 20, file)),
            indexer: TabixIndexer::new(tabix, max_len),
            check: SortCheck::default(),
            rows: 0,
        })
    }

    /// Header lines (not indexed).
    pub fn write_header(&mut self, text: &str) -> Result<()> {
        self.writer
            .write_all(text.as_bytes())
            .map_err(|e| io_error(&self.path, e))
    }

    /// One record line (with its newline), on `chrom` at 1-based closed [start, end].
    pub fn write_record(
        &mut self,
        line: &str,
        chrom: &str,
        start: i64,
        end: i64,
    ) -> Result<(), Failure> {
        self.check
            .check(Some(chrom), None, start)
            .map_err(Failure::Unsorted)?;
        let from = self.writer.virtual_position();
        self.writer
            .write_all(line.as_bytes())
            .map_err(|e| io_error(&self.path, e))?;
        let to = self.writer.virtual_position();
        self.indexer.add(chrom, start, end, from, to)?;
        self.rows += 1;
        Ok(())
    }

    pub fn finish(self) -> Result<Written> {
        let IndexedText {
            path,
            writer,
            indexer,
            rows,
            ..
        } = self;
        writer
            .finish()
            .and_then(|mut file| file.flush())
            .map_err(|e| io_error(&path, e))?;
        let index = indexer.write(&path)?;
        Ok(Written {
            rows,
            index: Some(index),
        })
    }
}
