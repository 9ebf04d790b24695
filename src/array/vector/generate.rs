//! The generators on the vector unit: ConstantOfShape and Range; their lengths and operand
//! rules are `ir::ops::generate`'s.

use crate::error::{Error, Result};
use crate::ir::ops::generate::{dims, first, range_len, range_operands};
use crate::tensor::{DType, Tensor};
use ndarray::{ArrayD, IxDyn};

/// ConstantOfShape: a tensor of shape `shape` filled with the one-element `value`.
pub fn constant_of_shape(shape: &Tensor, value: &Tensor) -> Result<Tensor> {
    value.reshape(&[])?.broadcast_to(&dims(shape)?)
}

/// Range(start, limit, delta): `start + i·delta` for `i < max(ceil((limit − start)/delta), 0)`.
/// Integers are exact; float32 computes in f32; float16 and bfloat16 compute in f32 (the
/// default `stash_type`) and round once. Callers bound the length first with [`range_len`].
pub fn range(start: &Tensor, limit: &Tensor, delta: &Tensor) -> Result<Tensor> {
    let n = range_len(start, limit, delta)?;
    let [s, _, d] = range_operands(start, limit, delta)?;
    let dt = s.dtype();
    if matches!(dt, DType::I32 | DType::I64) {
        let [s, d] = [&s, &d].map(|t| t.to_i64_vec().map(|v| v[0]));
        let (s, d) = (s?, d?);
        let v: Vec<i64> = (0..n as i64)
            .map(|i| s.wrapping_add(i.wrapping_mul(d)))
            .collect();
        let a = ArrayD::from_shape_vec(IxDyn(&[n]), v).map_err(|e| Error::Shape(e.to_string()))?;
        return Ok(Tensor::I64(a).cast(dt));
    }
    let (s, d) = (first(&s), first(&d));
    let v: Vec<f32> = (0..n).map(|i| s + i as f32 * d).collect();
    let a = ArrayD::from_shape_vec(IxDyn(&[n]), v).map_err(|e| Error::Shape(e.to_string()))?;
    Ok(Tensor::from_f32(a, dt))
}
