//! The provider `depth()` returns: its schema, region pushdown, and the plan
//! of work items per partition (balanced by the index's file offsets).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, Result};
use datafusion::datasource::{TableProvider, TableType};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use genoflight_catalog::alignment::{AlignmentFormat, AlignmentTable, SharedIndex};
use genoflight_catalog::coords;
use genoflight_catalog::region::RegionFilter;
use genoflight_catalog::text::Region;
use noodles::core::Position;
use noodles::core::region::Interval;
use noodles::sam;

use super::DepthOptions;
use super::exec::{DepthExec, Item, Plan};

/// Past any real position ("to the end of the contig").
pub const FAR: i64 = i64::MAX / 4;

/// A partition is worth starting for about this many compressed bytes.
const MIN_PARTITION_BYTES: u64 = 4 << 20;

/// What an execution needs of the alignment table.
pub struct Source {
    pub path: PathBuf,
    pub display: String,
    pub format: AlignmentFormat,
    pub header: Arc<sam::Header>,
    pub index: Option<SharedIndex>,
    /// CRAM: the FASTA its records decode against.
    pub reference: Option<PathBuf>,
    pub zero_based: bool,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source").field("path", &self.path).finish()
    }
}

impl Source {
    pub fn contig_len(&self, tid: usize) -> i64 {
        self.header
            .reference_sequences()
            .get_index(tid)
            .map_or(0, |(_, rs)| usize::from(rs.length()) as i64)
    }

    pub fn contig_name(&self, tid: usize) -> String {
        self.header
            .reference_sequences()
            .get_index(tid)
            .map(|(n, _)| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default()
    }

    pub fn contigs(&self) -> usize {
        self.header.reference_sequences().len()
    }

    /// The last position an index query may ask for on `tid`.
    fn query_end(&self, tid: usize) -> i64 {
        // BAI bins stop at 2^29 - 1.
        self.contig_len(tid).clamp(1, (1 << 29) - 1)
    }

    /// The virtual offsets of the records overlapping `from..` on `tid`:
    /// the smallest chunk start and the largest chunk end; `None` when there are none.
    pub fn chunks_from(&self, tid: usize, from: i64) -> std::io::Result<Option<(u64, u64)>> {
        let Some(index) = &self.index else {
            return Ok(None);
        };
        let end = self.query_end(tid);
        let from = from.clamp(1, end);
        let pos = |p: i64| Position::try_from(p as usize).expect("positive");
        let chunks = index.query(tid, Interval::from(pos(from)..=pos(end)))?;
        let lo = chunks.iter().map(|c| u64::from(c.start())).min();
        let hi = chunks.iter().map(|c| u64::from(c.end())).max();
        Ok(lo.zip(hi))
    }
}

#[derive(Debug)]
pub struct DepthTable {
    source: Arc<Source>,
    options: Arc<DepthOptions>,
    schema: SchemaRef,
}

fn schema(per_base: bool, zero_based: bool) -> SchemaRef {
    let described = |f: Field, text: &str| f.with_metadata(coords::description(text));
    let (start, end) = if zero_based {
        ("0-based start of the run", "exclusive end of the run")
    } else {
        (
            "1-based first position of the run",
            "1-based last position of the run (inclusive)",
        )
    };
    let mut fields = vec![described(
        Field::new("chrom", DataType::Utf8, false),
        "reference sequence",
    )];
    if per_base {
        let text = if zero_based {
            "0-based position"
        } else {
            "1-based position"
        };
        fields.push(described(Field::new("pos", DataType::Int64, false), text));
    } else {
        fields.push(described(
            Field::new("start", DataType::Int64, false),
            start,
        ));
        fields.push(described(Field::new("end", DataType::Int64, false), end));
    }
    fields.push(described(
        Field::new("depth", DataType::Int32, false),
        "reads covering the position (samtools depth)",
    ));
    Arc::new(Schema::new(fields).with_metadata(coords::schema_metadata(zero_based)))
}

/// Per-base rows have `pos` where blocks have `start`: read it as `start`.
fn as_start(e: &Expr) -> Expr {
    e.clone()
        .transform(|e| {
            Ok(match e {
                Expr::Column(c) if c.name == "pos" => {
                    Transformed::yes(Expr::Column(Column::new(c.relation.clone(), "start")))
                }
                other => Transformed::no(other),
            })
        })
        .map(|t| t.data)
        .unwrap_or_else(|_| e.clone())
}

impl DepthTable {
    pub fn new(table: &AlignmentTable, options: DepthOptions) -> DepthTable {
        let source = Source {
            path: table.path().to_path_buf(),
            display: table.path().display().to_string(),
            format: table.format(),
            header: table.header().clone(),
            index: table.index().cloned(),
            reference: table.reference().map(Path::to_path_buf),
            zero_based: table.zero_based(),
        };
        DepthTable {
            schema: schema(options.per_base, source.zero_based),
            source: Arc::new(source),
            options: Arc::new(options),
        }
    }

    fn filters(&self, filters: &[Expr]) -> Vec<Expr> {
        if self.options.per_base {
            filters.iter().map(as_start).collect()
        } else {
            filters.to_vec()
        }
    }

    /// The stretches to compute, in header order: `(tid, from, to, probe)`.
    fn ranges(&self, regions: &[Region]) -> Vec<Item> {
        let src = &self.source;
        let (dlo, dhi) = self
            .options
            .region
            .as_ref()
            .map_or((1, FAR), |r| (r.start, r.end));
        let probe = !self.options.per_base;
        let mut out = Vec::new();
        for tid in 0..src.contigs() {
            if self.options.region.as_ref().is_some_and(|r| r.tid != tid) {
                continue;
            }
            if regions.is_empty() {
                out.push(Item {
                    tid,
                    from: dlo,
                    to: dhi,
                    probe: false,
                });
                continue;
            }
            let name = src.contig_name(tid);
            for r in regions.iter().filter(|r| r.chrom == name) {
                let (from, to) = (r.start.max(dlo), r.end.min(dhi));
                if from <= to {
                    out.push(Item {
                        tid,
                        from,
                        to,
                        probe: probe && from > dlo,
                    });
                }
            }
        }
        out.dedup_by(|a, b| a.tid == b.tid && a.from == b.from && a.to == b.to);
        out
    }

    /// Work items per partition: contiguous stretches of about equal
    /// compressed size, split inside contigs where the index says the bytes are.
    fn plan(&self, regions: &[Region], target: usize) -> Result<Plan> {
        let src = &self.source;
        if src.index.is_none() {
            let tids = (!regions.is_empty()).then(|| {
                (0..src.contigs())
                    .filter(|&t| regions.iter().any(|r| r.chrom == src.contig_name(t)))
                    .collect()
            });
            return Ok(Plan::Scan { tids });
        }
        let ranges = self.ranges(regions);
        // Offsets (compressed bytes) of the data at a position, and past a range.
        let off = |tid: usize, p: i64| -> Result<Option<u64>> {
            Ok(src.chunks_from(tid, p)?.map(|(lo, _)| lo >> 16))
        };
        let mut weights = Vec::with_capacity(ranges.len());
        for r in &ranges {
            let w = match src.chunks_from(r.tid, r.from)? {
                None => 0,
                Some((lo, hi)) => {
                    let end = if r.to >= src.contig_len(r.tid) {
                        hi >> 16
                    } else {
                        off(r.tid, r.to + 1)?.unwrap_or(hi >> 16)
                    };
                    end.saturating_sub(lo >> 16)
                }
            };
            weights.push(w);
        }
        let total: u64 = weights.iter().sum();
        let parts = match self.options.partitions {
            Some(n) => n,
            None => target.min((total / MIN_PARTITION_BYTES) as usize + 1),
        }
        .max(1);
        let mut plan: Vec<Vec<Item>> = vec![Vec::new(); parts];
        if total == 0 {
            for (i, r) in ranges.into_iter().enumerate() {
                plan[i % parts].push(r);
            }
            return Ok(Plan::Indexed(plan));
        }
        let mut k = 0;
        let mut acc = 0u64;
        for (r, w) in ranges.into_iter().zip(weights) {
            let mut item = r;
            let mut left = w;
            loop {
                let boundary = total * (k as u64 + 1) / parts as u64;
                if k == parts - 1 || acc + left <= boundary {
                    acc += left;
                    plan[k].push(item);
                    break;
                }
                // Split so that partition k ends near `boundary`.
                let start = off(item.tid, item.from)?.unwrap_or(0);
                let want = start + (boundary - acc);
                let last = item.to.min(src.contig_len(item.tid));
                let (mut a, mut b) = (item.from + 1, last);
                let mut cut = None;
                while a <= b {
                    let mid = a + (b - a) / 2;
                    match off(item.tid, mid)? {
                        Some(o) if o < want => a = mid + 1,
                        _ => {
                            cut = Some(mid);
                            b = mid - 1;
                        }
                    }
                }
                if let Some(x) = cut.filter(|&x| x > item.from && x <= last) {
                    let o = off(item.tid, x)?.unwrap_or(start + left);
                    let used = o.saturating_sub(start).min(left);
                    plan[k].push(Item { to: x - 1, ..item });
                    acc += used;
                    left -= used;
                    item = Item {
                        from: x,
                        probe: false,
                        ..item
                    };
                }
                k += 1;
            }
        }
        plan.retain(|p| !p.is_empty());
        if plan.is_empty() {
            plan.push(Vec::new());
        }
        Ok(Plan::Indexed(plan))
    }
}

#[async_trait]
impl TableProvider for DepthTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        let rewritten: Vec<Expr> = filters.iter().map(|e| as_start(e)).collect();
        let refs: Vec<&Expr> = if self.options.per_base {
            rewritten.iter().collect()
        } else {
            filters.to_vec()
        };
        Ok(RegionFilter::pushdown(&refs))
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let projection: Vec<usize> = projection
            .cloned()
            .unwrap_or_else(|| (0..self.schema.fields().len()).collect());
        let projected = Arc::new(self.schema.project(&projection)?);
        let regions =
            RegionFilter::from_filters(&self.filters(filters), self.source.zero_based).regions();
        let target = state.config().target_partitions();
        let plan = self.plan(&regions, target)?;
        Ok(Arc::new(DepthExec::new(
            self.source.clone(),
            self.options.clone(),
            plan,
            projection,
            projected,
            regions,
            limit,
        )))
    }
}
