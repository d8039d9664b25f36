//! The coordinate-system contract shared by every positional table.

use std::collections::HashMap;

/// Schema metadata key: `"true"` for 0-based half-open, `"false"` for 1-based closed.
pub const ZERO_BASED_KEY: &str = "bio.coordinate_system_zero_based";

/// Field metadata key the Flight SQL JDBC driver reports as a column's REMARKS.
pub const REMARKS_KEY: &str = "ARROW:FLIGHT:SQL:REMARKS";

pub fn schema_metadata(zero_based: bool) -> HashMap<String, String> {
    HashMap::from([(ZERO_BASED_KEY.to_string(), zero_based.to_string())])
}

/// Field metadata carrying a human description (column remarks for clients).
pub fn description(text: &str) -> HashMap<String, String> {
    if text.is_empty() {
        return HashMap::new();
    }
    HashMap::from([
        ("description".to_string(), text.to_string()),
        (REMARKS_KEY.to_string(), text.to_string()),
    ])
}

/// The coordinate system a schema declares: `Some(true)` 0-based half-open,
/// `Some(false)` 1-based closed, `None` when it does not say (Parquet, CSV).
pub fn declared_zero_based(metadata: &HashMap<String, String>) -> Option<bool> {
    metadata.get(ZERO_BASED_KEY).and_then(|v| v.parse().ok())
}
