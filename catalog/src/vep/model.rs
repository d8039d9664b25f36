//! The VEP cache's features as plain Rust values: what the cache tables are
//! built from and what `annotate_vep` annotates against.
//!
//! Coordinates are as VEP stores them: 1-based closed, on the region file's
//! chromosome, `strand` 1 or -1 (0 for unstranded regulatory features).
//! Field names follow the Perl objects' keys so a reader of VEP's code finds
//! them (`_gene_symbol` -> `gene_symbol`, `cdna_coding_start` stays).
//!
//! Serde gives a converted cache (`genoflight build-cache`) its per-feature
//! model column; floats and byte matrices go through `converted::blob` so
//! they come back bit for bit.

use serde::{Deserialize, Serialize};

use super::converted::blob;

/// A `Bio::EnsEMBL::Transcript` with what VEP cached for it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub chrom: String,
    pub start: i64,
    pub end: i64,
    pub strand: i8,
    pub stable_id: String,
    pub version: Option<i64>,
    pub biotype: String,
    /// `ensembl`, `havana`, `ensembl_havana`, or `RefSeq`-style sources in merged caches.
    pub source: Option<String>,
    pub is_canonical: bool,
    pub gene_stable_id: Option<String>,
    pub gene_symbol: Option<String>,
    pub gene_symbol_source: Option<String>,
    pub gene_hgnc_id: Option<String>,
    pub gene_phenotype: bool,
    /// Cross references; VEP stores "-" for none, kept here as `None`.
    pub ccds: Option<String>,
    pub refseq: Option<String>,
    pub protein: Option<String>,
    pub swissprot: Option<String>,
    pub trembl: Option<String>,
    pub uniparc: Option<String>,
    /// Position of the first/last coding base in the spliced cDNA (1-based).
    pub cdna_coding_start: Option<i64>,
    pub cdna_coding_end: Option<i64>,
    /// Genomic span of the coding region, when the cache stores it.
    pub coding_region_start: Option<i64>,
    pub coding_region_end: Option<i64>,
    /// `attributes` as (code, value): `appris`, `TSL`, `gencode_basic`,
    /// `cds_start_NF`, `cds_end_NF`, `mRNA_start_NF`, `MANE_Select`, ...
    pub attributes: Vec<(String, String)>,
    /// Exons in transcript order (5' to 3' on the transcript's strand).
    pub exons: Vec<Exon>,
    /// Introns as genomic (start, end), in transcript order.
    pub introns: Vec<(i64, i64)>,
    pub translation: Option<Translation>,
    /// Spliced coding sequence (`translateable_seq`), peptide, UTR sequences.
    pub translateable_seq: Option<String>,
    pub peptide: Option<String>,
    pub five_prime_utr: Option<String>,
    pub three_prime_utr: Option<String>,
    pub codon_table: i64,
    pub protein_features: Vec<ProteinFeature>,
    /// `seq_edits`: cDNA edits (RefSeq caches), as (start, end, alt_seq).
    pub seq_edits: Vec<SeqEdit>,
    /// SIFT / PolyPhen matrices as cached (still compressed).
    pub predictions: Vec<PredictionMatrix>,
    /// Merged caches only: the cache a transcript came from (`Ensembl`,
    /// `RefSeq`), which VEP prints as SOURCE.
    pub source_cache: Option<String>,
}

/// A `Bio::EnsEMBL::Exon`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exon {
    pub stable_id: Option<String>,
    pub start: i64,
    pub end: i64,
    pub strand: i8,
    pub phase: i64,
    pub end_phase: i64,
}

/// A `Bio::EnsEMBL::Translation`: `start`/`end` are offsets within its
/// start/end exons (1-based), as Ensembl stores them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Translation {
    pub stable_id: Option<String>,
    pub version: Option<i64>,
    pub start: i64,
    pub end: i64,
    pub start_exon: Option<String>,
    pub end_exon: Option<String>,
}

/// A protein domain (`protein_features`): peptide coordinates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProteinFeature {
    pub start: i64,
    pub end: i64,
    /// Analysis (`Pfam`, `Prosite_profiles`, `Superfamily`, ...) as VEP's DOMAINS prints it.
    pub analysis: Option<String>,
    pub hseqname: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SeqEdit {
    pub code: Option<String>,
    pub start: i64,
    pub end: i64,
    pub alt_seq: String,
}

/// A `ProteinFunctionPredictionMatrix` (SIFT or PolyPhen).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PredictionMatrix {
    /// `sift`, `polyphen`
    pub analysis: String,
    /// `humvar`, `humdiv` for PolyPhen
    pub sub_analysis: Option<String>,
    pub translation_md5: Option<String>,
    #[serde(with = "blob::bytes")]
    pub matrix: Vec<u8>,
    pub compressed: bool,
}

/// A `Bio::EnsEMBL::Funcgen::RegulatoryFeature`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegulatoryFeature {
    pub chrom: String,
    pub start: i64,
    pub end: i64,
    pub strand: i8,
    pub stable_id: String,
    /// `promoter`, `enhancer`, `open_chromatin_region`, `CTCF_binding_site`, ...
    pub feature_type: String,
    pub epigenome_count: Option<i64>,
    /// cell type -> activity (`ACTIVE`, `INACTIVE`, `REPRESSED`, `NA`, ...)
    pub cell_types: Vec<(String, String)>,
}

/// A `Bio::EnsEMBL::Funcgen::MotifFeature`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MotifFeature {
    pub chrom: String,
    pub start: i64,
    pub end: i64,
    pub strand: i8,
    pub stable_id: Option<String>,
    #[serde(with = "blob::float")]
    pub score: Option<f64>,
    pub binding_matrix: Option<BindingMatrix>,
    pub cell_types: Vec<String>,
    pub overlapping_regulatory_feature: Option<String>,
    /// The motif's genomic sequence as cached.
    pub seq: Option<String>,
    /// Older funcgen caches (no motif stable ids): `display_label`,
    /// "<factor>:<matrix>" such as `Jund:MA0491.1`.
    pub display_label: Option<String>,
    /// The funcgen database's `dbID`: VEP lists a variant's motif features
    /// in the order of these IDs as text.
    #[serde(default)]
    pub db_id: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BindingMatrix {
    pub stable_id: Option<String>,
    pub name: Option<String>,
    #[serde(with = "blob::float")]
    pub threshold: Option<f64>,
    /// Position (1-based) -> base -> frequency/weight, as `elements`.
    #[serde(with = "blob::weights")]
    pub elements: Vec<(i64, Vec<(char, f64)>)>,
    pub transcription_factors: Vec<String>,
}
