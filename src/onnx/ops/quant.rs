//! QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear.

use super::super::ctx::NodeCtx;
use crate::error::Result;
use crate::ir::Op;
use crate::tensor::DType;

/// `QuantizeLinear(X, scale, [zero_point])` (opset 10): `axis` (opset 13, default 1),
/// `saturate` (opset 19; it only concerns float8 outputs, which are not supported),
/// `block_size` and `output_dtype` (opset 21; int8 or uint8), `precision` (opset 23; only
/// the default, the scale's type, is supported).
pub(super) fn quantize_linear(cx: &mut NodeCtx) -> Result<Op> {
    cx.since(10)?;
    cx.inputs(2, 3)?;
    let axis = axis(cx)?;
    if cx.opset >= 19 {
        cx.bool_or("saturate", true)?;
    }
    let block_size = block_size(cx)?;
    let output_dtype = if cx.opset >= 21 {
        cx.int_or("output_dtype", 0)?
    } else {
        0
    };
    let output_dtype = match output_dtype {
        0 => None,
        code => Some(quantized_type(cx, code)?),
    };
    if cx.opset >= 23 && cx.int_or("precision", 0)? != 0 {
        return Err(cx.err("attribute 'precision' is not supported"));
    }
    Ok(Op::QuantizeLinear {
        axis,
        block_size,
        output_dtype,
    })
}

/// `DequantizeLinear(X, scale, [zero_point])` (opset 10): `axis` (opset 13), `block_size`
/// (opset 21); `output_dtype` (opset 23) is supported only as its default, the scale's type.
pub(super) fn dequantize_linear(cx: &mut NodeCtx) -> Result<Op> {
    cx.since(10)?;
    cx.inputs(2, 3)?;
    let axis = axis(cx)?;
    let block_size = block_size(cx)?;
    if cx.opset >= 23 && cx.int_or("output_dtype", 0)? != 0 {
        return Err(cx.err("attribute 'output_dtype' is not supported"));
    }
    Ok(Op::DequantizeLinear { axis, block_size })
}

/// `DynamicQuantizeLinear(X)` (opset 11) → `Y, Y_scale, Y_zero_point`.
pub(super) fn dynamic_quantize_linear(cx: &mut NodeCtx) -> Result<Op> {
    cx.since(11)?;
    cx.inputs(1, 1)?;
    cx.outputs(3, 3);
    Ok(Op::DynamicQuantizeLinear)
}

/// `axis` from opset 13 (default 1); before that only per-tensor scales exist.
fn axis(cx: &mut NodeCtx) -> Result<i64> {
    if cx.opset >= 13 {
        cx.int_or("axis", 1)
    } else {
        Ok(1)
    }
}

/// `block_size` from opset 21 (default 0: no blocking).
fn block_size(cx: &mut NodeCtx) -> Result<usize> {
    if cx.opset < 21 {
        return Ok(0);
    }
    let b = cx.int_or("block_size", 0)?;
    usize::try_from(b).map_err(|_| cx.err(format!("block_size must be non-negative, found {b}")))
}

/// The quantized type named by an `output_dtype` code: int8 or uint8.
fn quantized_type(cx: &NodeCtx, code: i64) -> Result<DType> {
    let code32 = i32::try_from(code).unwrap_or(-1);
    match DType::from_onnx_code(code32) {
        Some(d @ (DType::I8 | DType::U8)) => Ok(d),
        _ => Err(cx.err(format!(
            "output_dtype {} (code {code}) is not supported (int8 or uint8 only)",
            DType::onnx_code_name(code32)
        ))),
    }
}
