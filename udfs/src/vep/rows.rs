//! Every output row of one variant: one per (allele, feature) with a
//! consequence (transcripts within the up/downstream distance, regulatory
//! features, motifs), or one intergenic row per allele when no transcript is
//! near (VEP's IntergenicVariation).

use std::sync::Arc;

use datafusion::common::Result;
use genoflight_catalog::vep::layout::AnnotatedChrom;
use genoflight_catalog::vep::model::{MotifFeature, RegulatoryFeature, Transcript};
use genoflight_catalog::vep::variation::KnownVariant;

use super::alleles::VepVariant;
use super::annotate::{VfAllele, annotate};
use super::consequence::Term;
use super::hgvs::{HgvsSettings, Window, genomic_hgvs, transcript_hgvs};
use super::output::{OutRow, transcript_fields};
use super::transcript::{TxView, overlap};

/// The features of a cache a variant is annotated against.
pub trait FeatureSource: Send + Sync {
    /// The cache's chromosome for an input one by VEP's rules (`chr21` ->
    /// `21`, the cache's synonyms, `M` -> `MT`), or `None` when VEP would
    /// skip the record.
    fn chromosome(&self, name: &str) -> Option<AnnotatedChrom>;
    /// Transcripts overlapping `[start, end]` on `chrom`.
    fn transcripts(&self, chrom: &str, start: i64, end: i64) -> Result<Vec<Arc<TxView>>>;
    fn regulatory(&self, chrom: &str, start: i64, end: i64) -> Result<Vec<Arc<RegulatoryFeature>>>;
    fn motifs(&self, chrom: &str, start: i64, end: i64) -> Result<Vec<Arc<MotifFeature>>>;
    /// Known variants (the cache's variation data) starting in `[start, end]`,
    /// in cache order.
    fn known_variants(&self, chrom: &str, start: i64, end: i64) -> Result<Vec<KnownVariant>>;
    /// The reference genome and HGVS notations asked for (`fasta=`).
    fn hgvs(&self) -> Option<&HgvsSettings> {
        None
    }
}

/// What to annotate: the up/downstream distance and whether regulatory
/// features are wanted (`--regulatory`, part of `--everything`).
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub distance: i64,
    pub regulatory: bool,
    pub canonical_only: bool,
}

/// The variant's name from a VCF ID column: the first of `rs1;rs2`, as
/// ensembl-io's get_IDs splits it; none for `.` or empty.
pub fn first_id(id: Option<&str>) -> Option<&str> {
    id.and_then(|s| s.split(';').next())
        .filter(|s| !s.is_empty() && *s != ".")
}

/// Input identity as VEP writes it: the VCF ID, else `chrom_start_alleles`.
pub fn uploaded_variation(id: Option<&str>, chrom: &str, v: &VepVariant) -> String {
    match first_id(id) {
        Some(id) => id.to_string(),
        None => format!("{chrom}_{}_{}", v.start, v.allele_string()),
    }
}

/// `chrom:start` or `chrom:start-end` (an insertion as `end-start`).
pub fn location(chrom: &str, v: &VepVariant) -> String {
    let (s, e) = (v.start, v.end);
    if s == e {
        format!("{chrom}:{s}")
    } else if s > e {
        format!("{chrom}:{e}-{s}")
    } else {
        format!("{chrom}:{s}-{e}")
    }
}

pub fn transcript_view(tr: Arc<Transcript>) -> Arc<TxView> {
    Arc::new(TxView::new(tr))
}

/// All rows for one variant, in VEP's order: transcripts, regulatory
/// features, motifs, then the intergenic row, each with its alleles in turn.
pub fn variant_rows(
    source: &dyn FeatureSource,
    chrom: &str,
    input_chrom: &str,
    id: Option<&str>,
    v: &VepVariant,
    settings: &Settings,
    input: usize,
) -> Result<Vec<OutRow>> {
    variant_rows_with(source, chrom, input_chrom, id, v, settings, input, None)
}

/// [`variant_rows`] with HGVS notation from a reference genome.
#[allow(clippy::too_many_arguments)]
pub fn variant_rows_with(
    source: &dyn FeatureSource,
    chrom: &str,
    input_chrom: &str,
    id: Option<&str>,
    v: &VepVariant,
    settings: &Settings,
    input: usize,
    hgvs: Option<&HgvsSettings>,
) -> Result<Vec<OutRow>> {
    // The genome around the variant, once for every transcript.
    let window = match hgvs {
        Some(h) => {
            let (a, b) = Window::span(v);
            h.genome.fetch(&[chrom, input_chrom], a, b)?
        }
        None => None,
    };
    // VEP moves only insertions and deletions (its var_class) 3'.
    let shiftable =
        hgvs.is_some_and(|h| h.shift) && matches!(v.variant_class(), "insertion" | "deletion");
    let (min, max) = (v.start.min(v.end), v.start.max(v.end));
    let mut transcripts =
        source.transcripts(chrom, min - settings.distance, max + settings.distance)?;
    transcripts.sort_by(|a, b| a.tr.stable_id.cmp(&b.tr.stable_id));
    let (regulatory, motifs) = if settings.regulatory {
        let mut r = source.regulatory(chrom, min, max)?;
        r.sort_by(|a, b| a.stable_id.cmp(&b.stable_id));
        let mut m = source.motifs(chrom, min, max)?;
        // VEP keeps a variant's MotifFeatureVariations in a hash by the
        // motif's dbID and lists them by key, as text (get_all_MotifFeatureVariations).
        m.sort_by_cached_key(|f| {
            (
                f.db_id.map(|id| id.to_string()),
                f.start,
                f.stable_id.clone(),
            )
        });
        (r, m)
    } else {
        (Vec::new(), Vec::new())
    };
    let name = uploaded_variation(id, input_chrom, v);
    let loc = location(input_chrom, v);
    let class = v.variant_class();
    let base = |allele: &str| {
        let mut row = OutRow::new(input);
        row.set_raw("Uploaded_variation", name.clone());
        row.set_raw("Location", loc.clone());
        row.set_raw("Allele", allele.to_string());
        row.set("VARIANT_CLASS", Some(class.to_string()));
        row
    };
    let alts: Vec<&String> = v.annotated_alts().collect();
    // VEP lists a variant's overlaps feature by feature (transcripts,
    // regulatory features, motifs, then the intergenic one), each with its
    // alleles in ALT order (OutputFactory::get_all_VariationFeatureOverlapAlleles).
    let mut out = Vec::new();
    let mut any_transcript = false;
    for tx in &transcripts {
        for alt in &alts {
            let allele = vf_allele(v, alt);
            let Some(tva) = annotate(tx, &allele, settings.distance) else {
                continue;
            };
            any_transcript = true;
            if settings.canonical_only && !tx.tr.is_canonical {
                continue;
            }
            let mut row = base(alt);
            transcript_fields(&mut row, tx, &tva);
            if let (Some(w), Some(h)) = (&window, hgvs)
                && h.transcript
            {
                let t = transcript_hgvs(w, tx, &allele, &tva, shiftable);
                row.set("HGVSc", t.hgvsc);
                row.set("HGVSp", t.hgvsp);
                row.set("HGVS_OFFSET", t.offset.map(|o| o.to_string()));
            }
            out.push(row);
        }
    }
    for rf in regulatory
        .iter()
        .filter(|rf| overlap(v.start, v.end, rf.start, rf.end))
    {
        for alt in &alts {
            let mut row = base(alt);
            row.set("Feature", Some(rf.stable_id.clone()));
            row.set("Feature_type", Some("RegulatoryFeature".into()));
            row.set("BIOTYPE", Some(rf.feature_type.clone()));
            let mut terms = vec![Term::RegulatoryRegion];
            if is_deletion(v, alt) && v.start <= rf.start && v.end >= rf.end {
                terms.insert(0, Term::RegulatoryRegionAblation);
            }
            row.set_terms(terms);
            out.push(row);
        }
    }
    for mf in motifs
        .iter()
        .filter(|mf| overlap(v.start, v.end, mf.start, mf.end))
    {
        for alt in &alts {
            let mut row = base(alt);
            row.set("Feature", mf.stable_id.clone());
            row.set("Feature_type", Some("MotifFeature".into()));
            row.set("STRAND", Some(mf.strand.to_string()));
            let mut terms = vec![Term::TfBindingSite];
            if is_deletion(v, alt) && v.start <= mf.start && v.end >= mf.end {
                terms.insert(0, Term::TfbsAblation);
            }
            row.set_terms(terms);
            super::motif::motif_fields(&mut row, mf, v, alt);
            out.push(row);
        }
    }
    // VariationFeature::get_IntergenicVariation: only without any transcript.
    if !any_transcript {
        for alt in &alts {
            let mut row = base(alt);
            row.set_terms(vec![Term::Intergenic]);
            out.push(row);
        }
    }
    if let (Some(w), Some(h)) = (&window, hgvs)
        && h.genomic
    {
        for alt in &alts {
            let g = genomic_hgvs(w, input_chrom, &vf_allele(v, alt), shiftable);
            for row in out
                .iter_mut()
                .filter(|r| r.get("Allele") == Some(alt.as_str()))
            {
                row.set("HGVSg", g.clone());
            }
        }
    }
    Ok(out)
}

fn vf_allele<'a>(v: &'a VepVariant, alt: &'a str) -> VfAllele<'a> {
    VfAllele {
        start: v.start,
        end: v.end,
        ref_allele: &v.ref_allele,
        alt,
    }
}

fn is_deletion(v: &VepVariant, alt: &str) -> bool {
    empty_len(alt) < empty_len(&v.ref_allele)
}

fn empty_len(s: &str) -> usize {
    if s == "-" { 0 } else { s.len() }
}
