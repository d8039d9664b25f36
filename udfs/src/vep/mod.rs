//! `annotate_vep('<variants table>', '<cache>' [, 'option=value' ...])`:
//! Ensembl VEP's consequence annotation against a served VEP cache.
//!
//! alleles.rs: VCF records as VEP reads them, VARIANT_CLASS; consequence.rs:
//! SO terms, ranks, impacts; codon.rs: translation; transcript.rs: a
//! transcript's exon/intron/cDNA/CDS mapping; annotate.rs: one allele against
//! one transcript (VariationEffect's predicates, positions, codons).

pub mod alleles;
pub mod annotate;
pub mod cache;
pub mod codon;
pub mod consequence;
pub mod existing;
pub mod function;
pub mod motif;
pub mod output;
pub mod pick;
pub mod rows;
pub mod scalar;
pub mod transcript;

use std::sync::Arc;

use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionContext;

/// Registers `annotate_vep` and `annotate_vep_consequence`.
pub fn register(ctx: &SessionContext) {
    ctx.register_udtf("annotate_vep", Arc::new(function::AnnotateVepFunction));
    ctx.register_udf(ScalarUDF::from(scalar::MostSevere::new(ctx)));
}
#[cfg(test)]
mod shared_data;
pub mod sift;
