//! The generators on the vector unit: ConstantOfShape and Range, of lengths and operand types
//! resolved by `lower`.

use crate::error::{Error, Result};
use crate::tensor::{DType, Tensor};
use ndarray::{ArrayD, IxDyn};

/// ConstantOfShape: a tensor of shape `shape` filled with the one-element `value`.
pub fn constant_of_shape(shape: &[usize], value: &Tensor) -> Result<Tensor> {
    value.reshape(&[])?.broadcast_to(shape)
}

/// Range(start, limit, delta): `start + i·delta` for `i < max(ceil((limit − start)/delta), 0)`.
/// Integers are exact; float32 computes in f32; float16 and bfloat16 compute in f32 (the
/// default `stash_type`) and round once. `start` and `delta` are one-element tensors of one
/// type; `n` is the length `lower` resolved (and bounded).
pub fn range(start: &Tensor, delta: &Tensor, n: usize) -> Result<Tensor> {
    let (s, d) = (start, delta);
    let dt = s.dtype();
    if matches!(dt, DType::I32 | DType::I64) {
        let [s, d] = [s, d].map(|t| t.to_i64_vec().map(|v| v[0]));
        let (s, d) = (s?, d?);
        let v: Vec<i64> = (0..n as i64)
            .map(|i| s.wrapping_add(i.wrapping_mul(d)))
            .collect();
        let a = ArrayD::from_shape_vec(IxDyn(&[n]), v).map_err(|e| Error::Shape(e.to_string()))?;
        return Ok(Tensor::I64(a).cast(dt));
    }
    let first = |t: &Tensor| t.to_f32().iter().copied().next().unwrap_or(f32::NAN);
    let (s, d) = (first(s), first(d));
    let v: Vec<f32> = (0..n).map(|i| s + i as f32 * d).collect();
    let a = ArrayD::from_shape_vec(IxDyn(&[n]), v).map_err(|e| Error::Shape(e.to_string()))?;
    Ok(Tensor::from_f32(a, dt))
}
