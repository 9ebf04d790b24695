//! ReduceMean, ReduceSum, ReduceMax and ReduceMin.

use super::super::ctx::NodeCtx;
use crate::error::Result;
use crate::ir::{Op, ReduceAttrs, Reduction};

/// A reduction: `axes` is an attribute until it becomes an input (ReduceSum at opset 13, the
/// others at 18), when `noop_with_empty_axes` appears too; `keepdims` defaults to 1.
pub(super) fn reduce(cx: &mut NodeCtx, kind: Reduction) -> Result<Op> {
    let axes_input_since = if kind == Reduction::Sum { 13 } else { 18 };
    let keepdims = cx.bool_or("keepdims", true)?;
    if cx.opset < axes_input_since {
        cx.inputs(1, 1)?;
        return Ok(Op::Reduce(ReduceAttrs {
            kind,
            axes: cx.ints("axes")?.map(<[i64]>::to_vec),
            keepdims,
            noop_with_empty_axes: false,
        }));
    }
    cx.inputs(1, 2)?;
    Ok(Op::Reduce(ReduceAttrs {
        kind,
        axes: None,
        keepdims,
        noop_with_empty_axes: cx.bool_or("noop_with_empty_axes", false)?,
    }))
}
