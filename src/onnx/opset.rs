//! The default-domain opset a model imports, and which domains count as the default one.

use crate::error::{Error, Result};
use crate::proto::OperatorSetIdProto;

/// The oldest default-domain opset accepted.
pub const MIN_OPSET: i64 = 7;
/// The newest default-domain opset accepted: opsets 24 and 25 change none of the supported
/// ops beyond new element types (and Cast's `round_mode`, for float8e8m0 only); 26 and 27 only
/// add ops (BitCast, CumProd, CausalConvWithState, LinearAttention) and give Range float16 and
/// bfloat16 with `stash_type`. The ONNX 1.22 backend node tests are written at opsets up to 27.
pub const MAX_OPSET: i64 = 27;

/// True for the default ONNX domain, spelt `""` or `"ai.onnx"`.
pub(super) fn is_default_domain(domain: &str) -> bool {
    domain.is_empty() || domain == "ai.onnx"
}

/// The version of the default-domain opset in `imports`, checked to be in
/// [`MIN_OPSET`]..=[`MAX_OPSET`].
pub(super) fn default_opset(imports: &[OperatorSetIdProto]) -> Result<i64> {
    let mut versions = imports
        .iter()
        .filter(|o| is_default_domain(&o.domain))
        .map(|o| o.version);
    let version = versions.next().ok_or_else(|| {
        Error::malformed("ONNX model", "no opset is imported for the default domain")
    })?;
    if let Some(other) = versions.find(|&v| v != version) {
        return Err(Error::malformed(
            "ONNX model",
            format!("the default domain is imported twice, as opsets {version} and {other}"),
        ));
    }
    if !(MIN_OPSET..=MAX_OPSET).contains(&version) {
        return Err(Error::Invalid(format!(
            "default-domain opset {version} is not supported (supported: {MIN_OPSET} to {MAX_OPSET})"
        )));
    }
    Ok(version)
}
