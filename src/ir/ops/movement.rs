//! The data-movement ops (Identity, Reshape, Flatten, Transpose, Concat, Shape, Gather,
//! Unsqueeze, Squeeze, Cast, Slice, Split, Expand): output shapes, the inputs that decide
//! them; `lower` resolves them into the `kernel::VectorOp` that `array::vector::movement`
//! runs.

use super::{Infer, Typed};
use crate::error::{Error, Result};
use crate::ir::Op;
pub use crate::kernel::SliceAxis;
use crate::tensor::DType;
use crate::tensor::ops::{broadcast_shapes, normalize_axis};

/// The pattern of every data-movement [`Op`], for `match` arms (which stay exhaustive) in
/// shape inference and the vector unit's copy engine.
macro_rules! data_movement {
    () => {
        $crate::ir::Op::Identity
            | $crate::ir::Op::Reshape { .. }
            | $crate::ir::Op::Flatten { .. }
            | $crate::ir::Op::Unsqueeze { .. }
            | $crate::ir::Op::Squeeze { .. }
            | $crate::ir::Op::Transpose { .. }
            | $crate::ir::Op::Concat { .. }
            | $crate::ir::Op::Gather { .. }
            | $crate::ir::Op::Slice
            | $crate::ir::Op::Shape { .. }
            | $crate::ir::Op::Cast { .. }
            | $crate::ir::Op::Expand
            | $crate::ir::Op::Split { .. }
    };
}
pub(crate) use data_movement;

/// The output shape of Reshape.
pub fn reshape_shape(input: &[usize], target: &[i64], allowzero: bool) -> Result<Vec<usize>> {
    let total: usize = input.iter().product();
    let mut out = Vec::with_capacity(target.len());
    let mut infer_at = None;
    for (i, &d) in target.iter().enumerate() {
        match d {
            -1 if infer_at.is_none() => {
                infer_at = Some(i);
                out.push(1);
            }
            0 if !allowzero => out.push(*input.get(i).ok_or_else(|| {
                Error::Shape(format!(
                    "reshape: 0 at dim {i} but the input has rank {}",
                    input.len()
                ))
            })?),
            d if d >= 0 => out.push(d as usize),
            _ => return Err(Error::Shape(format!("reshape: invalid target {target:?}"))),
        }
    }
    let known: usize = out
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| Error::Shape("reshape: size overflows".into()))?;
    if let Some(i) = infer_at {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(Error::Shape(format!(
                "reshape {input:?} to {target:?}: cannot infer -1"
            )));
        }
        out[i] = total / known;
    } else if known != total {
        return Err(Error::Shape(format!(
            "reshape {input:?} to {target:?}: element counts differ"
        )));
    }
    Ok(out)
}

/// The output shape of Flatten.
pub fn flatten_shape(input: &[usize], axis: i64) -> Result<Vec<usize>> {
    let r = input.len() as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if !(0..=r).contains(&a) {
        return Err(Error::Shape(format!(
            "flatten axis {axis} out of range for rank {r}"
        )));
    }
    let a = a as usize;
    Ok(vec![
        input[..a].iter().product(),
        input[a..].iter().product(),
    ])
}

/// The output shape of Unsqueeze.
pub fn unsqueeze_shape(input: &[usize], axes: &[i64]) -> Result<Vec<usize>> {
    let rank = input.len() + axes.len();
    let mut ax: Vec<usize> = axes
        .iter()
        .map(|&a| normalize_axis(a, rank))
        .collect::<Result<_>>()?;
    ax.sort_unstable();
    if ax.windows(2).any(|w| w[0] == w[1]) {
        return Err(Error::Shape(format!("unsqueeze: repeated axes {axes:?}")));
    }
    let mut it = input.iter();
    Ok((0..rank)
        .map(|i| {
            if ax.binary_search(&i).is_ok() {
                1
            } else {
                *it.next().unwrap_or(&1)
            }
        })
        .collect())
}

/// The output shape of Squeeze (`None` = every dim of size 1).
pub fn squeeze_shape(input: &[usize], axes: Option<&[i64]>) -> Result<Vec<usize>> {
    match axes {
        None => Ok(input.iter().copied().filter(|&d| d != 1).collect()),
        Some(axes) => {
            let ax: Vec<usize> = axes
                .iter()
                .map(|&a| normalize_axis(a, input.len()))
                .collect::<Result<_>>()?;
            if let Some(&a) = ax.iter().find(|&&a| input[a] != 1) {
                return Err(Error::Shape(format!(
                    "squeeze: dim {a} of {input:?} is not 1"
                )));
            }
            Ok(input
                .iter()
                .enumerate()
                .filter(|(i, _)| !ax.contains(i))
                .map(|(_, &d)| d)
                .collect())
        }
    }
}

/// The permutation of Transpose.
pub fn transpose_perm(rank: usize, perm: Option<&[usize]>) -> Vec<usize> {
    perm.map(<[usize]>::to_vec)
        .unwrap_or_else(|| (0..rank).rev().collect())
}

/// Resolves Slice's starts/ends/axes/steps against an input shape.
pub fn slice_axes(
    input: &[usize],
    starts: &[i64],
    ends: &[i64],
    axes: Option<&[i64]>,
    steps: Option<&[i64]>,
) -> Result<Vec<SliceAxis>> {
    let n = starts.len();
    if ends.len() != n || axes.is_some_and(|a| a.len() != n) || steps.is_some_and(|s| s.len() != n)
    {
        return Err(Error::Shape(
            "slice: starts, ends, axes and steps differ in length".into(),
        ));
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let axis = normalize_axis(axes.map_or(i as i64, |a| a[i]), input.len())?;
        if out.iter().any(|s: &SliceAxis| s.axis == axis) {
            return Err(Error::Shape(format!("slice: axis {axis} repeated")));
        }
        let dim = input[axis] as i64;
        let step = steps.map_or(1, |s| s[i]);
        if step == 0 {
            return Err(Error::Shape("slice: step 0".into()));
        }
        let resolve = |v: i64| if v < 0 { v.saturating_add(dim) } else { v };
        let (start, end) = if step > 0 {
            (
                resolve(starts[i]).clamp(0, dim),
                resolve(ends[i]).clamp(0, dim),
            )
        } else {
            (
                resolve(starts[i]).clamp(-1, dim - 1),
                resolve(ends[i]).clamp(-1, dim - 1),
            )
        };
        out.push(SliceAxis {
            axis,
            start: start as isize,
            end: end as isize,
            step: step as isize,
        });
    }
    Ok(out)
}

/// The output shape after applying resolved slice axes.
pub fn sliced_shape(input: &[usize], axes: &[SliceAxis]) -> Vec<usize> {
    let mut out = input.to_vec();
    for a in axes {
        out[a.axis] = a.len();
    }
    out
}

/// The part lengths of Split along a dim of size `dim` into `parts` outputs: the given
/// lengths, else equal parts (the last one shorter when `uneven`, as opset 18's
/// `num_outputs` allows).
pub fn split_lengths(
    dim: usize,
    split: Option<&[i64]>,
    parts: usize,
    uneven: bool,
) -> Result<Vec<usize>> {
    if let Some(lengths) = split {
        let lengths: Vec<usize> = lengths
            .iter()
            .map(|&l| usize::try_from(l).map_err(|_| Error::Shape(format!("split length {l}"))))
            .collect::<Result<_>>()?;
        if lengths.len() != parts || lengths.iter().sum::<usize>() != dim {
            return Err(Error::Shape(format!(
                "split {lengths:?} does not cut a dim of {dim} into {parts} parts"
            )));
        }
        return Ok(lengths);
    }
    if parts == 0 {
        return Err(Error::Shape("split into no parts".into()));
    }
    let chunk = dim.div_ceil(parts);
    if !uneven && chunk * parts != dim {
        return Err(Error::Shape(format!(
            "a dim of {dim} does not split into {parts} equal parts"
        )));
    }
    let last = dim
        .checked_sub(chunk * (parts - 1))
        .ok_or_else(|| Error::Shape(format!("a dim of {dim} does not split into {parts} parts")))?;
    let mut lengths = vec![chunk; parts - 1];
    lengths.push(last);
    Ok(lengths)
}

/// The output shape of Expand: the input and the target shape broadcast together.
pub fn expand_shape(input: &[usize], target: &[i64]) -> Result<Vec<usize>> {
    let target: Vec<usize> = target
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| Error::Shape(format!("expand to dim {d}"))))
        .collect::<Result<_>>()?;
    broadcast_shapes(input, &target)
}

/// The dims of `shape` selected by Shape's `start`/`end` (clamped, negative from the end).
pub fn shape_slice(shape: &[usize], start: i64, end: Option<i64>) -> Vec<i64> {
    let r = shape.len() as i64;
    let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let (s, e) = (clamp(start), clamp(end.unwrap_or(r)));
    shape
        .get(s..e.max(s))
        .unwrap_or(&[])
        .iter()
        .map(|&d| d as i64)
        .collect()
}

/// The inputs whose values decide the output shape: Reshape's and Expand's shape, Split's
/// lengths, Unsqueeze's and Squeeze's axes (unless attributes give them), Slice's
/// starts, ends, axes and steps.
pub fn shape_inputs(op: &Op) -> &'static [usize] {
    match op {
        Op::Reshape { .. } | Op::Expand | Op::Split { split: None, .. } => &[1],
        Op::Unsqueeze { axes: None } | Op::Squeeze { axes: None } => &[1],
        Op::Slice => &[1, 2, 3, 4],
        _ => &[],
    }
}

/// Output types and shapes of a data-movement op.
pub fn infer(cx: &Infer) -> Result<Typed> {
    let xs = cx.shape(0)?;
    match &cx.node.op {
        Op::Flatten { axis } => cx.same(flatten_shape(xs, *axis)?),
        Op::Reshape { allowzero } => {
            let target = cx
                .const_ints(1, "Reshape's shape")?
                .ok_or_else(|| Error::Shape("Reshape needs a shape".into()))?;
            cx.same(reshape_shape(xs, &target, *allowzero)?)
        }
        Op::Transpose { perm } => {
            let perm = transpose_perm(xs.len(), perm.as_deref());
            if perm.len() != xs.len() || perm.iter().any(|&p| p >= xs.len()) {
                return Err(Error::Shape(format!(
                    "perm {perm:?} does not fit rank {}",
                    xs.len()
                )));
            }
            cx.same(perm.iter().map(|&p| xs[p]).collect())
        }
        Op::Concat { axis } => concat(cx, *axis),
        Op::Shape { start, end } => Ok(vec![(
            DType::I64,
            vec![shape_slice(xs, *start, *end).len()],
        )]),
        Op::Gather { axis } => {
            let ax = normalize_axis(*axis, xs.len())?;
            let mut out = xs[..ax].to_vec();
            out.extend_from_slice(cx.shape(1)?);
            out.extend_from_slice(&xs[ax + 1..]);
            cx.same(out)
        }
        Op::Unsqueeze { axes } => {
            let axes = match axes {
                Some(a) => a.clone(),
                None => cx
                    .const_ints(1, "Unsqueeze's axes")?
                    .ok_or_else(|| Error::Shape("Unsqueeze needs axes".into()))?,
            };
            cx.same(unsqueeze_shape(xs, &axes)?)
        }
        Op::Squeeze { axes } => {
            let axes = match axes {
                Some(a) => Some(a.clone()),
                None => cx.const_ints(1, "Squeeze's axes")?,
            };
            cx.same(squeeze_shape(xs, axes.as_deref())?)
        }
        Op::Cast { to } => Ok(vec![(*to, xs.to_vec())]),
        Op::Slice => {
            let req = |i, w| {
                cx.const_ints(i, w)?
                    .ok_or_else(|| Error::Shape(format!("Slice needs {w}")))
            };
            let (starts, ends) = (req(1, "starts")?, req(2, "ends")?);
            let axes = cx.const_ints(3, "Slice's axes")?;
            let steps = cx.const_ints(4, "Slice's steps")?;
            cx.same(sliced_shape(
                xs,
                &slice_axes(xs, &starts, &ends, axes.as_deref(), steps.as_deref())?,
            ))
        }
        Op::Split {
            axis,
            split,
            parts,
            uneven,
        } => {
            let ax = normalize_axis(*axis, xs.len())?;
            let lengths = match split {
                Some(s) => Some(s.clone()),
                None => cx.const_ints(1, "Split's lengths")?,
            };
            let dt = cx.dtype(0)?;
            Ok(split_lengths(xs[ax], lengths.as_deref(), *parts, *uneven)?
                .into_iter()
                .map(|l| {
                    let mut s = xs.to_vec();
                    s[ax] = l;
                    (dt, s)
                })
                .collect())
        }
        Op::Expand => {
            let target = cx
                .const_ints(1, "Expand's shape")?
                .ok_or_else(|| Error::Shape("Expand needs a shape".into()))?;
            cx.same(expand_shape(xs, &target)?)
        }
        _ => cx.unchanged(),
    }
}

/// Concat: the inputs agree off `axis` and add up along it.
fn concat(cx: &Infer, axis: i64) -> Result<Typed> {
    let first = cx.shape(0)?.to_vec();
    let ax = normalize_axis(axis, first.len())?;
    let mut out = first.clone();
    out[ax] = 0;
    for i in &cx.node.inputs {
        let s =
            cx.f.shape(i.ok_or_else(|| Error::Shape("Concat input missing".into()))?);
        if s.len() != first.len()
            || s.iter()
                .zip(&first)
                .enumerate()
                .any(|(d, (a, b))| d != ax && a != b)
        {
            return Err(Error::Shape(format!(
                "Concat inputs {first:?} and {s:?} differ off axis {ax}"
            )));
        }
        out[ax] += s[ax];
    }
    cx.same(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reshape_rules() {
        assert_eq!(
            reshape_shape(&[2, 3, 4], &[0, -1], false).unwrap(),
            vec![2, 12]
        );
        assert_eq!(
            reshape_shape(&[2, 3, 4], &[4, 0, 2], false).unwrap(),
            vec![4, 3, 2]
        );
        assert_eq!(reshape_shape(&[0, 3], &[3, 0], true).unwrap(), vec![3, 0]);
        assert!(reshape_shape(&[2, 3], &[4, -1], false).is_err());
        assert!(reshape_shape(&[2, 3], &[-1, -1], false).is_err());
    }

    #[test]
    fn slice_clamps_like_onnx() {
        // starts 1, ends 1000 on dim 5 → 1..5; negative step from -1 to -1000 → 4 down to -1.
        let s = slice_axes(&[5], &[1], &[1000], None, None).unwrap();
        assert_eq!((s[0].start, s[0].end, s[0].len()), (1, 5, 4));
        let s = slice_axes(&[5], &[-1], &[-1000], None, Some(&[-2])).unwrap();
        assert_eq!((s[0].start, s[0].end, s[0].len()), (4, -1, 3));
    }

    #[test]
    fn squeeze_unsqueeze_flatten() {
        assert_eq!(
            unsqueeze_shape(&[3, 4], &[0, -1]).unwrap(),
            vec![1, 3, 4, 1]
        );
        assert_eq!(squeeze_shape(&[1, 3, 1], None).unwrap(), vec![3]);
        assert!(squeeze_shape(&[1, 3], Some(&[1])).is_err());
        assert_eq!(flatten_shape(&[2, 3, 4], 0).unwrap(), vec![1, 24]);
        assert_eq!(flatten_shape(&[2, 3, 4], -1).unwrap(), vec![6, 4]);
    }
}
