//! CRAM tables decode to the same alignments as their BAM twins, find their
//! reference among the served FASTAs, and refuse a missing or wrong one.

use std::path::{Path, PathBuf};

use arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::{SessionConfig, SessionContext};
use genoflight_catalog::build_catalog;
use genoflight_catalog::config::{CatalogConfig, PathEntry, TableEntry};

fn alignment_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/htslib/alignment")
}

fn context() -> SessionContext {
    let config = SessionConfig::new()
        .with_default_catalog_and_schema(genoflight_catalog::CATALOG, "public")
        .with_create_default_catalog_and_schema(false);
    SessionContext::new_with_config(config)
}

async fn text(ctx: &SessionContext, sql: &str) -> Result<String, String> {
    let df = ctx.sql(sql).await.map_err(|e| e.to_string())?;
    let batches = df.collect().await.map_err(|e| e.to_string())?;
    Ok(pretty_format_batches(&batches).unwrap().to_string())
}

const FIELDS: &str = "name, chrom, start, \"end\", flags, cigar, mapping_quality, \
    mate_chrom, mate_start, template_length, sequence, quality_scores";

#[tokio::test]
async fn cram_equals_its_bam_with_reference_found_by_md5() {
    let dir = alignment_dir();
    if !dir.exists() {
        eprintln!("skipped: {} not present", dir.display());
        return;
    }
    let ctx = context();
    let config = CatalogConfig {
        paths: vec![PathEntry {
            path: dir,
            schema: "public".into(),
        }],
        ..Default::default()
    };
    let report = build_catalog(&ctx, &config).await.unwrap();
    let names: Vec<&str> = report.tables.iter().map(|t| t.name.as_str()).collect();
    // range.bam and range.cram share a stem: the BAM (first by path) keeps it.
    assert!(
        names.contains(&"range_cram"),
        "{names:?} {:?}",
        report.warnings
    );
    // The quickcheck CRAM holds mpileup.1.bam's reads but, as `samtools view`
    // shows too, without the mates that point at another contig or the CIGARs
    // of unmapped reads.
    let own =
        "name, chrom, start, \"end\", flags, cigar, mapping_quality, sequence, quality_scores";
    for (cram, bam, fields) in [
        ("range_cram", "range", FIELDS),
        ("\"7_quickcheck_cram30_ok\"", "mpileup_1", own),
    ] {
        let order = "WHERE flags & 4 = 0 ORDER BY chrom, start, name, flags";
        let from_cram = text(&ctx, &format!("SELECT {fields} FROM {cram} {order}")).await;
        let from_bam = text(&ctx, &format!("SELECT {fields} FROM {bam} {order}")).await;
        let (c, b) = (from_cram.unwrap(), from_bam.unwrap());
        assert_eq!(c.lines().count(), b.lines().count(), "{cram} vs {bam}");
        for (x, y) in c.lines().zip(b.lines()) {
            assert_eq!(x, y, "{cram} vs {bam}");
        }
    }
    // A region through the .crai equals the same region of the BAM.
    let region =
        "WHERE chrom = 'CHROMOSOME_I' AND start <= 1000 AND \"end\" >= 900 ORDER BY start, name";
    let cram = text(&ctx, &format!("SELECT {FIELDS} FROM range_cram {region}"))
        .await
        .unwrap();
    let bam = text(&ctx, &format!("SELECT {FIELDS} FROM range {region}"))
        .await
        .unwrap();
    assert!(cram.lines().count() > 4, "{cram}");
    assert_eq!(cram, bam);
    let plan = text(
        &ctx,
        &format!("EXPLAIN SELECT name FROM range_cram {region}"),
    )
    .await
    .unwrap();
    assert!(
        plan.contains("CramExec") && plan.contains("via index"),
        "{plan}"
    );
}

#[tokio::test]
async fn missing_or_wrong_reference_is_a_clear_error() {
    let dir = alignment_dir();
    if !dir.exists() {
        return;
    }
    let alone = tempfile::tempdir().unwrap();
    std::fs::copy(dir.join("range.cram"), alone.path().join("range.cram")).unwrap();
    let ctx = context();
    let config = CatalogConfig {
        paths: vec![PathEntry {
            path: alone.path().to_path_buf(),
            schema: "public".into(),
        }],
        ..Default::default()
    };
    build_catalog(&ctx, &config).await.unwrap();
    let e = text(&ctx, "SELECT count(*) FROM range").await.unwrap_err();
    assert!(e.contains("no reference FASTA found"), "{e}");

    let ctx = context();
    let config = CatalogConfig {
        tables: vec![TableEntry {
            name: "r".into(),
            path: dir.join("range.cram"),
            schema: "public".into(),
            reference: Some(dir.join("toy.fa")),
            zero_based: false,
            attributes: vec![],
            tags: vec![],
        }],
        ..Default::default()
    };
    build_catalog(&ctx, &config).await.unwrap();
    let e = text(&ctx, "SELECT count(*) FROM r").await.unwrap_err();
    assert!(e.contains("does not match"), "{e}");
}
