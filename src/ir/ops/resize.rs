//! Resize: attributes, and its geometry (ONNX reference semantics): output sizes from `scales`
//! or `sizes` as a `kernel::ResizePlan` (whose axes give the input coordinate of every output
//! coordinate). Shared by shape inference and lowering, which hands the plan to the vector unit.
//! Coordinates are computed in f64, as the reference does, so that nearest-pixel choices agree
//! exactly; pixel values are blended in f32 by the vector unit.

use super::{Infer, Typed};
use crate::error::{Error, Result};
pub use crate::kernel::{AxisPlan, CoordinateTransform, NearestMode, ResizeMode, ResizePlan};
use crate::tensor::ops::normalize_axis;

/// How Resize fits `sizes` when only some axes may keep their aspect ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AspectPolicy {
    /// Every axis takes its own size.
    Stretch,
    /// One scale, the smallest: the output fits inside `sizes`.
    NotLarger,
    /// One scale, the largest: the output covers `sizes`.
    NotSmaller,
}

/// Attributes of Resize (opset 11 and later).
#[derive(Debug, Clone, PartialEq)]
pub struct ResizeAttrs {
    /// Interpolation.
    pub mode: ResizeMode,
    /// Coordinate mapping.
    pub transform: CoordinateTransform,
    /// Value of output pixels outside the input (tf_crop_and_resize).
    pub extrapolation_value: f32,
    /// Axes that `roi`, `scales` and `sizes` refer to (opset 18); `None` = every axis.
    pub axes: Option<Vec<i64>>,
    /// How `sizes` are fitted.
    pub aspect: AspectPolicy,
}

/// Resolves the geometry of Resize for an input of `shape` from its `roi`, `scales` and
/// `sizes` inputs (absent or empty = not given; exactly one of scales and sizes is).
pub fn plan(
    a: &ResizeAttrs,
    shape: &[usize],
    roi: Option<&[f64]>,
    scales: Option<&[f64]>,
    sizes: Option<&[i64]>,
) -> Result<ResizePlan> {
    let rank = shape.len();
    let axes: Vec<usize> = match &a.axes {
        Some(ax) => ax
            .iter()
            .map(|&x| normalize_axis(x, rank))
            .collect::<Result<_>>()?,
        None => (0..rank).collect(),
    };
    if let Some(i) = (1..axes.len()).find(|&i| axes[..i].contains(&axes[i])) {
        return Err(Error::Shape(format!(
            "resize: axis {} repeated in axes {:?}",
            axes[i],
            a.axes.as_deref().unwrap_or_default()
        )));
    }
    let n = axes.len();
    let given = |v: Option<usize>| v.filter(|&l| l > 0);
    let (mut out, mut scale) = (shape.to_vec(), vec![1.0f64; rank]);
    match (
        given(scales.map(<[f64]>::len)),
        given(sizes.map(<[i64]>::len)),
    ) {
        (Some(l), None) => {
            let s = scales.unwrap_or_default();
            if l != n || s.iter().any(|&v| !(v > 0.0 && v.is_finite())) {
                return Err(Error::Shape(format!("resize: scales {s:?} for {n} axes")));
            }
            for (&ax, &v) in axes.iter().zip(s) {
                scale[ax] = v;
                out[ax] = (v * shape[ax] as f64).floor() as usize;
            }
        }
        (None, Some(l)) => {
            let s = sizes.unwrap_or_default();
            if l != n || s.iter().any(|&v| v < 0) {
                return Err(Error::Shape(format!("resize: sizes {s:?} for {n} axes")));
            }
            for (&ax, &v) in axes.iter().zip(s) {
                scale[ax] = v as f64 / shape[ax] as f64;
                out[ax] = v as usize;
            }
            let pick = match a.aspect {
                AspectPolicy::Stretch => None,
                AspectPolicy::NotLarger => axes.iter().map(|&x| scale[x]).reduce(f64::min),
                AspectPolicy::NotSmaller => axes.iter().map(|&x| scale[x]).reduce(f64::max),
            };
            if let Some(k) = pick {
                for &ax in &axes {
                    scale[ax] = k;
                    out[ax] = (k * shape[ax] as f64 + 0.5) as usize;
                }
            }
        }
        _ => {
            return Err(Error::Shape(
                "resize needs exactly one of scales and sizes".into(),
            ));
        }
    }
    // As onnxruntime: no scale makes something of an empty axis.
    if let Some(ax) = (0..rank).find(|&ax| shape[ax] == 0 && out[ax] != 0) {
        return Err(Error::Shape(format!(
            "resize: axis {ax} is empty in the input {shape:?} but of size {} in the output",
            out[ax]
        )));
    }
    let mut full_roi = vec![(0.0, 1.0); rank];
    if a.transform == CoordinateTransform::TfCropAndResize {
        let r = roi
            .filter(|r| !r.is_empty())
            .ok_or_else(|| Error::Shape("resize: tf_crop_and_resize needs a roi".into()))?;
        if r.len() != 2 * n {
            return Err(Error::Shape(format!("resize: roi {r:?} for {n} axes")));
        }
        for (i, &ax) in axes.iter().enumerate() {
            full_roi[ax] = (r[i], r[n + i]);
        }
    }
    let plans = (0..rank)
        .filter(|&ax| out[ax] != shape[ax] || scale[ax] != 1.0 || full_roi[ax] != (0.0, 1.0))
        .map(|ax| AxisPlan {
            axis: ax,
            input: shape[ax],
            output: out[ax],
            scale: scale[ax],
            roi: full_roi[ax],
        })
        .collect();
    Ok(ResizePlan {
        shape: out,
        axes: plans,
    })
}

/// Resize: X's type, the planned shape (roi, scales and sizes are constants).
pub fn resize(cx: &Infer, a: &ResizeAttrs) -> Result<Typed> {
    let roi = cx.const_floats(1, "Resize's roi")?;
    let scales = cx.const_floats(2, "Resize's scales")?;
    let sizes = cx.const_ints(3, "Resize's sizes")?;
    let p = plan(
        a,
        cx.shape(0)?,
        roi.as_deref(),
        scales.as_deref(),
        sizes.as_deref(),
    )?;
    cx.same(p.shape)
}

/// roi, scales and sizes decide the output shape.
pub const SHAPE_INPUTS: &[usize] = &[1, 2, 3];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{NearestMode, ResizeMode};

    fn attrs(t: CoordinateTransform) -> ResizeAttrs {
        ResizeAttrs {
            mode: ResizeMode::Nearest(NearestMode::RoundPreferFloor),
            transform: t,
            extrapolation_value: 0.0,
            axes: None,
            aspect: AspectPolicy::Stretch,
        }
    }

    #[test]
    fn sizes_scales_and_coordinates() {
        let a = attrs(CoordinateTransform::HalfPixel);
        let p = plan(&a, &[1, 1, 2, 4], None, Some(&[1.0, 1.0, 0.6, 0.6]), None).unwrap();
        assert_eq!(p.shape, vec![1, 1, 1, 2]);
        assert_eq!(p.axes.len(), 2);
        let p = plan(&a, &[1, 1, 4, 4], None, None, Some(&[1, 1, 8, 8])).unwrap();
        assert_eq!(p.axes[0].source(a.transform, 0), Some(-0.25));
        let b = ResizeAttrs {
            aspect: AspectPolicy::NotLarger,
            axes: Some(vec![2, 3]),
            ..a.clone()
        };
        let p = plan(&b, &[1, 1, 2, 2], None, None, Some(&[7, 8])).unwrap();
        assert_eq!(p.shape, vec![1, 1, 7, 7]);
        assert!(plan(&a, &[2], None, None, None).is_err());
    }
}
