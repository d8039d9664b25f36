//! VCF (.vcf, .vcf.gz; BGZF with .tbi/.csi) as two tables: variants, and a
//! flat `<name>_genotypes` companion with one row per (variant, sample).

mod batch;
mod compress;
mod exec;
pub mod header;
mod provider;
mod record;
pub mod schema;
pub mod source;
mod values;

pub use compress::bgzip_and_index;
pub use exec::VcfExec;
pub use provider::{VcfTable, open_vcf};
