//! Log setup: `GENOFLIGHT_LOG` (tracing env-filter syntax) picks the level;
//! `GENOFLIGHT_LOG_FORMAT=json` writes one JSON object per line (for log
//! shippers) instead of `key=value` text.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter =
        EnvFilter::try_from_env("GENOFLIGHT_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("GENOFLIGHT_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    // A second call (a second `serve` in one process) keeps the first subscriber.
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}
