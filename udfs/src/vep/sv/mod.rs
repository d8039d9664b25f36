//! Structural variants as Ensembl VEP annotates them from VCF input.
//!
//! parse.rs: which records are structural, their coordinates, SO class and
//! VEP's reasons to skip them (unsupported type, incomplete deletion,
//! `--max_sv_size`); effects.rs: the consequence predicates VEP runs for
//! structural variants; rows.rs: the output rows of one SV; input.rs: the
//! END/SVTYPE/SVLEN columns of a VCF table.

pub mod effects;
pub mod input;
pub mod parse;
pub mod rows;

pub use input::{SvColumns, SvValues};
pub use parse::{MAX_SV_SIZE, SvInfo, SvRecord, is_structural, read_sv};
pub use rows::sv_rows;
