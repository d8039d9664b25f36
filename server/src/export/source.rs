//! The files a query reads: each table scan of the plan looked up in the
//! catalog, so a writer can reuse the header of the VCF or BAM it came from.

use std::path::PathBuf;

use datafusion::common::Result;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::logical_expr::LogicalPlan;
use genoflight_catalog::TableInfo;

use crate::engine::Engine;

/// A served file the query scans.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    /// The catalog's format name: "vcf", "bam", "sam", "cram", "bed", ...
    pub format: String,
}

/// The served files `plan` scans, in plan order, without repeats.
pub fn scanned(engine: &Engine, plan: &LogicalPlan) -> Result<Vec<SourceFile>> {
    let mut found: Vec<SourceFile> = Vec::new();
    plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            let name = &scan.table_name;
            let schema = name.schema().unwrap_or("public");
            let table: Option<&TableInfo> = engine
                .report()
                .tables
                .iter()
                .find(|t| t.name == name.table() && t.schema == schema);
            if let Some(t) = table
                && !found
                    .iter()
                    .any(|f| f.path == t.path && f.format == t.format)
            {
                found.push(SourceFile {
                    path: t.path.clone(),
                    format: t.format.clone(),
                });
            }
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    Ok(found)
}

/// The first scanned file of one of `formats`.
pub fn first_of<'a>(sources: &'a [SourceFile], formats: &[&str]) -> Option<&'a SourceFile> {
    sources
        .iter()
        .find(|s| formats.contains(&s.format.as_str()))
}
