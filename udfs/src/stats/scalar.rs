//! `variant_type(ref, alt [, allele])`, `is_transition(ref, alt [, allele])`
//! and `is_transversion(ref, alt [, allele])`: bcftools' classification of a
//! record's ALT alleles (classify.rs), row by row.
//!
//! ALT is the table's comma-joined list. `variant_type` without `allele`
//! returns one type per ALT allele, comma-joined in ALT order (`SNP,INS` for
//! `A>C,AT`), so a biallelic record gets a single type; with `allele` (1-based)
//! it returns that allele's type, NULL past the last one. The two predicates
//! look at one allele: `allele`, else the first ALT (bcftools' "1st ALT"
//! columns). A NULL or `.` ALT (no ALT allele) is `REF` / false.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanBuilder, StringArray, StringBuilder};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use datafusion::prelude::SessionContext;

use super::classify::{self, Substitution};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    VariantType,
    IsTransition,
    IsTransversion,
}

/// The allele a row's optional third argument picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pick {
    /// No argument: every allele (`variant_type`) or the first.
    Default,
    Nth(usize),
    /// NULL or below 1: the result is NULL.
    Null,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct AlleleFunction {
    kind: Kind,
    signature: Signature,
}

/// Registers the three functions.
pub fn register(ctx: &SessionContext) {
    for kind in [Kind::VariantType, Kind::IsTransition, Kind::IsTransversion] {
        ctx.register_udf(ScalarUDF::from(AlleleFunction {
            kind,
            signature: Signature::one_of(
                vec![TypeSignature::Any(2), TypeSignature::Any(3)],
                Volatility::Immutable,
            ),
        }));
    }
}

fn text(a: &ArrayRef) -> Result<StringArray> {
    Ok(cast(a, &DataType::Utf8)?.as_string::<i32>().clone())
}

/// The ALT alleles of a row: none for NULL or `.`.
fn alleles(alt: Option<&str>) -> impl Iterator<Item = &[u8]> {
    alt.filter(|a| *a != ".")
        .into_iter()
        .flat_map(|a| a.as_bytes().split(|&b| b == b','))
}

impl ScalarUDFImpl for AlleleFunction {
    fn name(&self) -> &str {
        match self.kind {
            Kind::VariantType => "variant_type",
            Kind::IsTransition => "is_transition",
            Kind::IsTransversion => "is_transversion",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            Kind::VariantType => DataType::Utf8,
            _ => DataType::Boolean,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let reference = text(&arrays[0])?;
        let alt = text(&arrays[1])?;
        let index = match arrays.get(2) {
            None => None,
            Some(a) if a.data_type().is_integer() || a.data_type().is_null() => Some(
                cast(a, &DataType::Int64)?
                    .as_primitive::<Int64Type>()
                    .clone(),
            ),
            Some(a) => {
                return exec_err!(
                    "{}(): argument 3 (the 1-based ALT allele) must be an integer, got {}",
                    self.name(),
                    a.data_type()
                );
            }
        };
        // Which allele a row asks for.
        let pick = |i: usize| -> Pick {
            match &index {
                None => Pick::Default,
                Some(ix) if ix.is_null(i) => Pick::Null,
                Some(ix) => match usize::try_from(ix.value(i)) {
                    Ok(k) if k >= 1 => Pick::Nth(k),
                    _ => Pick::Null,
                },
            }
        };
        if self.kind == Kind::VariantType {
            let mut out = StringBuilder::with_capacity(n, n * 4);
            let mut joined = String::new();
            for i in 0..n {
                let pick = pick(i);
                if reference.is_null(i) || pick == Pick::Null {
                    out.append_null();
                    continue;
                }
                let r = reference.value(i).as_bytes();
                let alt = (!alt.is_null(i)).then(|| alt.value(i));
                let mut types = alleles(alt).map(|a| classify::classify(r, a).name());
                match pick {
                    Pick::Default => {
                        joined.clear();
                        for (k, t) in types.enumerate() {
                            if k > 0 {
                                joined.push(',');
                            }
                            joined.push_str(t);
                        }
                        out.append_value(if joined.is_empty() { "REF" } else { &joined });
                    }
                    Pick::Nth(k) => out.append_option(types.nth(k - 1)),
                    Pick::Null => out.append_null(),
                }
            }
            return Ok(ColumnarValue::Array(Arc::new(out.finish())));
        }
        let target = if self.kind == Kind::IsTransition {
            Substitution::Transition
        } else {
            Substitution::Transversion
        };
        let mut out = BooleanBuilder::with_capacity(n);
        for i in 0..n {
            let pick = pick(i);
            if reference.is_null(i) || pick == Pick::Null {
                out.append_null();
                continue;
            }
            let r = reference.value(i).as_bytes();
            let alt = (!alt.is_null(i)).then(|| alt.value(i));
            let mut all = alleles(alt);
            let a = match pick {
                Pick::Nth(k) => all.nth(k - 1),
                _ => all.next(),
            };
            let Some(a) = a else {
                // No ALT allele is not a substitution; a missing one is unknown.
                if pick == Pick::Default {
                    out.append_value(false);
                } else {
                    out.append_null();
                }
                continue;
            };
            let sub = classify::substitution(r, classify::classify(r, a), a);
            out.append_value(sub == Some(target));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}
