//! `pick` and `per_gene` (OutputFactory::pick_worst_VariationFeatureOverlapAllele):
//! rows are narrowed category by category in VEP's default pick order
//! (mane_select, mane_plus_clinical, canonical, appris, tsl, biotype, ccds,
//! rank, length, ensembl, refseq) until one is left; ties keep input order.

use super::output::OutRow;
use super::transcript::TxView;

/// The values a row is ranked by; 0 is best. Non-transcript rows keep the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct PickInfo {
    pub gene: Option<String>,
    pub mane_select: i64,
    pub mane_plus_clinical: i64,
    pub canonical: i64,
    pub appris: i64,
    pub tsl: i64,
    pub biotype: i64,
    pub ccds: i64,
    pub length: i64,
    pub ensembl: i64,
    pub refseq: i64,
}

impl Default for PickInfo {
    fn default() -> PickInfo {
        PickInfo {
            gene: None,
            mane_select: 1,
            mane_plus_clinical: 1,
            canonical: 1,
            appris: 100,
            tsl: 100,
            biotype: 1,
            ccds: 1,
            length: 0,
            ensembl: 1,
            refseq: 1,
        }
    }
}

impl PickInfo {
    pub fn of(tx: &TxView) -> PickInfo {
        let tr = &tx.tr;
        let mut p = PickInfo {
            gene: tr.gene_stable_id.clone(),
            mane_select: if tx.has_attribute("MANE_Select") {
                0
            } else {
                1
            },
            mane_plus_clinical: if tx.has_attribute("MANE_Plus_Clinical") {
                0
            } else {
                1
            },
            canonical: if tr.is_canonical { 0 } else { 1 },
            biotype: if tr.biotype == "protein_coding" { 0 } else { 1 },
            ccds: if tr.ccds.as_deref().is_some_and(|c| c != "-") {
                0
            } else {
                1
            },
            // Longer is better: the CDS for coding transcripts, else the spliced length.
            length: -(match (&tr.translation, &tx.translateable) {
                (Some(_), Some(cds)) => cds.len() as i64,
                _ => tx.cdna_len,
            }),
            ..PickInfo::default()
        };
        if let Some(n) = tx
            .attribute("TSL")
            .and_then(|v| v.strip_prefix("tsl"))
            .and_then(|v| {
                v.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse::<i64>()
                    .ok()
            })
            .filter(|&n| n > 0)
        {
            p.tsl = n;
        }
        if let Some(v) = tx.attribute("appris") {
            // principal1.. -> 1.., alternative1.. -> 11..
            let digit = v
                .chars()
                .rev()
                .find(char::is_ascii_digit)
                .and_then(|c| c.to_digit(10));
            if let (Some(first), Some(d)) = (v.chars().next(), digit) {
                let grade = d as i64
                    + if first.eq_ignore_ascii_case(&'a') {
                        10
                    } else {
                        0
                    };
                if grade > 0 {
                    p.appris = grade;
                }
            }
        }
        match tr.source.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("ensembl") => p.ensembl = 0,
            Some("refseq") => p.refseq = 0,
            _ => {}
        }
        p
    }
}

fn rank(row: &OutRow) -> i64 {
    row.terms
        .iter()
        .map(|t| t.rank() as i64)
        .min()
        .unwrap_or(i64::MAX)
}

/// The index of the row VEP would pick among `rows`.
pub fn pick_one(rows: &[&OutRow]) -> Option<usize> {
    let mut left: Vec<usize> = (0..rows.len()).collect();
    let keys: [fn(&OutRow) -> i64; 11] = [
        |r| r.pick.mane_select,
        |r| r.pick.mane_plus_clinical,
        |r| r.pick.canonical,
        |r| r.pick.appris,
        |r| r.pick.tsl,
        |r| r.pick.biotype,
        |r| r.pick.ccds,
        rank,
        |r| r.pick.length,
        |r| r.pick.ensembl,
        |r| r.pick.refseq,
    ];
    for key in keys {
        if left.len() <= 1 {
            break;
        }
        left.sort_by_key(|&i| key(rows[i]));
        let best = key(rows[left[0]]);
        left.retain(|&i| key(rows[i]) == best);
    }
    left.first().copied()
}

/// `pick`: one row per variant.
pub fn pick(rows: Vec<OutRow>) -> Vec<OutRow> {
    let refs: Vec<&OutRow> = rows.iter().collect();
    match pick_one(&refs) {
        Some(i) => vec![rows[i].clone()],
        None => rows,
    }
}

/// `per_gene`: one transcript row per gene; other rows stay.
pub fn per_gene(rows: Vec<OutRow>) -> Vec<OutRow> {
    let mut keep = vec![false; rows.len()];
    let mut genes: Vec<Option<String>> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if r.get("Feature_type") != Some("Transcript") {
            keep[i] = true;
        } else if !genes.contains(&r.pick.gene) {
            genes.push(r.pick.gene.clone());
        }
    }
    for g in genes {
        let members: Vec<usize> = (0..rows.len())
            .filter(|&i| {
                rows[i].get("Feature_type") == Some("Transcript") && rows[i].pick.gene == g
            })
            .collect();
        let refs: Vec<&OutRow> = members.iter().map(|&i| &rows[i]).collect();
        if let Some(j) = pick_one(&refs) {
            keep[members[j]] = true;
        }
    }
    rows.into_iter()
        .zip(keep)
        .filter_map(|(r, k)| k.then_some(r))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vep::consequence::Term;

    fn row(canonical: i64, length: i64, term: Term, gene: &str) -> OutRow {
        let mut r = OutRow::new(0);
        r.set("Feature_type", Some("Transcript".into()));
        r.set_terms(vec![term]);
        r.pick = PickInfo {
            gene: Some(gene.into()),
            canonical,
            length,
            ..PickInfo::default()
        };
        r
    }

    #[test]
    fn picks_in_vep_order() {
        let rows = vec![
            row(1, -900, Term::Missense, "g1"),
            row(0, -300, Term::Upstream, "g1"),
            row(0, -600, Term::Upstream, "g2"),
        ];
        // canonical first, then (same rank) the longer one
        let picked = pick(rows.clone());
        assert_eq!(picked[0].pick.length, -600);
        let per = per_gene(rows);
        assert_eq!(per.len(), 2);
        assert_eq!(per[0].pick.length, -300);
    }
}
