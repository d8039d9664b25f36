//! genoflight-udfs: genomic SQL functions registered on every session.
//!
//! `annotate_vep`, `depth` and the interval-join optimizer rule land here;
//! `register` is the one entry point the server calls.

use datafusion::prelude::SessionContext;

/// Registers genoflight's functions and optimizer rules on `ctx`.
pub fn register(ctx: &SessionContext) {
    let _ = ctx;
}
