//! Clients are read-only: one query statement per request, nothing that
//! writes, creates, copies or changes settings.

use datafusion::common::{DataFusionError, Result};
use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::sqlparser::ast::{Query, SetExpr, Statement as Sql};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

/// Rewrites JDBC/ODBC-style `?` placeholders to DataFusion's `$1, $2, ...`.
pub fn number_placeholders(sql: &str) -> Result<String> {
    let tokens = Tokenizer::new(&GenericDialect {}, sql)
        .tokenize()
        .map_err(|e| DataFusionError::SQL(Box::new(e.into()), None))?;
    if !tokens
        .iter()
        .any(|t| matches!(t, Token::Placeholder(p) if p == "?"))
    {
        return Ok(sql.to_string());
    }
    let mut n = 0;
    Ok(tokens
        .iter()
        .map(|t| match t {
            Token::Placeholder(p) if p == "?" => {
                n += 1;
                format!("${n}")
            }
            t => t.to_string(),
        })
        .collect())
}

fn refuse(what: &str) -> DataFusionError {
    DataFusionError::Plan(format!(
        "genoflight is read-only: {what} statements are not allowed (only SELECT, WITH, EXPLAIN and SHOW)"
    ))
}

/// What a query would write: `SELECT ... INTO`, or DML inside a query
/// (`WITH x AS (...) INSERT ...`, possibly nested in set operations).
fn writes(query: &Query) -> Option<&'static str> {
    fn body(e: &SetExpr) -> Option<&'static str> {
        match e {
            SetExpr::Select(s) if s.into.is_some() => Some("SELECT INTO"),
            SetExpr::Query(q) => writes(q),
            SetExpr::SetOperation { left, right, .. } => body(left).or_else(|| body(right)),
            SetExpr::Insert(_) => Some("INSERT"),
            SetExpr::Update(_) => Some("UPDATE"),
            SetExpr::Delete(_) => Some("DELETE"),
            SetExpr::Merge(_) => Some("MERGE"),
            _ => None,
        }
    }
    body(&query.body)
}

fn check_query(query: &Query) -> Result<()> {
    match writes(query) {
        Some(what) => Err(refuse(what)),
        None => Ok(()),
    }
}

fn check(statement: &Statement) -> Result<()> {
    match statement {
        Statement::Statement(s) => match s.as_ref() {
            Sql::Query(q) => check_query(q),
            Sql::ShowTables { .. } | Sql::ShowColumns { .. } => Ok(()),
            Sql::Explain { statement, .. } => match statement.as_ref() {
                Sql::Query(q) => check_query(q),
                _ => Err(refuse("EXPLAIN of non-query")),
            },
            other => {
                let text = other.to_string();
                let keyword = text
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ");
                Err(refuse(&keyword))
            }
        },
        Statement::Explain(e) => check(&e.statement),
        Statement::CreateExternalTable(_) => Err(refuse("CREATE EXTERNAL TABLE")),
        Statement::CopyTo(_) => Err(refuse("COPY")),
        Statement::Reset(_) => Err(refuse("RESET")),
    }
}

/// Parses `sql`, requiring exactly one read-only statement.
pub fn parse_read_only(sql: &str) -> Result<Statement> {
    let mut statements = DFParser::parse_sql_with_dialect(sql, &GenericDialect {})?;
    if statements.len() != 1 {
        return Err(DataFusionError::Plan(format!(
            "expected exactly one SQL statement, got {}",
            statements.len()
        )));
    }
    let statement = statements.pop_front().expect("one statement");
    check(&statement)?;
    Ok(statement)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_pass_and_writes_are_refused() {
        for ok in [
            "SELECT 1",
            "WITH a AS (SELECT 1) SELECT * FROM a",
            "EXPLAIN SELECT 1",
            "SHOW TABLES",
        ] {
            parse_read_only(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "INSERT INTO t VALUES (1)",
            "CREATE TABLE t AS SELECT 1",
            "DROP TABLE t",
            "COPY (SELECT 1) TO '/tmp/x.csv'",
            "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/etc/passwd'",
            "SET datafusion.execution.batch_size = 1",
            "CREATE VIEW v AS SELECT 1",
            "SELECT 1; DROP TABLE t",
            "SELECT 1 AS x INTO t2",
            "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
            "EXPLAIN SELECT 1 INTO t2",
        ] {
            let e = parse_read_only(bad).unwrap_err().to_string();
            assert!(
                e.contains("read-only") || e.contains("exactly one"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn question_marks_become_numbered_placeholders() {
        let sql = number_placeholders("SELECT * FROM t WHERE a = ? AND b = '?' AND c > ?").unwrap();
        assert_eq!(sql, "SELECT * FROM t WHERE a = $1 AND b = '?' AND c > $2");
    }
}
