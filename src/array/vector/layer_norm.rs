//! LayerNormalization over the trailing axes, in f32 as the ONNX reference orders it:
//! `mean = Σx/n`, `d = x − mean`, `var = Σd²/n`, `inv = 1/√(var + ε)`, `y = d·inv·scale + bias`.

use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::tensor::ops::normalize_axis;
use ndarray::{ArrayD, IxDyn};

/// `[Y, Mean, InvStdDev]` of LayerNormalization; the statistics have X's shape with the
/// normalized axes set to 1.
pub fn layer_norm(
    x: &Tensor,
    scale: &Tensor,
    bias: Option<&Tensor>,
    axis: i64,
    epsilon: f32,
) -> Result<Vec<Tensor>> {
    if !x.dtype().is_float() {
        return Err(Error::DType(format!("LayerNormalization of {}", x.dtype())));
    }
    let shape = x.shape().to_vec();
    let ax = normalize_axis(axis, shape.len())?;
    let inner: usize = shape[ax..].iter().product();
    let param = |t: &Tensor, what: &str| -> Result<Vec<f32>> {
        let b = t.to_f32();
        let v = b.broadcast(IxDyn(&shape[ax..])).ok_or_else(|| {
            Error::Shape(format!(
                "{what} {:?} does not broadcast to {:?}",
                t.shape(),
                &shape[ax..]
            ))
        })?;
        Ok(v.iter().copied().collect())
    };
    let w = param(scale, "scale")?;
    let b = bias.map(|t| param(t, "bias")).transpose()?;
    let xs: Vec<f32> = x.to_f32_vec();
    let (mut y, mut means, mut invs) = (Vec::with_capacity(xs.len()), Vec::new(), Vec::new());
    for row in xs.chunks(inner.max(1)) {
        let n = inner as f32;
        let mean = row.iter().sum::<f32>() / n;
        let var = row.iter().map(|&v| (v - mean) * (v - mean)).sum::<f32>() / n;
        let inv = 1.0 / (var + epsilon).sqrt();
        y.extend(row.iter().enumerate().map(|(i, &v)| {
            let t = (v - mean) * inv * w[i];
            b.as_ref().map_or(t, |b| t + b[i])
        }));
        means.push(mean);
        invs.push(inv);
    }
    let mut stats = shape.clone();
    stats[ax..].fill(1);
    let wrap = |v: Vec<f32>, s: &[usize]| -> Result<Tensor> {
        let a = ArrayD::from_shape_vec(IxDyn(s), v).map_err(|e| Error::Shape(e.to_string()))?;
        Ok(Tensor::from_f32(a, x.dtype()))
    };
    Ok(vec![
        wrap(y, &shape)?,
        wrap(means, &stats)?,
        wrap(invs, &stats)?,
    ])
}

/// The element-operations of LayerNormalization: mean and variance passes over the input,
/// then normalize, scale and shift.
pub fn work(inputs: u64) -> u64 {
    inputs.saturating_mul(5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_normalized() {
        let x =
            Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![1.0, 3.0, 0.0, 4.0]).unwrap());
        let one = Tensor::F32(ArrayD::from_elem(IxDyn(&[2]), 1.0));
        let out = layer_norm(&x, &one, Some(&one), -1, 0.0).unwrap();
        let flat = |t: &Tensor| t.to_f32_vec();
        assert_eq!(flat(&out[0]), vec![0.0, 2.0, 0.0, 2.0]);
        assert_eq!(out[1].shape(), &[2, 1]);
        assert_eq!(flat(&out[1]), vec![2.0, 2.0]);
        assert_eq!(flat(&out[2]), vec![1.0, 0.5]);
    }
}
