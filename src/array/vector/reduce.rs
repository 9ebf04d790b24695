//! Reductions over axes (ReduceMean, ReduceSum, ReduceMax, ReduceMin). Float sums accumulate
//! in f32 in index order and round once; integer sums wrap (exact modulo the type's width);
//! Max and Min are exact in every type.

use crate::error::{Error, Result};
use crate::ir::reduce::{reduce_axes, reduced_shape};
use crate::ir::{ReduceAttrs, Reduction};
use crate::tensor::{DType, Tensor};
use ndarray::{ArrayD, IxDyn};

/// For every input element in index order, the flat index of the output element it reduces
/// into (the reduced dims dropped).
fn output_index(shape: &[usize], axes: &[usize]) -> Vec<usize> {
    let total: usize = shape.iter().product();
    let mut out = Vec::with_capacity(total);
    let mut pos = vec![0usize; shape.len()];
    for _ in 0..total {
        let flat = pos
            .iter()
            .enumerate()
            .filter(|(d, _)| !axes.contains(d))
            .fold(0, |acc, (d, &p)| acc * shape[d] + p);
        out.push(flat);
        for d in (0..shape.len()).rev() {
            pos[d] += 1;
            if pos[d] < shape[d] {
                break;
            }
            pos[d] = 0;
        }
    }
    out
}

/// Folds the values into their output slots, starting from `init`.
fn fold<T: Copy, U: Copy>(
    values: impl Iterator<Item = T>,
    index: &[usize],
    n_out: usize,
    init: U,
    f: impl Fn(U, T) -> U,
) -> Vec<U> {
    let mut acc = vec![init; n_out];
    for (v, &i) in values.zip(index) {
        acc[i] = f(acc[i], v);
    }
    acc
}

/// Reduces `x` over the axes of `r` (the attribute, else `axes_input`).
pub fn reduce(x: &Tensor, r: &ReduceAttrs, axes_input: Option<&Tensor>) -> Result<Tensor> {
    let axes = match &r.axes {
        Some(a) => Some(a.clone()),
        None => axes_input.map(Tensor::to_i64_vec).transpose()?,
    };
    let shape = x.shape();
    let axes = reduce_axes(shape.len(), axes.as_deref(), r.noop_with_empty_axes)?;
    if axes.is_empty() {
        return Ok(x.clone());
    }
    let out_shape = reduced_shape(shape, &axes, r.keepdims);
    let n_out: usize = out_shape.iter().product();
    let count: usize = axes.iter().map(|&a| shape[a]).product();
    let index = output_index(shape, &axes);
    let wrap = |e: ndarray::ShapeError| Error::Shape(e.to_string());
    if x.dtype().is_float() {
        let a = x.to_f32();
        let v = match r.kind {
            Reduction::Sum | Reduction::Mean => {
                let sums = fold(a.iter().copied(), &index, n_out, 0.0f32, |s, v| s + v);
                if r.kind == Reduction::Mean {
                    sums.into_iter().map(|s| s / count as f32).collect()
                } else {
                    sums
                }
            }
            Reduction::Max => fold(
                a.iter().copied(),
                &index,
                n_out,
                f32::NEG_INFINITY,
                |m, v| {
                    if v > m || v.is_nan() { v } else { m }
                },
            ),
            Reduction::Min => fold(a.iter().copied(), &index, n_out, f32::INFINITY, |m, v| {
                if v < m || v.is_nan() { v } else { m }
            }),
        };
        let out = ArrayD::from_shape_vec(IxDyn(&out_shape), v).map_err(wrap)?;
        return Ok(Tensor::from_f32(out, x.dtype()));
    }
    let (lo, hi) = match x.dtype() {
        DType::Bool => (0, 1),
        DType::U8 => (0, 255),
        DType::I8 => (-128, 127),
        DType::I32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
        _ => (i64::MIN, i64::MAX),
    };
    let a = x.to_i64()?;
    let v = match r.kind {
        Reduction::Sum | Reduction::Mean => {
            let sums = fold(a.iter().copied(), &index, n_out, 0i64, i64::wrapping_add);
            if r.kind == Reduction::Mean {
                if count == 0 {
                    return Err(Error::Shape("integer mean of an empty set".into()));
                }
                sums.into_iter().map(|s| s / count as i64).collect()
            } else {
                sums
            }
        }
        Reduction::Max => fold(a.iter().copied(), &index, n_out, lo, i64::max),
        Reduction::Min => fold(a.iter().copied(), &index, n_out, hi, i64::min),
    };
    let out = ArrayD::from_shape_vec(IxDyn(&out_shape), v).map_err(wrap)?;
    Ok(Tensor::I64(out).cast(x.dtype()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(kind: Reduction, axes: &[i64], keepdims: bool) -> ReduceAttrs {
        ReduceAttrs {
            kind,
            axes: Some(axes.to_vec()),
            keepdims,
            noop_with_empty_axes: false,
        }
    }

    #[test]
    fn reductions_over_axes() {
        let x = Tensor::F32(
            ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap(),
        );
        let r = reduce(&x, &attrs(Reduction::Sum, &[1], false), None).unwrap();
        assert_eq!(
            r.to_f32().iter().copied().collect::<Vec<_>>(),
            vec![6.0, 15.0]
        );
        let r = reduce(&x, &attrs(Reduction::Mean, &[0], true), None).unwrap();
        assert_eq!(r.shape(), &[1, 3]);
        assert_eq!(
            r.to_f32().iter().copied().collect::<Vec<_>>(),
            vec![2.5, 3.5, 4.5]
        );
        let r = reduce(
            &x.cast(DType::I32),
            &attrs(Reduction::Max, &[-1], false),
            None,
        )
        .unwrap();
        assert_eq!(r.to_i64_vec().unwrap(), vec![3, 6]);
        let empty = Tensor::zeros(DType::F32, &[2, 0]);
        let r = reduce(&empty, &attrs(Reduction::Max, &[1], false), None).unwrap();
        assert_eq!(r.to_f32()[[0]], f32::NEG_INFINITY);
    }
}
