//! Data movement on tensors of any element type: no arithmetic, only where elements go.

use super::Tensor;
use crate::error::{Error, Result};
use crate::map_tensor_same;
use ndarray::{Axis, IxDyn, Slice};

/// Resolves a possibly negative axis against `rank` (`-1` is the last axis); a scalar (rank 0)
/// has no axis, so every axis is out of range for it.
pub fn normalize_axis(axis: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r {
        return Err(Error::Shape(format!(
            "axis {axis} out of range for rank {rank}"
        )));
    }
    Ok(a as usize)
}

/// The numpy broadcast of any number of shapes.
pub fn broadcast_all(shapes: &[&[usize]]) -> Result<Vec<usize>> {
    shapes
        .iter()
        .try_fold(Vec::new(), |acc, s| broadcast_shapes(&acc, s))
}

/// The numpy broadcast of two shapes.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for (i, o) in out.iter_mut().enumerate() {
        let da = if i + a.len() >= rank {
            a[i + a.len() - rank]
        } else {
            1
        };
        let db = if i + b.len() >= rank {
            b[i + b.len() - rank]
        } else {
            1
        };
        *o = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(Error::Shape(format!(
                    "shapes {a:?} and {b:?} do not broadcast"
                )));
            }
        };
    }
    Ok(out)
}

impl Tensor {
    /// The tensor broadcast (materialised) to `shape`.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        let err = || Error::Shape(format!("cannot broadcast {:?} to {shape:?}", self.shape()));
        Ok(map_tensor_same!(self, a => a.broadcast(IxDyn(shape)).ok_or_else(err)?.to_owned()))
    }

    /// Permutes the axes (`perm[i]` is the input axis that becomes output axis `i`).
    pub fn transpose(&self, perm: &[usize]) -> Result<Tensor> {
        let rank = self.shape().len();
        let mut seen = vec![false; rank];
        if perm.len() != rank
            || perm
                .iter()
                .any(|&p| p >= rank || std::mem::replace(&mut seen[p], true))
        {
            return Err(Error::Shape(format!(
                "perm {perm:?} is not a permutation of rank {rank}"
            )));
        }
        let out_shape: Vec<usize> = perm.iter().map(|&p| self.shape()[p]).collect();
        Ok(map_tensor_same!(self, a => match a.as_slice() {
            Some(s) => ndarray::ArrayD::from_shape_vec(
                IxDyn(&out_shape),
                super::permute::permute(s, a.shape(), perm),
            )
            .expect("a permutation keeps the element count"),
            None => a.view().permuted_axes(IxDyn(perm)).as_standard_layout().into_owned(),
        }))
    }

    /// Joins tensors of one type along `axis`.
    pub fn concat(parts: &[&Tensor], axis: usize) -> Result<Tensor> {
        let first = parts
            .first()
            .ok_or_else(|| Error::Shape("concat of nothing".into()))?;
        macro_rules! join {
            ($variant:ident) => {{
                let mut views = Vec::with_capacity(parts.len());
                for p in parts {
                    match p {
                        Tensor::$variant(a) => views.push(a.view()),
                        t => {
                            return Err(Error::DType(format!(
                                "concat of {} and {}",
                                first.dtype(),
                                t.dtype()
                            )));
                        }
                    }
                }
                Tensor::$variant(
                    ndarray::concatenate(Axis(axis), &views)
                        .map_err(|e| Error::Shape(format!("concat: {e}")))?,
                )
            }};
        }
        if axis >= first.shape().len() {
            return Err(Error::Shape(format!("concat axis {axis} out of range")));
        }
        Ok(match first {
            Tensor::F32(_) => join!(F32),
            Tensor::F16(_) => join!(F16),
            Tensor::BF16(_) => join!(BF16),
            Tensor::I8(_) => join!(I8),
            Tensor::U8(_) => join!(U8),
            Tensor::I32(_) => join!(I32),
            Tensor::I64(_) => join!(I64),
            Tensor::Bool(_) => join!(Bool),
        })
    }

    /// Takes `start..end` by `step` along `axis` (bounds already clamped; negative steps allowed).
    pub fn slice_axis(&self, axis: usize, start: isize, end: isize, step: isize) -> Tensor {
        // ndarray slices [start, end) then steps; for negative steps it walks from the end,
        // so a negative-step slice from `start` down to `end` is expressed as the range
        // (end+1 ..= start) walked backwards.
        let s = if step > 0 {
            Slice::new(start, Some(end.max(start)), step)
        } else if start > end {
            Slice::new(end + 1, Some(start + 1), step)
        } else {
            Slice::new(0, Some(0), 1)
        };
        map_tensor_same!(self, a => a.slice_axis(Axis(axis), s).to_owned())
    }

    /// Entry `index` along `axis` (in bounds), that axis dropped.
    pub fn index_axis(&self, axis: usize, index: usize) -> Tensor {
        map_tensor_same!(self, a => a.index_axis(Axis(axis), index).to_owned())
    }

    /// Gathers along `axis` with indices already resolved to `0..dim`.
    pub fn gather(&self, axis: usize, indices: &[usize], index_shape: &[usize]) -> Result<Tensor> {
        let dim = self.shape()[axis];
        if let Some(bad) = indices.iter().find(|&&i| i >= dim) {
            return Err(Error::Shape(format!(
                "gather index {bad} out of range for dim {dim}"
            )));
        }
        let mut out_shape: Vec<usize> = self.shape()[..axis].to_vec();
        out_shape.extend_from_slice(index_shape);
        out_shape.extend_from_slice(&self.shape()[axis + 1..]);
        Ok(map_tensor_same!(self, a => {
            let picked = a.select(Axis(axis), indices).as_standard_layout().into_owned();
            picked.into_shape_with_order(IxDyn(&out_shape)).map_err(|e| Error::Shape(format!("gather: {e}")))?
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::ArrayD;

    fn t(shape: &[usize], v: Vec<i64>) -> Tensor {
        Tensor::I64(ArrayD::from_shape_vec(IxDyn(shape), v).unwrap())
    }

    #[test]
    fn broadcast_rules_follow_numpy() {
        assert_eq!(
            broadcast_shapes(&[2, 1, 3], &[4, 1]).unwrap(),
            vec![2, 4, 3]
        );
        assert_eq!(broadcast_shapes(&[], &[5]).unwrap(), vec![5]);
        assert!(broadcast_shapes(&[2, 3], &[4]).is_err());
    }

    #[test]
    fn transpose_gather_slice_concat_move_the_right_elements() {
        let x = t(&[2, 3], vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(
            x.transpose(&[1, 0]).unwrap(),
            t(&[3, 2], vec![0, 3, 1, 4, 2, 5])
        );
        assert_eq!(
            x.gather(1, &[2, 0], &[2]).unwrap(),
            t(&[2, 2], vec![2, 0, 5, 3])
        );
        assert_eq!(x.gather(0, &[1], &[]).unwrap(), t(&[3], vec![3, 4, 5]));
        assert_eq!(
            x.slice_axis(1, 2, -1, -1),
            t(&[2, 3], vec![2, 1, 0, 5, 4, 3])
        );
        assert_eq!(x.slice_axis(1, 0, 3, 2), t(&[2, 2], vec![0, 2, 3, 5]));
        assert_eq!(Tensor::concat(&[&x, &x], 0).unwrap().shape(), &[4, 3]);
        assert!(x.transpose(&[0, 0]).is_err());
        assert!(x.gather(1, &[3], &[1]).is_err());
    }
}
