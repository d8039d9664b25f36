//! VEP caches served as schemas: registration (configured and found in a
//! served directory), row counts against the data MANIFEST, region pruning,
//! the `VepCache` lookups, and clear errors for bad caches.

use std::path::{Path, PathBuf};

use arrow::array::{Array, Int64Array};
use arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::{SessionConfig, SessionContext};
use genoflight_catalog::build_catalog;
use genoflight_catalog::config::{CatalogConfig, PathEntry, VepCacheEntry};
use genoflight_catalog::vep::table::VepCache;

fn vep_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/vep")
}

fn present() -> bool {
    let ok = vep_dir().join("cache").exists();
    if !ok {
        eprintln!("skipped: {} not present", vep_dir().display());
    }
    ok
}

fn context() -> SessionContext {
    let config = SessionConfig::new()
        .with_default_catalog_and_schema(genoflight_catalog::CATALOG, "public")
        .with_create_default_catalog_and_schema(false);
    SessionContext::new_with_config(config)
}

async fn count(ctx: &SessionContext, sql: &str) -> Result<i64, String> {
    let df = ctx.sql(sql).await.map_err(|e| e.to_string())?;
    let batches = df.collect().await.map_err(|e| e.to_string())?;
    let col = batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    Ok(col.value(0))
}

async fn text(ctx: &SessionContext, sql: &str) -> Result<String, String> {
    let df = ctx.sql(sql).await.map_err(|e| e.to_string())?;
    let batches = df.collect().await.map_err(|e| e.to_string())?;
    Ok(pretty_format_batches(&batches).unwrap().to_string())
}

fn cache(name: &str, path: PathBuf) -> VepCacheEntry {
    VepCacheEntry {
        name: name.into(),
        path,
        synonyms: None,
    }
}

#[tokio::test]
async fn variation_counts_match_the_manifest() {
    if !present() {
        return;
    }
    let ctx = context();
    let config = CatalogConfig {
        vep_caches: vec![
            cache("vep", vep_dir().join("cache/homo_sapiens/84_GRCh38")),
            cache("sereal", vep_dir().join("cache/sereal/homo_sapiens")),
        ],
        ..Default::default()
    };
    let report = build_catalog(&ctx, &config).await.unwrap();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    // 116193 + 19762 lines in the two chr21 _var.gz files (LRG_485's is empty).
    assert_eq!(
        count(&ctx, "SELECT count(*) FROM vep.variation")
            .await
            .unwrap(),
        116193 + 19762
    );
    assert_eq!(
        count(
            &ctx,
            "SELECT count(*) FROM vep.variation WHERE start < 10000000"
        )
        .await
        .unwrap(),
        19762
    );
    // 73044 lines in the Sereal cache's tabix all_vars.gz.
    assert_eq!(
        count(&ctx, "SELECT count(*) FROM sereal.variation")
            .await
            .unwrap(),
        73044
    );
    let shown = text(
        &ctx,
        "SELECT chrom, start, \"end\", variation_name, allele_string, strand, failed \
         FROM vep.variation WHERE chrom = '21' AND start = 25000001",
    )
    .await
    .unwrap();
    assert!(
        shown.contains("rs574523538") && shown.contains("C/T"),
        "{shown}"
    );
    // Region pushdown through the index returns the same rows as a filter.
    let indexed = count(
        &ctx,
        "SELECT count(*) FROM sereal.variation WHERE chrom = '21' AND start >= 25500000 AND start <= 25600000",
    )
    .await
    .unwrap();
    let all = ctx
        .sql("SELECT start FROM sereal.variation")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let scanned: usize = all
        .iter()
        .map(|b| {
            let s = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
            (0..s.len())
                .filter(|&i| (25_500_000..=25_600_000).contains(&s.value(i)))
                .count()
        })
        .sum();
    assert!(indexed > 0);
    assert_eq!(indexed as usize, scanned);
}

#[tokio::test]
async fn region_predicates_prune_region_files() {
    if !present() {
        return;
    }
    let ctx = context();
    let config = CatalogConfig {
        vep_caches: vec![cache("vep", vep_dir().join("cache/homo_sapiens/84_GRCh38"))],
        ..Default::default()
    };
    build_catalog(&ctx, &config).await.unwrap();
    let plan = text(
        &ctx,
        "EXPLAIN SELECT count(*) FROM vep.variation WHERE chrom = '21' AND start BETWEEN 8100000 AND 8200000",
    )
    .await
    .unwrap();
    assert!(plan.contains("VepCacheExec"), "{plan}");
    assert!(plan.contains("21/8000001-9000000_var.gz"), "{plan}");
    assert!(!plan.contains("25000001-26000000_var.gz"), "{plan}");
    let plan = text(&ctx, "EXPLAIN SELECT count(*) FROM vep.variation")
        .await
        .unwrap();
    assert!(plan.contains("25000001-26000000_var.gz"), "{plan}");
}

#[tokio::test]
async fn the_cache_api_accepts_chr_names() {
    if !present() {
        return;
    }
    let cache = VepCache::open(&vep_dir().join("cache/homo_sapiens/84_GRCh38")).unwrap();
    assert_eq!(cache.info().assembly, "GRCh38");
    assert_eq!(cache.info().version, "84");
    let a = cache.variation("21", 25_000_001, 25_000_030).unwrap();
    let b = cache.variation("chr21", 25_000_001, 25_000_030).unwrap();
    assert_eq!(a, b);
    assert_eq!(a[0].variation_name.as_deref(), Some("rs574523538"));
    assert!(cache.variation("chr7", 1, 1000).unwrap().is_empty());
    let sereal = VepCache::open(&vep_dir().join("cache/sereal/homo_sapiens/84_GRCh38")).unwrap();
    let v = sereal.variation("chr21", 8_013_350, 8_013_350).unwrap();
    assert_eq!(v[0].variation_name.as_deref(), Some("rs879182429"));
}

#[tokio::test]
async fn served_directory_registers_its_caches() {
    if !present() {
        return;
    }
    let ctx = context();
    let config = CatalogConfig {
        paths: vec![PathEntry {
            path: vep_dir(),
            schema: "public".into(),
        }],
        ..Default::default()
    };
    let report = build_catalog(&ctx, &config).await.unwrap();
    let schemas: Vec<&str> = report
        .tables
        .iter()
        .filter(|t| t.format == "vep_cache")
        .map(|t| t.schema.as_str())
        .collect();
    for s in [
        "homo_sapiens_84_grch38",
        "homo_sapiens_refseq_84_grch38",
        "homo_sapiens_merged_84_grch38",
        "sereal_homo_sapiens_84_grch38",
    ] {
        assert_eq!(
            schemas.iter().filter(|x| **x == s).count(),
            6,
            "{s}: {schemas:?}"
        );
    }
    // The custom/ files are still ordinary tables; nothing inside a cache is.
    let public: Vec<&str> = report
        .tables
        .iter()
        .filter(|t| t.schema == "public")
        .map(|t| t.name.as_str())
        .collect();
    assert!(
        public.contains(&"test") || public.contains(&"bam_edit"),
        "{public:?}"
    );
    assert!(
        report
            .tables
            .iter()
            .all(|t| t.format == "vep_cache" || !t.path.to_string_lossy().contains("/cache/")),
        "{:?}",
        report.tables
    );
    assert_eq!(
        count(
            &ctx,
            "SELECT count(*) FROM sereal_homo_sapiens_84_grch38.variation"
        )
        .await
        .unwrap(),
        73044
    );
}

#[tokio::test]
async fn bad_caches_are_reported_and_the_rest_serves() {
    if !present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let no_info = dir.path().join("homo_sapiens").join("90_GRCh38");
    std::fs::create_dir_all(no_info.join("21")).unwrap();
    let ctx = context();
    let config = CatalogConfig {
        vep_caches: vec![
            cache("missing", dir.path().join("nowhere")),
            cache("noinfo", no_info.clone()),
            cache("vep", vep_dir().join("cache/homo_sapiens/84_GRCh38")),
        ],
        ..Default::default()
    };
    let report = build_catalog(&ctx, &config).await.unwrap();
    let warnings = report.warnings.join("\n");
    assert!(
        warnings.contains("nowhere") && warnings.contains("no such directory"),
        "{warnings}"
    );
    assert!(
        warnings.contains("90_GRCh38") && warnings.contains("info.txt"),
        "{warnings}"
    );
    let err = count(&ctx, "SELECT count(*) FROM noinfo.variation")
        .await
        .unwrap_err();
    assert!(
        err.contains("info.txt") && err.contains("90_GRCh38"),
        "{err}"
    );
    assert!(
        count(&ctx, "SELECT count(*) FROM vep.variation")
            .await
            .unwrap()
            > 0
    );
}

#[tokio::test]
async fn feature_counts_match_the_manifest() {
    if !present() {
        return;
    }
    let ctx = context();
    let c = |sub: &str| vep_dir().join("cache").join(sub);
    let config = CatalogConfig {
        vep_caches: vec![
            cache("vep", c("homo_sapiens/84_GRCh38")),
            cache("refseq", c("homo_sapiens_refseq/84_GRCh38")),
            cache("merged", c("homo_sapiens_merged")),
            cache("sereal", c("sereal/homo_sapiens/84_GRCh38")),
        ],
        ..Default::default()
    };
    let report = build_catalog(&ctx, &config).await.unwrap();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    // MANIFEST.tsv: objects per region file, one file per chromosome here.
    let expected = [
        ("SELECT count(*) FROM vep.transcripts", 68 + 97 + 1),
        (
            "SELECT count(*) FROM vep.transcripts WHERE chrom = '21'",
            68,
        ),
        (
            "SELECT count(*) FROM vep.transcripts WHERE chrom = 'LRG_485'",
            1,
        ),
        ("SELECT count(*) FROM vep.regulatory", 184),
        ("SELECT count(*) FROM vep.motifs", 1587),
        ("SELECT count(*) FROM refseq.transcripts", 86 + 1263),
        (
            "SELECT count(*) FROM refseq.transcripts WHERE chrom = 'MT'",
            1263,
        ),
        ("SELECT count(*) FROM merged.transcripts", 145),
        ("SELECT count(*) FROM sereal.transcripts", 70),
        ("SELECT count(*) FROM sereal.regulatory", 200),
        ("SELECT count(*) FROM sereal.motifs", 19),
    ];
    for (sql, n) in expected {
        assert_eq!(count(&ctx, sql).await.unwrap(), n, "{sql}");
    }
    // Exons and translations are the transcripts' own.
    let exons = count(&ctx, "SELECT sum(exon_count) FROM vep.transcripts").await;
    let exon_rows = count(&ctx, "SELECT count(*) FROM vep.exons").await.unwrap();
    assert_eq!(exons.unwrap(), exon_rows);
    let coding = count(
        &ctx,
        "SELECT count(*) FROM vep.transcripts WHERE translateable_seq IS NOT NULL",
    )
    .await
    .unwrap();
    assert_eq!(
        count(&ctx, "SELECT count(*) FROM vep.translations")
            .await
            .unwrap(),
        coding
    );
    // A region query returns what a full scan filtered the same way does.
    let window = "chrom = '21' AND start <= 25600000 AND \"end\" >= 25500000";
    let pruned = count(
        &ctx,
        &format!("SELECT count(*) FROM vep.transcripts WHERE {window}"),
    )
    .await
    .unwrap();
    let cache = VepCache::open(&c("homo_sapiens/84_GRCh38")).unwrap();
    let api = cache.transcripts("chr21", 25_500_000, 25_600_000).unwrap();
    assert!(pruned > 0);
    assert_eq!(api.len() as i64, pruned);
    assert!(
        api.iter()
            .all(|t| t.start <= 25_600_000 && t.end >= 25_500_000)
    );
    let plan = text(
        &ctx,
        &format!("EXPLAIN SELECT stable_id FROM vep.transcripts WHERE {window}"),
    )
    .await
    .unwrap();
    assert!(
        plan.contains("21/25000001-26000000.gz") && !plan.contains("22/"),
        "{plan}"
    );
    assert!(
        !cache
            .regulatory("21", 25_000_001, 26_000_000)
            .unwrap()
            .is_empty()
    );
    assert!(
        !cache
            .motifs("21", 25_000_001, 26_000_000)
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_corrupt_region_file_names_itself_and_the_rest_serves() {
    if !present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("homo_sapiens").join("84_GRCh38");
    let src = vep_dir().join("cache/homo_sapiens/84_GRCh38");
    std::fs::create_dir_all(root.join("21")).unwrap();
    std::fs::create_dir_all(root.join("22")).unwrap();
    std::fs::copy(src.join("info.txt"), root.join("info.txt")).unwrap();
    std::fs::copy(
        src.join("22/25000001-26000000.gz"),
        root.join("22/25000001-26000000.gz"),
    )
    .unwrap();
    // A gzip stream cut in half.
    let whole = std::fs::read(src.join("21/25000001-26000000.gz")).unwrap();
    std::fs::write(
        root.join("21/25000001-26000000.gz"),
        &whole[..whole.len() / 2],
    )
    .unwrap();
    let ctx = context();
    let config = CatalogConfig {
        vep_caches: vec![cache("bad", root.clone())],
        ..Default::default()
    };
    build_catalog(&ctx, &config).await.unwrap();
    let err = count(&ctx, "SELECT count(*) FROM bad.transcripts")
        .await
        .unwrap_err();
    assert!(err.contains("21/25000001-26000000.gz"), "{err}");
    assert_eq!(
        count(
            &ctx,
            "SELECT count(*) FROM bad.transcripts WHERE chrom = '22'"
        )
        .await
        .unwrap(),
        97
    );
}
