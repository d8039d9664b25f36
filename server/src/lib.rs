//! genoflight-server: the Arrow Flight SQL service over genoflight's
//! DataFusion catalog, and (feature `python`) the `genoflight._native` module.

pub mod annotate;
pub mod auth;
pub mod config;
pub mod engine;
pub mod export;
pub mod limits;
pub mod listing;
pub mod logging;
pub mod metadata;
#[cfg(feature = "python")]
mod python;
pub mod queries;
pub mod readonly;
pub mod run;
pub mod serve;
pub mod service;
pub mod state;
pub mod tls;
pub mod wire;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
