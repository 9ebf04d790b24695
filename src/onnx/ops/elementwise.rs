//! Relu, Clip, the binary arithmetic ops (Add, Sub, Mul, Div, Pow), PRelu, Min and Max.

use super::super::ctx::NodeCtx;
use crate::error::Result;
use crate::ir::Op;

/// `Relu(X)`.
pub(super) fn relu(cx: &mut NodeCtx) -> Result<Op> {
    cx.inputs(1, 1)?;
    Ok(Op::Relu)
}

/// `Clip(X)` with `min`/`max` attributes before opset 11 (defaults: the lowest and highest
/// float32), `Clip(X, [min], [max])` with bound inputs from opset 11.
pub(super) fn clip(cx: &mut NodeCtx) -> Result<Op> {
    if cx.opset >= 11 {
        cx.inputs(1, 3)?;
        return Ok(Op::Clip {
            min: None,
            max: None,
        });
    }
    cx.inputs(1, 1)?;
    Ok(Op::Clip {
        min: Some(cx.float_or("min", f32::MIN)?),
        max: Some(cx.float_or("max", f32::MAX)?),
    })
}

/// A broadcasting binary op (`Add`, `Sub`, `Mul`, `Div`, `Pow` or `PRelu`, given as `op`).
pub(super) fn binary(cx: &mut NodeCtx, op: Op) -> Result<Op> {
    cx.inputs(2, 2)?;
    Ok(op)
}

/// Variadic `Min` or `Max` (given as `op`): at least one input.
pub(super) fn variadic(cx: &mut NodeCtx, op: Op) -> Result<Op> {
    cx.inputs(1, usize::MAX)?;
    Ok(op)
}
