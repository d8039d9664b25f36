//! VCF (.vcf, .vcf.gz; BGZF with .tbi/.csi) as two tables: variants, and a
//! flat `<name>_genotypes` companion with one row per (variant, sample).

mod batch;
mod compress;
mod format;
pub mod header;
mod record;
pub mod schema;
mod values;

pub use batch::VariantBatchBuilder;
pub use compress::bgzip_and_index;
pub use format::open_vcf;
pub use record::Fields;
