//! Writing a BGZF-compressed, tabix-indexed VCF from a text one.

use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

use noodles::{bgzf, tabix, vcf};

/// Compresses `src` to `dest` (BGZF) and writes the tabix index `dest.tbi`.
/// `src` must be sorted by contig and position, as tabix requires.
pub fn bgzip_and_index(src: &Path, dest: &Path) -> io::Result<()> {
    let mut reader = BufReader::new(std::fs::File::open(src)?);
    let mut writer = bgzf::io::Writer::new(std::fs::File::create(dest)?);
    let mut line = Vec::new();
    while reader.read_until(b'\n', &mut line)? > 0 {
        writer.write_all(&line)?;
        line.clear();
    }
    writer.finish()?;
    let tbi = format!("{}.tbi", dest.display());
    match vcf::fs::index(dest)? {
        vcf::Index::Tabix(index) => tabix::fs::write(tbi, &index),
        vcf::Index::Csi(index) => {
            noodles::csi::fs::write(format!("{}.csi", dest.display()), &index)
        }
    }
}
