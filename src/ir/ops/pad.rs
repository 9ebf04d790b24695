//! Pad: the output shape and the copy (constant, reflect, edge or wrap fill; negative pads
//! crop). Pure data movement, shared by constant folding and the vector unit's copy engine.

use super::{Infer, Typed};
use crate::error::{Error, Result};
use crate::map_tensor_same;
use crate::tensor::ops::normalize_axis;
use crate::tensor::{DType, Tensor};
use ndarray::{ArrayD, IxDyn};

/// How Pad fills the border.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PadMode {
    /// A constant value.
    Constant,
    /// Mirror without repeating the edge.
    Reflect,
    /// Repeat the edge.
    Edge,
    /// Wrap around (cyclic).
    Wrap,
}

/// Per-axis `(begin, end)` pads of a tensor of rank `rank`: `pads` holds all begins then all
/// ends for `axes` (every axis when `None`).
pub fn resolve(rank: usize, pads: &[i64], axes: Option<&[i64]>) -> Result<Vec<(i64, i64)>> {
    let axes: Vec<usize> = match axes {
        Some(a) => a
            .iter()
            .map(|&x| normalize_axis(x, rank))
            .collect::<Result<_>>()?,
        None => (0..rank).collect(),
    };
    if pads.len() != 2 * axes.len() {
        return Err(Error::Shape(format!(
            "pad: {} pads for {} axes",
            pads.len(),
            axes.len()
        )));
    }
    let mut out = vec![(0, 0); rank];
    for (i, &a) in axes.iter().enumerate() {
        if out[a] != (0, 0) || axes[..i].contains(&a) {
            return Err(Error::Shape(format!("pad: axis {a} repeated")));
        }
        out[a] = (pads[i], pads[i + axes.len()]);
    }
    Ok(out)
}

/// The largest pad magnitude: a larger one would make a tensor beyond any element limit, and
/// bounding it keeps every index computation of [`pad`] within i64.
const MAX_PAD: u64 = 1 << 40;

/// The padded shape (a negative pad removes elements; nothing may go below zero). Every
/// [`pad`] goes through it, so it also rejects pads too large for the index arithmetic.
pub fn padded_shape(shape: &[usize], pads: &[(i64, i64)]) -> Result<Vec<usize>> {
    shape
        .iter()
        .zip(pads)
        .map(|(&d, &(b, e))| {
            if b.unsigned_abs() > MAX_PAD || e.unsigned_abs() > MAX_PAD {
                return Err(Error::Shape(format!(
                    "pad ({b}, {e}) is larger than {MAX_PAD} in magnitude"
                )));
            }
            i64::try_from(d)
                .ok()
                .and_then(|d| d.checked_add(b)?.checked_add(e))
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| Error::Shape(format!("pad ({b}, {e}) leaves nothing of dim {d}")))
        })
        .collect()
}

/// The source index along a dim of size `n` of padded position `i` (already shifted by the
/// begin pad), or `None` for the constant fill.
fn source(mode: PadMode, i: i64, n: i64) -> Option<i64> {
    if (0..n).contains(&i) {
        return Some(i);
    }
    match mode {
        PadMode::Constant => None,
        PadMode::Edge => Some(i.clamp(0, n - 1)),
        PadMode::Wrap => Some(i.rem_euclid(n)),
        PadMode::Reflect if n == 1 => Some(0),
        PadMode::Reflect => {
            let p = i.rem_euclid(2 * (n - 1));
            Some(if p >= n { 2 * (n - 1) - p } else { p })
        }
    }
}

/// Edge, reflect and wrap fill from the axis they pad: padding an empty axis in those modes
/// is an error (as onnxruntime: "cannot pad dimension with a value of 0"), whether or not the
/// output is empty along another axis.
pub fn check_fill(shape: &[usize], pads: &[(i64, i64)], mode: PadMode) -> Result<()> {
    if mode == PadMode::Constant {
        return Ok(());
    }
    match shape
        .iter()
        .zip(pads)
        .position(|(&d, &(b, e))| d == 0 && (b > 0 || e > 0))
    {
        Some(ax) => Err(Error::Shape(format!(
            "pad: {mode:?} mode cannot pad axis {ax}, empty in the input {shape:?}"
        ))),
        None => Ok(()),
    }
}

/// Pads `x`; `fill` is the constant (any type; cast to x's).
pub fn pad(x: &Tensor, pads: &[(i64, i64)], mode: PadMode, fill: &Tensor) -> Result<Tensor> {
    let shape = x.shape().to_vec();
    let out = padded_shape(&shape, pads)?;
    check_fill(&shape, pads, mode)?;
    // Flat source index of every output element; `len` (one past the data) is the fill.
    let len = x.len();
    let total: usize = out.iter().product();
    // Per dim, the source coordinate of every padded position (None: the fill).
    let tables: Vec<Vec<Option<usize>>> = (0..out.len())
        .map(|d| {
            (0..out[d])
                .map(|p| source(mode, p as i64 - pads[d].0, shape[d] as i64).map(|s| s as usize))
                .collect()
        })
        .collect();
    let mut index = Vec::with_capacity(total);
    if let Some((last, outer)) = tables.split_last()
        && total > 0
    {
        // Row by row: the outer coordinates give the row's base (or the fill); the last
        // dim's table gives each element.
        let mut pos = vec![0usize; outer.len()];
        loop {
            let mut base = Some(0usize);
            for (d, &p) in pos.iter().enumerate() {
                base = base.zip(outer[d][p]).map(|(b, s)| b * shape[d] + s);
            }
            let width = shape[outer.len()];
            match base {
                Some(b) => index.extend(last.iter().map(|s| s.map_or(len, |s| b * width + s))),
                None => index.extend(std::iter::repeat_n(len, last.len())),
            }
            let Some(d) = (0..outer.len()).rev().find(|&d| pos[d] + 1 < out[d]) else {
                break;
            };
            pos[d] += 1;
            pos[d + 1..].fill(0);
        }
    } else if total > 0 {
        index.push(0);
    }
    let fill = fill.cast(x.dtype()).reshape(&[1])?;
    let ext = Tensor::concat(&[&x.reshape(&[len])?, &fill], 0)?;
    Ok(map_tensor_same!(&ext, a => {
        let flat = a.as_standard_layout();
        let src = flat.as_slice().ok_or_else(|| Error::Shape("pad: input not contiguous".into()))?;
        ArrayD::from_shape_vec(IxDyn(&out), index.iter().map(|&i| src[i]).collect())
            .map_err(|e| Error::Shape(format!("pad: {e}")))?
    }))
}

/// Pad on concrete inputs: `(data, [pads], [constant_value], [axes])`, or the opset < 11
/// attributes `pads` and `value`.
pub fn eval(
    mode: PadMode,
    attr_pads: Option<&[i64]>,
    attr_value: f32,
    inputs: &[Option<&Tensor>],
) -> Result<Tensor> {
    let arg = |i: usize| inputs.get(i).copied().flatten();
    let x = arg(0).ok_or_else(|| Error::Shape("pad: no data".into()))?;
    let ints = |i: usize| arg(i).map(Tensor::to_i64_vec).transpose();
    let pads = match attr_pads {
        Some(p) => p.to_vec(),
        None => ints(1)?.ok_or_else(|| Error::Shape("pad: no pads".into()))?,
    };
    let axes = ints(3)?;
    let resolved = resolve(x.shape().len(), &pads, axes.as_deref())?;
    let fill = match arg(2) {
        Some(v) if v.len() == 1 => v.clone(),
        Some(v) => {
            return Err(Error::Shape(format!(
                "pad: constant_value must be a scalar, got shape {:?}",
                v.shape()
            )));
        }
        None => Tensor::from_f32(
            ndarray::ArrayD::from_elem(ndarray::IxDyn(&[]), attr_value),
            DType::F32,
        ),
    };
    pad(x, &resolved, mode, &fill)
}

/// Pad: X's type, the padded (or cropped) shape.
pub fn infer(cx: &Infer, mode: PadMode, pads: Option<&[i64]>) -> Result<Typed> {
    let pads = match pads {
        Some(p) => p.to_vec(),
        None => cx
            .const_ints(1, "Pad's pads")?
            .ok_or_else(|| Error::Shape("Pad needs pads".into()))?,
    };
    let axes = cx.const_ints(3, "Pad's axes")?;
    let xs = cx.shape(0)?;
    let resolved = resolve(xs.len(), &pads, axes.as_deref())?;
    check_fill(xs, &resolved, mode)?;
    cx.same(padded_shape(xs, &resolved)?)
}

/// The pads (1) and axes (3) inputs decide the shape unless the attribute gives the pads.
pub fn shape_inputs(pads: Option<&[i64]>) -> &'static [usize] {
    if pads.is_none() { &[1, 3] } else { &[] }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[usize], v: Vec<i64>) -> Tensor {
        Tensor::I64(ArrayD::from_shape_vec(IxDyn(shape), v).unwrap())
    }

    #[test]
    fn modes_fill_like_numpy() {
        let x = t(&[3], vec![1, 2, 3]);
        let zero = t(&[], vec![0]);
        let run = |m, b, e| pad(&x, &[(b, e)], m, &zero).unwrap();
        assert_eq!(
            run(PadMode::Constant, 2, 1),
            t(&[6], vec![0, 0, 1, 2, 3, 0])
        );
        assert_eq!(run(PadMode::Edge, 2, 1), t(&[6], vec![1, 1, 1, 2, 3, 3]));
        assert_eq!(
            run(PadMode::Reflect, 2, 2),
            t(&[7], vec![3, 2, 1, 2, 3, 2, 1])
        );
        assert_eq!(run(PadMode::Wrap, 2, 1), t(&[6], vec![2, 3, 1, 2, 3, 1]));
        assert_eq!(run(PadMode::Constant, -1, 0), t(&[2], vec![2, 3]));
        assert!(resolve(2, &[1, 1], Some(&[0, -2])).is_err());
        assert!(padded_shape(&[2], &[(-2, -1)]).is_err());
    }
}
