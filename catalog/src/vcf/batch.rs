//! Record batches of the variants and genotypes tables, built line by line.
//! Only projected columns have builders, so unrequested fields are never parsed.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Builder, Int64Builder, ListArray, RecordBatch, StringBuilder, StructArray,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, FieldRef, SchemaRef};
use datafusion::common::Result;

use super::header::VcfHeader;
use super::record::{Fields, missing};
use super::schema::{GenotypeColumn, VariantColumn};
use super::values::ValueBuilder;

/// Builders for per-sample FORMAT values, shared by the nested and flat forms.
struct SampleValues {
    sample_ids: Option<StringBuilder>,
    samples: Arc<[String]>,
    /// One per header FORMAT definition; `None` when not projected.
    values: Vec<Option<ValueBuilder>>,
    keys: HashMap<String, usize>,
    /// This record's FORMAT keys mapped to header definitions.
    record_keys: Vec<Option<usize>>,
    seen: Vec<bool>,
}

impl SampleValues {
    fn new(header: &VcfHeader, wanted: impl Fn(usize) -> bool, with_ids: bool) -> SampleValues {
        SampleValues {
            sample_ids: with_ids.then(StringBuilder::new),
            samples: header.samples.clone().into(),
            values: (0..header.formats.len())
                .map(|i| wanted(i).then(|| ValueBuilder::new(&header.formats[i])))
                .collect(),
            keys: header
                .formats
                .iter()
                .enumerate()
                .map(|(i, d)| (d.id.clone(), i))
                .collect(),
            record_keys: Vec::new(),
            seen: vec![false; header.formats.len()],
        }
    }

    /// Appends every sample of one record; returns how many were appended.
    fn append_record(&mut self, format: Option<&str>, samples: &str) -> Result<usize, String> {
        self.record_keys.clear();
        if let Some(format) = format {
            self.record_keys
                .extend(format.split(':').map(|k| self.keys.get(k).copied()));
        }
        let mut columns = samples.split('\t');
        for sample in self.samples.iter() {
            if let Some(ids) = &mut self.sample_ids {
                ids.append_value(sample);
            }
            self.seen.fill(false);
            if let Some(text) = columns.next() {
                for (key, value) in self.record_keys.iter().zip(text.split(':')) {
                    if let Some(i) = *key
                        && let Some(builder) = &mut self.values[i]
                        && !self.seen[i]
                    {
                        self.seen[i] = true;
                        builder
                            .append(Some(value))
                            .map_err(|e| format!("sample {sample}, FORMAT {}: {e}", self.id(i)))?;
                    }
                }
            }
            for (i, builder) in self.values.iter_mut().enumerate() {
                if let Some(b) = builder
                    && !self.seen[i]
                {
                    b.append_absent();
                }
            }
        }
        Ok(self.samples.len())
    }

    fn id(&self, i: usize) -> &str {
        self.keys
            .iter()
            .find(|(_, v)| **v == i)
            .map(|(k, _)| k.as_str())
            .unwrap_or("?")
    }

    fn finish_value(&mut self, i: usize) -> ArrayRef {
        self.values[i]
            .as_mut()
            .expect("projected FORMAT column has a builder")
            .finish()
    }
}

/// Builders for the site columns both tables have (`None` when not projected).
struct SiteColumns {
    zero_based: bool,
    chrom: Option<StringBuilder>,
    start: Option<Int64Builder>,
    end: Option<Int64Builder>,
    reference: Option<StringBuilder>,
    alt: Option<StringBuilder>,
}

impl SiteColumns {
    fn new(zero_based: bool, [chrom, start, end, reference, alt]: [bool; 5]) -> SiteColumns {
        SiteColumns {
            zero_based,
            chrom: chrom.then(StringBuilder::new),
            start: start.then(Int64Builder::new),
            end: end.then(Int64Builder::new),
            reference: reference.then(StringBuilder::new),
            alt: alt.then(StringBuilder::new),
        }
    }

    /// Appends one site `times` times (once per sample in the genotypes table).
    fn append(&mut self, f: &Fields, end: i64, times: usize) {
        let start = f.pos - i64::from(self.zero_based);
        for _ in 0..times {
            if let Some(b) = &mut self.chrom {
                b.append_value(f.chrom);
            }
            if let Some(b) = &mut self.start {
                b.append_value(start);
            }
            if let Some(b) = &mut self.end {
                b.append_value(end);
            }
            if let Some(b) = &mut self.reference {
                b.append_value(f.reference);
            }
            if let Some(b) = &mut self.alt {
                b.append_option(missing(f.alt));
            }
        }
    }

    fn finish_chrom(&mut self) -> ArrayRef {
        Arc::new(self.chrom.as_mut().expect("projected").finish())
    }

    fn finish_start(&mut self) -> ArrayRef {
        Arc::new(self.start.as_mut().expect("projected").finish())
    }

    fn finish_end(&mut self) -> ArrayRef {
        Arc::new(self.end.as_mut().expect("projected").finish())
    }

    fn finish_ref(&mut self) -> ArrayRef {
        Arc::new(self.reference.as_mut().expect("projected").finish())
    }

    fn finish_alt(&mut self) -> ArrayRef {
        Arc::new(self.alt.as_mut().expect("projected").finish())
    }
}

/// Builds batches of the variants table for a projection.
pub struct VariantBatchBuilder {
    schema: SchemaRef,
    columns: Vec<VariantColumn>,
    use_info_end: bool,
    site: SiteColumns,
    id: Option<StringBuilder>,
    qual: Option<Float64Builder>,
    filter: Option<StringBuilder>,
    info: Vec<Option<ValueBuilder>>,
    info_keys: HashMap<String, usize>,
    info_seen: Vec<bool>,
    any_info: bool,
    genotypes: Option<(SampleValues, FieldRef)>,
    rows: usize,
}

impl VariantBatchBuilder {
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// `schema` and `columns` are the projected ones, in output order.
    pub fn new(
        header: &VcfHeader,
        schema: SchemaRef,
        columns: Vec<VariantColumn>,
        zero_based: bool,
    ) -> VariantBatchBuilder {
        use VariantColumn as C;
        let has = |c: C| columns.contains(&c);
        let info: Vec<Option<ValueBuilder>> = header
            .infos
            .iter()
            .enumerate()
            .map(|(i, d)| has(C::Info(i)).then(|| ValueBuilder::new(d)))
            .collect();
        let genotypes = columns.iter().position(|c| *c == C::Genotypes).map(|idx| {
            let DataType::List(item) = schema.field(idx).data_type() else {
                unreachable!("genotypes is a list column")
            };
            (SampleValues::new(header, |_| true, true), item.clone())
        });
        VariantBatchBuilder {
            use_info_end: header.info("END").is_some(),
            site: SiteColumns::new(
                zero_based,
                [
                    has(C::Chrom),
                    has(C::Start),
                    has(C::End),
                    has(C::Ref),
                    has(C::Alt),
                ],
            ),
            id: has(C::Id).then(StringBuilder::new),
            qual: has(C::Qual).then(Float64Builder::new),
            filter: has(C::Filter).then(StringBuilder::new),
            any_info: info.iter().any(Option::is_some),
            info_seen: vec![false; info.len()],
            info,
            info_keys: header
                .infos
                .iter()
                .enumerate()
                .map(|(i, d)| (d.id.clone(), i))
                .collect(),
            genotypes,
            schema,
            columns,
            rows: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn use_info_end(&self) -> bool {
        self.use_info_end
    }

    /// Appends one record; `end` is its 1-based inclusive end.
    pub fn append(&mut self, f: &Fields, end: i64) -> Result<(), String> {
        self.site.append(f, end, 1);
        if let Some(b) = &mut self.id {
            b.append_option(missing(f.id));
        }
        if let Some(b) = &mut self.qual {
            match missing(f.qual) {
                None => b.append_null(),
                Some(q) => b.append_value(q.parse().map_err(|_| format!("invalid QUAL '{q}'"))?),
            }
        }
        if let Some(b) = &mut self.filter {
            b.append_option(missing(f.filter));
        }
        if self.any_info {
            self.append_info(f.info)?;
        }
        if let Some((samples, _)) = &mut self.genotypes {
            samples.append_record(f.format, f.samples)?;
        }
        self.rows += 1;
        Ok(())
    }

    fn append_info(&mut self, info: &str) -> Result<(), String> {
        self.info_seen.fill(false);
        if info != "." {
            for kv in info.split(';') {
                let (key, value) = match kv.split_once('=') {
                    Some((k, v)) => (k, Some(v)),
                    None => (kv, None),
                };
                if let Some(&i) = self.info_keys.get(key)
                    && let Some(b) = &mut self.info[i]
                    && !self.info_seen[i]
                {
                    self.info_seen[i] = true;
                    b.append(value).map_err(|e| format!("INFO {key}: {e}"))?;
                }
            }
        }
        for (i, b) in self.info.iter_mut().enumerate() {
            if let Some(b) = b
                && !self.info_seen[i]
            {
                b.append_absent();
            }
        }
        Ok(())
    }

    pub fn finish(&mut self) -> Result<RecordBatch> {
        use VariantColumn as C;
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.columns.len());
        for &c in &self.columns {
            let array: ArrayRef = match c {
                C::Chrom => self.site.finish_chrom(),
                C::Start => self.site.finish_start(),
                C::End => self.site.finish_end(),
                C::Ref => self.site.finish_ref(),
                C::Alt => self.site.finish_alt(),
                C::Id => Arc::new(self.id.as_mut().expect("projected").finish()),
                C::Qual => Arc::new(self.qual.as_mut().expect("projected").finish()),
                C::Filter => Arc::new(self.filter.as_mut().expect("projected").finish()),
                C::Info(i) => self.info[i].as_mut().expect("projected").finish(),
                C::Genotypes => {
                    let (samples, item) = self.genotypes.as_mut().expect("projected");
                    nested_genotypes(samples, item, self.rows)?
                }
            };
            arrays.push(array);
        }
        let rows = std::mem::take(&mut self.rows);
        crate::columns::record_batch(&self.schema, arrays, rows)
    }
}

fn nested_genotypes(samples: &mut SampleValues, item: &FieldRef, rows: usize) -> Result<ArrayRef> {
    let DataType::Struct(fields) = item.data_type() else {
        unreachable!("genotypes items are structs")
    };
    let mut children: Vec<ArrayRef> = vec![Arc::new(samples.sample_ids.as_mut().unwrap().finish())];
    children.extend((0..samples.values.len()).map(|i| samples.finish_value(i)));
    let values = StructArray::try_new(fields.clone(), children, None)?;
    let per_row = samples.samples.len();
    let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(per_row, rows));
    Ok(Arc::new(ListArray::try_new(
        item.clone(),
        offsets,
        Arc::new(values),
        None,
    )?))
}

/// Builds batches of the flat `<name>_genotypes` table: one row per (record, sample).
pub struct GenotypeBatchBuilder {
    schema: SchemaRef,
    columns: Vec<GenotypeColumn>,
    use_info_end: bool,
    site: SiteColumns,
    samples: SampleValues,
    rows: usize,
}

impl GenotypeBatchBuilder {
    pub fn new(
        header: &VcfHeader,
        schema: SchemaRef,
        columns: Vec<GenotypeColumn>,
        zero_based: bool,
    ) -> GenotypeBatchBuilder {
        use GenotypeColumn as C;
        let has = |c: C| columns.contains(&c);
        GenotypeBatchBuilder {
            use_info_end: header.info("END").is_some(),
            site: SiteColumns::new(
                zero_based,
                [
                    has(C::Chrom),
                    has(C::Start),
                    has(C::End),
                    has(C::Ref),
                    has(C::Alt),
                ],
            ),
            samples: SampleValues::new(header, |i| has(C::Format(i)), has(C::SampleId)),
            schema,
            columns,
            rows: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn use_info_end(&self) -> bool {
        self.use_info_end
    }

    pub fn append(&mut self, f: &Fields, end: i64) -> Result<(), String> {
        let n = self.samples.append_record(f.format, f.samples)?;
        self.site.append(f, end, n);
        self.rows += n;
        Ok(())
    }

    pub fn finish(&mut self) -> Result<RecordBatch> {
        use GenotypeColumn as C;
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.columns.len());
        for &c in &self.columns {
            let array: ArrayRef = match c {
                C::Chrom => self.site.finish_chrom(),
                C::Start => self.site.finish_start(),
                C::End => self.site.finish_end(),
                C::Ref => self.site.finish_ref(),
                C::Alt => self.site.finish_alt(),
                C::SampleId => Arc::new(
                    self.samples
                        .sample_ids
                        .as_mut()
                        .expect("projected")
                        .finish(),
                ),
                C::Format(i) => self.samples.finish_value(i),
            };
            arrays.push(array);
        }
        let rows = std::mem::take(&mut self.rows);
        crate::columns::record_batch(&self.schema, arrays, rows)
    }
}
