//! Table-function arguments: a table named by a string literal, and options
//! written as `'name=value'` strings (DataFusion's table functions take no
//! named arguments), e.g. `depth('sample', 'min_mapping_quality=20')`.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::catalog::Session;
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::common::{DataFusionError, Result, ScalarValue, plan_err};
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::Expr;

/// A string literal argument, or a plan error naming the function and position.
pub fn string_arg(function: &str, exprs: &[Expr], i: usize, what: &str) -> Result<String> {
    match exprs.get(i) {
        Some(Expr::Literal(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)),
            _,
        )) => Ok(s.clone()),
        Some(other) => plan_err!(
            "{function}(): argument {} ({what}) must be a string literal, got {other}",
            i + 1
        ),
        None => plan_err!("{function}(): missing argument {} ({what})", i + 1),
    }
}

/// Resolves a table name (`t`, `schema.t` or `catalog.schema.t`) in the session.
pub fn table_arg(
    function: &str,
    session: &dyn Session,
    exprs: &[Expr],
    i: usize,
) -> Result<(String, Arc<dyn TableProvider>)> {
    let name = string_arg(function, exprs, i, "table name")?;
    let state = session
        .as_any()
        .downcast_ref::<SessionState>()
        .ok_or_else(|| DataFusionError::Internal(format!("{function}(): no session state")))?;
    let reference = TableReference::from(name.as_str());
    let schema = state.schema_for_ref(reference.clone())?;
    // Memory schema providers answer at once; no I/O happens here.
    match futures::executor::block_on(schema.table(reference.table()))? {
        Some(table) => Ok((name, table)),
        None => plan_err!("{function}(): table '{name}' not found (list tables with SHOW TABLES)"),
    }
}

/// `'name=value'` options after the positional arguments, validated against
/// the names a function knows.
#[derive(Debug, Default)]
pub struct Options {
    function: String,
    values: BTreeMap<String, String>,
}

impl Options {
    pub fn parse(function: &str, exprs: &[Expr], from: usize, known: &[&str]) -> Result<Options> {
        let mut values = BTreeMap::new();
        for i in from..exprs.len() {
            let text = string_arg(function, exprs, i, "option 'name=value'")?;
            for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let Some((key, value)) = item.split_once('=') else {
                    return plan_err!(
                        "{function}(): option '{item}' must be written 'name=value' (known: {})",
                        known.join(", ")
                    );
                };
                let key = key.trim().to_ascii_lowercase();
                if !known.contains(&key.as_str()) {
                    return plan_err!(
                        "{function}(): unknown option '{key}' (known: {})",
                        known.join(", ")
                    );
                }
                values.insert(key, value.trim().to_string());
            }
        }
        Ok(Options {
            function: function.to_string(),
            values,
        })
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    pub fn bool(&self, key: &str, default: bool) -> Result<bool> {
        match self.str(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("true" | "1" | "yes") => Ok(true),
            Some("false" | "0" | "no") => Ok(false),
            Some(v) => plan_err!(
                "{}(): option {key} must be true or false, got '{v}'",
                self.function
            ),
        }
    }

    pub fn int(&self, key: &str, default: i64) -> Result<i64> {
        match self.str(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                DataFusionError::Plan(format!(
                    "{}(): option {key} must be an integer, got '{v}'",
                    self.function
                ))
            }),
        }
    }
}

/// An optional integer literal argument.
pub fn int_arg(function: &str, exprs: &[Expr], i: usize, what: &str, default: i64) -> Result<i64> {
    match exprs.get(i) {
        None => Ok(default),
        Some(Expr::Literal(v, _)) if v.data_type().is_integer() => {
            match v.cast_to(&arrow::datatypes::DataType::Int64)? {
                ScalarValue::Int64(Some(n)) => Ok(n),
                _ => plan_err!("{function}(): argument {} ({what}) must not be NULL", i + 1),
            }
        }
        Some(other) => plan_err!(
            "{function}(): argument {} ({what}) must be an integer literal, got {other}",
            i + 1
        ),
    }
}

/// An optional boolean literal argument.
pub fn bool_arg(
    function: &str,
    exprs: &[Expr],
    i: usize,
    what: &str,
    default: bool,
) -> Result<bool> {
    match exprs.get(i) {
        None => Ok(default),
        Some(Expr::Literal(ScalarValue::Boolean(Some(b)), _)) => Ok(*b),
        Some(other) => plan_err!(
            "{function}(): argument {} ({what}) must be true or false, got {other}",
            i + 1
        ),
    }
}

/// Refuses arguments beyond the `max` a function takes.
pub fn at_most(function: &str, exprs: &[Expr], max: usize, usage: &str) -> Result<()> {
    if exprs.len() > max {
        return plan_err!("{function}(): too many arguments; usage: {usage}");
    }
    Ok(())
}
