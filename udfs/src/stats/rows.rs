//! The counters as one long ("tidy") table: a row per number, in the order
//! and under the names `bcftools stats` prints them.

use std::sync::Arc;

use arrow::array::{Float64Builder, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::Result;
use genoflight_catalog::coords;

use super::accumulate::{MAX_INDEL, Stats};
use super::qual;

pub fn schema() -> SchemaRef {
    let described = |f: Field, text: &str| f.with_metadata(coords::description(text));
    Arc::new(Schema::new(vec![
        described(
            Field::new("section", DataType::Utf8, false),
            "bcftools stats section: SN, TSTV, QUAL, IDD or PSC",
        ),
        described(
            Field::new("sample", DataType::Utf8, true),
            "sample name (PSC rows), else null",
        ),
        described(
            Field::new("bin", DataType::Float64, true),
            "QUAL rows: lowest QUAL of the bin (null: QUAL missing or negative); \
             IDD rows: indel length (deletions negative); else null",
        ),
        described(
            Field::new("key", DataType::Utf8, false),
            "what the value counts, named as bcftools stats names it",
        ),
        described(
            Field::new("value", DataType::Float64, true),
            "the count (or ratio, average); null for a ratio or average of nothing",
        ),
    ]))
}

struct Rows {
    section: StringBuilder,
    sample: StringBuilder,
    bin: Float64Builder,
    key: StringBuilder,
    value: Float64Builder,
}

impl Rows {
    fn push(&mut self, section: &str, sample: Option<&str>, bin: Option<f64>, key: &str, v: f64) {
        self.push_opt(section, sample, bin, key, Some(v));
    }

    fn push_opt(
        &mut self,
        section: &str,
        sample: Option<&str>,
        bin: Option<f64>,
        key: &str,
        value: Option<f64>,
    ) {
        self.section.append_value(section);
        self.sample.append_option(sample);
        self.bin.append_option(bin);
        self.key.append_value(key);
        self.value.append_option(value);
    }
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// The table of `stats` for a file with these samples.
pub fn batch(stats: &Stats, samples: &[String]) -> Result<RecordBatch> {
    let mut r = Rows {
        section: StringBuilder::new(),
        sample: StringBuilder::new(),
        bin: Float64Builder::new(),
        key: StringBuilder::new(),
        value: Float64Builder::new(),
    };
    let s = stats;
    for (key, v) in [
        ("number of samples", samples.len() as u64),
        ("number of records", s.records),
        ("number of no-ALTs", s.no_alts),
        ("number of SNPs", s.snps),
        ("number of MNPs", s.mnps),
        ("number of indels", s.indels),
        ("number of others", s.others),
        ("number of multiallelic sites", s.multiallelic),
        ("number of multiallelic SNP sites", s.multiallelic_snps),
    ] {
        r.push("SN", None, None, key, v as f64);
    }

    r.push("TSTV", None, None, "ts", s.ts as f64);
    r.push("TSTV", None, None, "tv", s.tv as f64);
    r.push_opt("TSTV", None, None, "ts/tv", ratio(s.ts, s.tv));
    r.push("TSTV", None, None, "ts (1st ALT)", s.ts_alt1 as f64);
    r.push("TSTV", None, None, "tv (1st ALT)", s.tv_alt1 as f64);
    r.push_opt(
        "TSTV",
        None,
        None,
        "ts/tv (1st ALT)",
        ratio(s.ts_alt1, s.tv_alt1),
    );

    for (bin, &[ts, tv, indels]) in s.qual.iter().enumerate() {
        if ts + tv + indels == 0 {
            continue;
        }
        let q = qual::label(bin as u32);
        r.push("QUAL", None, q, "number of SNPs", (ts + tv) as f64);
        r.push(
            "QUAL",
            None,
            q,
            "number of transitions (1st ALT)",
            ts as f64,
        );
        r.push(
            "QUAL",
            None,
            q,
            "number of transversions (1st ALT)",
            tv as f64,
        );
        r.push("QUAL", None, q, "number of indels", indels as f64);
    }

    let lengths = (1..=MAX_INDEL as i64)
        .rev()
        .map(|l| (-l, s.deletions[l as usize - 1]))
        .chain((1..=MAX_INDEL as i64).map(|l| (l, s.insertions[l as usize - 1])));
    for (len, sites) in lengths {
        if sites == 0 {
            continue;
        }
        let bin = Some(len as f64);
        let k = (MAX_INDEL as i64 + len) as usize;
        let (n, sum) = (s.vaf_n[k], s.vaf_sum[k]);
        r.push("IDD", None, bin, "number of sites", sites as f64);
        r.push("IDD", None, bin, "number of genotypes", n as f64);
        r.push_opt(
            "IDD",
            None,
            bin,
            "mean VAF",
            (n > 0).then(|| sum / n as f64),
        );
    }

    for (name, c) in samples.iter().zip(&s.samples) {
        let n = Some(name.as_str());
        for (key, v) in [
            ("nRefHom", c.hom_ref),
            ("nNonRefHom", c.hom_alt),
            ("nHets", c.hets),
            ("nTransitions", c.transitions),
            ("nTransversions", c.transversions),
            ("nIndels", c.indels),
        ] {
            r.push("PSC", n, None, key, v as f64);
        }
        r.push_opt(
            "PSC",
            n,
            None,
            "average depth",
            ratio(c.depth_sum, c.depth_n),
        );
        for (key, v) in [
            ("nSingletons", c.singletons),
            ("nHapRef", c.hap_ref),
            ("nHapAlt", c.hap_alt),
            ("nMissing", c.missing),
        ] {
            r.push("PSC", n, None, key, v as f64);
        }
    }

    Ok(RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(r.section.finish()),
            Arc::new(r.sample.finish()),
            Arc::new(r.bin.finish()),
            Arc::new(r.key.finish()),
            Arc::new(r.value.finish()),
        ],
    )?)
}
