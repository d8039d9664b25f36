//! Variant statistics as SQL (issue 9), matching bcftools 1.16:
//! `vcf_stats('<vcf table>')`, the numbers of `bcftools stats` (SN, TSTV,
//! QUAL, IDD, PSC) as one long table, and the scalar functions
//! `variant_type`, `is_transition`, `is_transversion`.
//!
//! classify.rs: bcftools' allele types and ts/tv; genotype.rs: GT types;
//! qual.rs: QUAL bins; accumulate.rs: the counters and how a record adds to
//! them; scan.rs: the parallel pass over a file; rows.rs: the output table;
//! function.rs: the table function and its plan; scalar.rs: the scalar
//! functions.

mod accumulate;
pub mod classify;
mod function;
mod genotype;
mod qual;
mod rows;
mod scalar;
mod scan;

use std::sync::Arc;

use datafusion::prelude::SessionContext;

pub use function::VcfStatsFunction;

/// Registers `vcf_stats` and the allele functions.
pub fn register(ctx: &SessionContext) {
    ctx.register_udtf(function::NAME, Arc::new(VcfStatsFunction));
    scalar::register(ctx);
}
