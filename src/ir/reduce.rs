//! The axes and output shape of reductions (ReduceMean, ReduceSum, ReduceMax, ReduceMin).

use crate::error::{Error, Result};
use crate::tensor::ops::normalize_axis;

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
