//! The VCF provider end to end through DataFusion, on generated files big
//! enough to be split into partitions.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{AsArray, Int64Array};
use arrow::datatypes::Int64Type;
use datafusion::prelude::{SessionConfig, SessionContext};
use genoflight_catalog::vcf::{bgzip_and_index, open_vcf};

const HEADER: &str = "##fileformat=VCFv4.2\n\
##contig=<ID=chr1,length=100000000>\n\
##contig=<ID=chr2,length=100000000>\n\
##INFO=<ID=DP,Number=1,Type=Integer,Description=\"Depth\">\n\
##INFO=<ID=AF,Number=A,Type=Float,Description=\"Allele frequency\">\n\
##INFO=<ID=DB,Number=0,Type=Flag,Description=\"dbSNP\">\n\
##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n\
##FORMAT=<ID=DP,Number=1,Type=Integer,Description=\"Depth\">\n\
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n";

/// `n` records per contig, POS = 10 * i + 1, deterministic content.
fn write_vcf(path: &Path, n: usize) {
    let mut text = String::from(HEADER);
    for chrom in ["chr1", "chr2"] {
        for i in 0..n {
            let pos = 10 * i + 1;
            let (reference, alt) = if i % 7 == 0 {
                ("ACG", "A,AT")
            } else {
                ("A", "G")
            };
            let qual = if i % 5 == 0 {
                ".".to_string()
            } else {
                format!("{}.5", i % 100)
            };
            let db = if i % 3 == 0 { ";DB" } else { "" };
            let af = if alt.contains(',') { "0.25,0.5" } else { "0.5" };
            writeln!(
                text,
                "{chrom}\t{pos}\trs{i}\t{reference}\t{alt}\t{qual}\tPASS\tDP={}{db};AF={af}\tGT:DP\t0/1:{}\t./.:.",
                i % 50,
                i % 30
            )
            .unwrap();
        }
    }
    std::fs::write(path, text).unwrap();
}

async fn ctx_with(path: &Path, partitions: usize) -> SessionContext {
    let ctx =
        SessionContext::new_with_config(SessionConfig::new().with_target_partitions(partitions));
    let (variants, genotypes) = open_vcf(path, false).unwrap();
    ctx.register_table("v", Arc::new(variants)).unwrap();
    ctx.register_table("g", Arc::new(genotypes.unwrap()))
        .unwrap();
    ctx
}

async fn ints(ctx: &SessionContext, sql: &str) -> Vec<i64> {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    batches
        .iter()
        .flat_map(|b| {
            (0..b.num_columns())
                .flat_map(|c| {
                    let col = arrow::compute::cast(b.column(c), &arrow::datatypes::DataType::Int64)
                        .unwrap();
                    col.as_primitive::<Int64Type>()
                        .iter()
                        .map(|v| v.unwrap_or(-1))
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

const N: usize = 120_000;

#[tokio::test(flavor = "multi_thread")]
async fn partitioned_scans_see_every_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("big.vcf");
    write_vcf(&plain, N);
    let bgzf = dir.path().join("big.vcf.gz");
    bgzip_and_index(&plain, &bgzf).unwrap();
    let sql = "SELECT count(*), sum(start), count(DISTINCT id || chrom) FROM v";
    let expected = vec![
        2 * N as i64,
        2 * (0..N as i64).map(|i| 10 * i + 1).sum::<i64>(),
        2 * N as i64,
    ];
    for path in [&plain, &bgzf] {
        for partitions in [1, 3, 8] {
            let ctx = ctx_with(path, partitions).await;
            assert_eq!(
                ints(&ctx, sql).await,
                expected,
                "{} with {partitions} partitions",
                path.display()
            );
        }
    }
    let ctx = ctx_with(&bgzf, 8).await;
    let plan = ctx
        .sql("EXPLAIN SELECT count(*) FROM v")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let text = arrow::util::pretty::pretty_format_batches(&plan)
        .unwrap()
        .to_string();
    assert!(
        text.contains("VcfExec") && !text.contains("partitions=1,"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn region_predicates_use_the_index_and_stay_exact() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("r.vcf");
    write_vcf(&plain, 20_000);
    let bgzf = dir.path().join("r.vcf.gz");
    bgzip_and_index(&plain, &bgzf).unwrap();
    let ctx = ctx_with(&bgzf, 2).await;
    let sql = "SELECT count(*) FROM v WHERE chrom = 'chr2' AND start >= 5001 AND start <= 15000";
    // POS = 10i + 1 in [5001, 15000] -> i in [500, 1499].
    assert_eq!(ints(&ctx, sql).await, vec![1000]);
    let explain = ctx
        .sql(&format!("EXPLAIN {sql}"))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let text = arrow::util::pretty::pretty_format_batches(&explain)
        .unwrap()
        .to_string();
    assert!(
        text.contains("regions=[chr2:5001-15000] via index"),
        "{text}"
    );
    assert_eq!(
        ints(&ctx, "SELECT count(*) FROM v WHERE chrom = 'chrX'").await,
        vec![0]
    );
    // Same answer without an index (plain text scan with the region filter).
    let ctx = ctx_with(&plain, 2).await;
    assert_eq!(ints(&ctx, sql).await, vec![1000]);
}

#[tokio::test(flavor = "multi_thread")]
async fn values_are_typed_and_genotypes_flattened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.vcf");
    write_vcf(&path, 10);
    let ctx = ctx_with(&path, 1).await;
    // i = 0: QUAL ".", DB set, multi-allelic with AF list of 2.
    let row = ctx
        .sql("SELECT qual IS NULL, \"DB\", array_length(\"AF\", 1), \"DP\", \"end\" FROM v WHERE chrom = 'chr1' AND start = 1")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let b = &row[0];
    assert!(b.column(0).as_boolean().value(0));
    assert!(b.column(1).as_boolean().value(0));
    assert_eq!(
        b.column(2)
            .as_primitive::<arrow::datatypes::UInt64Type>()
            .value(0),
        2
    );
    assert_eq!(
        b.column(4)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .value(0),
        3
    );
    assert_eq!(ints(&ctx, "SELECT count(*) FROM g").await, vec![40]);
    assert_eq!(
        ints(
            &ctx,
            "SELECT count(*) FROM g WHERE gt IS NULL OR gt = './.'"
        )
        .await,
        vec![20]
    );
    assert_eq!(ints(&ctx, "SELECT count(dp) FROM g").await, vec![20]);
    assert_eq!(ints(&ctx, "SELECT count(*) FROM v LIMIT 3").await, vec![20]);
    let nested = ints(&ctx, "SELECT sum(array_length(genotypes, 1)) FROM v").await;
    assert_eq!(nested, vec![40]);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_records_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.vcf");
    std::fs::write(&path, format!("{HEADER}chr1\t5\t.\tA\tC\t.\tPASS\t.\tGT:DP\t0/1:3\t0/0:1\nchr1\tx\t.\tA\tC\t.\tPASS\t.\n")).unwrap();
    let ctx = ctx_with(&path, 1).await;
    let err = ctx
        .sql("SELECT * FROM v")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bad.vcf") && err.contains("line 11") && err.contains("POS 'x'"),
        "{err}"
    );
}
