//! MaxPool, AveragePool, GlobalAveragePool and GlobalMaxPool.

use super::super::ctx::NodeCtx;
use super::window::{WindowAttrs, window_attrs};
use crate::error::Result;
use crate::ir::{Op, PoolAttrs};

/// `MaxPool(X)`; `dilations` and `ceil_mode` from opset 10. The optional second output
/// (Indices) is not supported, so `storage_order` (opset 8), which only affects it, is
/// validated and otherwise ignored.
pub(super) fn max_pool(cx: &mut NodeCtx) -> Result<Op> {
    cx.inputs(1, 1)?;
    let v10 = cx.opset >= 10;
    let w = window_attrs(cx, v10)?;
    let ceil_mode = v10 && cx.bool_or("ceil_mode", false)?;
    if cx.opset >= 8 {
        cx.bool_or("storage_order", false)?;
    }
    Ok(Op::MaxPool(pool_attrs(cx, w, ceil_mode, false)?))
}

/// `AveragePool(X)`; `ceil_mode` from opset 10, `dilations` from opset 19.
pub(super) fn average_pool(cx: &mut NodeCtx) -> Result<Op> {
    cx.inputs(1, 1)?;
    let w = window_attrs(cx, cx.opset >= 19)?;
    let ceil_mode = cx.opset >= 10 && cx.bool_or("ceil_mode", false)?;
    let count_include_pad = cx.bool_or("count_include_pad", false)?;
    Ok(Op::AveragePool(pool_attrs(
        cx,
        w,
        ceil_mode,
        count_include_pad,
    )?))
}

/// `GlobalAveragePool(X)`.
pub(super) fn global_average_pool(cx: &mut NodeCtx) -> Result<Op> {
    cx.inputs(1, 1)?;
    Ok(Op::GlobalAveragePool)
}

/// `GlobalMaxPool(X)`.
pub(super) fn global_max_pool(cx: &mut NodeCtx) -> Result<Op> {
    cx.inputs(1, 1)?;
    Ok(Op::GlobalMaxPool)
}

fn pool_attrs(
    cx: &NodeCtx,
    w: WindowAttrs,
    ceil_mode: bool,
    count_include_pad: bool,
) -> Result<PoolAttrs> {
    Ok(PoolAttrs {
        kernel_shape: w
            .kernel_shape
            .ok_or_else(|| cx.err("kernel_shape is required"))?,
        strides: w.strides,
        pads: w.pads,
        dilations: w.dilations,
        ceil_mode,
        count_include_pad,
        auto_pad: w.auto_pad,
    })
}
