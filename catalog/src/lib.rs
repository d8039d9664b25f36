//! genoflight-catalog: genomic files as DataFusion tables, and the catalog
//! that finds, names and registers them.

pub mod alignment;
mod bed;
mod bgzf_split;
mod columns;
pub mod config;
pub mod coords;
mod gff;
pub mod naming;
mod reference;
pub mod region;
pub mod registry;
pub mod sandbox;
pub mod scan;
mod sequence;
pub mod text;
pub mod vcf;
pub mod vep;

pub use config::CatalogConfig;
pub use registry::{CATALOG, CatalogReport, TableInfo, build_catalog};
