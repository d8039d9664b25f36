//! The counters of `bcftools stats` (SN, TSTV, QUAL, IDD, PSC) and how one
//! VCF record adds to them, following bcftools 1.16's vcfstats.c. Counters of
//! separate stretches of a file add up (`merge`), so a file is counted in
//! parallel pieces.

use super::classify::{self, Allele, INDEL, MNP, OTHER, SNP, Substitution};
use super::genotype::{self, Gt};
use super::qual;

/// bcftools' longest indel length bin: longer ones are counted as this long.
pub const MAX_INDEL: usize = 60;

/// Per-sample counts (PSC).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SampleCounts {
    pub hom_ref: u64,
    pub hom_alt: u64,
    pub hets: u64,
    pub transitions: u64,
    pub transversions: u64,
    pub indels: u64,
    pub depth_sum: u64,
    pub depth_n: u64,
    pub singletons: u64,
    pub hap_ref: u64,
    pub hap_alt: u64,
    pub missing: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub records: u64,
    pub no_alts: u64,
    pub snps: u64,
    pub mnps: u64,
    pub indels: u64,
    pub others: u64,
    pub multiallelic: u64,
    pub multiallelic_snps: u64,
    pub ts: u64,
    pub tv: u64,
    pub ts_alt1: u64,
    pub tv_alt1: u64,
    /// Per QUAL bin: transitions (1st ALT), transversions (1st ALT), indel records.
    pub qual: Vec<[u64; 3]>,
    /// Counts of deletions and insertions by length - 1 (the last bin: longer).
    pub deletions: Vec<u64>,
    pub insertions: Vec<u64>,
    /// Heterozygous indel genotypes with AD, and the sum of their allele
    /// fractions, by length + MAX_INDEL (IDD's genotypes and mean VAF).
    pub vaf_n: Vec<u64>,
    pub vaf_sum: Vec<f64>,
    pub samples: Vec<SampleCounts>,
}

/// Reusable per-record buffers (one per scanning thread).
#[derive(Debug, Default)]
pub struct Scratch {
    alts: Vec<(usize, usize)>,
    types: Vec<Allele>,
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `:`-separated subfields of a sample column at these indices (when
/// asked for and present), found in one pass.
fn subfields<const N: usize>(sample: &[u8], at: [Option<usize>; N]) -> [Option<&[u8]>; N] {
    let mut out = [None; N];
    let Some(last) = at.iter().flatten().max().copied() else {
        return out;
    };
    for (i, value) in sample.split(|&c| c == b':').enumerate() {
        for (slot, want) in out.iter_mut().zip(&at) {
            if *want == Some(i) {
                *slot = Some(value);
            }
        }
        if i == last {
            break;
        }
    }
    out
}

/// The `i`-th value of an AD list: `None` when absent or `.`.
fn ad_value(ad: &[u8], i: usize) -> Result<Option<u64>, String> {
    match ad.split(|&b| b == b',').nth(i) {
        Some(v) => integer(v, "FORMAT/AD"),
        None => Ok(None),
    }
}

/// A FORMAT integer (`.` or absent: `None`); its first value when a list.
fn integer(value: &[u8], what: &str) -> Result<Option<u64>, String> {
    let first = value.split(|&b| b == b',').next().unwrap_or(value);
    if first.is_empty() || first == b"." {
        return Ok(None);
    }
    let s = std::str::from_utf8(first).map_err(|_| format!("{what} is not valid UTF-8"))?;
    match s.parse::<i64>() {
        // Negative depths are nonsense; bcftools adds them, clamping is kinder.
        Ok(v) => Ok(Some(v.max(0) as u64)),
        Err(_) => Err(format!(
            "{what} '{s}' is not an integer (bcftools stats reads DP and AD as integers)"
        )),
    }
}

impl Stats {
    pub fn new(samples: usize) -> Stats {
        Stats {
            samples: vec![SampleCounts::default(); samples],
            deletions: vec![0; MAX_INDEL],
            insertions: vec![0; MAX_INDEL],
            vaf_n: vec![0; 2 * MAX_INDEL + 1],
            vaf_sum: vec![0.0; 2 * MAX_INDEL + 1],
            ..Stats::default()
        }
    }

    pub fn merge(&mut self, other: &Stats) {
        macro_rules! add {
            ($($f:ident),*) => { $( self.$f += other.$f; )* };
        }
        add!(
            records,
            no_alts,
            snps,
            mnps,
            indels,
            others,
            multiallelic,
            multiallelic_snps,
            ts,
            tv,
            ts_alt1,
            tv_alt1
        );
        if self.qual.len() < other.qual.len() {
            self.qual.resize(other.qual.len(), [0; 3]);
        }
        for (mine, theirs) in self.qual.iter_mut().zip(&other.qual) {
            for k in 0..3 {
                mine[k] += theirs[k];
            }
        }
        for i in 0..MAX_INDEL {
            self.deletions[i] += other.deletions[i];
            self.insertions[i] += other.insertions[i];
        }
        for (i, (n, sum)) in other.vaf_n.iter().zip(&other.vaf_sum).enumerate() {
            self.vaf_n[i] += n;
            self.vaf_sum[i] += sum;
        }
        for (mine, theirs) in self.samples.iter_mut().zip(&other.samples) {
            macro_rules! add_sample {
                ($($f:ident),*) => { $( mine.$f += theirs.$f; )* };
            }
            add_sample!(
                hom_ref,
                hom_alt,
                hets,
                transitions,
                transversions,
                indels,
                depth_sum,
                depth_n,
                singletons,
                hap_ref,
                hap_alt,
                missing
            );
        }
    }

    fn qual_bin(&mut self, value: u32) -> &mut [u64; 3] {
        let bin = qual::bin(value) as usize;
        if bin >= self.qual.len() {
            self.qual.resize(bin + 1, [0; 3]);
        }
        &mut self.qual[bin]
    }

    /// Adds one data line (no line ending). Errors say what is wrong with it.
    pub fn add_line(&mut self, line: &[u8], scratch: &mut Scratch) -> Result<(), String> {
        let mut fields = line.splitn(10, |&b| b == b'\t');
        let mut next = || fields.next();
        let (Some(_chrom), Some(_pos), Some(_id), Some(reference), Some(alt), Some(qual)) =
            (next(), next(), next(), next(), next(), next())
        else {
            let n = line.split(|&b| b == b'\t').count();
            return Err(format!(
                "expected at least 8 tab-separated fields, found {n}"
            ));
        };
        let (_filter, _info, format, samples) = (next(), next(), next(), next());
        if reference.is_empty() {
            return Err("empty REF".into());
        }
        let qual = parse_qual(qual)?;
        let qual_value = qual::value(qual);

        // Alleles: ALT '.' alone means none.
        scratch.alts.clear();
        scratch.types.clear();
        if alt != b"." {
            let mut start = 0;
            for (i, &b) in alt.iter().enumerate() {
                if b == b',' {
                    scratch.alts.push((start, i));
                    start = i + 1;
                }
            }
            scratch.alts.push((start, alt.len()));
        }
        let mut line_type = 0u8;
        for &(s, e) in &scratch.alts {
            let a = classify::classify(reference, &alt[s..e]);
            line_type |= a.kind;
            scratch.types.push(a);
        }

        self.records += 1;
        if line_type == 0 {
            self.no_alts += 1;
        }
        if line_type & SNP != 0 {
            self.snps += 1;
            for (i, (&(s, e), &a)) in scratch.alts.iter().zip(&scratch.types).enumerate() {
                match classify::substitution(reference, a, &alt[s..e]) {
                    Some(Substitution::Transition) => {
                        self.ts += 1;
                        if i == 0 {
                            self.ts_alt1 += 1;
                            self.qual_bin(qual_value)[0] += 1;
                        }
                    }
                    Some(Substitution::Transversion) => {
                        self.tv += 1;
                        if i == 0 {
                            self.tv_alt1 += 1;
                            self.qual_bin(qual_value)[1] += 1;
                        }
                    }
                    None => {}
                }
            }
        }
        if line_type & INDEL != 0 {
            self.indels += 1;
            self.qual_bin(qual_value)[2] += 1;
            for a in scratch.types.iter().filter(|a| a.kind == INDEL) {
                let k = (a.len.unsigned_abs() as usize).clamp(1, MAX_INDEL) - 1;
                if a.len < 0 {
                    self.deletions[k] += 1;
                } else {
                    self.insertions[k] += 1;
                }
            }
        }
        if line_type & MNP != 0 {
            self.mnps += 1;
        }
        if line_type & OTHER != 0 {
            self.others += 1;
        }
        if scratch.alts.len() > 1 {
            self.multiallelic += 1;
            if line_type == SNP {
                self.multiallelic_snps += 1;
            }
        }
        if !self.samples.is_empty()
            && let Some(format) = format
        {
            let Some(columns) = samples else {
                return Err(format!(
                    "FORMAT but no sample columns; the header names {} samples",
                    self.samples.len()
                ));
            };
            self.add_samples(reference, alt, format, columns, scratch)?;
        }
        Ok(())
    }

    /// PSC: genotype classes, ts/tv and indels per sample, singletons, depth.
    fn add_samples(
        &mut self,
        reference: &[u8],
        alt: &[u8],
        format: &[u8],
        columns: &[u8],
        scratch: &Scratch,
    ) -> Result<(), String> {
        let (mut gt_at, mut dp_at, mut ad_at) = (None, None, None);
        for (i, key) in format.split(|&b| b == b':').enumerate() {
            match key {
                b"GT" => gt_at = Some(i),
                b"DP" => dp_at = Some(i),
                b"AD" => ad_at = Some(i),
                _ => {}
            }
        }
        let ref_base = classify::acgt(reference[0]);
        let n_alts = scratch.types.len();
        let kind_of = |i: usize| if i > 0 { scratch.types[i - 1].kind } else { 0 };
        let (mut non_ref, mut last_non_ref) = (0usize, 0usize);
        let n_samples = self.samples.len();
        let mut seen = 0;
        for (is, column) in columns.split(|&b| b == b'\t').enumerate() {
            seen += 1;
            let Some(counts) = self.samples.get_mut(is) else {
                return Err(format!(
                    "more sample columns than the {n_samples} samples named in the header"
                ));
            };
            let [gt, depth, ad] = subfields(column, [gt_at, dp_at.or(ad_at), ad_at]);
            if gt_at.is_some() {
                let gt = gt.unwrap_or(b".");
                let call = genotype::call(gt).map_err(|e| format!("sample {}: {e}", is + 1))?;
                let highest = call.first.max(call.second);
                if highest > n_alts {
                    return Err(format!(
                        "sample {}: GT '{}' calls allele {highest}, but the record has {n_alts} ALT allele(s)",
                        is + 1,
                        text(gt)
                    ));
                }
                match call.gt {
                    Gt::Missing => counts.missing += 1,
                    Gt::HaploidRef => counts.hap_ref += 1,
                    Gt::HaploidAlt => counts.hap_alt += 1,
                    gt => 'diploid: {
                        if gt != Gt::HomRef {
                            non_ref += 1;
                            last_non_ref = is;
                        }
                        let var_type = kind_of(call.first) | kind_of(call.second);
                        // bcftools counts REF-only calls (0/0 anywhere) with the SNPs.
                        if var_type & SNP != 0 || var_type == 0 {
                            match gt {
                                Gt::HetRefAlt | Gt::HetAltAlt => counts.hets += 1,
                                Gt::HomRef => counts.hom_ref += 1,
                                _ => counts.hom_alt += 1,
                            }
                            if gt != Gt::HomRef && kind_of(call.first) & SNP != 0 {
                                let (s, e) = scratch.alts[call.first - 1];
                                let alt_base = alt[s..e].first().map_or(-1, |&b| classify::acgt(b));
                                if alt_base < 0 {
                                    // bcftools moves on to the next sample here,
                                    // skipping its indel count too.
                                    break 'diploid;
                                }
                                // Not checked for A/C/G/T or equality, as in bcftools.
                                if (ref_base - alt_base).abs() == 2 {
                                    counts.transitions += 1;
                                } else {
                                    counts.transversions += 1;
                                }
                            }
                        }
                        if var_type & INDEL != 0 && gt != Gt::HomRef {
                            counts.indels += 1;
                            let het = matches!(gt, Gt::HetRefAlt | Gt::HetAltAlt);
                            if let (true, Some(ad)) = (het, ad) {
                                for (i, j) in [(call.first, call.second), (call.second, call.first)]
                                {
                                    if kind_of(i) & INDEL == 0 {
                                        continue;
                                    }
                                    let (Some(x), Some(y)) = (ad_value(ad, i)?, ad_value(ad, j)?)
                                    else {
                                        continue;
                                    };
                                    if x + y == 0 {
                                        continue;
                                    }
                                    let len = scratch.types[i - 1].len;
                                    let bin = (MAX_INDEL as i32
                                        + len.clamp(-(MAX_INDEL as i32), MAX_INDEL as i32))
                                        as usize;
                                    self.vaf_n[bin] += 1;
                                    // bcftools divides in float32.
                                    self.vaf_sum[bin] += f64::from(x as f32 / (x + y) as f32);
                                }
                            }
                        }
                    }
                }
            }
            // FORMAT/DP, else the sum of FORMAT/AD, when the record has them.
            let depth = match (depth, dp_at) {
                (None, _) => None,
                (Some(v), Some(_)) => integer(v, "FORMAT/DP")?,
                (Some(v), None) => ad_sum(v)?,
            };
            if let Some(d) = depth {
                counts.depth_sum += d;
                counts.depth_n += 1;
            }
        }
        if seen != n_samples {
            return Err(format!(
                "{seen} sample column(s), but the header names {n_samples} samples"
            ));
        }
        if non_ref == 1 {
            self.samples[last_non_ref].singletons += 1;
        }
        Ok(())
    }
}

/// The sum of an AD list's present values; `None` when all are missing.
fn ad_sum(value: &[u8]) -> Result<Option<u64>, String> {
    let mut sum = None;
    for v in value.split(|&b| b == b',') {
        if let Some(n) = integer(v, "FORMAT/AD")? {
            sum = Some(sum.unwrap_or(0) + n);
        }
    }
    Ok(sum)
}

/// QUAL as htslib stores it: parsed as a double, kept as a float32; `.` is NaN.
pub fn parse_qual(qual: &[u8]) -> Result<f32, String> {
    if qual == b"." {
        return Ok(f32::NAN);
    }
    std::str::from_utf8(qual)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .map(|q| q as f32)
        .ok_or_else(|| format!("invalid QUAL '{}'", text(qual)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// htslib's example_vcf43.vcf records; expected numbers from `bcftools stats -s -` 1.16.
    const RECORDS: &[&str] = &[
        "20\t14370\trs6054257\tG\tA\t29\tPASS\tNS=3\tGT:GQ:DP:HQ\t0|0:48:1:51,51\t1|0:48:8:51,51\t1/1:43:5:.,.",
        "20\t17330\t.\tT\tA\t3\tq10\tNS=3\tGT:GQ:DP:HQ\t0|0:49:3:58,50\t0|1:3:5:65,3\t0/0:41:3",
        "20\t1110696\trs6040355\tA\tG,T\t67\tPASS\tNS=2\tGT:GQ:DP:HQ\t1|2:21:6:23,27\t2|1:2:0:18,2\t2/2:35:4",
        "20\t1230237\t.\tT\t.\t47\tPASS\tNS=3\tGT:GQ:DP:HQ\t0|0:54:7:56,60\t0|0:48:4:51,51\t0/0:61:2",
        "20\t1234567\tmicrosat1\tGTC\tG,GTCT\t50\tPASS\tNS=3\tGT:GQ:DP\t0/1:35:4\t0/2:17:2\t1/1:40:3",
    ];

    fn counted(lines: &[&str], samples: usize) -> Stats {
        let mut stats = Stats::new(samples);
        let mut scratch = Scratch::default();
        for line in lines {
            stats.add_line(line.as_bytes(), &mut scratch).unwrap();
        }
        stats
    }

    #[test]
    fn counts_as_bcftools_stats() {
        let s = counted(RECORDS, 3);
        let sn = [
            s.records,
            s.no_alts,
            s.snps,
            s.mnps,
            s.indels,
            s.others,
            s.multiallelic,
            s.multiallelic_snps,
        ];
        assert_eq!(sn, [5, 1, 3, 0, 1, 0, 2, 1]);
        assert_eq!([s.ts, s.tv, s.ts_alt1, s.tv_alt1], [2, 2, 2, 1]);
        let bin = |q: f32| s.qual[qual::bin(qual::value(q)) as usize];
        assert_eq!(bin(3.0), [0, 1, 0]);
        assert_eq!(bin(29.0), [1, 0, 0]);
        assert_eq!(bin(50.0), [0, 0, 1]);
        assert_eq!(bin(67.0), [1, 0, 0]);
        assert_eq!((s.deletions[1], s.insertions[0]), (1, 1));
        let psc = |c: &SampleCounts| {
            [
                c.hom_ref,
                c.hom_alt,
                c.hets,
                c.transitions,
                c.transversions,
                c.indels,
                c.singletons,
                c.hap_ref,
                c.hap_alt,
                c.missing,
            ]
        };
        assert_eq!(psc(&s.samples[0]), [3, 0, 1, 1, 0, 1, 0, 0, 0, 0]);
        assert_eq!(psc(&s.samples[1]), [1, 0, 3, 2, 1, 1, 1, 0, 0, 0]);
        assert_eq!(psc(&s.samples[2]), [2, 2, 0, 1, 1, 1, 0, 0, 0, 0]);
        assert_eq!((s.samples[0].depth_sum, s.samples[0].depth_n), (21, 5));
    }

    #[test]
    fn het_indel_allele_fractions_from_ad() {
        let s = counted(
            &[
                "1\t5\t.\tA\tAT\t1\t.\t.\tGT:AD\t0/1:3,1\t0/1:0,0",
                "1\t9\t.\tAGT\tA,AG\t1\t.\t.\tGT:AD\t1/2:1,2,6\t0/1:.,4",
            ],
            2,
        );
        let at = |len: i32| {
            let k = (MAX_INDEL as i32 + len) as usize;
            (s.vaf_n[k], s.vaf_sum[k])
        };
        assert_eq!(at(1), (1, 0.25));
        // 1/2: each indel allele against the other.
        assert_eq!(at(-2), (1, 0.25));
        assert_eq!(at(-1), (1, 0.75));
    }

    #[test]
    fn halves_merge_to_the_whole() {
        let mut first = counted(&RECORDS[..2], 3);
        first.merge(&counted(&RECORDS[2..], 3));
        assert_eq!(first, counted(RECORDS, 3));
    }

    #[test]
    fn bad_records_are_errors_that_say_why() {
        let mut stats = Stats::new(2);
        let mut scratch = Scratch::default();
        let mut err = |line: &str| stats.add_line(line.as_bytes(), &mut scratch).unwrap_err();
        assert!(err("1\t5\t.\tA\tC").contains("at least 8"));
        assert!(err("1\t5\t.\tA\tC\tx\t.\t.").contains("QUAL 'x'"));
        assert!(err("1\t5\t.\tA\tC\t1\t.\t.\tGT\t0/1\t0/2").contains("allele 2"));
        assert!(err("1\t5\t.\tA\tC\t1\t.\t.\tGT\t0/1").contains("1 sample column"));
        assert!(err("1\t5\t.\tA\tC\t1\t.\t.\tGT:DP\t0/1:x\t0/0:3").contains("DP 'x'"));
        assert!(err("1\t5\t.\tA\tC\t1\t.\t.\tGT\t0/y\t0/0").contains("GT '0/y'"));
    }
}
