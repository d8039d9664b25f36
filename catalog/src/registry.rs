//! Builds the `genoflight` catalog from the configuration: finds files,
//! names tables (resolving collisions), and registers a provider for each.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::CatalogProvider;
use datafusion::catalog::{MemoryCatalogProvider, MemorySchemaProvider, Session};
use datafusion::common::{DataFusionError, Result, TableReference};
use datafusion::datasource::{TableProvider, TableType};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionContext};
use serde::Serialize;

use crate::alignment::{AlignmentFormat, open_alignment};
use crate::bed::open_bed;
use crate::config::CatalogConfig;
use crate::gff::{Dialect, open_gff};
use crate::naming::{Format, classify, sanitize, suffix_tag, vep_schema_name};
use crate::reference;
use crate::sandbox::DataRoots;
use crate::sequence::{Kind, open_sequences};
use crate::vcf::open_vcf;
use crate::vep::layout::{find_cache_dir, looks_like_cache};
use crate::vep::table::{VepCache, VepCacheTable, VepTableKind};

pub const CATALOG: &str = "genoflight";

/// A served table, for listings (`genoflight tables`, the admin API).
#[derive(Debug, Clone, Serialize)]
pub struct TableInfo {
    pub catalog: String,
    pub schema: String,
    pub name: String,
    pub path: PathBuf,
    pub format: String,
}

/// What building the catalog registered, and what it had to skip or rename.
#[derive(Debug, Default)]
pub struct CatalogReport {
    pub tables: Vec<TableInfo>,
    pub warnings: Vec<String>,
    pub roots: DataRoots,
}

struct Candidate {
    schema: String,
    name: String,
    path: PathBuf,
    format: Format,
    stem: String,
    explicit: bool,
    zero_based: bool,
    reference: Option<PathBuf>,
    attributes: Vec<String>,
    tags: Vec<String>,
}

impl Candidate {
    fn has_index(&self) -> bool {
        ["tbi", "csi"]
            .iter()
            .any(|e| PathBuf::from(format!("{}.{e}", self.path.display())).exists())
    }
}

/// Lists the files under `dir`; VEP cache directories are collected whole
/// in `caches` (their region files and info.txt are not tables).
fn walk(dir: &Path, out: &mut Vec<PathBuf>, caches: &mut Vec<PathBuf>, warnings: &mut Vec<String>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            warnings.push(format!("{}: cannot list directory: {e}", dir.display()));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if p.is_dir() && looks_like_cache(&p) {
            caches.push(p);
        } else if p.is_dir() {
            walk(&p, out, caches, warnings);
        } else {
            out.push(p);
        }
    }
}

fn discover(
    config: &CatalogConfig,
    roots: &DataRoots,
    caches: &mut Vec<PathBuf>,
    warnings: &mut Vec<String>,
) -> Vec<Candidate> {
    let mut candidates = Vec::new();
    let explicit: HashSet<PathBuf> = config
        .tables
        .iter()
        .filter_map(|t| t.path.canonicalize().ok())
        .collect();
    for entry in &config.paths {
        if !entry.path.exists() {
            warnings.push(format!(
                "{}: no such file or directory",
                entry.path.display()
            ));
            continue;
        }
        let mut files = Vec::new();
        let mut found = Vec::new();
        if entry.path.is_dir() && looks_like_cache(&entry.path) {
            found.push(entry.path.clone());
        } else if entry.path.is_dir() {
            walk(&entry.path, &mut files, &mut found, warnings);
        } else {
            files.push(entry.path.clone());
        }
        caches.extend(found);
        for path in files {
            let Some((format, stem)) = classify(&path) else {
                continue;
            };
            let Ok(canonical) = roots.resolve(&path) else {
                warnings.push(format!(
                    "{}: links outside the served directories; skipped",
                    path.display()
                ));
                continue;
            };
            if explicit.contains(&canonical) {
                continue;
            }
            candidates.push(Candidate {
                schema: entry.schema.clone(),
                name: sanitize(&stem),
                path,
                format,
                stem,
                explicit: false,
                zero_based: false,
                reference: None,
                attributes: vec![],
                tags: vec![],
            });
        }
    }
    for t in &config.tables {
        let Some((format, stem)) = classify(&t.path) else {
            warnings.push(format!(
                "table {}: {}: not a recognised genomic file",
                t.name,
                t.path.display()
            ));
            continue;
        };
        candidates.push(Candidate {
            schema: t.schema.clone(),
            name: t.name.clone(),
            path: t.path.clone(),
            format,
            stem,
            explicit: true,
            zero_based: t.zero_based,
            reference: t.reference.clone(),
            attributes: t.attributes.clone(),
            tags: t.tags.clone(),
        });
    }
    candidates
}

/// Gives every candidate a unique name in its schema: explicit names first,
/// then indexed files, then by path; the others get their suffix appended.
fn assign_names(candidates: &mut [Candidate], warnings: &mut Vec<String>) {
    candidates.sort_by(|a, b| {
        (&a.schema, &a.name, !a.explicit, !a.has_index(), &a.path).cmp(&(
            &b.schema,
            &b.name,
            !b.explicit,
            !b.has_index(),
            &b.path,
        ))
    });
    let mut taken: HashSet<(String, String)> = HashSet::new();
    for c in candidates.iter_mut() {
        let wanted = c.name.clone();
        if taken.contains(&(c.schema.clone(), wanted.clone())) {
            let base = format!("{wanted}_{}", suffix_tag(&c.path, &c.stem));
            let mut name = base.clone();
            let mut n = 2;
            while taken.contains(&(c.schema.clone(), name.clone())) {
                name = format!("{base}_{n}");
                n += 1;
            }
            warnings.push(format!(
                "{}: table name {}.{wanted} is taken; serving it as {}.{name}",
                c.path.display(),
                c.schema,
                c.schema
            ));
            c.name = name;
        }
        taken.insert((c.schema.clone(), c.name.clone()));
    }
}

/// A file that could not be opened: listed, and querying it returns why.
#[derive(Debug)]
struct UnreadableTable {
    error: String,
}

#[async_trait]
impl TableProvider for UnreadableTable {
    fn schema(&self) -> SchemaRef {
        Arc::new(Schema::empty())
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Err(DataFusionError::Execution(self.error.clone()))
    }
}

/// The stand-in for a file that cannot be opened, with a warning.
fn unreadable(error: String, c: &Candidate, warnings: &mut Vec<String>) -> Arc<dyn TableProvider> {
    warnings.push(format!(
        "{error} (table {}.{} will report this)",
        c.schema, c.name
    ));
    Arc::new(UnreadableTable { error })
}

/// Registers every configured table in catalog `genoflight` of `ctx`.
pub async fn build_catalog(ctx: &SessionContext, config: &CatalogConfig) -> Result<CatalogReport> {
    let roots = DataRoots::new(
        config
            .paths
            .iter()
            .map(|p| p.path.clone())
            .chain(config.tables.iter().map(|t| t.path.clone()))
            .chain(config.vep_caches.iter().map(|c| c.path.clone())),
    );
    let mut report = CatalogReport {
        roots,
        ..Default::default()
    };
    let mut found_caches = Vec::new();
    let mut candidates = discover(
        config,
        &report.roots,
        &mut found_caches,
        &mut report.warnings,
    );
    assign_names(&mut candidates, &mut report.warnings);

    // Served FASTAs, candidate references for CRAM files.
    let fastas: Vec<PathBuf> = candidates
        .iter()
        .filter(|c| c.format == Format::Fasta)
        .map(|c| c.path.clone())
        .collect();
    let catalog = Arc::new(MemoryCatalogProvider::new());
    let schema_names: BTreeMap<&str, ()> = candidates
        .iter()
        .map(|c| (c.schema.as_str(), ()))
        .chain([("public", ())])
        .collect();
    for schema in schema_names.keys() {
        catalog.register_schema(schema, Arc::new(MemorySchemaProvider::new()))?;
    }
    ctx.register_catalog(CATALOG, catalog.clone());

    let mut taken: HashSet<(String, String)> = candidates
        .iter()
        .map(|c| (c.schema.clone(), c.name.clone()))
        .collect();
    for c in &candidates {
        let schema = catalog.schema(&c.schema).expect("registered above");
        let info = |name: &str, format: &str| TableInfo {
            catalog: CATALOG.into(),
            schema: c.schema.clone(),
            name: name.to_string(),
            path: c.path.clone(),
            format: format.into(),
        };
        if !c.attributes.is_empty() && !matches!(c.format, Format::Gff3 | Format::Gtf) {
            report.warnings.push(format!(
                "table {}: `attributes` applies to GFF3/GTF tables only; ignored for {}",
                c.name,
                c.path.display()
            ));
        }
        if !c.tags.is_empty() && !matches!(c.format, Format::Bam | Format::Cram | Format::Sam) {
            report.warnings.push(format!(
                "table {}: `tags` applies to BAM/SAM/CRAM tables only; ignored for {}",
                c.name,
                c.path.display()
            ));
        }
        match c.format {
            Format::Vcf => match open_vcf(&c.path, c.zero_based) {
                Ok((variants, genotypes)) => {
                    schema.register_table(c.name.clone(), Arc::new(variants))?;
                    report.tables.push(info(&c.name, "vcf"));
                    if let Some(genotypes) = genotypes {
                        let mut name = format!("{}_genotypes", c.name);
                        while taken.contains(&(c.schema.clone(), name.clone())) {
                            name.push('_');
                        }
                        taken.insert((c.schema.clone(), name.clone()));
                        schema.register_table(name.clone(), Arc::new(genotypes))?;
                        report.tables.push(info(&name, "vcf_genotypes"));
                    }
                }
                Err(e) => {
                    let table = unreadable(e.strip_backtrace(), c, &mut report.warnings);
                    schema.register_table(c.name.clone(), table)?;
                    report.tables.push(info(&c.name, "vcf"));
                }
            },
            Format::Bam | Format::Cram | Format::Sam => {
                let kind = match c.format {
                    Format::Bam => AlignmentFormat::Bam,
                    Format::Cram => AlignmentFormat::Cram,
                    _ => AlignmentFormat::Sam,
                };
                let opened = open_alignment(&c.path, kind, c.zero_based)
                    .and_then(|t| t.with_tag_columns(&c.tags))
                    .map_err(|e| e.strip_backtrace())
                    .and_then(|t| {
                        if kind != AlignmentFormat::Cram {
                            return Ok(t);
                        }
                        let found = reference::resolve(
                            &c.path,
                            t.header(),
                            c.reference.as_deref(),
                            &fastas,
                            &report.roots,
                        )?;
                        Ok(t.with_reference(found))
                    });
                let table: Arc<dyn TableProvider> = match opened {
                    Ok(t) => Arc::new(t),
                    Err(e) => unreadable(e, c, &mut report.warnings),
                };
                schema.register_table(c.name.clone(), table)?;
                report.tables.push(info(&c.name, c.format.as_str()));
            }
            Format::Bed | Format::Gff3 | Format::Gtf | Format::Fasta | Format::Fastq => {
                let opened = match c.format {
                    Format::Bed => open_bed(&c.path, c.zero_based),
                    Format::Fasta => open_sequences(&c.path, Kind::Fasta),
                    Format::Fastq => open_sequences(&c.path, Kind::Fastq),
                    Format::Gtf => open_gff(&c.path, Dialect::Gtf, c.zero_based, &c.attributes),
                    _ => open_gff(&c.path, Dialect::Gff3, c.zero_based, &c.attributes),
                };
                let table: Arc<dyn TableProvider> = match opened {
                    Ok(t) => Arc::new(t),
                    Err(e) => unreadable(e.strip_backtrace(), c, &mut report.warnings),
                };
                schema.register_table(c.name.clone(), table)?;
                report.tables.push(info(&c.name, c.format.as_str()));
            }
            Format::Parquet | Format::Csv | Format::Tsv => {
                let table = TableReference::full(CATALOG, c.schema.as_str(), c.name.as_str());
                let path = c.path.to_string_lossy();
                let registered = match c.format {
                    Format::Parquet => {
                        // Keep the file's schema metadata: it may declare the
                        // coordinate system (bio.coordinate_system_zero_based).
                        let options = ParquetReadOptions::default().skip_metadata(false);
                        ctx.register_parquet(table, path.as_ref(), options).await
                    }
                    Format::Csv => {
                        ctx.register_csv(
                            table,
                            path.as_ref(),
                            CsvReadOptions::new().has_header(true),
                        )
                        .await
                    }
                    _ => {
                        let options = CsvReadOptions::new()
                            .has_header(true)
                            .delimiter(b'\t')
                            .file_extension(".tsv");
                        ctx.register_csv(table, path.as_ref(), options).await
                    }
                };
                match registered {
                    Ok(()) => report.tables.push(info(&c.name, c.format.as_str())),
                    Err(e) => {
                        let error = format!("{}: {}", c.path.display(), e.strip_backtrace());
                        let table = unreadable(error, c, &mut report.warnings);
                        schema.register_table(c.name.clone(), table)?;
                        report.tables.push(info(&c.name, c.format.as_str()));
                    }
                }
            }
        }
    }
    register_vep_caches(&catalog, config, found_caches, &mut report)?;
    for w in &report.warnings {
        tracing::warn!("{w}");
    }
    Ok(report)
}

/// Registers each VEP cache as a schema holding its six tables: configured
/// caches under their name, caches found in served directories under
/// `<species>_<version>_<assembly>` lowercased (unless also configured). A
/// cache that cannot be opened still gets its tables, which report why.
fn register_vep_caches(
    catalog: &MemoryCatalogProvider,
    config: &CatalogConfig,
    mut found: Vec<PathBuf>,
    report: &mut CatalogReport,
) -> Result<()> {
    let canonical = |p: &Path| find_cache_dir(p).ok().and_then(|d| d.canonicalize().ok());
    let mut wanted: Vec<(String, PathBuf, Option<PathBuf>)> = config
        .vep_caches
        .iter()
        .map(|c| (c.name.clone(), c.path.clone(), c.synonyms.clone()))
        .collect();
    let configured: HashSet<PathBuf> = config
        .vep_caches
        .iter()
        .filter_map(|c| canonical(&c.path))
        .collect();
    let mut taken: HashSet<String> = catalog
        .schema_names()
        .into_iter()
        .chain(wanted.iter().map(|(n, _, _)| n.clone()))
        .collect();
    found.sort();
    for dir in found {
        if canonical(&dir).is_some_and(|c| configured.contains(&c)) {
            continue;
        }
        let wanted_name = vep_schema_name(&dir, false);
        let mut name = wanted_name.clone();
        if taken.contains(&name) {
            name = vep_schema_name(&dir, true);
            let base = name.clone();
            let mut n = 2;
            while taken.contains(&name) {
                name = format!("{base}_{n}");
                n += 1;
            }
            report.warnings.push(format!(
                "{}: VEP cache schema {wanted_name} is taken; serving it as {name}",
                dir.display()
            ));
        }
        taken.insert(name.clone());
        wanted.push((name, dir, None));
    }
    for (name, path, synonyms) in wanted {
        let schema = match catalog.schema(&name) {
            Some(s) => s,
            None => {
                catalog.register_schema(&name, Arc::new(MemorySchemaProvider::new()))?;
                catalog.schema(&name).expect("registered above")
            }
        };
        let opened = VepCache::open_configured(&path, synonyms.as_deref())
            .map_err(|e| format!("VEP cache {name}: {}", e.strip_backtrace()));
        if let Err(e) = &opened {
            report.warnings.push(format!(
                "{e} (its tables {name}.transcripts, ... will report this)"
            ));
        }
        for kind in VepTableKind::ALL {
            if schema.table_exist(kind.name()) {
                report.warnings.push(format!(
                    "{}: table name {name}.{} is taken; the VEP cache's table is not served",
                    path.display(),
                    kind.name()
                ));
                continue;
            }
            let table: Arc<dyn TableProvider> = match &opened {
                Ok(cache) => Arc::new(VepCacheTable::new(cache.clone(), kind)),
                Err(e) => Arc::new(UnreadableTable { error: e.clone() }),
            };
            schema.register_table(kind.name().to_string(), table)?;
            report.tables.push(TableInfo {
                catalog: CATALOG.into(),
                schema: name.clone(),
                name: kind.name().into(),
                path: opened
                    .as_ref()
                    .map(|c| c.root().to_path_buf())
                    .unwrap_or_else(|_| path.clone()),
                format: "vep_cache".into(),
            });
        }
    }
    Ok(())
}
