//! The cache's feature tables as Arrow: schemas and record batches for
//! `transcripts`, `exons`, `translations`, `regulatory` and `motifs`, built
//! from the feature model one region file's rows at a time.
//!
//! Positional columns come first (`chrom, start, end, strand`, 1-based closed
//! as VEP stores them, declared in the schema metadata like every table).
//! A batch builds only the columns of the projected schema it is given.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Int8Array, Int32Array, Int64Array, ListArray, ListBuilder,
    MapBuilder, RecordBatch, StringArray, StringBuilder, StructArray,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use datafusion::common::{DataFusionError, Result};

use super::model::{MotifFeature, RegulatoryFeature, Transcript};
use crate::coords;

fn field(name: &str, ty: DataType, nullable: bool, about: &str) -> Field {
    Field::new(name, ty, nullable).with_metadata(coords::description(about))
}

fn schema(fields: Vec<Field>) -> SchemaRef {
    Arc::new(Schema::new(fields).with_metadata(coords::schema_metadata(false)))
}

fn positional(what: &str) -> Vec<Field> {
    vec![
        field("chrom", DataType::Utf8, false, "Chromosome"),
        field(
            "start",
            DataType::Int64,
            false,
            &format!("{what} start (1-based)"),
        ),
        field(
            "end",
            DataType::Int64,
            false,
            &format!("{what} end (1-based, inclusive)"),
        ),
        field(
            "strand",
            DataType::Int8,
            false,
            "1 forward, -1 reverse, 0 unstranded",
        ),
    ]
}

fn string_map_type() -> DataType {
    string_map().finish().data_type().clone()
}

fn string_map() -> MapBuilder<StringBuilder, StringBuilder> {
    MapBuilder::new(None, StringBuilder::new(), StringBuilder::new())
}

fn string_list_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
}

fn protein_feature_fields() -> Fields {
    Fields::from(vec![
        Field::new("start", DataType::Int64, false),
        Field::new("end", DataType::Int64, false),
        Field::new("analysis", DataType::Utf8, true),
        Field::new("hseqname", DataType::Utf8, true),
    ])
}

fn protein_features_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(
        DataType::Struct(protein_feature_fields()),
        true,
    )))
}

fn unknown(table: &str, column: &str) -> DataFusionError {
    DataFusionError::Internal(format!("VEP {table} table has no column {column}"))
}

fn strs<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(StringArray::from_iter(values))
}

fn ints(values: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(Int64Array::from_iter(values))
}

fn strands(values: impl Iterator<Item = i8>) -> ArrayRef {
    Arc::new(Int8Array::from_iter_values(values))
}

fn bools(values: impl Iterator<Item = bool>) -> ArrayRef {
    Arc::new(BooleanArray::from_iter(values.map(Some)))
}

/// A `map<utf8, utf8>` column, one map per row.
fn string_maps<R>(rows: &[R], entries: impl Fn(&R) -> &[(String, String)]) -> Result<ArrayRef> {
    let mut b = string_map();
    for r in rows {
        for (k, v) in entries(r) {
            b.keys().append_value(k);
            b.values().append_value(v);
        }
        b.append(true)?;
    }
    Ok(Arc::new(b.finish()))
}

/// A `list<utf8>` column, one list per row.
fn string_lists<R>(rows: &[R], items: impl Fn(&R) -> &[String]) -> ArrayRef {
    let mut b = ListBuilder::new(StringBuilder::new());
    for r in rows {
        for s in items(r) {
            b.values().append_value(s);
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

// ---------------------------------------------------------------- transcripts

pub fn transcripts_schema() -> SchemaRef {
    let s = |name: &str, about: &str| field(name, DataType::Utf8, true, about);
    let i = |name: &str, about: &str| field(name, DataType::Int64, true, about);
    let mut f = positional("Transcript");
    f.extend([
        field(
            "stable_id",
            DataType::Utf8,
            false,
            "Transcript stable id (ENST..., NM_...)",
        ),
        i("version", "Stable id version"),
        field("biotype", DataType::Utf8, false, "Transcript biotype"),
        s(
            "source",
            "Annotation source (ensembl, havana, BestRefSeq, ...)",
        ),
        field(
            "is_canonical",
            DataType::Boolean,
            false,
            "Canonical transcript of its gene",
        ),
        s(
            "gene_stable_id",
            "Gene stable id (ENSG..., or Entrez id in RefSeq caches)",
        ),
        s("gene_symbol", "Gene symbol"),
        s(
            "gene_symbol_source",
            "Source of the gene symbol (HGNC, EntrezGene, ...)",
        ),
        s("gene_hgnc_id", "HGNC id of the gene"),
        field(
            "gene_phenotype",
            DataType::Boolean,
            false,
            "Gene is associated with a phenotype",
        ),
        s("ccds", "CCDS id"),
        s("refseq", "RefSeq cross reference"),
        s("protein_id", "Protein stable id (ENSP...)"),
        s("swissprot", "UniProtKB/Swiss-Prot accession"),
        s("trembl", "UniProtKB/TrEMBL accession"),
        s("uniparc", "UniParc id"),
        i(
            "cdna_coding_start",
            "First coding base in the cDNA (1-based)",
        ),
        i("cdna_coding_end", "Last coding base in the cDNA (1-based)"),
        i(
            "coding_start",
            "Genomic start of the coding region (1-based)",
        ),
        i(
            "coding_end",
            "Genomic end of the coding region (1-based, inclusive)",
        ),
        field("exon_count", DataType::Int32, false, "Number of exons"),
        field(
            "attributes",
            string_map_type(),
            true,
            "Transcript attributes: code -> value",
        ),
        s("translateable_seq", "Coding sequence (spliced CDS)"),
        s("peptide", "Protein sequence"),
        s("five_prime_utr", "5' UTR sequence"),
        s("three_prime_utr", "3' UTR sequence"),
        field("codon_table", DataType::Int32, false, "NCBI codon table"),
        s("source_cache", "Merged caches: Ensembl or RefSeq"),
    ]);
    schema(f)
}

/// Where the exon holding a translation offset is, by stable id.
fn exon_by_id<'a>(t: &'a Transcript, id: &Option<String>) -> Option<&'a super::model::Exon> {
    let id = id.as_deref()?;
    t.exons.iter().find(|e| e.stable_id.as_deref() == Some(id))
}

/// The genomic span of the coding region: as cached, else from the
/// translation's start/end exons and offsets (as Ensembl's
/// `coding_region_start/end` compute it), else by mapping the cDNA coding
/// positions through the exons.
pub fn coding_span(t: &Transcript) -> Option<(i64, i64)> {
    if let (Some(s), Some(e)) = (t.coding_region_start, t.coding_region_end) {
        return Some((s, e));
    }
    let tl = t.translation.as_ref()?;
    if let (Some(first), Some(last)) = (exon_by_id(t, &tl.start_exon), exon_by_id(t, &tl.end_exon))
    {
        return Some(if t.strand >= 0 {
            (first.start + tl.start - 1, last.start + tl.end - 1)
        } else {
            (last.end - tl.end + 1, first.end - tl.start + 1)
        });
    }
    let a = cdna_to_genomic(t, t.cdna_coding_start?)?;
    let b = cdna_to_genomic(t, t.cdna_coding_end?)?;
    Some((a.min(b), a.max(b)))
}

/// A cDNA position (1-based, transcript order) on the genome.
fn cdna_to_genomic(t: &Transcript, pos: i64) -> Option<i64> {
    let mut before = 0;
    for e in &t.exons {
        let len = e.end - e.start + 1;
        if pos <= before + len {
            let off = pos - before - 1;
            return Some(if t.strand >= 0 {
                e.start + off
            } else {
                e.end - off
            });
        }
        before += len;
    }
    None
}

pub fn transcripts_batch(rows: &[&Transcript], schema: &SchemaRef) -> Result<RecordBatch> {
    let spans: Vec<Option<(i64, i64)>> = if schema
        .fields()
        .iter()
        .any(|f| f.name() == "coding_start" || f.name() == "coding_end")
    {
        rows.iter().map(|t| coding_span(t)).collect()
    } else {
        Vec::new()
    };
    let mut arrays = Vec::with_capacity(schema.fields().len());
    for f in schema.fields() {
        let r = rows.iter();
        let a: ArrayRef = match f.name().as_str() {
            "chrom" => strs(r.map(|t| Some(t.chrom.as_str()))),
            "start" => ints(r.map(|t| Some(t.start))),
            "end" => ints(r.map(|t| Some(t.end))),
            "strand" => strands(r.map(|t| t.strand)),
            "stable_id" => strs(r.map(|t| Some(t.stable_id.as_str()))),
            "version" => ints(r.map(|t| t.version)),
            "biotype" => strs(r.map(|t| Some(t.biotype.as_str()))),
            "source" => strs(r.map(|t| t.source.as_deref())),
            "is_canonical" => bools(r.map(|t| t.is_canonical)),
            "gene_stable_id" => strs(r.map(|t| t.gene_stable_id.as_deref())),
            "gene_symbol" => strs(r.map(|t| t.gene_symbol.as_deref())),
            "gene_symbol_source" => strs(r.map(|t| t.gene_symbol_source.as_deref())),
            "gene_hgnc_id" => strs(r.map(|t| t.gene_hgnc_id.as_deref())),
            "gene_phenotype" => bools(r.map(|t| t.gene_phenotype)),
            "ccds" => strs(r.map(|t| t.ccds.as_deref())),
            "refseq" => strs(r.map(|t| t.refseq.as_deref())),
            "protein_id" => strs(r.map(|t| t.protein.as_deref())),
            "swissprot" => strs(r.map(|t| t.swissprot.as_deref())),
            "trembl" => strs(r.map(|t| t.trembl.as_deref())),
            "uniparc" => strs(r.map(|t| t.uniparc.as_deref())),
            "cdna_coding_start" => ints(r.map(|t| t.cdna_coding_start)),
            "cdna_coding_end" => ints(r.map(|t| t.cdna_coding_end)),
            "coding_start" => ints(spans.iter().map(|s| s.map(|s| s.0))),
            "coding_end" => ints(spans.iter().map(|s| s.map(|s| s.1))),
            "exon_count" => Arc::new(Int32Array::from_iter_values(
                r.map(|t| t.exons.len() as i32),
            )),
            "attributes" => string_maps(rows, |t| t.attributes.as_slice())?,
            "translateable_seq" => strs(r.map(|t| t.translateable_seq.as_deref())),
            "peptide" => strs(r.map(|t| t.peptide.as_deref())),
            "five_prime_utr" => strs(r.map(|t| t.five_prime_utr.as_deref())),
            "three_prime_utr" => strs(r.map(|t| t.three_prime_utr.as_deref())),
            "codon_table" => Arc::new(Int32Array::from_iter_values(
                r.map(|t| t.codon_table as i32),
            )),
            "source_cache" => strs(r.map(|t| t.source_cache.as_deref())),
            other => return Err(unknown("transcripts", other)),
        };
        arrays.push(a);
    }
    crate::columns::record_batch(schema, arrays, rows.len())
}

// ---------------------------------------------------------------------- exons

pub fn exons_schema() -> SchemaRef {
    let mut f = positional("Exon");
    f.extend([
        field(
            "transcript_id",
            DataType::Utf8,
            false,
            "Stable id of the transcript",
        ),
        field(
            "stable_id",
            DataType::Utf8,
            true,
            "Exon stable id (ENSE...)",
        ),
        field(
            "exon_number",
            DataType::Int32,
            false,
            "Exon number in transcript order (1-based)",
        ),
        field(
            "exon_count",
            DataType::Int32,
            false,
            "Number of exons of the transcript",
        ),
        field(
            "phase",
            DataType::Int8,
            false,
            "Phase at the exon start (-1 non-coding)",
        ),
        field(
            "end_phase",
            DataType::Int8,
            false,
            "Phase at the exon end (-1 non-coding)",
        ),
    ]);
    schema(f)
}

/// One row per exon of the given transcripts, in transcript order.
pub fn exons_batch(rows: &[&Transcript], schema: &SchemaRef) -> Result<RecordBatch> {
    let exons: Vec<(&Transcript, usize)> = rows
        .iter()
        .flat_map(|t| (0..t.exons.len()).map(move |i| (*t, i)))
        .collect();
    let mut arrays = Vec::with_capacity(schema.fields().len());
    for f in schema.fields() {
        let r = exons.iter().map(|(t, i)| (*t, &t.exons[*i], *i));
        let a: ArrayRef = match f.name().as_str() {
            "chrom" => strs(r.map(|(t, ..)| Some(t.chrom.as_str()))),
            "start" => ints(r.map(|(_, e, _)| Some(e.start))),
            "end" => ints(r.map(|(_, e, _)| Some(e.end))),
            "strand" => strands(r.map(|(_, e, _)| e.strand)),
            "transcript_id" => strs(r.map(|(t, ..)| Some(t.stable_id.as_str()))),
            "stable_id" => strs(r.map(|(_, e, _)| e.stable_id.as_deref())),
            "exon_number" => Arc::new(Int32Array::from_iter_values(r.map(|(.., i)| i as i32 + 1))),
            "exon_count" => Arc::new(Int32Array::from_iter_values(
                r.map(|(t, ..)| t.exons.len() as i32),
            )),
            "phase" => Arc::new(Int8Array::from_iter_values(
                r.map(|(_, e, _)| e.phase as i8),
            )),
            "end_phase" => Arc::new(Int8Array::from_iter_values(
                r.map(|(_, e, _)| e.end_phase as i8),
            )),
            other => return Err(unknown("exons", other)),
        };
        arrays.push(a);
    }
    crate::columns::record_batch(schema, arrays, exons.len())
}

// --------------------------------------------------------------- translations

pub fn translations_schema() -> SchemaRef {
    let mut f = positional("Coding region");
    f.extend([
        field(
            "transcript_id",
            DataType::Utf8,
            false,
            "Stable id of the transcript",
        ),
        field(
            "stable_id",
            DataType::Utf8,
            true,
            "Protein stable id (ENSP..., NP_...)",
        ),
        field("version", DataType::Int64, true, "Stable id version"),
        field(
            "protein_length",
            DataType::Int64,
            true,
            "Protein length in amino acids (stop excluded)",
        ),
        field("peptide", DataType::Utf8, true, "Protein sequence"),
        field(
            "protein_features",
            protein_features_type(),
            false,
            "Protein domains: peptide start/end, analysis (as VEP's DOMAINS prints it), id",
        ),
        field(
            "has_sift",
            DataType::Boolean,
            false,
            "The cache holds SIFT predictions",
        ),
        field(
            "has_polyphen",
            DataType::Boolean,
            false,
            "The cache holds PolyPhen predictions",
        ),
    ]);
    schema(f)
}

fn protein_length(t: &Transcript) -> Option<i64> {
    match &t.peptide {
        Some(p) => Some(p.trim_end_matches('*').len() as i64),
        None => t.translateable_seq.as_ref().map(|s| s.len() as i64 / 3),
    }
}

fn protein_features(rows: &[&Transcript]) -> ArrayRef {
    let all = rows.iter().flat_map(|t| t.protein_features.iter());
    let starts = Arc::new(Int64Array::from_iter_values(all.clone().map(|p| p.start)));
    let ends = Arc::new(Int64Array::from_iter_values(all.clone().map(|p| p.end)));
    let analyses = strs(all.clone().map(|p| p.analysis.as_deref()));
    let names = strs(all.map(|p| p.hseqname.as_deref()));
    let values = StructArray::new(
        protein_feature_fields(),
        vec![starts, ends, analyses, names],
        None,
    );
    let offsets = OffsetBuffer::from_lengths(rows.iter().map(|t| t.protein_features.len()));
    let DataType::List(item) = protein_features_type() else {
        unreachable!("a list type")
    };
    Arc::new(ListArray::new(item, offsets, Arc::new(values), None))
}

/// One row per transcript that has a translation.
pub fn translations_batch(rows: &[&Transcript], schema: &SchemaRef) -> Result<RecordBatch> {
    let coding: Vec<&Transcript> = rows
        .iter()
        .copied()
        .filter(|t| t.translation.is_some())
        .collect();
    let spans: Vec<(i64, i64)> = coding
        .iter()
        .map(|t| coding_span(t).unwrap_or((t.start, t.end)))
        .collect();
    let has = |t: &Transcript, analysis: &str| t.predictions.iter().any(|p| p.analysis == analysis);
    let mut arrays = Vec::with_capacity(schema.fields().len());
    for f in schema.fields() {
        let r = coding.iter();
        let tl = |t: &&Transcript| t.translation.clone().unwrap_or_default();
        let a: ArrayRef = match f.name().as_str() {
            "chrom" => strs(r.map(|t| Some(t.chrom.as_str()))),
            "start" => ints(spans.iter().map(|s| Some(s.0))),
            "end" => ints(spans.iter().map(|s| Some(s.1))),
            "strand" => strands(r.map(|t| t.strand)),
            "transcript_id" => strs(r.map(|t| Some(t.stable_id.as_str()))),
            "stable_id" => Arc::new(StringArray::from_iter(r.map(|t| tl(t).stable_id))),
            "version" => ints(r.map(|t| tl(t).version)),
            "protein_length" => ints(r.map(|t| protein_length(t))),
            "peptide" => strs(r.map(|t| t.peptide.as_deref())),
            "protein_features" => protein_features(&coding),
            "has_sift" => bools(r.map(|t| has(t, "sift"))),
            "has_polyphen" => bools(r.map(|t| has(t, "polyphen"))),
            other => return Err(unknown("translations", other)),
        };
        arrays.push(a);
    }
    crate::columns::record_batch(schema, arrays, coding.len())
}

// ----------------------------------------------------------------- regulatory

pub fn regulatory_schema() -> SchemaRef {
    let mut f = positional("Regulatory feature");
    f.extend([
        field(
            "stable_id",
            DataType::Utf8,
            false,
            "Regulatory feature stable id (ENSR...)",
        ),
        field(
            "feature_type",
            DataType::Utf8,
            false,
            "promoter, enhancer, open_chromatin_region, CTCF_binding_site, ...",
        ),
        field(
            "epigenome_count",
            DataType::Int64,
            true,
            "Number of epigenomes the feature is active in",
        ),
        field(
            "cell_types",
            string_map_type(),
            true,
            "Cell type -> activity (ACTIVE, INACTIVE, REPRESSED, POISED, NA)",
        ),
    ]);
    schema(f)
}

pub fn regulatory_batch(rows: &[&RegulatoryFeature], schema: &SchemaRef) -> Result<RecordBatch> {
    let mut arrays = Vec::with_capacity(schema.fields().len());
    for f in schema.fields() {
        let r = rows.iter();
        let a: ArrayRef = match f.name().as_str() {
            "chrom" => strs(r.map(|x| Some(x.chrom.as_str()))),
            "start" => ints(r.map(|x| Some(x.start))),
            "end" => ints(r.map(|x| Some(x.end))),
            "strand" => strands(r.map(|x| x.strand)),
            "stable_id" => strs(r.map(|x| Some(x.stable_id.as_str()))),
            "feature_type" => strs(r.map(|x| Some(x.feature_type.as_str()))),
            "epigenome_count" => ints(r.map(|x| x.epigenome_count)),
            "cell_types" => string_maps(rows, |x| x.cell_types.as_slice())?,
            other => return Err(unknown("regulatory", other)),
        };
        arrays.push(a);
    }
    crate::columns::record_batch(schema, arrays, rows.len())
}

// --------------------------------------------------------------------- motifs

pub fn motifs_schema() -> SchemaRef {
    let s = |name: &str, about: &str| field(name, DataType::Utf8, true, about);
    let mut f = positional("Motif feature");
    f.extend([
        s("stable_id", "Motif feature stable id (ENSM...)"),
        field("score", DataType::Float64, true, "Motif score"),
        s(
            "binding_matrix_id",
            "Binding matrix stable id (ENSPFM...), VEP's MOTIF_NAME",
        ),
        s("motif_name", "Binding matrix name"),
        field(
            "transcription_factors",
            string_list_type(),
            true,
            "Transcription factor complexes binding the matrix, VEP's TRANSCRIPTION_FACTORS",
        ),
        field(
            "cell_types",
            string_list_type(),
            true,
            "Cell types / epigenomes the motif is seen in",
        ),
        s(
            "regulatory_feature_id",
            "Overlapping regulatory feature stable id",
        ),
        s("seq", "Motif sequence"),
        s(
            "display_label",
            "Older caches without motif stable ids: factor:matrix label",
        ),
    ]);
    schema(f)
}

pub fn motifs_batch(rows: &[&MotifFeature], schema: &SchemaRef) -> Result<RecordBatch> {
    let mut arrays = Vec::with_capacity(schema.fields().len());
    for f in schema.fields() {
        let r = rows.iter();
        let a: ArrayRef = match f.name().as_str() {
            "chrom" => strs(r.map(|x| Some(x.chrom.as_str()))),
            "start" => ints(r.map(|x| Some(x.start))),
            "end" => ints(r.map(|x| Some(x.end))),
            "strand" => strands(r.map(|x| x.strand)),
            "stable_id" => strs(r.map(|x| x.stable_id.as_deref())),
            "score" => Arc::new(arrow::array::Float64Array::from_iter(r.map(|x| x.score))),
            "binding_matrix_id" => strs(r.map(|x| {
                x.binding_matrix
                    .as_ref()
                    .and_then(|b| b.stable_id.as_deref())
            })),
            "motif_name" => {
                strs(r.map(|x| x.binding_matrix.as_ref().and_then(|b| b.name.as_deref())))
            }
            "transcription_factors" => string_lists(rows, |x| {
                x.binding_matrix
                    .as_ref()
                    .map(|b| b.transcription_factors.as_slice())
                    .unwrap_or(&[])
            }),
            "cell_types" => string_lists(rows, |x| x.cell_types.as_slice()),
            "regulatory_feature_id" => strs(r.map(|x| x.overlapping_regulatory_feature.as_deref())),
            "seq" => strs(r.map(|x| x.seq.as_deref())),
            "display_label" => strs(r.map(|x| x.display_label.as_deref())),
            other => return Err(unknown("motifs", other)),
        };
        arrays.push(a);
    }
    crate::columns::record_batch(schema, arrays, rows.len())
}
