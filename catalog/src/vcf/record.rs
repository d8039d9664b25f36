//! Splitting one VCF data line into its fixed fields.

/// The fields of one data line, borrowed from it.
pub struct Fields<'a> {
    pub chrom: &'a str,
    pub pos: i64,
    pub id: &'a str,
    pub reference: &'a str,
    pub alt: &'a str,
    pub qual: &'a str,
    pub filter: &'a str,
    pub info: &'a str,
    pub format: Option<&'a str>,
    /// Tab-separated sample columns (empty without samples).
    pub samples: &'a str,
}

impl<'a> Fields<'a> {
    pub fn split(line: &'a str) -> Result<Fields<'a>, String> {
        let mut it = line.splitn(10, '\t');
        let mut next = || it.next();
        let (
            Some(chrom),
            Some(pos),
            Some(id),
            Some(reference),
            Some(alt),
            Some(qual),
            Some(filter),
        ) = (next(), next(), next(), next(), next(), next(), next())
        else {
            let n = line.split('\t').count();
            return Err(format!(
                "expected at least 8 tab-separated fields, found {n}"
            ));
        };
        // INFO may be missing entirely in sites-only files written by some tools.
        let info = next().unwrap_or(".");
        let format = next();
        let samples = next().unwrap_or("");
        let pos = pos
            .parse::<i64>()
            .map_err(|_| format!("invalid POS '{pos}'"))?;
        if chrom.is_empty() {
            return Err("empty CHROM".into());
        }
        if reference.is_empty() {
            return Err("empty REF".into());
        }
        Ok(Fields {
            chrom,
            pos,
            id,
            reference,
            alt,
            qual,
            filter,
            info,
            format,
            samples,
        })
    }

    /// 1-based inclusive end: INFO END when declared and present, else POS + len(REF) - 1.
    pub fn end(&self, use_info_end: bool) -> Result<i64, String> {
        if use_info_end && let Some(v) = info_value(self.info, "END") {
            return v.parse().map_err(|_| format!("invalid INFO END '{v}'"));
        }
        Ok(self.pos + self.reference.len() as i64 - 1)
    }
}

/// The raw value of `key` in an INFO string, if present with a value.
fn info_value<'a>(info: &'a str, key: &str) -> Option<&'a str> {
    info.split(';')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

/// `.` means missing in every fixed VCF field.
pub fn missing(s: &str) -> Option<&str> {
    (s != "." && !s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_computes_end() {
        let f = Fields::split("1\t100\trs1\tACG\tA\t50\tPASS\tDP=3;END=500").unwrap();
        assert_eq!((f.chrom, f.pos, f.reference), ("1", 100, "ACG"));
        assert_eq!(f.end(false).unwrap(), 102);
        assert_eq!(f.end(true).unwrap(), 500);
        assert!(f.format.is_none());
        let e = Fields::split("1\tx\t.\tA\tC\t.\t.\t.").err().unwrap();
        assert!(e.contains("POS 'x'"));
        assert!(Fields::split("1\t2\t3").is_err());
    }
}
