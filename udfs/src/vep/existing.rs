//! `check_existing`: known variants at the same position whose alleles
//! include the row's allele (VEP's default allele check), with their IDs,
//! population frequencies for that allele, MAX_AF, CLIN_SIG, SOMATIC, PHENO
//! and PUBMED as VEP writes them.

use datafusion::common::Result;
use genoflight_catalog::vep::variation::KnownVariant;

use super::alleles::VepVariant;
use super::codon::reverse_complement;
use super::output::{FIELDS, OutRow};
use super::rows::FeatureSource;

/// Global frequencies are reported but are not candidates for MAX_AF.
const GLOBAL: &[&str] = &["AF", "gnomADe_AF", "gnomADg_AF"];

/// The output field of a cache frequency column (`AFR` -> `AFR_AF`), if VEP reports it.
fn af_field(column: &str) -> Option<String> {
    let name = if column == "AF" {
        "AF".to_string()
    } else {
        format!("{column}_AF")
    };
    FIELDS.contains(&name.as_str()).then_some(name)
}

/// COSMIC_MUTATION, HGMD_MUTATION: a known variant whose alleles are not given.
fn without_alleles(k: &KnownVariant) -> bool {
    !k.allele_string.as_deref().unwrap_or("").contains('/')
}

/// The known variant's alleles on the forward strand.
fn alleles(k: &KnownVariant) -> Vec<String> {
    k.allele_string
        .as_deref()
        .unwrap_or("")
        .split('/')
        .map(|a| {
            let a = a.trim().to_ascii_uppercase();
            if k.strand < 0 && a != "-" {
                reverse_complement(&a)
            } else {
                a
            }
        })
        .collect()
}

/// The frequency of `allele` in a cache value `T:0.003[,C:0.1]`.
fn frequency<'a>(value: &'a str, allele: &str, reverse: bool) -> Option<&'a str> {
    value.split(',').find_map(|item| {
        let (a, f) = item.split_once(':')?;
        let a = a.trim().to_ascii_uppercase();
        let a = if reverse && a != "-" {
            reverse_complement(&a)
        } else {
            a
        };
        (a == allele).then_some(f.trim())
    })
}

fn push_unique(list: &mut Vec<String>, value: &str) {
    if !value.is_empty() && !list.iter().any(|v| v == value) {
        list.push(value.to_string());
    }
}

/// Adds the co-located known variants' fields to each row of one variant.
pub fn add_existing(
    source: &dyn FeatureSource,
    chrom: &str,
    v: &VepVariant,
    rows: &mut [OutRow],
) -> Result<()> {
    let (min, max) = (v.start.min(v.end), v.start.max(v.end));
    let known: Vec<KnownVariant> = source
        .known_variants(chrom, min, max)?
        .into_iter()
        .filter(|k| k.start == v.start && (k.end == v.end || without_alleles(k)) && k.failed == 0)
        .collect();
    if known.is_empty() {
        return Ok(());
    }
    for row in rows.iter_mut() {
        let Some(allele) = row.get("Allele").map(str::to_string) else {
            continue;
        };
        // Entries without alleles (COSMIC_MUTATION, HGMD_MUTATION) match by
        // position, and are listed after those whose alleles matched.
        let (mut matched, by_position): (Vec<&KnownVariant>, Vec<&KnownVariant>) =
            known.iter().partition(|k| !without_alleles(k));
        matched.retain(|k| alleles(k).contains(&allele));
        matched.extend(by_position);
        if matched.is_empty() {
            continue;
        }
        let ids: Vec<String> = matched
            .iter()
            .filter_map(|k| k.variation_name.clone())
            .collect();
        row.set(
            "Existing_variation",
            (!ids.is_empty()).then(|| ids.join(",")),
        );
        let mut freqs: Vec<(String, Vec<String>)> = Vec::new();
        for k in &matched {
            for (column, value) in &k.frequencies {
                let Some(field) = af_field(column) else {
                    continue;
                };
                let Some(f) = frequency(value, &allele, k.strand < 0) else {
                    continue;
                };
                match freqs.iter_mut().find(|(n, _)| *n == field) {
                    Some((_, list)) => push_unique(list, f),
                    None => freqs.push((field, vec![f.to_string()])),
                }
            }
        }
        let mut max: Option<(f64, String)> = None;
        let mut pops: Vec<String> = Vec::new();
        // Field order, so MAX_AF_POPS lists populations as VEP's columns do.
        freqs.sort_by_key(|(n, _)| FIELDS.iter().position(|f| f == n));
        for (field, list) in &freqs {
            row.set(field, Some(list.join(",")));
            if GLOBAL.contains(&field.as_str()) {
                continue;
            }
            for value in list {
                let Ok(x) = value.parse::<f64>() else {
                    continue;
                };
                let pop = field.trim_end_matches("_AF").to_string();
                match &max {
                    Some((m, _)) if x < *m => {}
                    Some((m, _)) if x == *m => push_unique(&mut pops, &pop),
                    _ => {
                        max = Some((x, value.clone()));
                        pops = vec![pop];
                    }
                }
            }
        }
        if let Some((_, text)) = max {
            row.set("MAX_AF", Some(text));
            row.set("MAX_AF_POPS", Some(pops.join(",")));
        }
        let mut clin: Vec<String> = Vec::new();
        let mut pubmed: Vec<String> = Vec::new();
        for k in &matched {
            for c in k.clin_sig.as_deref().unwrap_or("").split(',') {
                push_unique(&mut clin, c.trim());
            }
            for p in k.pubmed.as_deref().unwrap_or("").split(',') {
                push_unique(&mut pubmed, p.trim());
            }
        }
        row.set("CLIN_SIG", (!clin.is_empty()).then(|| clin.join(",")));
        row.set("PUBMED", (!pubmed.is_empty()).then(|| pubmed.join(",")));
        let flags = |f: fn(&KnownVariant) -> i64| {
            matched.iter().any(|k| f(k) != 0).then(|| {
                matched
                    .iter()
                    .map(|k| if f(k) != 0 { "1" } else { "0" })
                    .collect::<Vec<_>>()
                    .join(",")
            })
        };
        row.set("SOMATIC", flags(|k| k.somatic));
        row.set("PHENO", flags(|k| k.phenotype_or_disease));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_per_allele() {
        assert_eq!(frequency("T:0.003", "T", false), Some("0.003"));
        assert_eq!(frequency("A:0.1,T:0.2", "T", false), Some("0.2"));
        assert_eq!(frequency("A:0.1", "T", true), Some("0.1"));
        assert_eq!(frequency("A:0.1", "G", false), None);
        assert_eq!(af_field("AFR").as_deref(), Some("AFR_AF"));
        assert_eq!(af_field("AF").as_deref(), Some("AF"));
        assert_eq!(af_field("AA"), None);
        assert_eq!(af_field("gnomADe_NFE").as_deref(), Some("gnomADe_NFE_AF"));
    }
}
