//! Pad on the copy engine: constant, reflect, edge or wrap fill (negative pads crop), exact
//! in every type, on pads and an output shape `lower` resolved.

use crate::error::{Error, Result};
use crate::kernel::PadMode;
use crate::map_tensor_same;
use crate::tensor::{DType, Tensor};
use ndarray::{ArrayD, IxDyn};

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

/// Pads `x` by `(begin, end)` per axis to the shape `out`; `fill` is the constant (any type;
/// cast to x's).
pub fn pad(
    x: &Tensor,
    pads: &[(i64, i64)],
    out: &[usize],
    mode: PadMode,
    fill: &Tensor,
) -> Result<Tensor> {
    let shape = x.shape().to_vec();
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
    let fill = fill.cast(x.dtype()).reshape(&[1])?;
    // The data followed by the fill: flat index `len` reads the fill.
    let ext = Tensor::concat(&[&x.reshape(&[len])?, &fill], 0)?;
    Ok(map_tensor_same!(&ext, a => {
        let flat = a.as_standard_layout();
        let src = flat.as_slice().ok_or_else(|| Error::Shape("pad: input not contiguous".into()))?;
        let mut values = Vec::with_capacity(total);
        for_each_row(&tables, &shape, out, |base, last| match base {
            Some(b) => values.extend(last.iter().map(|s| src[s.map_or(len, |s| b + s)])),
            None => values.extend(std::iter::repeat_n(src[len], last.len())),
        });
        ArrayD::from_shape_vec(IxDyn(out), values).map_err(|e| Error::Shape(format!("pad: {e}")))?
    }))
}

/// Calls `row` for every row (all dims but the last) of the padded shape `out`, in order,
/// with the flat source index of the row's first element (`None`: a row of fill) and the
/// last dim's table. A rank-0 tensor is one row of one element.
fn for_each_row(
    tables: &[Vec<Option<usize>>],
    shape: &[usize],
    out: &[usize],
    mut row: impl FnMut(Option<usize>, &[Option<usize>]),
) {
    if out.iter().product::<usize>() == 0 {
        return;
    }
    let Some((last, outer)) = tables.split_last() else {
        row(Some(0), &[Some(0)]);
        return;
    };
    let width = shape[outer.len()];
    let mut pos = vec![0usize; outer.len()];
    loop {
        let mut base = Some(0usize);
        for (d, &p) in pos.iter().enumerate() {
            base = base.zip(outer[d][p]).map(|(b, s)| b * shape[d] + s);
        }
        row(base.map(|b| b * width), last);
        let Some(d) = (0..outer.len()).rev().find(|&d| pos[d] + 1 < out[d]) else {
            break;
        };
        pos[d] += 1;
        pos[d + 1..].fill(0);
    }
}

/// The constant fill: input 2 (`constant_value`) when given, else the opset < 11 attribute.
pub fn fill_value(input: Option<&Tensor>, attribute: f32) -> Result<Tensor> {
    match input {
        Some(v) if v.len() == 1 => Ok(v.clone()),
        Some(v) => Err(Error::Shape(format!(
            "pad: constant_value must be a scalar, got shape {:?}",
            v.shape()
        ))),
        None => Ok(Tensor::from_f32(
            ArrayD::from_elem(IxDyn(&[]), attribute),
            DType::F32,
        )),
    }
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
        let run = |m, b: i64, e: i64| {
            let out = [(3 + b + e) as usize];
            pad(&x, &[(b, e)], &out, m, &zero).unwrap()
        };
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
    }
}
