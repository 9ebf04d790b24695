//! Reductions over axes (ReduceMean, ReduceSum, ReduceMax, ReduceMin). Float sums accumulate
//! in f32: a reduction over contiguous trailing elements runs through the vector unit's
//! 4-lane adder tree ([`lane_sum`], the order of onnxruntime's CPU kernel), any other in index
//! order; integer sums wrap (exact modulo the type's width); Max and Min are exact in every
//! type.

use crate::error::{Error, Result};
use crate::kernel::Reduction;
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

/// Lanes of the vector unit's adder tree.
const LANES: usize = 4;

/// The f32 sum of one contiguous row that starts `offset` elements into a buffer aligned to
/// [`LANES`] elements, in the vector unit's order: the elements before the first aligned
/// index are set aside; the aligned body is read a lane group at a time into two interleaved
/// accumulators (groups 0, 2, 4, … and 1, 3, 5, …), which are added, then an odd last group;
/// the lanes are folded as (l0 + l2) + (l1 + l3); then the set-aside head and the tail past
/// the last whole group are added one by one. A row shorter than one aligned group is summed
/// in index order. This is Eigen's vectorised `sum()` with 4-float packets, which
/// onnxruntime's ReduceSum/ReduceMean use for a trailing reduction.
pub fn lane_sum(row: &[f32], offset: usize) -> f32 {
    let n = row.len();
    let start = ((LANES - offset % LANES) % LANES).min(n);
    let groups = (n - start) / LANES;
    if groups == 0 {
        return row
            .iter()
            .skip(1)
            .fold(row.first().copied().unwrap_or(0.0), |s, &v| s + v);
    }
    let group = |g: usize| -> [f32; LANES] { std::array::from_fn(|l| row[start + g * LANES + l]) };
    let add =
        |a: [f32; LANES], b: [f32; LANES]| -> [f32; LANES] { std::array::from_fn(|l| a[l] + b[l]) };
    let mut acc0 = group(0);
    if groups > 1 {
        let mut acc1 = group(1);
        let pairs = groups / 2;
        for p in 1..pairs {
            acc0 = add(acc0, group(2 * p));
            acc1 = add(acc1, group(2 * p + 1));
        }
        acc0 = add(acc0, acc1);
        if groups % 2 == 1 {
            acc0 = add(acc0, group(groups - 1));
        }
    }
    let mut sum = (acc0[0] + acc0[2]) + (acc0[1] + acc0[3]);
    for &v in &row[..start] {
        sum += v;
    }
    for &v in &row[start + groups * LANES..] {
        sum += v;
    }
    sum
}

/// Whether every reduced axis of length above one comes after every kept axis of length
/// above one, so that each output reduces one contiguous run of the input.
fn trailing(shape: &[usize], axes: &[usize]) -> bool {
    let last_kept = (0..shape.len()).rfind(|d| !axes.contains(d) && shape[*d] > 1);
    let first_reduced = axes.iter().copied().find(|&d| shape[d] > 1);
    match (last_kept, first_reduced) {
        (Some(k), Some(r)) => k < r,
        _ => true,
    }
}

/// Reduces `x` over `axes` (ascending; none passes `x` through) to `out_shape`.
pub fn reduce(x: &Tensor, kind: Reduction, axes: &[usize], out_shape: &[usize]) -> Result<Tensor> {
    let shape = x.shape();
    if axes.is_empty() {
        return Ok(x.clone());
    }
    let n_out: usize = out_shape.iter().product();
    let count: usize = axes.iter().map(|&a| shape[a]).product();
    let index = || output_index(shape, axes);
    let wrap = |e: ndarray::ShapeError| Error::Shape(e.to_string());
    if x.dtype().is_float() {
        let a = x.to_f32();
        let v = match kind {
            Reduction::Sum | Reduction::Mean => {
                let sums = match a.as_slice() {
                    Some(flat) if count > 0 && trailing(shape, axes) => flat
                        .chunks(count)
                        .enumerate()
                        .map(|(i, row)| lane_sum(row, i * count))
                        .collect(),
                    _ => fold(a.iter().copied(), &index(), n_out, 0.0f32, |s, v| s + v),
                };
                // The mean of nothing is undefined in the ONNX spec; onnxruntime gives the
                // empty sum, 0 (not 0/0, a NaN no value equals).
                if kind == Reduction::Mean && count > 0 {
                    sums.into_iter().map(|s| s / count as f32).collect()
                } else {
                    sums
                }
            }
            Reduction::Max => fold(
                a.iter().copied(),
                &index(),
                n_out,
                f32::NEG_INFINITY,
                |m, v| {
                    if v > m || v.is_nan() { v } else { m }
                },
            ),
            Reduction::Min => fold(a.iter().copied(), &index(), n_out, f32::INFINITY, |m, v| {
                if v < m || v.is_nan() { v } else { m }
            }),
        };
        let out = ArrayD::from_shape_vec(IxDyn(out_shape), v).map_err(wrap)?;
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
    let v = match kind {
        Reduction::Sum | Reduction::Mean => {
            let sums = fold(a.iter().copied(), &index(), n_out, 0i64, i64::wrapping_add);
            if kind == Reduction::Mean {
                if count == 0 {
                    return Err(Error::Shape("integer mean of an empty set".into()));
                }
                sums.into_iter().map(|s| s / count as i64).collect()
            } else {
                sums
            }
        }
        Reduction::Max => fold(a.iter().copied(), &index(), n_out, lo, i64::max),
        Reduction::Min => fold(a.iter().copied(), &index(), n_out, hi, i64::min),
    };
    let out = ArrayD::from_shape_vec(IxDyn(out_shape), v).map_err(wrap)?;
    Ok(Tensor::I64(out).cast(x.dtype()))
}

/// The element-operations of a reduction: it reads every input element once (a mean adds
/// one division per output).
pub fn work(inputs: u64, outputs: u64) -> u64 {
    inputs.saturating_add(outputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIG: f32 = 16_777_216.0; // 2^24: adding 1 rounds back to it (ties to even)

    #[test]
    fn lane_sum_follows_the_adder_tree() {
        // One group: (l0 + l2) + (l1 + l3) = 2^24 + 2, where index order loses both ones.
        assert_eq!(lane_sum(&[BIG, 1.0, 0.0, 1.0], 0), BIG + 2.0);
        // Four groups: groups 0 and 2 meet in one accumulator (1 + 1), 1 and 3 in the other.
        let mut row = [0.0f32; 16];
        row[0] = 1.0;
        row[4] = BIG;
        row[8] = 1.0;
        assert_eq!(lane_sum(&row, 0), BIG + 2.0);
        // Offset 1: the head (first three) is added after the aligned body, so both ones are
        // lost; in index order they would have made 2 first.
        assert_eq!(lane_sum(&[1.0, 1.0, 0.0, BIG, 0.0, 0.0, 0.0], 1), BIG);
        // Shorter than a group: index order.
        assert_eq!(lane_sum(&[BIG, 1.0, 1.0], 0), BIG);
        assert_eq!(lane_sum(&[], 0), 0.0);
    }

    #[test]
    fn only_trailing_reductions_use_the_tree() {
        assert!(trailing(&[1, 24, 512], &[2]));
        assert!(trailing(&[3, 4, 1], &[1, 2]));
        assert!(!trailing(&[3, 4], &[0]));
        assert!(trailing(&[1, 4], &[0]));
    }

    #[test]
    fn reductions_over_axes() {
        let x = Tensor::F32(
            ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap(),
        );
        let r = reduce(&x, Reduction::Sum, &[1], &[2]).unwrap();
        assert_eq!(r.to_f32_vec(), vec![6.0, 15.0]);
        let r = reduce(&x, Reduction::Mean, &[0], &[1, 3]).unwrap();
        assert_eq!(r.shape(), &[1, 3]);
        assert_eq!(r.to_f32_vec(), vec![2.5, 3.5, 4.5]);
        let r = reduce(&x.cast(DType::I32), Reduction::Max, &[1], &[2]).unwrap();
        assert_eq!(r.to_i64_vec().unwrap(), vec![3, 6]);
        let empty = Tensor::zeros(DType::F32, &[2, 0]);
        let r = reduce(&empty, Reduction::Max, &[1], &[2]).unwrap();
        assert_eq!(r.to_f32()[[0]], f32::NEG_INFINITY);
    }
}
