//! The catalog as JSON, for `genoflight tables` and the admin API.

use datafusion::common::Result;
use genoflight_catalog::CATALOG;
use serde_json::{Value, json};

use crate::engine::Engine;
use crate::wire::wire_schema;

pub async fn catalog_json(engine: &Engine) -> Result<String> {
    let catalog = engine.context().catalog(CATALOG);
    let mut tables = Vec::new();
    for info in &engine.report().tables {
        let Some(schema) = catalog.as_ref().and_then(|c| c.schema(&info.schema)) else {
            continue;
        };
        let Some(table) = schema.table(&info.name).await? else {
            continue;
        };
        let columns: Vec<Value> = wire_schema(&table.schema())
            .fields()
            .iter()
            .map(|f| {
                json!({
                    "name": f.name(),
                    "type": f.data_type().to_string(),
                    "nullable": f.is_nullable(),
                    "description": f.metadata().get("description"),
                })
            })
            .collect();
        tables.push(json!({
            "catalog": info.catalog,
            "schema": info.schema,
            "name": info.name,
            "path": info.path,
            "format": info.format,
            "columns": columns,
        }));
    }
    Ok(json!({ "tables": tables, "warnings": engine.report().warnings }).to_string())
}
