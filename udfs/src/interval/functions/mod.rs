//! Interval table functions with bedtools' semantics: `overlap`, `nearest`,
//! `count_overlaps`, `coverage`, `subtract` (a streamed against b held in
//! COITrees) and `merge`, `cluster`, `complement` (one sweep over sorted a).

mod input;
mod probe;
mod sweep;

use std::fmt;
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{Result, plan_err};
use datafusion::datasource::TableType;
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::expressions::col;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::projection::{ProjectionExec, ProjectionExpr};
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::{ExecutionPlan, collect};
use datafusion::prelude::SessionContext;

use crate::args::{at_most, bool_arg, int_arg, string_arg};
use input::{IntervalInput, same_coordinates};
use probe::{ProbeExec, ProbeOp};
use sweep::{SweepExec, SweepOp};

#[derive(Debug, Clone, Copy)]
enum Kind {
    Overlap,
    Nearest,
    CountOverlaps,
    Coverage,
    Subtract,
    Merge,
    Cluster,
    Complement,
}

const FUNCTIONS: [(&str, Kind, &str); 8] = [
    ("overlap", Kind::Overlap, "overlap('a', 'b')"),
    (
        "nearest",
        Kind::Nearest,
        "nearest('a', 'b' [, k, overlap_ok, 'distance_column'])",
    ),
    (
        "count_overlaps",
        Kind::CountOverlaps,
        "count_overlaps('a', 'b')",
    ),
    ("coverage", Kind::Coverage, "coverage('a', 'b')"),
    ("subtract", Kind::Subtract, "subtract('a', 'b')"),
    ("merge", Kind::Merge, "merge('a' [, min_dist])"),
    ("cluster", Kind::Cluster, "cluster('a' [, min_dist])"),
    ("complement", Kind::Complement, "complement('a', 'genome')"),
];

pub fn register(ctx: &SessionContext) {
    for (name, kind, usage) in FUNCTIONS {
        ctx.register_udtf(name, Arc::new(IntervalFunction { name, kind, usage }));
    }
}

#[derive(Debug)]
struct IntervalFunction {
    name: &'static str,
    kind: Kind,
    usage: &'static str,
}

impl TableFunctionImpl for IntervalFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let (f, exprs, session) = (self.name, args.exprs(), args.session());
        let a = IntervalInput::resolve(f, session, exprs, 0)?;
        let two_tables = |max: usize| -> Result<IntervalInput> {
            at_most(f, exprs, max, self.usage)?;
            let b = IntervalInput::resolve(f, session, exprs, 1)?;
            same_coordinates(f, &a, &b)?;
            Ok(b)
        };
        let metadata = a.schema().metadata().clone();
        let with_a = |extra: Vec<Field>| {
            let mut fields: Vec<Field> = a
                .schema()
                .fields()
                .iter()
                .map(|f| f.as_ref().clone())
                .collect();
            fields.extend(extra);
            Arc::new(Schema::new(fields).with_metadata(metadata.clone()))
        };
        let int = |name: &str| Field::new(name, DataType::Int64, true);
        let function = match self.kind {
            Kind::Overlap | Kind::Nearest => {
                let b = two_tables(if matches!(self.kind, Kind::Overlap) {
                    2
                } else {
                    5
                })?;
                let (op, fields) = match self.kind {
                    Kind::Overlap => (ProbeOp::Overlap, pair_fields(&a, &b, false)),
                    _ => {
                        let k = int_arg(f, exprs, 2, "k", 1)?;
                        if k < 1 {
                            return plan_err!("{f}(): k must be at least 1, got {k}");
                        }
                        let overlaps = bool_arg(f, exprs, 3, "overlap_ok", true)?;
                        let distance = match exprs.get(4) {
                            Some(_) => string_arg(f, exprs, 4, "distance column name")?,
                            None => "distance".to_string(),
                        };
                        let mut fields = pair_fields(&a, &b, true);
                        fields.push(int(&distance));
                        (
                            ProbeOp::Nearest {
                                k: k as usize,
                                overlaps,
                            },
                            fields,
                        )
                    }
                };
                let schema = Arc::new(Schema::new(fields).with_metadata(metadata.clone()));
                Function::Probe { a, b, op, schema }
            }
            Kind::CountOverlaps => {
                let b = two_tables(2)?;
                let schema = with_a(vec![int("count")]);
                Function::Probe {
                    a,
                    b,
                    op: ProbeOp::Count,
                    schema,
                }
            }
            Kind::Coverage => {
                let b = two_tables(2)?;
                let schema = with_a(vec![
                    int("count"),
                    int("covered_bases"),
                    int("length"),
                    Field::new("fraction", DataType::Float64, true),
                ]);
                Function::Probe {
                    a,
                    b,
                    op: ProbeOp::Coverage,
                    schema,
                }
            }
            Kind::Subtract => {
                let b = two_tables(2)?;
                let schema = a.schema();
                Function::Probe {
                    a,
                    b,
                    op: ProbeOp::Subtract,
                    schema,
                }
            }
            Kind::Merge | Kind::Cluster => {
                at_most(f, exprs, 2, self.usage)?;
                let min_dist = int_arg(f, exprs, 1, "min_dist", 0)?;
                let (op, schema) = match self.kind {
                    Kind::Merge => (SweepOp::Merge { min_dist }, run_schema(&metadata, true)),
                    _ => (SweepOp::Cluster { min_dist }, with_a(vec![int("cluster")])),
                };
                Function::Sweep {
                    a,
                    op,
                    genome: None,
                    schema,
                }
            }
            Kind::Complement => {
                at_most(f, exprs, 2, self.usage)?;
                let (name, genome) = crate::args::table_arg(f, session, exprs, 1)?;
                let schema = run_schema(&metadata, false);
                Function::Sweep {
                    a,
                    op: SweepOp::Complement { genome: vec![] },
                    genome: Some((name, genome)),
                    schema,
                }
            }
        };
        Ok(Arc::new(FunctionTable { name: f, function }))
    }
}

/// a's columns suffixed `_1` and b's `_2`, as polars-bio names them.
fn pair_fields(a: &IntervalInput, b: &IntervalInput, b_nullable: bool) -> Vec<Field> {
    let rename = |f: &Arc<Field>, suffix: &str, nullable: bool| {
        f.as_ref()
            .clone()
            .with_name(format!("{}{suffix}", f.name()))
            .with_nullable(f.is_nullable() || nullable)
    };
    let mut fields: Vec<Field> = a
        .schema()
        .fields()
        .iter()
        .map(|f| rename(f, "_1", false))
        .collect();
    fields.extend(
        b.schema()
            .fields()
            .iter()
            .map(|f| rename(f, "_2", b_nullable)),
    );
    fields
}

/// `(chrom, start, end[, count])` rows of merge and complement.
fn run_schema(metadata: &std::collections::HashMap<String, String>, count: bool) -> SchemaRef {
    let mut fields = vec![
        Field::new("chrom", DataType::Utf8, true),
        Field::new("start", DataType::Int64, true),
        Field::new("end", DataType::Int64, true),
    ];
    if count {
        fields.push(Field::new("count", DataType::Int64, true));
    }
    Arc::new(Schema::new(fields).with_metadata(metadata.clone()))
}

#[derive(Debug)]
enum Function {
    Probe {
        a: IntervalInput,
        b: IntervalInput,
        op: ProbeOp,
        schema: SchemaRef,
    },
    Sweep {
        a: IntervalInput,
        op: SweepOp,
        genome: Option<(String, Arc<dyn TableProvider>)>,
        schema: SchemaRef,
    },
}

/// The table an interval function call returns; planned when scanned.
struct FunctionTable {
    name: &'static str,
    function: Function,
}

impl fmt::Debug for FunctionTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}()", self.name)
    }
}

#[async_trait]
impl TableProvider for FunctionTable {
    fn schema(&self) -> SchemaRef {
        match &self.function {
            Function::Probe { schema, .. } | Function::Sweep { schema, .. } => schema.clone(),
        }
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let plan: Arc<dyn ExecutionPlan> = match &self.function {
            Function::Probe { a, b, op, schema } => Arc::new(ProbeExec::new(
                a.clone(),
                b.clone(),
                a.plan(state).await?,
                b.plan(state).await?,
                *op,
                schema.clone(),
            )),
            Function::Sweep {
                a,
                op,
                genome,
                schema,
            } => {
                let op = match (op, genome) {
                    (SweepOp::Complement { .. }, Some((name, table))) => SweepOp::Complement {
                        genome: genome_lengths(self.name, name, table, state).await?,
                    },
                    _ => op.clone(),
                };
                let sorted = sorted_by_position(a, a.plan(state).await?)?;
                Arc::new(SweepExec::try_new(a.clone(), sorted, op, schema.clone())?)
            }
        };
        match projection {
            Some(p)
                if p.len() != plan.schema().fields().len()
                    || p.iter().enumerate().any(|(i, &j)| i != j) =>
            {
                let schema = plan.schema();
                let exprs = p
                    .iter()
                    .map(|&i| {
                        Ok(ProjectionExpr::new(
                            col(schema.field(i).name(), &schema)?,
                            schema.field(i).name().clone(),
                        ))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Arc::new(ProjectionExec::try_new(exprs, plan)?))
            }
            _ => Ok(plan),
        }
    }
}

/// a's rows in one partition, sorted by chrom, start, end.
fn sorted_by_position(
    a: &IntervalInput,
    plan: Arc<dyn ExecutionPlan>,
) -> Result<Arc<dyn ExecutionPlan>> {
    let ordering = sweep::position_ordering(a, &plan.schema())?;
    let input: Arc<dyn ExecutionPlan> = Arc::new(CoalescePartitionsExec::new(plan));
    Ok(Arc::new(SortExec::new(ordering, input)))
}

/// `(chrom, length)` rows of a genome table: columns chrom (or name) and
/// length (or size, or end), as in a `.genome`/`chrom.sizes` file with a header.
async fn genome_lengths(
    function: &str,
    name: &str,
    table: &Arc<dyn TableProvider>,
    state: &dyn Session,
) -> Result<Vec<(String, i64)>> {
    let schema = table.schema();
    let find = |names: &[&str]| names.iter().find_map(|n| schema.index_of(n).ok());
    let (Some(chrom), Some(length)) = (find(&["chrom", "name"]), find(&["length", "size", "end"]))
    else {
        return plan_err!(
            "{function}(): genome table '{name}' needs a chrom (or name) and a length (or size, end) column"
        );
    };
    let plan = table
        .scan(state, Some(&vec![chrom, length]), &[], None)
        .await?;
    let mut genome = Vec::new();
    for batch in collect(plan, state.task_ctx()).await? {
        let chroms = cast(batch.column(0), &DataType::Utf8)?;
        let lengths = cast(batch.column(1), &DataType::Int64)?;
        let (chroms, lengths) = (
            chroms.as_string::<i32>(),
            lengths.as_primitive::<Int64Type>(),
        );
        for i in 0..batch.num_rows() {
            if chroms.is_valid(i) && lengths.is_valid(i) {
                genome.push((chroms.value(i).to_string(), lengths.value(i)));
            }
        }
    }
    Ok(genome)
}
