//! The interval join must return exactly what DataFusion returns without it.

use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::util::pretty::pretty_format_batches;
use datafusion::datasource::MemTable;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

/// Deterministic pseudo-random intervals on three contigs, some NULL, some
/// zero-length, some touching.
fn intervals(seed: u64, n: usize) -> RecordBatch {
    let mut x = seed;
    let mut next = move |m: u64| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) % m
    };
    let (mut chrom, mut start, mut end, mut name) = (vec![], vec![], vec![], vec![]);
    for i in 0..n {
        chrom.push(["chr1", "chr2", "chrX"][next(3) as usize].to_string());
        let s = next(2000) as i64;
        let len = next(60) as i64;
        let null = next(40) == 0;
        start.push((!null).then_some(s));
        end.push(Some(s + len));
        name.push(format!("r{}", i % 7));
    }
    let schema = Schema::new(vec![
        Field::new("chrom", DataType::Utf8, true),
        Field::new("start", DataType::Int64, true),
        Field::new("end", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
    ]);
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(StringArray::from(chrom)),
            Arc::new(Int64Array::from(start)),
            Arc::new(Int64Array::from(end)),
            Arc::new(StringArray::from(name)),
        ],
    )
    .unwrap()
}

fn context(with_rule: bool) -> SessionContext {
    let config = SessionConfig::new()
        .with_target_partitions(2)
        .with_batch_size(64);
    let mut state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features();
    if with_rule {
        state = state.with_physical_optimizer_rules(crate::physical_optimizer_rules());
    }
    let ctx = SessionContext::new_with_state(state.build());
    for (name, seed, n) in [("a", 1, 300), ("b", 2, 500)] {
        let batch = intervals(seed, n);
        // Two partitions per table, so build and probe sides are both split.
        let (x, y) = (batch.slice(0, n / 2), batch.slice(n / 2, n - n / 2));
        let table = MemTable::try_new(batch.schema(), vec![vec![x], vec![y]]).unwrap();
        ctx.register_table(name, Arc::new(table)).unwrap();
    }
    ctx
}

async fn rows(ctx: &SessionContext, sql: &str) -> String {
    let sorted = format!("SELECT * FROM ({sql}) ORDER BY 1, 2, 3, 4, 5, 6, 7, 8");
    let batches = ctx.sql(&sorted).await.unwrap().collect().await.unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

async fn plan(ctx: &SessionContext, sql: &str) -> String {
    let batches = ctx
        .sql(&format!("EXPLAIN {sql}"))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

const JOINS: &[&str] = &[
    // 1-based closed, both orientations and orders.
    "SELECT a.*, b.* FROM a JOIN b ON a.chrom = b.chrom AND a.start <= b.end AND a.end >= b.start",
    "SELECT a.*, b.* FROM a JOIN b ON b.chrom = a.chrom AND b.start <= a.end AND b.end >= a.start",
    "SELECT a.*, b.* FROM a, b WHERE a.chrom = b.chrom AND a.end >= b.start AND b.end >= a.start",
    // 0-based half-open (strict).
    "SELECT a.*, b.* FROM a JOIN b ON a.chrom = b.chrom AND a.start < b.end AND a.end > b.start",
    // Residual predicate and a converted side.
    "SELECT a.*, b.* FROM a JOIN b ON a.chrom = b.chrom AND a.start < b.end AND a.end > b.start AND a.name <> b.name",
    "SELECT a.*, b.* FROM a JOIN b ON a.chrom = b.chrom AND a.start <= b.end + 1 AND a.end >= b.start - 1",
    // Point in interval.
    "SELECT a.*, b.* FROM a JOIN b ON a.chrom = b.chrom AND a.start BETWEEN b.start AND b.end",
    // Outer joins keep the preserved side's unmatched rows.
    "SELECT a.*, b.* FROM a LEFT JOIN b ON a.chrom = b.chrom AND a.start <= b.end AND a.end >= b.start",
    "SELECT a.*, b.* FROM a RIGHT JOIN b ON a.chrom = b.chrom AND a.start <= b.end AND a.end >= b.start AND a.name = b.name",
    // No chromosome key: one tree.
    "SELECT a.*, b.* FROM a JOIN b ON a.start <= b.end AND a.end >= b.start AND a.chrom = 'chr1' AND b.chrom = 'chr2'",
    // Aggregates over the join (count-only projection).
    "SELECT a.chrom, count(*), sum(b.end - b.start), min(a.name), max(b.name), 0 AS x, 0 AS y, 0 AS z FROM a JOIN b ON a.chrom = b.chrom AND a.start < b.end AND a.end > b.start GROUP BY a.chrom",
];

#[tokio::test]
async fn interval_join_matches_datafusion() {
    let (with, without) = (context(true), context(false));
    for sql in JOINS {
        let explained = plan(&with, sql).await;
        assert!(
            explained.contains("IntervalJoinExec"),
            "not rewritten: {sql}\n{explained}"
        );
        assert!(!plan(&without, sql).await.contains("IntervalJoinExec"));
        assert_eq!(rows(&with, sql).await, rows(&without, sql).await, "{sql}");
    }
}

#[tokio::test]
async fn equality_joins_are_left_alone() {
    let ctx = context(true);
    let sql = "SELECT * FROM a JOIN b ON a.chrom = b.chrom AND a.start = b.start";
    assert!(!plan(&ctx, sql).await.contains("IntervalJoinExec"));
}
