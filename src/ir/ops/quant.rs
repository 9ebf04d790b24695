//! QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear: output types and shapes (the
//! QLinear GEMMs are in [`super::conv`] and [`super::gemm`]).

use super::{Infer, Typed};
use crate::error::Result;
use crate::tensor::DType;

/// QuantizeLinear: X's shape, of the zero point's type, else `output_dtype`, else uint8.
pub fn quantize_linear(cx: &Infer, output_dtype: Option<DType>) -> Result<Typed> {
    let dt = cx
        .optional(2)
        .map(|v| cx.f.dtype(v))
        .or(output_dtype)
        .unwrap_or(DType::U8);
    Ok(vec![(dt, cx.shape(0)?.to_vec())])
}

/// DequantizeLinear: X's shape, of the scale's type.
pub fn dequantize_linear(cx: &Infer) -> Result<Typed> {
    Ok(vec![(cx.dtype(1)?, cx.shape(0)?.to_vec())])
}

/// DynamicQuantizeLinear: uint8 Y of X's shape, a scalar f32 scale and a uint8 zero point.
pub fn dynamic_quantize_linear(cx: &Infer) -> Result<Typed> {
    Ok(vec![
        (DType::U8, cx.shape(0)?.to_vec()),
        (DType::F32, Vec::new()),
        (DType::U8, Vec::new()),
    ])
}
