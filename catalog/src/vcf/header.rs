//! A lenient VCF header model: what the table schema needs (INFO/FORMAT
//! definitions, contigs, sample names) and nothing more.
//!
//! Lenient on purpose: real files (and htslib's test files) carry meta lines
//! that strict parsers reject; bcftools accepts them, so must we.

use std::io::BufRead;

use datafusion::common::{DataFusionError, Result};

/// `Number=` of an INFO or FORMAT definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Number {
    Count(usize),
    /// A: one value per alternate allele.
    Alt,
    /// R: one value per allele, reference included.
    Ref,
    /// G: one value per genotype.
    Genotype,
    /// `.`: unknown.
    Unknown,
}

impl Number {
    fn parse(s: &str) -> Number {
        match s {
            "A" => Number::Alt,
            "R" => Number::Ref,
            "G" => Number::Genotype,
            _ => s.parse().map(Number::Count).unwrap_or(Number::Unknown),
        }
    }

    /// Whether a single scalar column represents the field (Number=0 or 1).
    pub fn is_scalar(self) -> bool {
        matches!(self, Number::Count(0) | Number::Count(1))
    }
}

/// `Type=` of an INFO or FORMAT definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Integer,
    Float,
    Flag,
    Character,
    String,
}

impl ValueType {
    fn parse(s: &str) -> ValueType {
        match s {
            "Integer" => ValueType::Integer,
            "Float" => ValueType::Float,
            "Flag" => ValueType::Flag,
            "Character" => ValueType::Character,
            _ => ValueType::String,
        }
    }
}

/// One `##INFO` or `##FORMAT` line.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDef {
    pub id: String,
    pub number: Number,
    pub ty: ValueType,
    pub description: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct VcfHeader {
    pub file_format: String,
    pub infos: Vec<FieldDef>,
    pub formats: Vec<FieldDef>,
    pub contigs: Vec<String>,
    pub samples: Vec<String>,
    /// The header text exactly as in the file, for writers that re-emit it.
    pub text: String,
    /// Lines in the header (meta lines plus the `#CHROM` line).
    pub line_count: u64,
}

impl VcfHeader {
    /// Reads the header from the start of `reader`, leaving it at the first record.
    pub fn read<R: BufRead + ?Sized>(reader: &mut R, file: &str) -> Result<VcfHeader> {
        let mut header = VcfHeader::default();
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).map_err(|e| {
                DataFusionError::Execution(format!(
                    "{file}: cannot read the VCF header (line {}): {e}",
                    header.line_count + 1
                ))
            })?;
            if n == 0 {
                return Err(DataFusionError::Execution(format!(
                    "{file}: not a VCF file: the header has no #CHROM line"
                )));
            }
            header.line_count += 1;
            let text = String::from_utf8_lossy(&line);
            header.text.push_str(&text);
            let text = text.trim_end_matches(['\n', '\r']);
            if header.line_count == 1 && !text.starts_with("##fileformat=VCF") {
                return Err(DataFusionError::Execution(format!(
                    "{file}: not a VCF file: line 1 must be ##fileformat=VCFv4.x"
                )));
            }
            if let Some(meta) = text.strip_prefix("##") {
                header.parse_meta(meta);
            } else if let Some(columns) = text.strip_prefix('#') {
                header.samples = columns.split('\t').skip(9).map(str::to_string).collect();
                return Ok(header);
            } else {
                return Err(DataFusionError::Execution(format!(
                    "{file}: line {}: expected a header line starting with '#'",
                    header.line_count
                )));
            }
        }
    }

    fn parse_meta(&mut self, meta: &str) {
        let Some((key, value)) = meta.split_once('=') else {
            return;
        };
        match key {
            "fileformat" => self.file_format = value.to_string(),
            "INFO" | "FORMAT" => {
                let map = parse_structured(value);
                let get = |k: &str| map.iter().find(|(mk, _)| mk == k).map(|(_, v)| v.as_str());
                let Some(id) = get("ID") else { return };
                let def = FieldDef {
                    id: id.to_string(),
                    number: Number::parse(get("Number").unwrap_or(".")),
                    ty: ValueType::parse(get("Type").unwrap_or("String")),
                    description: get("Description").unwrap_or_default().to_string(),
                };
                let defs = if key == "INFO" {
                    &mut self.infos
                } else {
                    &mut self.formats
                };
                // A repeated ID keeps its first definition, as htslib does.
                if !defs.iter().any(|d| d.id == def.id) {
                    defs.push(def);
                }
            }
            "contig" => {
                let map = parse_structured(value);
                if let Some((_, id)) = map.into_iter().find(|(k, _)| k == "ID") {
                    self.contigs.push(id);
                }
            }
            _ => {}
        }
    }

    pub fn info(&self, id: &str) -> Option<&FieldDef> {
        self.infos.iter().find(|d| d.id == id)
    }
}

/// Parses `<K=V,K="quoted, with commas",...>` into ordered pairs.
fn parse_structured(value: &str) -> Vec<(String, String)> {
    let inner = value
        .strip_prefix('<')
        .and_then(|v| v.strip_suffix('>'))
        .unwrap_or(value);
    let mut out = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            val.push(n);
                        }
                    }
                    '"' => break,
                    _ => val.push(c),
                }
            }
            // Skip to the separator after the closing quote.
            for c in chars.by_ref() {
                if c == ',' {
                    break;
                }
            }
        } else {
            for c in chars.by_ref() {
                if c == ',' {
                    break;
                }
                val.push(c);
            }
        }
        out.push((key.trim().to_string(), val));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_definitions_samples_and_contigs() {
        let text = "##fileformat=VCFv4.3\n\
            ##contig=<ID=chr1,length=100>\n\
            ##INFO=<ID=AF,Number=A,Type=Float,Description=\"Allele frequency, per ALT\">\n\
            ##INFO=<ID=DB,Number=0,Type=Flag,Description=\"dbSNP\">\n\
            ##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n\
            #CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\ts2\n\
            chr1\t1\t.\tA\tC\t.\t.\t.\tGT\t0/1\t1/1\n";
        let mut reader = text.as_bytes();
        let h = VcfHeader::read(&mut reader, "x.vcf").unwrap();
        assert_eq!(h.contigs, vec!["chr1"]);
        assert_eq!(h.samples, vec!["s1", "s2"]);
        assert_eq!(h.infos[0].number, Number::Alt);
        assert_eq!(h.infos[0].description, "Allele frequency, per ALT");
        assert_eq!(h.infos[1].ty, ValueType::Flag);
        assert_eq!(h.formats[0].id, "GT");
        assert_eq!(h.line_count, 6);
        assert!(reader.starts_with(b"chr1\t1"));
    }

    #[test]
    fn rejects_files_without_fileformat() {
        let mut reader = "chr1\t1\n".as_bytes();
        let err = VcfHeader::read(&mut reader, "bad.vcf")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bad.vcf") && err.contains("fileformat"),
            "{err}"
        );
    }
}
