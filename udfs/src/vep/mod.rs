//! `annotate_vep('<variants table>', '<cache>' [, 'option=value' ...])` and
//! `annotate_vep_consequence(chrom, pos, ref, alt [, '<cache>'])`: Ensembl
//! VEP's consequence annotation against a served VEP cache.
//!
//! alleles.rs: VCF records as VEP reads them, VARIANT_CLASS; consequence.rs:
//! SO terms, ranks, impacts; codon.rs: translation; transcript.rs: a
//! transcript's exon/intron/cDNA/CDS mapping; annotate.rs: one allele against
//! one transcript (VariationEffect's predicates, positions, codons);
//! rows.rs: every row of one variant (transcripts, regulatory, motifs,
//! intergenic); output.rs: VEP's fields and how it writes them; sift.rs:
//! SIFT/PolyPhen matrices; motif.rs: motif fields; hgvs.rs: HGVSc/HGVSp/HGVSg;
//! fasta.rs: the reference FASTA HGVS reads; existing.rs: co-located
//! known variants and frequencies; pick.rs: pick/per_gene; cache.rs: the
//! served cache behind a name; function.rs: the table function and the
//! annotation of a batch; batch_map.rs: the view and execution node both
//! table functions share; scalar.rs: the scalar form; csq.rs: VEP's VCF CSQ field
//! and tab columns for the options; csq_function.rs: `annotate_vep_csq`;
//! sv/: structural variants (symbolic ALTs, breakends).

pub mod alleles;
pub mod annotate;
pub mod batch_map;
pub mod cache;
pub mod codon;
pub mod consequence;
pub mod csq;
pub mod csq_function;
pub mod existing;
pub mod fasta;
pub mod function;
pub mod hgvs;
pub mod motif;
pub mod output;
pub mod pick;
pub mod rows;
pub mod scalar;
pub mod sift;
pub mod sv;
pub mod transcript;

#[cfg(test)]
mod shared_data;

use std::sync::Arc;

use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionContext;

/// Registers `annotate_vep` and `annotate_vep_consequence`.
pub fn register(ctx: &SessionContext) {
    ctx.register_udtf("annotate_vep", Arc::new(function::AnnotateVepFunction));
    ctx.register_udtf(
        "annotate_vep_csq",
        Arc::new(csq_function::AnnotateVepCsqFunction),
    );
    ctx.register_udf(ScalarUDF::from(scalar::MostSevere::new(ctx)));
}
