//! Resize (nearest and linear) one axis at a time: each output position of an axis reads one
//! input position (nearest), blends two (linear) or takes the extrapolation value
//! (tf_crop_and_resize outside the input). Coordinates come from the resolved plan in f64;
//! linear blends are f32 and the result is rounded once to the tensor's type. Nearest on
//! non-float tensors is a pure gather.

use crate::error::{Error, Result};
use crate::kernel::{AxisPlan, CoordinateTransform, NearestMode, ResizeMode, ResizePlan};
use crate::tensor::Tensor;
use ndarray::{ArrayD, Axis, IxDyn};

/// Where one output position of an axis gets its value.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tap {
    /// The extrapolation value.
    Fill,
    /// Input position `i`.
    Pick(usize),
    /// `(1 − w)·x[i] + w·x[i + 1]` (indices clamped to the input).
    Blend(usize, usize, f32),
}

/// The nearest input index of coordinate `x` under `mode`, as the ONNX reference rounds.
fn nearest(x: f64, mode: NearestMode) -> i64 {
    let floor = x.floor();
    if x == floor {
        return x as i64;
    }
    let ratio = x - floor;
    let up = match mode {
        NearestMode::RoundPreferFloor => ratio > 0.5,
        NearestMode::RoundPreferCeil => ratio >= 0.5,
        NearestMode::Floor => false,
        NearestMode::Ceil => true,
    };
    floor as i64 + i64::from(up)
}

fn taps(mode: ResizeMode, transform: CoordinateTransform, p: &AxisPlan) -> Vec<Tap> {
    let last = p.input.saturating_sub(1) as i64;
    let clamp = |i: i64| i.clamp(0, last) as usize;
    (0..p.output)
        .map(|y| match p.source(transform, y) {
            None => Tap::Fill,
            Some(x) => match mode {
                ResizeMode::Nearest(m) => Tap::Pick(clamp(nearest(x, m))),
                ResizeMode::Linear => {
                    let floor = x.floor();
                    if x == floor {
                        Tap::Pick(clamp(x as i64))
                    } else {
                        let i = floor as i64;
                        Tap::Blend(clamp(i), clamp(i + 1), (x - floor) as f32)
                    }
                }
            },
        })
        .collect()
}

/// Resamples the f32 array `a` along `axis` by `taps`.
fn apply(a: &ArrayD<f32>, axis: usize, taps: &[Tap], fill: f32) -> ArrayD<f32> {
    let mut shape = a.shape().to_vec();
    shape[axis] = taps.len();
    let mut out = ArrayD::<f32>::zeros(IxDyn(&shape));
    for (o, &t) in taps.iter().enumerate() {
        let mut dst = out.index_axis_mut(Axis(axis), o);
        match t {
            Tap::Fill => dst.fill(fill),
            Tap::Pick(i) => dst.assign(&a.index_axis(Axis(axis), i)),
            Tap::Blend(i, j, w) => {
                let (p, q) = (a.index_axis(Axis(axis), i), a.index_axis(Axis(axis), j));
                ndarray::Zip::from(&mut dst)
                    .and(&p)
                    .and(&q)
                    .for_each(|d, &p, &q| *d = (1.0 - w) * p + w * q);
            }
        }
    }
    out
}

/// Resize(X) along the axes of plan `p`; `fill` is the extrapolation value.
pub fn resize(
    x: &Tensor,
    mode: ResizeMode,
    transform: CoordinateTransform,
    fill: f32,
    p: &ResizePlan,
) -> Result<Tensor> {
    let per_axis: Vec<(usize, Vec<Tap>)> = p
        .axes
        .iter()
        .map(|ap| (ap.axis, taps(mode, transform, ap)))
        .collect();
    if !x.dtype().is_float() {
        let mut out = x.clone();
        for (axis, taps) in &per_axis {
            let index = taps
                .iter()
                .map(|t| match t {
                    Tap::Pick(i) => Ok(*i),
                    _ => Err(Error::DType(format!(
                        "Resize of {} other than by nearest pixels inside the input",
                        x.dtype()
                    ))),
                })
                .collect::<Result<Vec<usize>>>()?;
            out = out.gather(*axis, &index, &[index.len()])?;
        }
        return Ok(out);
    }
    let mut a32 = x.to_f32();
    for (axis, taps) in &per_axis {
        a32 = apply(&a32, *axis, taps, fill);
    }
    Ok(Tensor::from_f32(a32, x.dtype()))
}

/// The element-operations of Resize over `outputs` elements of a rank-`rank` input: one
/// per output for nearest, a multiply-add per blended neighbour along each axis for linear.
pub fn work(mode: ResizeMode, rank: usize, outputs: u64) -> u64 {
    match mode {
        ResizeMode::Nearest(_) => outputs,
        ResizeMode::Linear => outputs.saturating_mul(2 * rank as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rounding_and_linear_blend() {
        assert_eq!(nearest(1.5, NearestMode::RoundPreferFloor), 1);
        assert_eq!(nearest(1.5, NearestMode::RoundPreferCeil), 2);
        assert_eq!(nearest(-0.25, NearestMode::Floor), -1);
        assert_eq!(nearest(2.0, NearestMode::Ceil), 2);
        // [0, 1] to 5 samples, corners aligned: steps of a quarter.
        let plan = ResizePlan {
            shape: vec![5],
            axes: vec![AxisPlan {
                axis: 0,
                input: 2,
                output: 5,
                scale: 2.5,
                roi: (0.0, 1.0),
            }],
        };
        let x = Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[2]), vec![0.0, 1.0]).unwrap());
        let y = resize(
            &x,
            ResizeMode::Linear,
            CoordinateTransform::AlignCorners,
            0.0,
            &plan,
        )
        .unwrap();
        assert_eq!(y.to_f32_vec(), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    }
}
