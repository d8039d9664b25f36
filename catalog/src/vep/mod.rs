//! Ensembl VEP offline caches: the Perl data readers, the feature model, and
//! the cache's tables.

pub mod convert;
pub mod converted;
pub mod exec;
pub mod features;
pub mod info;
pub mod layout;
pub mod model;
pub mod perl;
pub mod sereal;
pub mod storable;
pub mod synonyms;
pub mod table;
pub mod variation;
