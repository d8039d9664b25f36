//! Every output row of one structural variant, as VEP's OutputFactory
//! writes StructuralVariationOverlapAlleles: Allele and VARIANT_CLASS are the
//! SO class, transcript rows carry the transcript's fields and cDNA/CDS/
//! protein positions (no codons or amino acids), regulatory and motif rows name the feature only,
//! and an SV near no transcript gets one intergenic row.

use datafusion::common::Result;

use super::super::annotate::{TvaRow, distance_to};
use super::super::consequence::Term;
use super::super::output::{OutRow, transcript_fields};
use super::super::rows::{FeatureSource, Settings, first_id};
use super::super::transcript::overlap;
use super::effects::{
    flank_term, motif_terms, regulatory_terms, transcript_positions, transcript_terms,
};
use super::parse::SvVariant;

/// `ID`, else `chrom_start_allele string` (Parser::validate_vf's name).
pub fn sv_name(id: Option<&str>, chrom: &str, v: &SvVariant) -> String {
    match first_id(id) {
        Some(id) => id.to_string(),
        None => format!("{chrom}_{}_{}", v.start, v.allele_string),
    }
}

/// `chrom:start-end` (`chrom:start` when one base; an insertion point as `end-start`).
pub fn sv_location(chrom: &str, v: &SvVariant) -> String {
    let (s, e) = (v.start, v.end);
    if s == e {
        format!("{chrom}:{s}")
    } else if s > e {
        format!("{chrom}:{e}-{s}")
    } else {
        format!("{chrom}:{s}-{e}")
    }
}

/// All rows for one SV in VEP's order: transcripts, regulatory features,
/// motifs, then an intergenic row when no transcript is within the distance.
pub fn sv_rows(
    source: &dyn FeatureSource,
    chrom: &str,
    input_chrom: &str,
    id: Option<&str>,
    v: &SvVariant,
    settings: &Settings,
    input: usize,
) -> Result<Vec<OutRow>> {
    let (min, max) = (v.start.min(v.end), v.start.max(v.end));
    let mut transcripts =
        source.transcripts(chrom, min - settings.distance, max + settings.distance)?;
    transcripts.sort_by(|a, b| a.tr.stable_id.cmp(&b.tr.stable_id));
    let name = sv_name(id, input_chrom, v);
    let loc = sv_location(input_chrom, v);
    let base = || {
        let mut row = OutRow::new(input);
        row.set_raw("Uploaded_variation", name.clone());
        row.set_raw("Location", loc.clone());
        row.set_raw("Allele", v.class.to_string());
        row.set("VARIANT_CLASS", Some(v.class.to_string()));
        row
    };
    let mut out = Vec::new();
    let mut any_transcript = false;
    for tx in &transcripts {
        let tr = &tx.tr;
        let tva = if overlap(v.start, v.end, tr.start, tr.end) {
            let (cdna, cds, protein) = transcript_positions(v, tx);
            TvaRow {
                terms: transcript_terms(v, tx),
                cdna,
                cds,
                protein,
                ..Default::default()
            }
        } else {
            match flank_term(v, tx, settings.distance) {
                Some(term) => TvaRow {
                    terms: vec![term],
                    distance: Some(distance_to(v.start, v.end, tr.start, tr.end)),
                    ..Default::default()
                },
                None => continue,
            }
        };
        if tva.terms.is_empty() {
            continue;
        }
        any_transcript = true;
        if settings.canonical_only && !tr.is_canonical {
            continue;
        }
        let mut row = base();
        transcript_fields(&mut row, tx, &tva);
        out.push(row);
    }
    if settings.regulatory {
        let mut regulatory = source.regulatory(chrom, min, max)?;
        regulatory.sort_by(|a, b| a.stable_id.cmp(&b.stable_id));
        for rf in regulatory
            .iter()
            .filter(|rf| overlap(v.start, v.end, rf.start, rf.end))
        {
            let mut row = base();
            row.set("Feature", Some(rf.stable_id.clone()));
            row.set("Feature_type", Some("RegulatoryFeature".into()));
            row.set_terms(regulatory_terms(v, rf.start, rf.end));
            out.push(row);
        }
        let mut motifs = source.motifs(chrom, min, max)?;
        motifs.sort_by_cached_key(|f| {
            (
                f.db_id.map(|id| id.to_string()),
                f.start,
                f.stable_id.clone(),
            )
        });
        for mf in motifs
            .iter()
            .filter(|mf| overlap(v.start, v.end, mf.start, mf.end))
        {
            let mut row = base();
            row.set("Feature", mf.stable_id.clone());
            row.set("Feature_type", Some("MotifFeature".into()));
            row.set_terms(motif_terms(v, mf.start, mf.end));
            out.push(row);
        }
    }
    // Last, as StructuralVariationFeature::get_all_StructuralVariationOverlaps
    // pushes it.
    if !any_transcript {
        let mut row = base();
        row.set_terms(vec![Term::Intergenic]);
        out.push(row);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_locations() {
        let v = SvVariant {
            start: 101,
            end: 200,
            class: "deletion",
            allele_string: "<DEL>".into(),
        };
        assert_eq!(sv_name(None, "21", &v), "21_101_<DEL>");
        assert_eq!(sv_name(Some("."), "21", &v), "21_101_<DEL>");
        assert_eq!(sv_name(Some("sv1"), "21", &v), "sv1");
        assert_eq!(sv_location("21", &v), "21:101-200");
    }
}
