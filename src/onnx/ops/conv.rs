//! Conv, ConvInteger, QLinearConv and ConvTranspose.

use super::super::ctx::NodeCtx;
use super::window::window_attrs;
use crate::error::Result;
use crate::ir::{ConvAttrs, ConvTransposeAttrs, EpilogueAct, Op};

/// `Conv(X, W, [B])`.
pub(super) fn conv(cx: &mut NodeCtx) -> Result<Op> {
    cx.inputs(2, 3)?;
    Ok(Op::Conv(conv_attrs(cx)?))
}

/// `ConvInteger(X, W, [x_zero_point], [w_zero_point])` (opset 10).
pub(super) fn conv_integer(cx: &mut NodeCtx) -> Result<Op> {
    cx.since(10)?;
    cx.inputs(2, 4)?;
    Ok(Op::ConvInteger(conv_attrs(cx)?))
}

/// `QLinearConv(X, xs, xzp, W, ws, wzp, ys, yzp, [B])` (opset 10).
pub(super) fn qlinear_conv(cx: &mut NodeCtx) -> Result<Op> {
    cx.since(10)?;
    cx.inputs(8, 9)?;
    Ok(Op::QLinearConv(conv_attrs(cx)?, EpilogueAct::None))
}

/// `ConvTranspose(X, W, [B])`: the convolution attributes plus `output_padding` and
/// `output_shape`.
pub(super) fn conv_transpose(cx: &mut NodeCtx) -> Result<Op> {
    cx.inputs(2, 3)?;
    let conv = conv_attrs(cx)?;
    let output_padding = cx.sizes("output_padding", 0)?.unwrap_or_default();
    let output_shape = cx.sizes("output_shape", 0)?.unwrap_or_default();
    Ok(Op::ConvTranspose(ConvTransposeAttrs {
        conv,
        output_padding,
        output_shape,
    }))
}

/// The attributes common to the convolutions; `group` defaults to 1.
fn conv_attrs(cx: &mut NodeCtx) -> Result<ConvAttrs> {
    let w = window_attrs(cx, true)?;
    let group = cx.int_or("group", 1)?;
    let group = usize::try_from(group)
        .ok()
        .filter(|&g| g >= 1)
        .ok_or_else(|| cx.err(format!("group must be at least 1, found {group}")))?;
    Ok(ConvAttrs {
        kernel_shape: w.kernel_shape,
        strides: w.strides,
        pads: w.pads,
        dilations: w.dilations,
        group,
        auto_pad: w.auto_pad,
    })
}
