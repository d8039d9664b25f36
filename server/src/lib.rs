//! genoflight-server: the Arrow Flight SQL service over genoflight's
//! DataFusion catalog, and (feature `python`) the `genoflight._native` module.

pub mod config;
pub mod engine;
pub mod listing;
pub mod logging;
pub mod metadata;
#[cfg(feature = "python")]
mod python;
pub mod readonly;
pub mod serve;
pub mod service;
pub mod wire;
