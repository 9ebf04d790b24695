//! The copy engine: the data-movement ops (Reshape and the other metadata changes, Transpose,
//! Concat, Shape, Gather, Cast, Slice, Split, Expand) on concrete tensors, exact in every type,
//! on shapes and axes `lower` resolved.

use crate::error::{Error, Result};
use crate::kernel::VectorOp;
use crate::tensor::Tensor;

/// The pattern of every data-movement [`VectorOp`], for `match` arms (which stay exhaustive)
/// in the unit's evaluation and cost.
macro_rules! copy_engine {
    () => {
        $crate::kernel::VectorOp::Reshape { .. }
            | $crate::kernel::VectorOp::Transpose { .. }
            | $crate::kernel::VectorOp::Concat { .. }
            | $crate::kernel::VectorOp::Gather { .. }
            | $crate::kernel::VectorOp::Slice { .. }
            | $crate::kernel::VectorOp::Shape { .. }
            | $crate::kernel::VectorOp::Cast { .. }
            | $crate::kernel::VectorOp::Expand { .. }
            | $crate::kernel::VectorOp::Split { .. }
    };
}
pub(super) use copy_engine;

/// Resolves Gather indices (negative counts from the end) to positions along a dim.
fn gather_indices(indices: &Tensor, dim: usize) -> Result<Vec<usize>> {
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

fn required<'a>(inputs: &[Option<&'a Tensor>], i: usize) -> Result<&'a Tensor> {
    inputs
        .get(i)
        .copied()
        .flatten()
        .ok_or_else(|| Error::Shape(format!("input {i} is missing")))
}

/// The element-operations of a data-movement op: none for a change of metadata only
/// (Reshape, Shape), one copy per output element else.
pub fn work(op: &VectorOp, outputs: u64) -> u64 {
    match op {
        VectorOp::Reshape { .. } | VectorOp::Shape { .. } => 0,
        _ => outputs,
    }
}

/// Moves the data of a data-movement op (one tensor per output).
pub fn move_data(op: &VectorOp, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = || required(inputs, 0);
    Ok(vec![match op {
        VectorOp::Reshape { shape } => x()?.reshape(shape)?,
        VectorOp::Transpose { perm } => x()?.transpose(perm)?,
        VectorOp::Concat { axis } => {
            let parts: Vec<&Tensor> = inputs
                .iter()
                .map(|t| t.ok_or_else(|| Error::Shape("concat: missing input".into())))
                .collect::<Result<_>>()?;
            Tensor::concat(&parts, *axis)?
        }
        VectorOp::Gather { axis } => {
            let t = x()?;
            let idx = required(inputs, 1)?;
            t.gather(*axis, &gather_indices(idx, t.shape()[*axis])?, idx.shape())?
        }
        VectorOp::Slice { axes } => {
            let mut out = x()?.clone();
            for a in axes {
                out = out.slice_axis(a.axis, a.start, a.end, a.step);
            }
            out
        }
        VectorOp::Shape { dims } => Tensor::I64(
            ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[dims.len()]), dims.clone())
                .map_err(|e| Error::Shape(e.to_string()))?,
        ),
        VectorOp::Cast { to } => x()?.cast(*to),
        VectorOp::Expand { shape } => x()?.broadcast_to(shape)?,
        VectorOp::Split { axis, lengths } => {
            let t = x()?;
            let mut start = 0;
            let parts = lengths
                .iter()
                .map(|&l| {
                    let part = t.slice_axis(*axis, start as isize, (start + l) as isize, 1);
                    start += l;
                    part
                })
                .collect();
            return Ok(parts);
        }
        _ => return Err(Error::Invalid("not a data-movement op".into())),
    }])
}
