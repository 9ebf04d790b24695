//! BatchNormalization (inference), LayerNormalization and Softmax.

use super::super::ctx::NodeCtx;
use crate::error::Result;
use crate::ir::Op;

/// `BatchNormalization(X, scale, B, mean, var)` in inference mode; `epsilon` defaults to
/// 1e-5. Training (`training_mode=1`, opset 14) and per-activation statistics
/// (`spatial=0`, opsets 7 and 8) are not supported; `momentum` only matters in training.
pub(super) fn batch_normalization(cx: &mut NodeCtx) -> Result<Op> {
    cx.inputs(5, 5)?;
    let epsilon = cx.float_or("epsilon", 1e-5)?;
    if !(epsilon.is_finite() && epsilon >= 0.0) {
        return Err(cx.err(format!(
            "epsilon must be finite and non-negative, found {epsilon}"
        )));
    }
    cx.float("momentum")?;
    if cx.opset < 9 && cx.int_or("spatial", 1)? != 1 {
        return Err(cx.err("spatial=0 (per-activation statistics) is not supported"));
    }
    if cx.opset >= 14 && cx.bool_or("training_mode", false)? {
        return Err(cx.err("training_mode=1 is not supported (inference only)"));
    }
    Ok(Op::BatchNormalization { epsilon })
}

/// `Softmax(X)`: before opset 13 `axis` defaults to 1 and the input is coerced to 2-D at
/// it; from opset 13 `axis` defaults to -1 and the softmax runs along that axis only.
pub(super) fn softmax(cx: &mut NodeCtx) -> Result<Op> {
    cx.inputs(1, 1)?;
    let coerce_2d = cx.opset < 13;
    let axis = cx.int_or("axis", if coerce_2d { 1 } else { -1 })?;
    Ok(Op::Softmax { axis, coerce_2d })
}

/// `LayerNormalization(X, Scale, [B])` (opset 17) → `Y, [Mean], [InvStdDev]`: `axis`
/// defaults to -1, `epsilon` to 1e-5; statistics are computed in float32 (`stash_type` 1, the
/// default and the only type supported).
pub(super) fn layer_normalization(cx: &mut NodeCtx) -> Result<Op> {
    cx.since(17)?;
    cx.inputs(2, 3)?;
    cx.outputs(1, 3);
    let axis = cx.int_or("axis", -1)?;
    let epsilon = cx.float_or("epsilon", 1e-5)?;
    if !(epsilon.is_finite() && epsilon >= 0.0) {
        return Err(cx.err(format!(
            "epsilon must be finite and non-negative, found {epsilon}"
        )));
    }
    match cx.int_or("stash_type", 1)? {
        1 => Ok(Op::LayerNormalization { axis, epsilon }),
        t => Err(cx.err(format!("stash_type {t} is not supported (only 1, float)"))),
    }
}
