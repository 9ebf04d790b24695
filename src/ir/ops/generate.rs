//! Ops that make a tensor from scalars: ConstantOfShape and Range. Their output shapes depend
//! on input values, so specialisation folds them whenever those are known; their evaluation
//! is `array::vector::generate`'s.

use super::{Infer, Typed};
use crate::error::{Error, Result};
use crate::ir::Op;
use crate::tensor::{DType, Tensor};

/// The dims named by a 1-D int64 shape tensor (each non-negative).
pub fn dims(shape: &Tensor) -> Result<Vec<usize>> {
    if shape.shape().len() > 1 {
        return Err(Error::Shape(format!(
            "a shape must be 1-D, got {:?}",
            shape.shape()
        )));
    }
    shape
        .to_i64_vec()?
        .into_iter()
        .map(|d| usize::try_from(d).map_err(|_| Error::Shape(format!("negative dim {d}"))))
        .collect()
}

fn scalar(t: &Tensor, what: &str) -> Result<Tensor> {
    if t.len() != 1 {
        return Err(Error::Shape(format!(
            "Range {what} must be a scalar, got shape {:?}",
            t.shape()
        )));
    }
    Ok(t.clone())
}

/// The number of Range elements, `max(ceil((limit − start) / delta), 0)`.
fn count(n: f64) -> Result<usize> {
    if !n.is_finite() {
        return Err(Error::Shape(format!("Range has {n} elements")));
    }
    Ok(n.ceil().max(0.0) as usize)
}

/// The three Range scalars, of one element type.
pub fn range_operands(start: &Tensor, limit: &Tensor, delta: &Tensor) -> Result<[Tensor; 3]> {
    let (s, l, d) = (
        scalar(start, "start")?,
        scalar(limit, "limit")?,
        scalar(delta, "delta")?,
    );
    if s.dtype() != l.dtype() || s.dtype() != d.dtype() {
        return Err(Error::DType(format!(
            "Range of {}, {} and {}",
            s.dtype(),
            l.dtype(),
            d.dtype()
        )));
    }
    Ok([s, l, d])
}

/// The number of elements `Range(start, limit, delta)` has, computed without allocating (so a
/// caller can refuse a huge one first).
pub fn range_len(start: &Tensor, limit: &Tensor, delta: &Tensor) -> Result<usize> {
    let [s, l, d] = range_operands(start, limit, delta)?;
    let dt = s.dtype();
    if matches!(dt, DType::I32 | DType::I64) {
        let [s, l, d] = [&s, &l, &d].map(|t| t.to_i64_vec().map(|v| v[0]));
        let (s, l, d) = (s?, l?, d?);
        if d == 0 {
            return Err(Error::Shape("Range delta is 0".into()));
        }
        let span = i128::from(l) - i128::from(s);
        let n = (span + i128::from(d) - i128::from(d.signum())) / i128::from(d);
        return usize::try_from(n.max(0)).map_err(|_| Error::Shape("Range too long".into()));
    }
    if !dt.is_float() {
        return Err(Error::DType(format!("Range of {dt}")));
    }
    let (s, l, d) = (first(&s), first(&l), first(&d));
    count(f64::from(l - s) / f64::from(d))
}

/// The first element of `t` as f32 (NaN when empty).
fn first(t: &Tensor) -> f32 {
    t.to_f32().iter().copied().next().unwrap_or(f32::NAN)
}

/// ConstantOfShape: the fill value's type, the shape its (constant) input names.
pub fn infer_constant_of_shape(cx: &Infer, value: &Tensor) -> Result<Typed> {
    let shape =
        cx.g.constant(cx.input(0)?)
            .ok_or_else(|| Error::Shape("ConstantOfShape's shape must be a constant".into()))?;
    Ok(vec![(value.dtype(), dims(shape)?)])
}

/// Range: its length depends on its values, so it is always folded; reaching inference
/// means one of them is computed.
pub fn infer_range() -> Result<Typed> {
    Err(Error::Shape(
        "Range's start, limit and delta must be constants".into(),
    ))
}

/// ConstantOfShape's shape (0) and Range's start, limit and delta decide the shape.
pub fn shape_inputs(op: &Op) -> &'static [usize] {
    match op {
        Op::ConstantOfShape { .. } => &[0],
        Op::Range => &[0, 1, 2],
        _ => &[],
    }
}
