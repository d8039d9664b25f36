//! `annotate_vep('<variants table>', '<cache>' [, 'option=value' ...])`:
//! Ensembl VEP's consequence annotation against a served VEP cache.
//!
//! alleles.rs: VCF records as VEP reads them, VARIANT_CLASS; consequence.rs:
//! SO terms, ranks, impacts; codon.rs: translation; transcript.rs: a
//! transcript's exon/intron/cDNA/CDS mapping; annotate.rs: one allele against
//! one transcript (VariationEffect's predicates, positions, codons);
//! output.rs: VEP's fields and their rendering; pick.rs: pick/per_gene;
//! motif.rs: motif feature fields.

pub mod alleles;
pub mod annotate;
pub mod codon;
pub mod consequence;
pub mod motif;
pub mod output;
pub mod pick;
pub mod transcript;
