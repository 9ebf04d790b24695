//! Elementwise vector ops: activations, broadcasting arithmetic, batch norm, softmax.
//! Floats compute in f32 and round once to fp16/bf16; integers are exact (wrapping like numpy).

use crate::error::{Error, Result};
use crate::ir::Op;
use crate::tensor::ops::{broadcast_shapes, normalize_axis};
use crate::tensor::{DType, Tensor};
use ndarray::{ArrayD, Axis, IxDyn, Zip};

/// Applies an f32 function to a float tensor, keeping its type.
fn map_float(x: &Tensor, f: impl Fn(f32) -> f32) -> Result<Tensor> {
    match x.dtype() {
        DType::F32 | DType::F16 | DType::BF16 => {
            Ok(Tensor::from_f32(x.to_f32().mapv(f), x.dtype()))
        }
        d => Err(Error::DType(format!("{d} where a float was expected"))),
    }
}

/// max(x, 0).
pub fn relu(x: &Tensor) -> Result<Tensor> {
    Ok(match x {
        Tensor::I8(a) => Tensor::I8(a.mapv(|v| v.max(0))),
        Tensor::I32(a) => Tensor::I32(a.mapv(|v| v.max(0))),
        Tensor::I64(a) => Tensor::I64(a.mapv(|v| v.max(0))),
        Tensor::U8(_) => x.clone(),
        _ => map_float(x, |v| if v < 0.0 { 0.0 } else { v })?,
    })
}

fn scalar_f64(t: Option<&Tensor>) -> Result<Option<f64>> {
    match t {
        None => Ok(None),
        Some(t) if t.len() == 1 => Ok(t.to_f64().iter().next().copied()),
        Some(t) => Err(Error::Shape(format!(
            "expected a scalar, got shape {:?}",
            t.shape()
        ))),
    }
}

/// Clip to [min, max] (inputs, or the opset < 11 attributes).
pub fn clip(
    x: &Tensor,
    min: Option<&Tensor>,
    max: Option<&Tensor>,
    amin: Option<f32>,
    amax: Option<f32>,
) -> Result<Tensor> {
    let lo = scalar_f64(min)?.or(amin.map(f64::from));
    let hi = scalar_f64(max)?.or(amax.map(f64::from));
    macro_rules! int_clip {
        ($a:expr, $t:ty, $variant:ident) => {{
            let lo = lo.map_or(<$t>::MIN, |v| v as $t);
            let hi = hi.map_or(<$t>::MAX, |v| v as $t);
            Tensor::$variant($a.mapv(|v| {
                if v < lo {
                    lo
                } else if v > hi {
                    hi
                } else {
                    v
                }
            }))
        }};
    }
    Ok(match x {
        Tensor::I8(a) => int_clip!(a, i8, I8),
        Tensor::U8(a) => int_clip!(a, u8, U8),
        Tensor::I32(a) => int_clip!(a, i32, I32),
        Tensor::I64(a) => int_clip!(a, i64, I64),
        _ => {
            let (lo, hi) = (lo.map(|v| v as f32), hi.map(|v| v as f32));
            map_float(x, |v| {
                let v = lo.map_or(v, |l| if v < l { l } else { v });
                hi.map_or(v, |h| if v > h { h } else { v })
            })?
        }
    })
}

fn zip_bcast<T: Clone, U>(
    a: &ArrayD<T>,
    b: &ArrayD<T>,
    f: impl Fn(T, T) -> U,
) -> Result<ArrayD<U>> {
    let shape = broadcast_shapes(a.shape(), b.shape())?;
    let av = a
        .broadcast(IxDyn(&shape))
        .ok_or_else(|| Error::Shape("broadcast".into()))?;
    let bv = b
        .broadcast(IxDyn(&shape))
        .ok_or_else(|| Error::Shape("broadcast".into()))?;
    Ok(Zip::from(&av)
        .and(&bv)
        .map_collect(|x, y| f(x.clone(), y.clone())))
}

/// Add, Sub, Mul or Div with numpy broadcasting.
pub fn binary(op: &Op, x: &Tensor, y: &Tensor) -> Result<Tensor> {
    macro_rules! int_op {
        ($a:expr, $b:expr, $variant:ident) => {{
            if matches!(op, Op::Div) && $b.iter().any(|v| *v == 0) {
                return Err(Error::Invalid("integer division by zero".into()));
            }
            Tensor::$variant(zip_bcast($a, $b, |p, q| match op {
                Op::Add => p.wrapping_add(q),
                Op::Sub => p.wrapping_sub(q),
                Op::Mul => p.wrapping_mul(q),
                _ => p.wrapping_div(q),
            })?)
        }};
    }
    Ok(match (x, y) {
        (Tensor::I8(a), Tensor::I8(b)) => int_op!(a, b, I8),
        (Tensor::U8(a), Tensor::U8(b)) => int_op!(a, b, U8),
        (Tensor::I32(a), Tensor::I32(b)) => int_op!(a, b, I32),
        (Tensor::I64(a), Tensor::I64(b)) => int_op!(a, b, I64),
        _ if x.dtype() == y.dtype() && x.dtype().is_float() => {
            let out = zip_bcast(&x.to_f32(), &y.to_f32(), |p, q| match op {
                Op::Add => p + q,
                Op::Sub => p - q,
                Op::Mul => p * q,
                _ => p / q,
            })?;
            Tensor::from_f32(out, x.dtype())
        }
        _ => {
            return Err(Error::DType(format!(
                "{} of {} and {}",
                op.name(),
                x.dtype(),
                y.dtype()
            )));
        }
    })
}

/// Inference-mode batch normalization over axis 1.
pub fn batch_norm(
    x: &Tensor,
    scale: &Tensor,
    bias: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    eps: f32,
) -> Result<Tensor> {
    let xa = x.to_f32();
    let c = *xa
        .shape()
        .get(1)
        .ok_or_else(|| Error::Shape("BatchNormalization needs rank ≥ 2".into()))?;
    let p: Vec<Vec<f32>> = [scale, bias, mean, var]
        .iter()
        .map(|t| t.to_f32().iter().copied().collect())
        .collect();
    if p.iter().any(|v| v.len() != c) {
        return Err(Error::Shape(format!(
            "BatchNormalization parameters must have {c} elements"
        )));
    }
    let mut out = xa;
    for (ch, mut lane) in out.axis_iter_mut(Axis(1)).enumerate() {
        let inv = (p[3][ch] + eps).sqrt();
        lane.mapv_inplace(|v| (v - p[2][ch]) / inv * p[0][ch] + p[1][ch]);
    }
    Ok(Tensor::from_f32(out, x.dtype()))
}

/// Softmax along `axis` (over the flattened tail when `coerce_2d`, as opsets < 13 define it).
pub fn softmax(x: &Tensor, axis: i64, coerce_2d: bool) -> Result<Tensor> {
    let shape = x.shape().to_vec();
    let ax = normalize_axis(axis, shape.len())?;
    let a = x.to_f32();
    let (rows, view_shape, red) = if coerce_2d {
        let inner: usize = shape[ax..].iter().product();
        (
            shape[..ax].iter().product::<usize>(),
            vec![shape[..ax].iter().product::<usize>(), inner],
            1,
        )
    } else {
        (0, shape.clone(), ax)
    };
    let _ = rows;
    let mut v = a
        .into_shape_with_order(IxDyn(&view_shape))
        .map_err(|e| Error::Shape(e.to_string()))?;
    for mut lane in v.lanes_mut(Axis(red)) {
        let m = lane.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        lane.mapv_inplace(|e| (e - m).exp());
        let s: f32 = lane.iter().sum();
        lane.mapv_inplace(|e| e / s);
    }
    let out = v
        .into_shape_with_order(IxDyn(&shape))
        .map_err(|e| Error::Shape(e.to_string()))?;
    Ok(Tensor::from_f32(out, x.dtype()))
}
