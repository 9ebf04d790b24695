//! Elementwise functions of one tensor: Sigmoid, Tanh, Erf, Sqrt, Exp, Log, Neg, Abs,
//! Reciprocal, Floor, Ceil, Round, Softplus, HardSwish, HardSigmoid, LeakyRelu and Gelu.

use super::super::ctx::NodeCtx;
use crate::error::Result;
use crate::ir::{Op, Unary};

/// A function without attributes, first defined in opset `since`.
pub(super) fn unary(cx: &mut NodeCtx, u: Unary, since: i64) -> Result<Op> {
    cx.since(since)?;
    cx.inputs(1, 1)?;
    Ok(Op::Unary(u))
}

/// A finite float attribute with a default.
fn finite(cx: &mut NodeCtx, name: &str, default: f32) -> Result<f32> {
    let v = cx.float_or(name, default)?;
    if !v.is_finite() {
        return Err(cx.err(format!("attribute '{name}' must be finite, found {v}")));
    }
    Ok(v)
}

/// `HardSigmoid(X)`: `alpha` defaults to 0.2, `beta` to 0.5.
pub(super) fn hard_sigmoid(cx: &mut NodeCtx) -> Result<Op> {
    cx.inputs(1, 1)?;
    Ok(Op::Unary(Unary::HardSigmoid {
        alpha: finite(cx, "alpha", 0.2)?,
        beta: finite(cx, "beta", 0.5)?,
    }))
}

/// `LeakyRelu(X)`: `alpha` defaults to 0.01.
pub(super) fn leaky_relu(cx: &mut NodeCtx) -> Result<Op> {
    cx.inputs(1, 1)?;
    Ok(Op::Unary(Unary::LeakyRelu {
        alpha: finite(cx, "alpha", 0.01)?,
    }))
}

/// `Gelu(X)` (opset 20): `approximate` is `none` (default, with erf) or `tanh`.
pub(super) fn gelu(cx: &mut NodeCtx) -> Result<Op> {
    cx.since(20)?;
    cx.inputs(1, 1)?;
    let tanh = match cx.string("approximate")? {
        None | Some("none") => false,
        Some("tanh") => true,
        Some(other) => return Err(cx.err(format!("unknown approximate '{other}'"))),
    };
    Ok(Op::Unary(Unary::Gelu { tanh }))
}
