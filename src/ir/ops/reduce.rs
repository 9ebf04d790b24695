//! ReduceMean, ReduceSum, ReduceMax and ReduceMin: attributes, the axes reduced and the
//! output shape.

use super::{Infer, Typed};
use crate::error::{Error, Result};
pub use crate::kernel::Reduction;
use crate::tensor::ops::normalize_axis;

/// Attributes of ReduceMean, ReduceSum, ReduceMax and ReduceMin.
#[derive(Debug, Clone, PartialEq)]
pub struct ReduceAttrs {
    /// What is computed.
    pub kind: Reduction,
    /// The `axes` attribute (opsets before axes became an input); `None` = the input, if any.
    pub axes: Option<Vec<i64>>,
    /// Keep the reduced dims as size 1.
    pub keepdims: bool,
    /// With no axes, pass the input through instead of reducing every axis.
    pub noop_with_empty_axes: bool,
}

/// The axes a reduction covers, ascending: the given ones, or — when none are given (absent
/// or empty) — every axis, or none at all with `noop_with_empty_axes`.
pub fn reduce_axes(
    rank: usize,
    axes: Option<&[i64]>,
    noop_with_empty_axes: bool,
) -> Result<Vec<usize>> {
    match axes {
        Some(a) if !a.is_empty() => {
            let mut out: Vec<usize> = a
                .iter()
                .map(|&x| normalize_axis(x, rank))
                .collect::<Result<_>>()?;
            out.sort_unstable();
            if out.windows(2).any(|w| w[0] == w[1]) {
                return Err(Error::Shape(format!("reduce: repeated axes {a:?}")));
            }
            Ok(out)
        }
        _ if noop_with_empty_axes => Ok(Vec::new()),
        _ => Ok((0..rank).collect()),
    }
}

/// The output shape: reduced dims become 1 (`keepdims`) or disappear.
pub fn reduced_shape(shape: &[usize], axes: &[usize], keepdims: bool) -> Vec<usize> {
    shape
        .iter()
        .enumerate()
        .filter_map(|(i, &d)| match (axes.contains(&i), keepdims) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect()
}

/// The reduction's output: X's type, the covered axes reduced.
pub fn reduce(cx: &Infer, r: &ReduceAttrs) -> Result<Typed> {
    let axes = match &r.axes {
        Some(a) => Some(a.clone()),
        None => cx.const_ints(1, "the reduction's axes")?,
    };
    let xs = cx.shape(0)?;
    let ax = reduce_axes(xs.len(), axes.as_deref(), r.noop_with_empty_axes)?;
    cx.same(reduced_shape(xs, &ax, r.keepdims))
}

/// The axes input (1) decides the shape unless the attribute gives them.
pub fn shape_inputs(r: &ReduceAttrs) -> &'static [usize] {
    if r.axes.is_none() { &[1] } else { &[] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_and_shapes() {
        assert_eq!(reduce_axes(3, Some(&[-1, 0]), false).unwrap(), vec![0, 2]);
        assert_eq!(reduce_axes(3, None, false).unwrap(), vec![0, 1, 2]);
        assert_eq!(
            reduce_axes(3, Some(&[]), true).unwrap(),
            Vec::<usize>::new()
        );
        assert!(reduce_axes(3, Some(&[1, -2]), false).is_err());
        assert_eq!(reduced_shape(&[2, 3, 4], &[0, 2], true), vec![1, 3, 1]);
        assert_eq!(reduced_shape(&[2, 3, 4], &[0, 2], false), vec![3]);
    }
}
