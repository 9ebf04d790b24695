//! The copy engine: the data-movement ops (Identity, Reshape, Flatten, Transpose, Concat,
//! Shape, Gather, Unsqueeze, Squeeze, Cast, Slice, Split, Expand) on concrete tensors, exact
//! in every type; their shapes are `ir::ops::movement`'s.

use crate::error::{Error, Result};
use crate::ir::Op;
use crate::ir::ops::movement::{
    data_movement, expand_shape, flatten_shape, reshape_shape, shape_slice, slice_axes,
    split_lengths, squeeze_shape, transpose_perm, unsqueeze_shape,
};
use crate::tensor::Tensor;
use crate::tensor::ops::normalize_axis;

/// Resolves Gather indices (negative counts from the end) to positions along a dim.
pub fn gather_indices(indices: &Tensor, dim: usize) -> Result<Vec<usize>> {
    indices
        .to_i64_vec()?
        .into_iter()
        .map(|i| {
            let j = if i < 0 { i + dim as i64 } else { i };
            if (0..dim as i64).contains(&j) {
                Ok(j as usize)
            } else {
                Err(Error::Shape(format!(
                    "gather index {i} out of range for dim {dim}"
                )))
            }
        })
        .collect()
}

fn int_input(inputs: &[Option<&Tensor>], i: usize, what: &str) -> Result<Option<Vec<i64>>> {
    inputs
        .get(i)
        .copied()
        .flatten()
        .map(|t| t.to_i64_vec())
        .transpose()
        .map_err(|e| Error::Shape(format!("{what}: {e}")))
}

fn required<'a>(inputs: &[Option<&'a Tensor>], i: usize) -> Result<&'a Tensor> {
    inputs
        .get(i)
        .copied()
        .flatten()
        .ok_or_else(|| Error::Shape(format!("input {i} is missing")))
}

/// Whether `op` moves data (and so is evaluated here).
pub fn moves(op: &Op) -> bool {
    matches!(op, data_movement!())
}

/// The element-operations of a data-movement op: none for a change of metadata only
/// (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Shape), one copy per output element else.
pub fn work(op: &Op, outputs: u64) -> u64 {
    match op {
        Op::Reshape { .. }
        | Op::Flatten { .. }
        | Op::Squeeze { .. }
        | Op::Unsqueeze { .. }
        | Op::Identity
        | Op::Shape { .. } => 0,
        _ => outputs,
    }
}

/// Evaluates a data-movement op ([`moves`]) on concrete tensors (one tensor per output).
pub fn eval(op: &Op, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = || required(inputs, 0);
    Ok(vec![match op {
        Op::Identity => x()?.clone(),
        Op::Reshape { allowzero } => {
            let target = int_input(inputs, 1, "reshape shape")?
                .ok_or_else(|| Error::Shape("reshape: no shape".into()))?;
            x()?.reshape(&reshape_shape(x()?.shape(), &target, *allowzero)?)?
        }
        Op::Flatten { axis } => x()?.reshape(&flatten_shape(x()?.shape(), *axis)?)?,
        Op::Unsqueeze { axes } => {
            let axes = match axes {
                Some(a) => a.clone(),
                None => int_input(inputs, 1, "unsqueeze axes")?
                    .ok_or_else(|| Error::Shape("unsqueeze: no axes".into()))?,
            };
            x()?.reshape(&unsqueeze_shape(x()?.shape(), &axes)?)?
        }
        Op::Squeeze { axes } => {
            let axes = match axes {
                Some(a) => Some(a.clone()),
                None => int_input(inputs, 1, "squeeze axes")?,
            };
            x()?.reshape(&squeeze_shape(x()?.shape(), axes.as_deref())?)?
        }
        Op::Transpose { perm } => {
            let t = x()?;
            t.transpose(&transpose_perm(t.shape().len(), perm.as_deref()))?
        }
        Op::Concat { axis } => {
            let parts: Vec<&Tensor> = inputs
                .iter()
                .map(|t| t.ok_or_else(|| Error::Shape("concat: missing input".into())))
                .collect::<Result<_>>()?;
            let rank = parts.first().map_or(0, |p| p.shape().len());
            Tensor::concat(&parts, normalize_axis(*axis, rank)?)?
        }
        Op::Gather { axis } => {
            let t = x()?;
            let idx = required(inputs, 1)?;
            let axis = normalize_axis(*axis, t.shape().len())?;
            t.gather(axis, &gather_indices(idx, t.shape()[axis])?, idx.shape())?
        }
        Op::Slice => {
            let t = x()?;
            let starts = int_input(inputs, 1, "slice starts")?
                .ok_or_else(|| Error::Shape("slice: no starts".into()))?;
            let ends = int_input(inputs, 2, "slice ends")?
                .ok_or_else(|| Error::Shape("slice: no ends".into()))?;
            let axes = int_input(inputs, 3, "slice axes")?;
            let steps = int_input(inputs, 4, "slice steps")?;
            let mut out = t.clone();
            for a in slice_axes(t.shape(), &starts, &ends, axes.as_deref(), steps.as_deref())? {
                out = out.slice_axis(a.axis, a.start, a.end, a.step);
            }
            out
        }
        Op::Shape { start, end } => {
            let shape = x()?.shape();
            let dims = shape_slice(shape, *start, *end);
            Tensor::I64(
                ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[dims.len()]), dims)
                    .map_err(|e| Error::Shape(e.to_string()))?,
            )
        }
        Op::Cast { to } => x()?.cast(*to),
        Op::Expand => {
            let target = int_input(inputs, 1, "expand shape")?
                .ok_or_else(|| Error::Shape("expand: no shape".into()))?;
            x()?.broadcast_to(&expand_shape(x()?.shape(), &target)?)?
        }
        Op::Split {
            axis,
            split,
            parts,
            uneven,
        } => {
            let t = x()?;
            let ax = normalize_axis(*axis, t.shape().len())?;
            let lengths = match split {
                Some(s) => Some(s.clone()),
                None => int_input(inputs, 1, "split lengths")?,
            };
            let lengths = split_lengths(t.shape()[ax], lengths.as_deref(), *parts, *uneven)?;
            let mut start = 0;
            let parts = lengths
                .iter()
                .map(|&l| {
                    let part = t.slice_axis(ax, start as isize, (start + l) as isize, 1);
                    start += l;
                    part
                })
                .collect();
            return Ok(parts);
        }
        other => {
            return Err(Error::Invalid(format!(
                "{} does not move data",
                other.name()
            )));
        }
    }])
}
