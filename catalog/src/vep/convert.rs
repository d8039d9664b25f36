//! From the Perl objects of a VEP cache region file (Storable or Sereal:
//! the same objects) to the feature model.
//!
//! A transcript file is `{ chrom => [Transcript, ...] }`; a regulatory file
//! is `{ chrom => { RegulatoryFeature => [...], MotifFeature => [...] } }`.
//! Keys follow the Ensembl API objects as VEP caches them (ensembl-vep's
//! `AnnotationSource::Cache::Transcript` and `::RegFeat` prune them first).

use std::io::Read;
use std::path::Path;

use datafusion::error::DataFusionError;

use super::model::{
    BindingMatrix, Exon, MotifFeature, PredictionMatrix, ProteinFeature, RegulatoryFeature,
    SeqEdit, Transcript, Translation,
};
use super::perl::{Document, Node, NodeId};

/// Everything one region file holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegionFeatures {
    pub transcripts: Vec<Transcript>,
    pub regulatory: Vec<RegulatoryFeature>,
    pub motifs: Vec<MotifFeature>,
}

/// Reads and decodes one region file: `.gz` is gzipped Storable, `.sereal`
/// is Sereal (compressed inside the format). Errors name the file.
pub fn decode_region_file(path: &Path) -> Result<RegionFeatures, DataFusionError> {
    let fail = |what: String| DataFusionError::Execution(format!("{}: {what}", path.display()));
    let raw = std::fs::read(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let doc = if name.ends_with(".sereal") {
        super::sereal::decode(&raw).map_err(|e| fail(e.to_string()))?
    } else if name.ends_with(".gz") {
        let mut bytes = Vec::with_capacity(raw.len() * 4);
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut bytes)
            .map_err(|e| fail(format!("not valid gzip: {e}")))?;
        super::storable::decode(&bytes).map_err(|e| fail(e.to_string()))?
    } else {
        return Err(fail(
            "not a VEP cache region file (expected .gz Storable or .sereal)".into(),
        ));
    };
    region_features(&doc).map_err(fail)
}

/// The features of a decoded region file.
pub fn region_features(doc: &Document) -> Result<RegionFeatures, String> {
    let top = doc
        .hash(doc.root)
        .ok_or("the top level is not a hash of chromosomes")?;
    let mut out = RegionFeatures::default();
    for (chrom, value) in top {
        let chrom = String::from_utf8_lossy(chrom).into_owned();
        if let Some(items) = doc.array(*value) {
            for (i, &t) in items.iter().enumerate() {
                let tr = transcript(doc, t, &chrom)
                    .map_err(|e| format!("chromosome {chrom} transcript #{i}: {e}"))?;
                out.transcripts.push(tr);
            }
        } else if doc.hash(*value).is_some() {
            if let Some(items) = doc.get(*value, "RegulatoryFeature") {
                for (i, &r) in list(doc, items, "RegulatoryFeature")?.iter().enumerate() {
                    let rf = regulatory(doc, r, &chrom)
                        .map_err(|e| format!("chromosome {chrom} RegulatoryFeature #{i}: {e}"))?;
                    out.regulatory.push(rf);
                }
            }
            if let Some(items) = doc.get(*value, "MotifFeature") {
                for (i, &m) in list(doc, items, "MotifFeature")?.iter().enumerate() {
                    let mf = motif(doc, m, &chrom)
                        .map_err(|e| format!("chromosome {chrom} MotifFeature #{i}: {e}"))?;
                    out.motifs.push(mf);
                }
            }
        } else {
            return Err(format!(
                "chromosome {chrom}: neither a list of transcripts nor a hash of regulatory features"
            ));
        }
    }
    Ok(out)
}

fn list<'a>(doc: &'a Document, id: NodeId, what: &str) -> Result<&'a [NodeId], String> {
    match doc.node(doc.deref(id)) {
        Node::Undef => Ok(&[]),
        _ => doc.array(id).ok_or_else(|| format!("{what} is not a list")),
    }
}

/// A required integer field.
fn need_int(doc: &Document, id: NodeId, key: &str) -> Result<i64, String> {
    doc.get_int(id, key)
        .ok_or_else(|| format!("missing or non-numeric {key}"))
}

fn strand(doc: &Document, id: NodeId) -> Result<i8, String> {
    let s = need_int(doc, id, "strand")?;
    i8::try_from(s)
        .ok()
        .filter(|s| (-1..=1).contains(s))
        .ok_or_else(|| format!("strand {s} is not 1, -1 or 0"))
}

/// Perl truth: undef, "", "0" and 0 are false.
fn truthy(doc: &Document, id: Option<NodeId>) -> bool {
    let Some(id) = id else { return false };
    match doc.node(doc.deref(id)) {
        Node::Undef => false,
        Node::Int(i) => *i != 0,
        Node::Float(f) => *f != 0.0,
        Node::Str(s) => !(s.is_empty() || s.as_slice() == b"0"),
        _ => true,
    }
}

/// A cross reference: VEP writes "-" (or nothing) for none.
fn xref(doc: &Document, id: NodeId, key: &str) -> Option<String> {
    doc.get_str(id, key).filter(|s| !s.is_empty() && s != "-")
}

/// A sequence: a plain string, or a `Bio::Seq` / `Bio::PrimarySeq` holding it.
fn sequence(doc: &Document, id: Option<NodeId>) -> Option<String> {
    let id = id?;
    let s = match doc.node(doc.deref(id)) {
        Node::Hash(_) => {
            let primary = doc.get(id, "primary_seq").unwrap_or(id);
            doc.get_str(primary, "seq")
        }
        _ => doc.str(id),
    };
    s.filter(|s| !s.is_empty())
}

fn exon(doc: &Document, id: NodeId) -> Result<Exon, String> {
    Ok(Exon {
        stable_id: doc.get_str(id, "stable_id"),
        start: need_int(doc, id, "start")?,
        end: need_int(doc, id, "end")?,
        strand: strand(doc, id)?,
        phase: doc.get_int(id, "phase").unwrap_or(-1),
        end_phase: doc.get_int(id, "end_phase").unwrap_or(-1),
    })
}

fn transcript(doc: &Document, t: NodeId, chrom: &str) -> Result<Transcript, String> {
    let stable_id = doc.get_str(t, "stable_id").ok_or("missing stable_id")?;
    let wrap = |e: String| format!("{stable_id}: {e}");
    let cache = doc.get(t, "_variation_effect_feature_cache");
    let cached = |key: &str| cache.and_then(|c| doc.get(c, key));

    // `_trans_exon_array` is transcript order; `sorted_exons` is genomic
    // order, the fallback when a cache lacks the former.
    let exon_ids = match doc.get(t, "_trans_exon_array").and_then(|a| doc.array(a)) {
        Some(a) => a.to_vec(),
        None => {
            let mut a = cached("sorted_exons")
                .and_then(|a| doc.array(a))
                .unwrap_or(&[])
                .to_vec();
            if doc.get_int(t, "strand") == Some(-1) {
                a.reverse();
            }
            a
        }
    };
    let exons = exon_ids
        .iter()
        .map(|&e| exon(doc, e))
        .collect::<Result<Vec<_>, _>>()
        .map_err(wrap)?;

    let introns = match cached("introns") {
        Some(a) => list(doc, a, "introns")
            .map_err(wrap)?
            .iter()
            .map(|&i| Ok((need_int(doc, i, "start")?, need_int(doc, i, "end")?)))
            .collect::<Result<Vec<_>, String>>()
            .map_err(wrap)?,
        None => Vec::new(),
    };

    let translation = match doc.get(t, "translation") {
        Some(tl) if doc.hash(tl).is_some() => Some(Translation {
            stable_id: doc.get_str(tl, "stable_id"),
            version: doc.get_int(tl, "version"),
            start: need_int(doc, tl, "start").map_err(wrap)?,
            end: need_int(doc, tl, "end").map_err(wrap)?,
            start_exon: doc
                .get(tl, "start_exon")
                .and_then(|e| doc.get_str(e, "stable_id")),
            end_exon: doc
                .get(tl, "end_exon")
                .and_then(|e| doc.get_str(e, "stable_id")),
        }),
        _ => None,
    };

    let attributes = match doc.get(t, "attributes") {
        Some(a) => list(doc, a, "attributes")
            .map_err(wrap)?
            .iter()
            .filter_map(|&a| Some((doc.get_str(a, "code")?, doc.get_str(a, "value")?)))
            .collect(),
        None => Vec::new(),
    };

    let protein_features = match cached("protein_features") {
        Some(a) => list(doc, a, "protein_features")
            .map_err(wrap)?
            .iter()
            .map(|&p| {
                Ok(ProteinFeature {
                    start: need_int(doc, p, "start")?,
                    end: need_int(doc, p, "end")?,
                    // VEP's DOMAINS prints `analysis->display_label`, nothing else.
                    analysis: doc.get(p, "analysis").and_then(|a| {
                        doc.get_str(a, "_display_label")
                            .or_else(|| doc.get_str(a, "display_label"))
                    }),
                    hseqname: doc.get_str(p, "hseqname"),
                })
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(wrap)?,
        None => Vec::new(),
    };

    let seq_edits = match cached("seq_edits") {
        Some(a) => list(doc, a, "seq_edits")
            .map_err(wrap)?
            .iter()
            .map(|&s| {
                Ok(SeqEdit {
                    code: doc.get_str(s, "code"),
                    start: need_int(doc, s, "start")?,
                    end: need_int(doc, s, "end")?,
                    alt_seq: doc.get_str(s, "alt_seq").unwrap_or_default(),
                })
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(wrap)?,
        None => Vec::new(),
    };

    let mut predictions = Vec::new();
    if let Some(p) = cached("protein_function_predictions") {
        let mut entries: Vec<_> = doc.hash(p).unwrap_or(&[]).to_vec();
        // Hash order is the writer's; sort so the model is deterministic.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, m) in entries {
            if doc.hash(m).is_none() {
                continue; // `polyphen => undef` in merged caches
            }
            let key = String::from_utf8_lossy(&key).into_owned();
            let matrix = match doc.get(m, "matrix").map(|v| doc.node(doc.deref(v))) {
                Some(Node::Str(bytes)) => bytes.clone(),
                _ => Vec::new(),
            };
            predictions.push(PredictionMatrix {
                analysis: doc
                    .get_str(m, "analysis")
                    .unwrap_or_else(|| key.split('_').next().unwrap_or_default().to_string()),
                sub_analysis: doc.get_str(m, "sub_analysis"),
                translation_md5: doc.get_str(m, "translation_md5"),
                matrix,
                compressed: truthy(doc, doc.get(m, "matrix_compressed")),
            });
        }
    }

    Ok(Transcript {
        chrom: chrom.to_string(),
        start: need_int(doc, t, "start").map_err(wrap)?,
        end: need_int(doc, t, "end").map_err(wrap)?,
        strand: strand(doc, t).map_err(wrap)?,
        version: doc.get_int(t, "version"),
        biotype: doc.get_str(t, "biotype").unwrap_or_default(),
        source: doc.get_str(t, "source"),
        is_canonical: truthy(doc, doc.get(t, "is_canonical")),
        gene_stable_id: doc.get_str(t, "_gene_stable_id").or_else(|| {
            doc.get(t, "_gene")
                .and_then(|g| doc.get_str(g, "stable_id"))
        }),
        gene_symbol: xref(doc, t, "_gene_symbol"),
        gene_symbol_source: xref(doc, t, "_gene_symbol_source"),
        gene_hgnc_id: xref(doc, t, "_gene_hgnc_id"),
        gene_phenotype: truthy(doc, doc.get(t, "_gene_phenotype")),
        ccds: xref(doc, t, "_ccds"),
        refseq: xref(doc, t, "_refseq"),
        protein: xref(doc, t, "_protein"),
        swissprot: xref(doc, t, "_swissprot"),
        trembl: xref(doc, t, "_trembl"),
        uniparc: xref(doc, t, "_uniparc"),
        cdna_coding_start: doc.get_int(t, "cdna_coding_start"),
        cdna_coding_end: doc.get_int(t, "cdna_coding_end"),
        coding_region_start: doc.get_int(t, "coding_region_start"),
        coding_region_end: doc.get_int(t, "coding_region_end"),
        attributes,
        exons,
        introns,
        translation,
        translateable_seq: sequence(doc, cached("translateable_seq")),
        peptide: sequence(doc, cached("peptide")),
        five_prime_utr: sequence(doc, cached("five_prime_utr")),
        three_prime_utr: sequence(doc, cached("three_prime_utr")),
        codon_table: cached("codon_table").and_then(|c| doc.int(c)).unwrap_or(1),
        protein_features,
        seq_edits,
        predictions,
        source_cache: doc.get_str(t, "_source_cache"),
        stable_id,
    })
}

/// Hash keys, sorted (Perl hash order is arbitrary).
fn sorted_keys(doc: &Document, id: Option<NodeId>) -> Vec<(String, NodeId)> {
    let mut keys: Vec<(String, NodeId)> = id
        .and_then(|h| doc.hash(h))
        .unwrap_or(&[])
        .iter()
        .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), *v))
        .collect();
    keys.sort();
    keys
}

fn regulatory(doc: &Document, r: NodeId, chrom: &str) -> Result<RegulatoryFeature, String> {
    let stable_id = doc.get_str(r, "stable_id").ok_or("missing stable_id")?;
    let wrap = |e: String| format!("{stable_id}: {e}");
    Ok(RegulatoryFeature {
        chrom: chrom.to_string(),
        start: need_int(doc, r, "start").map_err(wrap)?,
        end: need_int(doc, r, "end").map_err(wrap)?,
        strand: strand(doc, r).map_err(wrap)?,
        feature_type: doc.get_str(r, "feature_type").unwrap_or_default(),
        // Older funcgen caches count cell types instead of epigenomes.
        epigenome_count: doc
            .get_int(r, "epigenome_count")
            .or_else(|| doc.get_int(r, "cell_type_count")),
        cell_types: sorted_keys(doc, doc.get(r, "cell_types"))
            .into_iter()
            .map(|(k, v)| (k, doc.str(v).unwrap_or_default()))
            .collect(),
        stable_id,
    })
}

fn float(doc: &Document, id: Option<NodeId>) -> Option<f64> {
    let id = doc.deref(id?);
    match doc.node(id) {
        Node::Int(i) => Some(*i as f64),
        Node::Float(f) => Some(*f),
        Node::Str(s) => std::str::from_utf8(s).ok()?.trim().parse().ok(),
        _ => None,
    }
}

fn binding_matrix(doc: &Document, b: NodeId) -> Result<BindingMatrix, String> {
    let mut elements = Vec::new();
    for (pos, bases) in sorted_keys(doc, doc.get(b, "elements")) {
        let pos: i64 = pos
            .parse()
            .map_err(|_| format!("binding matrix position {pos:?} is not a number"))?;
        let mut weights = Vec::new();
        for (base, w) in sorted_keys(doc, Some(bases)) {
            let mut chars = base.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                return Err(format!("binding matrix base {base:?} is not one letter"));
            };
            let w = float(doc, Some(w))
                .ok_or_else(|| format!("binding matrix weight at {pos}{base} is not a number"))?;
            weights.push((c, w));
        }
        elements.push((pos, weights));
    }
    elements.sort_by_key(|(p, _)| *p);
    let complexes = match doc.get(b, "associated_transcription_factor_complexes") {
        Some(a) => list(doc, a, "associated_transcription_factor_complexes")?,
        None => &[],
    };
    Ok(BindingMatrix {
        stable_id: doc.get_str(b, "stable_id"),
        name: doc.get_str(b, "name"),
        threshold: float(doc, doc.get(b, "threshold")),
        elements,
        // TRANSCRIPTION_FACTORS prints the complexes' display names.
        transcription_factors: complexes
            .iter()
            .filter_map(|&c| {
                doc.get_str(c, "display_name")
                    .or_else(|| doc.get_str(c, "production_name"))
            })
            .collect(),
    })
}

fn motif(doc: &Document, m: NodeId, chrom: &str) -> Result<MotifFeature, String> {
    let stable_id = doc.get_str(m, "stable_id");
    let wrap = |e: String| format!("{}: {e}", stable_id.as_deref().unwrap_or("(no stable_id)"));
    let binding_matrix = match doc.get(m, "binding_matrix") {
        Some(b) if doc.hash(b).is_some() => Some(binding_matrix(doc, b).map_err(wrap)?),
        _ => None,
    };
    // `overlapping_RegulatoryFeature` is a stable id, or the feature itself.
    let overlapping = doc.get(m, "overlapping_RegulatoryFeature").and_then(|o| {
        if doc.hash(o).is_some() {
            doc.get_str(o, "stable_id")
        } else {
            doc.str(o)
        }
    });
    let cell_types = match doc.get(m, "cell_types") {
        Some(c) if doc.array(c).is_some() => doc
            .array(c)
            .unwrap_or(&[])
            .iter()
            .filter_map(|&v| doc.str(v))
            .collect(),
        c => sorted_keys(doc, c).into_iter().map(|(k, _)| k).collect(),
    };
    Ok(MotifFeature {
        chrom: chrom.to_string(),
        start: need_int(doc, m, "start").map_err(wrap)?,
        end: need_int(doc, m, "end").map_err(wrap)?,
        strand: strand(doc, m).map_err(wrap)?,
        score: float(doc, doc.get(m, "score")),
        binding_matrix,
        cell_types,
        overlapping_regulatory_feature: overlapping,
        seq: sequence(
            doc,
            doc.get(m, "_variation_effect_feature_cache")
                .and_then(|c| doc.get(c, "seq")),
        ),
        display_label: doc.get_str(m, "display_label"),
        db_id: doc.get_int(m, "dbID"),
        stable_id,
    })
}
