//! ConstantOfShape and Range.

use super::super::ctx::NodeCtx;
use crate::error::Result;
use crate::ir::Op;
use crate::tensor::Tensor;
use crate::tensor::pb::tensor_from_proto;
use ndarray::{ArrayD, IxDyn};

/// `ConstantOfShape(shape)` (opset 9): `value` is a one-element tensor (default float32 0).
pub(super) fn constant_of_shape(cx: &mut NodeCtx) -> Result<Op> {
    cx.since(9)?;
    cx.inputs(1, 1)?;
    let value = match cx.tensor("value")? {
        None => Tensor::F32(ArrayD::zeros(IxDyn(&[]))),
        Some(t) => {
            tensor_from_proto(t, None).map_err(|e| cx.err(format!("attribute 'value': {e}")))?
        }
    };
    if value.len() != 1 {
        return Err(cx.err(format!(
            "attribute 'value' must hold one element, has shape {:?}",
            value.shape()
        )));
    }
    Ok(Op::ConstantOfShape { value })
}

/// `Range(start, limit, delta)` (opset 11); from opset 27 `stash_type` chooses the precision
/// of float16/bfloat16 ranges: only 1 (float32, the default) is supported.
pub(super) fn range(cx: &mut NodeCtx) -> Result<Op> {
    cx.since(11)?;
    cx.inputs(3, 3)?;
    if cx.opset >= 27 {
        let t = cx.int_or("stash_type", 1)?;
        if t != 1 {
            return Err(cx.err(format!("stash_type {t} is not supported (only 1, float)")));
        }
    }
    Ok(Op::Range)
}
