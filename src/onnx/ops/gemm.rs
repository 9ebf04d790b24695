//! Gemm, MatMul, MatMulInteger and QLinearMatMul.

use super::super::ctx::NodeCtx;
use crate::error::Result;
use crate::ir::{EpilogueAct, GemmAttrs, Op};

/// `Gemm(A, B, [C])`; C is required before opset 11.
pub(super) fn gemm(cx: &mut NodeCtx) -> Result<Op> {
    cx.inputs(if cx.opset < 11 { 3 } else { 2 }, 3)?;
    Ok(Op::Gemm(GemmAttrs {
        alpha: cx.float_or("alpha", 1.0)?,
        beta: cx.float_or("beta", 1.0)?,
        trans_a: cx.bool_or("transA", false)?,
        trans_b: cx.bool_or("transB", false)?,
    }))
}

/// `MatMul(A, B)`.
pub(super) fn matmul(cx: &mut NodeCtx) -> Result<Op> {
    cx.inputs(2, 2)?;
    Ok(Op::MatMul)
}

/// `MatMulInteger(A, B, [a_zero_point], [b_zero_point])` (opset 10).
pub(super) fn matmul_integer(cx: &mut NodeCtx) -> Result<Op> {
    cx.since(10)?;
    cx.inputs(2, 4)?;
    Ok(Op::MatMulInteger)
}

/// `QLinearMatMul(A, as, azp, B, bs, bzp, ys, yzp)` (opset 10).
pub(super) fn qlinear_matmul(cx: &mut NodeCtx) -> Result<Op> {
    cx.since(10)?;
    cx.inputs(8, 8)?;
    Ok(Op::QLinearMatMul(EpilogueAct::None))
}
