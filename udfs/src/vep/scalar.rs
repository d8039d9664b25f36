//! `annotate_vep_consequence(chrom, pos, ref, alt [, '<cache>'])`: the most
//! severe consequence VEP gives a VCF-style variant (over its alternate
//! alleles and the transcripts within 5 kb, as `--most_severe`), NULL for
//! records VEP skips (non-variant, symbolic, contig not in the cache).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{DataFusionError, Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};
use datafusion::prelude::SessionContext;

use super::alleles::VepVariant;
use super::cache::resolve_in_state;
use super::rows::{FeatureSource, Settings, variant_rows};

pub const NAME: &str = "annotate_vep_consequence";
const DEFAULT_CACHE: &str = "vep";

type Resolver = dyn Fn(&str) -> Result<Arc<dyn FeatureSource>> + Send + Sync;

pub struct MostSevere {
    signature: Signature,
    resolve: Box<Resolver>,
}

impl MostSevere {
    /// Resolves caches through the session lazily (a weak reference: the
    /// function lives in the session it reads).
    pub fn new(ctx: &SessionContext) -> MostSevere {
        let weak = ctx.state_weak_ref();
        let resolve = move |name: &str| -> Result<Arc<dyn FeatureSource>> {
            let state = weak
                .upgrade()
                .ok_or_else(|| DataFusionError::Execution(format!("{NAME}(): session closed")))?;
            let state = state.read().clone();
            resolve_in_state(NAME, &state, name)
        };
        MostSevere {
            signature: Signature::one_of(
                vec![TypeSignature::Any(4), TypeSignature::Any(5)],
                Volatility::Stable,
            ),
            resolve: Box::new(resolve),
        }
    }
}

impl fmt::Debug for MostSevere {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(NAME)
    }
}

impl PartialEq for MostSevere {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl Eq for MostSevere {}

impl Hash for MostSevere {
    fn hash<H: Hasher>(&self, state: &mut H) {
        NAME.hash(state);
    }
}

fn text(a: &ArrayRef) -> Result<arrow::array::StringArray> {
    Ok(cast(a, &DataType::Utf8)?.as_string::<i32>().clone())
}

impl ScalarUDFImpl for MostSevere {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let cache = match arrays.get(4) {
            None => DEFAULT_CACHE.to_string(),
            Some(a) => {
                let a = text(a)?;
                if a.is_empty() || a.is_null(0) {
                    return exec_err!("{NAME}(): the cache name (argument 5) must not be NULL");
                }
                a.value(0).to_string()
            }
        };
        let source = (self.resolve)(&cache)?;
        let chrom = text(&arrays[0])?;
        let pos = cast(&arrays[1], &DataType::Int64)?;
        let pos = pos.as_primitive::<Int64Type>();
        let reference = text(&arrays[2])?;
        let alt = text(&arrays[3])?;
        let settings = Settings {
            distance: 5000,
            regulatory: false,
            canonical_only: false,
        };
        let mut out = StringBuilder::with_capacity(n, n * 16);
        for i in 0..n {
            if chrom.is_null(i) || pos.is_null(i) || reference.is_null(i) {
                out.append_null();
                continue;
            }
            let alt_text = (!alt.is_null(i)).then(|| alt.value(i));
            let Ok(v) = VepVariant::from_vcf(pos.value(i), reference.value(i), alt_text) else {
                out.append_null();
                continue;
            };
            let Some(named) = source.chromosome(chrom.value(i)) else {
                out.append_null();
                continue;
            };
            let rows = variant_rows(
                source.as_ref(),
                &named.cache,
                &named.reported,
                None,
                &v,
                &settings,
                i,
            )?;
            let worst = rows.iter().flat_map(|r| r.terms.iter()).min();
            out.append_option(worst.map(|t| t.so_term()));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}
