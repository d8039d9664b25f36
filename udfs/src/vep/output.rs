//! VEP's output fields and how it writes them (OutputFactory): names in
//! `--tab --everything` order, coordinates as `1033`, `991-992`, `?-5`,
//! transcript attributes (TSL `5`, APPRIS `P1`, CANONICAL `YES`). A field VEP
//! writes as `-` is NULL here.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, OnceLock};

use arrow::array::{
    ArrayBuilder, ArrayRef, Int64Builder, RecordBatch, RecordBatchOptions, StringBuilder,
    UInt32Array,
};
use arrow::compute::take;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::Result;

use super::annotate::TvaRow;
use super::consequence::{Term, impact, join};
use super::pick::PickInfo;
use super::transcript::TxView;

/// VEP's fields in `--tab --everything` order (Uploaded_variation .. TRANSCRIPTION_FACTORS).
pub const FIELDS: &[&str] = &[
    "Uploaded_variation",
    "Location",
    "Allele",
    "Gene",
    "Feature",
    "Feature_type",
    "Consequence",
    "cDNA_position",
    "CDS_position",
    "Protein_position",
    "Amino_acids",
    "Codons",
    "Existing_variation",
    "IMPACT",
    "DISTANCE",
    "STRAND",
    "FLAGS",
    "VARIANT_CLASS",
    "SYMBOL",
    "SYMBOL_SOURCE",
    "HGNC_ID",
    "BIOTYPE",
    "CANONICAL",
    "MANE",
    "MANE_SELECT",
    "MANE_PLUS_CLINICAL",
    "TSL",
    "APPRIS",
    "CCDS",
    "ENSP",
    "SWISSPROT",
    "TREMBL",
    "UNIPARC",
    "UNIPROT_ISOFORM",
    "REFSEQ_MATCH",
    "SOURCE",
    "REFSEQ_OFFSET",
    "GENE_PHENO",
    "SIFT",
    "PolyPhen",
    "EXON",
    "INTRON",
    "DOMAINS",
    "miRNA",
    "HGVSc",
    "HGVSp",
    "HGVS_OFFSET",
    "HGVSg",
    "AF",
    "AFR_AF",
    "AMR_AF",
    "EAS_AF",
    "EUR_AF",
    "SAS_AF",
    "gnomADe_AF",
    "gnomADe_AFR_AF",
    "gnomADe_AMR_AF",
    "gnomADe_ASJ_AF",
    "gnomADe_EAS_AF",
    "gnomADe_FIN_AF",
    "gnomADe_MID_AF",
    "gnomADe_NFE_AF",
    "gnomADe_REMAINING_AF",
    "gnomADe_SAS_AF",
    "gnomADg_AF",
    "gnomADg_AFR_AF",
    "gnomADg_AMI_AF",
    "gnomADg_AMR_AF",
    "gnomADg_ASJ_AF",
    "gnomADg_EAS_AF",
    "gnomADg_FIN_AF",
    "gnomADg_MID_AF",
    "gnomADg_NFE_AF",
    "gnomADg_REMAINING_AF",
    "gnomADg_SAS_AF",
    "MAX_AF",
    "MAX_AF_POPS",
    "CLIN_SIG",
    "SOMATIC",
    "PHENO",
    "PUBMED",
    "MOTIF_NAME",
    "MOTIF_POS",
    "HIGH_INF_POS",
    "MOTIF_SCORE_CHANGE",
    "TRANSCRIPTION_FACTORS",
];

/// Integer fields; the rest are text.
const INTEGER: &[&str] = &["DISTANCE", "STRAND", "HGVS_OFFSET"];

/// The position of `name` in [`FIELDS`], if it is one. Rows set a few dozen
/// fields each by name, so this is on the hot path: a map with a cheap
/// (FNV-1a) hash.
pub fn find_field(name: &str) -> Option<usize> {
    type Fnv = BuildHasherDefault<FnvHasher>;
    static INDEX: OnceLock<HashMap<&'static str, usize, Fnv>> = OnceLock::new();
    let index = INDEX.get_or_init(|| FIELDS.iter().enumerate().map(|(i, f)| (*f, i)).collect());
    index.get(name).copied()
}

/// The position of `name` in [`FIELDS`]; the annotator only sets VEP's fields.
pub fn field_index(name: &str) -> usize {
    find_field(name).unwrap_or_else(|| panic!("unknown VEP field {name}"))
}

/// FNV-1a: field names are short and trusted, so no DoS-resistant hash is needed.
struct FnvHasher(u64);

impl Default for FnvHasher {
    fn default() -> FnvHasher {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for FnvHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// OutputFactory::format_coords: `5`, `5-7`, an insertion `7-8`, `?-5`, `5-?`.
pub fn format_coords(start: Option<i64>, end: Option<i64>) -> Option<String> {
    match (start, end) {
        (Some(s), Some(e)) if s > e => Some(format!("{e}-{s}")),
        (Some(s), Some(e)) if s == e => Some(s.to_string()),
        (Some(s), Some(e)) => Some(format!("{s}-{e}")),
        (Some(s), None) => Some(format!("{s}-?")),
        (None, Some(e)) => Some(format!("?-{e}")),
        (None, None) => None,
    }
}

/// One output row: the input row it annotates and VEP's fields.
#[derive(Debug, Clone)]
pub struct OutRow {
    pub input: usize,
    /// The fields that have a value, as (index in [`FIELDS`], value): a row
    /// sets a few dozen of the ~80 fields, so a sparse list is smaller and
    /// cheaper to fill than one slot per field.
    values: Vec<(u16, String)>,
    /// Consequence terms, kept for pick and the scalar form.
    pub terms: Vec<Term>,
    pub pick: PickInfo,
}

impl OutRow {
    pub fn new(input: usize) -> OutRow {
        OutRow {
            input,
            values: Vec::with_capacity(32),
            terms: Vec::new(),
            pick: PickInfo::default(),
        }
    }

    pub fn set(&mut self, name: &str, value: Option<String>) {
        self.put(
            field_index(name),
            value.filter(|v| !v.is_empty() && v != "-"),
        );
    }

    /// Sets a value kept as written, `-` included (a deleted allele).
    pub fn set_raw(&mut self, name: &str, value: String) {
        self.put(field_index(name), Some(value));
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        let i = field_index(name) as u16;
        self.values
            .iter()
            .find(|(f, _)| *f == i)
            .map(|(_, v)| v.as_str())
    }

    /// Every field's value by its index in [`FIELDS`] (for writers that read
    /// all of them, e.g. a CSQ entry).
    pub fn dense(&self) -> Vec<Option<&str>> {
        let mut all = vec![None; FIELDS.len()];
        for (i, v) in &self.values {
            all[usize::from(*i)] = Some(v.as_str());
        }
        all
    }

    /// The fields with a value, as (index in [`FIELDS`], value), in the order set.
    pub fn values(&self) -> impl Iterator<Item = (usize, &str)> {
        self.values
            .iter()
            .map(|(i, v)| (usize::from(*i), v.as_str()))
    }

    fn put(&mut self, index: usize, value: Option<String>) {
        let i = index as u16;
        match (self.values.iter().position(|(f, _)| *f == i), value) {
            (Some(at), Some(v)) => self.values[at].1 = v,
            (Some(at), None) => {
                self.values.swap_remove(at);
            }
            (None, Some(v)) => self.values.push((i, v)),
            (None, None) => {}
        }
    }

    pub fn set_terms(&mut self, terms: Vec<Term>) {
        self.set("Consequence", Some(join(&terms)));
        self.set("IMPACT", impact(&terms).map(|i| i.as_str().to_string()));
        self.terms = terms;
    }
}

/// The fields a transcript row takes from the transcript and the allele's effect.
pub fn transcript_fields(row: &mut OutRow, tx: &TxView, tva: &TvaRow) {
    let tr = &tx.tr;
    row.pick = PickInfo::of(tx);
    row.set("Gene", tr.gene_stable_id.clone());
    row.set("Feature", Some(tr.stable_id.clone()));
    row.set("Feature_type", Some("Transcript".into()));
    row.set_terms(tva.terms.clone());
    row.set("cDNA_position", format_coords(tva.cdna.0, tva.cdna.1));
    row.set("CDS_position", format_coords(tva.cds.0, tva.cds.1));
    row.set(
        "Protein_position",
        format_coords(tva.protein.0, tva.protein.1),
    );
    row.set("Amino_acids", tva.amino_acids.clone());
    row.set("Codons", tva.codons.clone());
    row.set("DISTANCE", tva.distance.map(|d| d.to_string()));
    row.set("STRAND", Some(tr.strand.to_string()));
    let flags = tx.flags();
    row.set("FLAGS", (!flags.is_empty()).then(|| flags.join(",")));
    row.set("SYMBOL", tr.gene_symbol.clone());
    row.set("SYMBOL_SOURCE", tr.gene_symbol_source.clone());
    row.set("HGNC_ID", tr.gene_hgnc_id.clone());
    row.set("BIOTYPE", Some(tr.biotype.clone()));
    row.set("CANONICAL", tr.is_canonical.then(|| "YES".into()));
    row.set(
        "MANE_SELECT",
        tx.attribute("MANE_Select").map(str::to_string),
    );
    row.set(
        "MANE_PLUS_CLINICAL",
        tx.attribute("MANE_Plus_Clinical").map(str::to_string),
    );
    row.set("TSL", tx.attribute("TSL").and_then(tsl));
    row.set("APPRIS", tx.attribute("appris").map(appris));
    row.set("CCDS", tr.ccds.clone());
    let ensp = tr
        .translation
        .as_ref()
        .and_then(|t| t.stable_id.clone())
        .or_else(|| tr.protein.clone());
    row.set("ENSP", ensp);
    row.set("SWISSPROT", tr.swissprot.clone());
    row.set("TREMBL", tr.trembl.clone());
    row.set("UNIPARC", tr.uniparc.clone());
    row.set("GENE_PHENO", tr.gene_phenotype.then(|| "1".into()));
    let rseq: Vec<&str> = tr
        .attributes
        .iter()
        .map(|(c, _)| c.as_str())
        .filter(|c| c.starts_with("rseq"))
        .collect();
    row.set("REFSEQ_MATCH", (!rseq.is_empty()).then(|| rseq.join(",")));
    row.set("SOURCE", tr.source_cache.clone());
    if let (Some((r, a)), Some(pos)) = (
        tva.amino_acids.as_deref().and_then(|x| x.split_once('/')),
        tva.protein.0,
    ) {
        let predictions = tx.predictions();
        row.set("SIFT", predictions.predict("sift", pos, r, a));
        row.set("PolyPhen", predictions.predict("polyphen", pos, r, a));
    }
    row.set("EXON", tva.exon.clone());
    row.set("INTRON", tva.intron.clone());
    row.set("DOMAINS", domains(tx, tva));
}

/// `tsl1` (maybe with a note in parentheses) -> `1`.
fn tsl(value: &str) -> Option<String> {
    let digits: String = value
        .trim_start_matches("tsl")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (!digits.is_empty()).then_some(digits)
}

/// `principal1` -> `P1`, `alternative2` -> `A2`.
fn appris(value: &str) -> String {
    value.replace("principal", "P").replace("alternative", "A")
}

/// Protein features overlapping the variant's peptide span
/// (get_overlapping_ProteinFeatures), `analysis:hseqname` in cache order.
fn domains(tx: &TxView, tva: &TvaRow) -> Option<String> {
    let (Some(s), Some(e)) = tva.protein else {
        return None;
    };
    tx.tr.translation.as_ref()?;
    let labels: Vec<String> = tx
        .tr
        .protein_features
        .iter()
        .filter(|f| f.end >= s && f.start <= e)
        .map(|f| {
            let name = f.hseqname.as_deref().unwrap_or("");
            // Features without an analysis label are written by name alone.
            match f.analysis.as_deref().filter(|a| !a.is_empty()) {
                Some(a) => format!("{a}:{name}"),
                None => name.to_string(),
            }
            .replace([' ', '\t', ';', '='], "_")
        })
        .collect();
    (!labels.is_empty()).then(|| labels.join(","))
}

/// The output schema: the input's columns (renamed `input_<name>` if a VEP
/// field has the same name) then VEP's fields.
pub fn output_schema(input: &Schema) -> SchemaRef {
    let mut fields: Vec<Field> = input
        .fields()
        .iter()
        .map(|f| {
            if FIELDS.contains(&f.name().as_str()) {
                f.as_ref().clone().with_name(format!("input_{}", f.name()))
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    for name in FIELDS {
        let t = if INTEGER.contains(name) {
            DataType::Int64
        } else {
            DataType::Utf8
        };
        fields.push(Field::new(*name, t, true));
    }
    Arc::new(Schema::new(fields).with_metadata(input.metadata().clone()))
}

/// The rows as a batch of the `projection` of `schema` (the input's columns
/// repeated per row, then VEP's fields): only projected columns are built,
/// so `count(*)` or a narrow query pays for none of the others.
pub fn build_batch(
    schema: &SchemaRef,
    projection: &[usize],
    input: &RecordBatch,
    rows: &[OutRow],
) -> Result<RecordBatch> {
    let inputs = input.num_columns();
    let idx = UInt32Array::from_iter_values(rows.iter().map(|r| r.input as u32));
    // One builder per projected VEP field, found by field index.
    let mut slots: Vec<Option<usize>> = vec![None; FIELDS.len()];
    let mut builders: Vec<FieldBuilder> = Vec::new();
    for &p in projection.iter().filter(|&&p| p >= inputs) {
        let f = p - inputs;
        slots[f] = Some(builders.len());
        builders.push(FieldBuilder::new(FIELDS[f], rows.len()));
    }
    if !builders.is_empty() {
        for (n, r) in rows.iter().enumerate() {
            for (f, v) in r.values() {
                if let Some(b) = slots[f] {
                    builders[b].append(n, v);
                }
            }
        }
    }
    let mut built = builders.into_iter().map(|b| b.finish(rows.len()));
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(projection.len());
    for &p in projection {
        if p < inputs {
            columns.push(take(input.column(p).as_ref(), &idx, None)?);
        } else {
            columns.push(built.next().expect("a builder per projected field"));
        }
    }
    let options = RecordBatchOptions::new().with_row_count(Some(rows.len()));
    Ok(RecordBatch::try_new_with_options(
        Arc::new(schema.project(projection)?),
        columns,
        &options,
    )?)
}

/// A column of one VEP field, filled row by row with nulls for rows without it.
enum FieldBuilder {
    Int(Int64Builder),
    Text(StringBuilder),
}

impl FieldBuilder {
    fn new(name: &str, rows: usize) -> FieldBuilder {
        if INTEGER.contains(&name) {
            FieldBuilder::Int(Int64Builder::with_capacity(rows))
        } else {
            FieldBuilder::Text(StringBuilder::with_capacity(rows, rows * 8))
        }
    }

    /// Sets row `row` (rows before it that have no value become null).
    fn append(&mut self, row: usize, value: &str) {
        self.pad(row);
        match self {
            FieldBuilder::Int(b) => b.append_option(value.parse::<i64>().ok()),
            FieldBuilder::Text(b) => b.append_value(value),
        }
    }

    fn pad(&mut self, rows: usize) {
        match self {
            FieldBuilder::Int(b) => b.append_nulls(rows - b.len()),
            FieldBuilder::Text(b) => b.append_nulls(rows - b.len()),
        }
    }

    fn finish(mut self, rows: usize) -> ArrayRef {
        self.pad(rows);
        match self {
            FieldBuilder::Int(mut b) => Arc::new(b.finish()),
            FieldBuilder::Text(mut b) => Arc::new(b.finish()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_and_attributes() {
        assert_eq!(
            format_coords(Some(1033), Some(1033)).as_deref(),
            Some("1033")
        );
        assert_eq!(
            format_coords(Some(1746), Some(1745)).as_deref(),
            Some("1745-1746")
        );
        assert_eq!(
            format_coords(Some(991), Some(992)).as_deref(),
            Some("991-992")
        );
        assert_eq!(format_coords(None, Some(5)).as_deref(), Some("?-5"));
        assert_eq!(format_coords(Some(5), None).as_deref(), Some("5-?"));
        assert_eq!(format_coords(None, None), None);
        assert_eq!(
            tsl("tsl5 (assigned to previous version 7)").as_deref(),
            Some("5")
        );
        assert_eq!(tsl("tslNA"), None);
        assert_eq!(appris("principal1"), "P1");
        assert_eq!(appris("alternative2"), "A2");
        let mut r = OutRow::new(0);
        r.set("Codons", Some("-".into()));
        assert_eq!(r.get("Codons"), None);
        r.set_raw("Allele", "-".into());
        assert_eq!(r.get("Allele"), Some("-"));
        r.set_terms(vec![Term::SpliceRegion, Term::Missense]);
        assert_eq!(
            r.get("Consequence"),
            Some("missense_variant,splice_region_variant")
        );
        assert_eq!(r.get("IMPACT"), Some("MODERATE"));
    }
}
