//! Log setup: `GENOFLIGHT_LOG` (tracing env-filter syntax) picks the level.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter =
        EnvFilter::try_from_env("GENOFLIGHT_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // A second call (a second `serve` in one process) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
