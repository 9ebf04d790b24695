//! QuantizeLinear and DequantizeLinear (per-tensor, per-axis, blocked) and DynamicQuantizeLinear
//! on the vector unit.

use crate::error::{Error, Result};
use crate::numeric::quantize_linear;
use crate::tensor::ops::normalize_axis;
use crate::tensor::{DType, Tensor};
use ndarray::{ArrayD, IxDyn};

/// For each element of a tensor of `shape`, the index of its scale/zero point.
fn param_index(
    shape: &[usize],
    param_shape: &[usize],
    axis: i64,
    block: usize,
) -> Result<Vec<usize>> {
    let n: usize = shape.iter().product();
    let plen: usize = param_shape.iter().product();
    if plen == 1 {
        return Ok(vec![0; n]);
    }
    let ax = normalize_axis(axis, shape.len())?;
    let inner: usize = shape[ax + 1..].iter().product();
    let dim = shape[ax];
    if block == 0 {
        if plen != dim {
            return Err(Error::Shape(format!(
                "per-axis scale has {plen} elements for axis {ax} of {shape:?}"
            )));
        }
        return Ok((0..n).map(|i| (i / inner) % dim).collect());
    }
    let blocks = dim.div_ceil(block);
    let mut expect = shape.to_vec();
    expect[ax] = blocks;
    if param_shape != expect.as_slice() {
        return Err(Error::Shape(format!(
            "blocked scale shape {param_shape:?}, expected {expect:?}"
        )));
    }
    Ok((0..n)
        .map(|i| {
            let (outer, rest) = (i / (dim * inner), i % (dim * inner));
            let (d, r) = (rest / inner, rest % inner);
            (outer * blocks + d / block) * inner + r
        })
        .collect())
}

fn range(dt: DType) -> Result<(i32, i32)> {
    match dt {
        DType::U8 => Ok((0, 255)),
        DType::I8 => Ok((-128, 127)),
        d => Err(Error::DType(format!("quantization to {d}"))),
    }
}

/// For each element of a tensor of `shape`, the index of its scale and zero point, with the
/// scales and the zero points (0 when absent).
fn params(
    shape: &[usize],
    scale: &Tensor,
    zp: Option<&Tensor>,
    axis: i64,
    block: usize,
) -> Result<(Vec<usize>, Vec<f32>, Vec<i64>)> {
    let idx = param_index(shape, scale.shape(), axis, block)?;
    let s: Vec<f32> = scale.to_f32_vec();
    let z: Vec<i64> = match zp {
        Some(z) => z.to_i64_vec()?,
        None => vec![0; s.len()],
    };
    if z.len() != s.len() {
        return Err(Error::Shape("zero point and scale differ in size".into()));
    }
    Ok((idx, s, z))
}

/// QuantizeLinear: `saturate(round_half_even(x / scale) + zp)`.
pub fn quantize(
    x: &Tensor,
    scale: &Tensor,
    zp: Option<&Tensor>,
    axis: i64,
    block: usize,
    out: Option<DType>,
) -> Result<Tensor> {
    let dt = zp.map(Tensor::dtype).or(out).unwrap_or(DType::U8);
    let (qmin, qmax) = range(dt)?;
    let (idx, s, z) = params(x.shape(), scale, zp, axis, block)?;
    let q: Vec<i32> = x
        .to_f32()
        .iter()
        .zip(&idx)
        .map(|(&v, &i)| quantize_linear(v, s[i], z[i] as i32, qmin, qmax))
        .collect();
    let a = ArrayD::from_shape_vec(IxDyn(x.shape()), q).map_err(|e| Error::Shape(e.to_string()))?;
    Ok(match dt {
        DType::U8 => Tensor::U8(a.mapv(|v| v as u8)),
        _ => Tensor::I8(a.mapv(|v| v as i8)),
    })
}

/// DequantizeLinear: `(x - zp) · scale`, in the scale's float type.
pub fn dequantize(
    x: &Tensor,
    scale: &Tensor,
    zp: Option<&Tensor>,
    axis: i64,
    block: usize,
) -> Result<Tensor> {
    if !matches!(x.dtype(), DType::U8 | DType::I8 | DType::I32) {
        return Err(Error::DType(format!("DequantizeLinear of {}", x.dtype())));
    }
    let (idx, s, z) = params(x.shape(), scale, zp, axis, block)?;
    let v: Vec<f32> = x
        .to_i64()?
        .iter()
        .zip(&idx)
        .map(|(&q, &i)| (q - z[i]) as f32 * s[i])
        .collect();
    let a = ArrayD::from_shape_vec(IxDyn(x.shape()), v).map_err(|e| Error::Shape(e.to_string()))?;
    Ok(Tensor::from_f32(a, scale.dtype()))
}

/// DynamicQuantizeLinear: `[y (uint8), scale, zero point (uint8)]` with the ONNX reference's
/// arithmetic: `max = max(0, max(x))`, `min = min(0, min(x))` in f32;
/// `scale = (max − min) / 255` (`1 / 255` when `max = min`); `zp = round_half_even(clamp(0 −
/// min / scale, 0, 255))`; `y = saturate(round_half_even(x / scale) + zp)`.
pub fn dynamic_quantize(x: &Tensor) -> Result<Vec<Tensor>> {
    if x.dtype() != DType::F32 {
        return Err(Error::DType(format!(
            "DynamicQuantizeLinear of {}",
            x.dtype()
        )));
    }
    let a = x.to_f32();
    let max = a.iter().copied().fold(0.0f32, f32::max);
    let min = a.iter().copied().fold(0.0f32, f32::min);
    // An all-zero input gets scale 1 (onnxruntime's choice; the formula would give 0).
    let scale = if max == min { 1.0 } else { (max - min) / 255.0 };
    let zp = (0.0 - min / scale).clamp(0.0, 255.0).round_ties_even() as i32;
    let y = a.mapv(|v| quantize_linear(v, scale, zp, 0, 255) as u8);
    let scalar = IxDyn(&[]);
    Ok(vec![
        Tensor::U8(y),
        Tensor::F32(ArrayD::from_elem(scalar.clone(), scale)),
        Tensor::U8(ArrayD::from_elem(scalar, zp as u8)),
    ])
}

/// The element-operations of DynamicQuantizeLinear: min and max over the input, then a
/// division and rounding per element.
pub fn dynamic_work(inputs: u64, outputs: u64) -> u64 {
    inputs.saturating_add(outputs).saturating_mul(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_quantization_follows_the_reference() {
        // The ONNX example: scale 0.0196078438, zero point 153.
        let x = Tensor::F32(
            ArrayD::from_shape_vec(IxDyn(&[6]), vec![0.0, 2.0, -3.0, -2.5, 1.34, 0.5]).unwrap(),
        );
        let out = dynamic_quantize(&x).unwrap();
        assert_eq!(out[1].to_f32()[[]], 0.019_607_844);
        assert_eq!(out[2].to_i64_vec().unwrap(), vec![153]);
        assert_eq!(
            out[0].to_i64_vec().unwrap(),
            vec![153, 255, 0, 26, 221, 179]
        );
    }

    #[test]
    fn an_all_zero_input_gets_scale_one() {
        // onnxruntime 1.32 returns scale 1, zero point 0 for [0, 0, 0].
        let out = dynamic_quantize(&Tensor::zeros(DType::F32, &[3])).unwrap();
        assert_eq!(out[1].to_f32()[[]], 1.0);
        assert_eq!(out[2].to_i64_vec().unwrap(), vec![0]);
        assert_eq!(out[0].to_i64_vec().unwrap(), vec![0, 0, 0]);
    }
}
