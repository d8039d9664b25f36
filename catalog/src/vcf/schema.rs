//! Arrow schemas of a VCF table and of its `<name>_genotypes` companion.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};

use super::header::{FieldDef, ValueType, VcfHeader};
use crate::coords;

/// What a column of the variants table is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VariantColumn {
    Chrom,
    Start,
    End,
    Id,
    Ref,
    Alt,
    Qual,
    Filter,
    /// Index into `VcfHeader::infos`.
    Info(usize),
    /// All samples' FORMAT values, nested.
    Genotypes,
}

/// What a column of the genotypes table is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenotypeColumn {
    Chrom,
    Start,
    End,
    Ref,
    Alt,
    SampleId,
    /// Index into `VcfHeader::formats`.
    Format(usize),
}

/// Arrow type of one INFO/FORMAT value (before the list wrapping of Number != 1).
pub fn scalar_type(ty: ValueType) -> DataType {
    match ty {
        ValueType::Integer => DataType::Int32,
        ValueType::Float => DataType::Float32,
        ValueType::Flag => DataType::Boolean,
        ValueType::Character | ValueType::String => DataType::Utf8,
    }
}

pub fn is_list(def: &FieldDef) -> bool {
    def.ty != ValueType::Flag && !def.number.is_scalar()
}

pub fn value_type(def: &FieldDef) -> DataType {
    let scalar = scalar_type(def.ty);
    if is_list(def) {
        DataType::List(Arc::new(Field::new("item", scalar, true)))
    } else {
        scalar
    }
}

fn def_field(name: String, def: &FieldDef) -> Field {
    let mut meta = coords::description(&def.description);
    meta.insert("vcf.id".into(), def.id.clone());
    Field::new(name, value_type(def), true).with_metadata(meta)
}

/// Picks a column name not yet used: `name`, else `prefix_name`, else numbered.
fn unique(name: &str, prefix: &str, used: &mut HashSet<String>) -> String {
    let mut candidate = name.to_string();
    if used.contains(&candidate) {
        candidate = format!("{prefix}_{name}");
    }
    let base = candidate.clone();
    let mut n = 2;
    while used.contains(&candidate) {
        candidate = format!("{base}_{n}");
        n += 1;
    }
    used.insert(candidate.clone());
    candidate
}

fn position_fields(zero_based: bool) -> [Field; 3] {
    let (start, end) = if zero_based {
        ("0-based start (POS - 1)", "0-based exclusive end")
    } else {
        (
            "1-based position (POS)",
            "1-based inclusive end (POS + len(REF) - 1, or INFO END)",
        )
    };
    [
        Field::new("chrom", DataType::Utf8, false)
            .with_metadata(coords::description("Chromosome (CHROM)")),
        Field::new("start", DataType::Int64, false).with_metadata(coords::description(start)),
        Field::new("end", DataType::Int64, false).with_metadata(coords::description(end)),
    ]
}

/// The genotypes struct: `sample_id` then every FORMAT field, lowercased.
fn format_fields(header: &VcfHeader, used: &mut HashSet<String>) -> Vec<Field> {
    header
        .formats
        .iter()
        .map(|def| def_field(unique(&def.id.to_lowercase(), "format", used), def))
        .collect()
}

pub fn variants_schema(header: &VcfHeader, zero_based: bool) -> (SchemaRef, Vec<VariantColumn>) {
    use VariantColumn::*;
    let [chrom, start, end] = position_fields(zero_based);
    let mut fields = vec![
        chrom,
        start,
        end,
        Field::new("id", DataType::Utf8, true)
            .with_metadata(coords::description("ID; null for '.'")),
        Field::new("ref", DataType::Utf8, false)
            .with_metadata(coords::description("Reference allele")),
        Field::new("alt", DataType::Utf8, true).with_metadata(coords::description(
            "Alternate alleles, comma-separated; null for '.'",
        )),
        Field::new("qual", DataType::Float64, true)
            .with_metadata(coords::description("QUAL; null for '.'")),
        Field::new("filter", DataType::Utf8, true)
            .with_metadata(coords::description("FILTER, ';'-separated; null for '.'")),
    ];
    let mut columns = vec![Chrom, Start, End, Id, Ref, Alt, Qual, Filter];
    let mut used: HashSet<String> = fields.iter().map(|f| f.name().clone()).collect();
    used.insert("genotypes".into());
    for (i, def) in header.infos.iter().enumerate() {
        fields.push(def_field(unique(&def.id, "info", &mut used), def));
        columns.push(Info(i));
    }
    if !header.samples.is_empty() {
        let mut inner_used = HashSet::from(["sample_id".to_string()]);
        let mut inner = vec![Field::new("sample_id", DataType::Utf8, false)];
        inner.extend(format_fields(header, &mut inner_used));
        let item = Field::new("item", DataType::Struct(Fields::from(inner)), false);
        fields.push(
            Field::new("genotypes", DataType::List(Arc::new(item)), true).with_metadata(
                coords::description("Per-sample FORMAT values, in header sample order"),
            ),
        );
        columns.push(Genotypes);
    }
    let schema = Schema::new(fields).with_metadata(coords::schema_metadata(zero_based));
    (Arc::new(schema), columns)
}

pub fn genotypes_schema(header: &VcfHeader, zero_based: bool) -> (SchemaRef, Vec<GenotypeColumn>) {
    use GenotypeColumn::*;
    let [chrom, start, end] = position_fields(zero_based);
    let mut fields = vec![
        chrom,
        start,
        end,
        Field::new("ref", DataType::Utf8, false),
        Field::new("alt", DataType::Utf8, true),
        Field::new("sample_id", DataType::Utf8, false),
    ];
    let mut columns = vec![Chrom, Start, End, Ref, Alt, SampleId];
    let mut used: HashSet<String> = fields.iter().map(|f| f.name().clone()).collect();
    fields.extend(format_fields(header, &mut used));
    columns.extend((0..header.formats.len()).map(Format));
    let schema = Schema::new(fields).with_metadata(coords::schema_metadata(zero_based));
    (Arc::new(schema), columns)
}
