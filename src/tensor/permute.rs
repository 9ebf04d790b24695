//! Axis permutation of a contiguous row-major buffer: the copy behind Transpose, done as
//! whole-row copies when the innermost axis stays innermost and as cache-sized 2-D block
//! transposes otherwise (on the rayon threads for large tensors).

use rayon::prelude::*;

/// Side of the square blocks a transposing copy moves at once.
const BLOCK: usize = 32;

/// Tensors of at least this many elements are transposed on the rayon threads, in disjoint
/// blocks of output rows.
const PARALLEL_LEN: usize = 1 << 16;

/// The elements of the row-major `shape` buffer `src` with its axes permuted (`perm[i]` is the
/// input axis that becomes output axis `i`), row-major in the output shape.
///
/// # Panics
/// If `perm` is not a permutation of `0..shape.len()` or `src` is shorter than `shape` needs.
pub fn permute<T: Copy + Send + Sync>(src: &[T], shape: &[usize], perm: &[usize]) -> Vec<T> {
    assert_eq!(perm.len(), shape.len(), "perm has the shape's rank");
    let len: usize = shape.iter().product();
    assert!(src.len() >= len, "buffer shorter than its shape");
    if len == 0 {
        return Vec::new();
    }
    let (dims, strides) = simplify(shape, perm);
    let mut out = Vec::with_capacity(len);
    let r = dims.len();
    if r == 0 || strides[r - 1] == 1 {
        // The innermost output axis is contiguous in the input: copy whole rows.
        let row = dims.last().copied().unwrap_or(1);
        for_each_index(&dims[..r.saturating_sub(1)], &strides, |base| {
            out.extend_from_slice(&src[base..base + row]);
        });
        return out;
    }
    // The input's innermost axis `q` lies further out: transpose (q, last) blocks.
    let q = strides
        .iter()
        .position(|&s| s == 1)
        .expect("a size > 1 axis of unit input stride survives simplification");
    let (dq, dl, sl) = (dims[q], dims[r - 1], strides[r - 1]);
    // Output axes: a prefix before q, q, middle axes, the last. For one prefix index and a
    // block of q, the output is one contiguous run of rows of `oq` (middle × last) values.
    let (prefix, middle) = (&dims[..q], q + 1..r - 1);
    let oq: usize = dims[q + 1..].iter().product();
    out.resize(len, src[0]);
    let rows = |pi: usize, qb: usize, dst: &mut [T]| {
        let p_base = offset_of(pi, prefix, &strides[..q]);
        let q0 = qb * BLOCK;
        let q1 = (q0 + BLOCK).min(dq);
        let mut o_mid = 0;
        for_each_index(&dims[middle.clone()], &strides[middle.clone()], |m_base| {
            for l0 in (0..dl).step_by(BLOCK) {
                let l1 = (l0 + BLOCK).min(dl);
                for iq in q0..q1 {
                    let row = &mut dst[(iq - q0) * oq + o_mid + l0..][..l1 - l0];
                    let from = p_base + m_base + iq + l0 * sl;
                    for (o, &v) in row.iter_mut().zip(src[from..].iter().step_by(sl)) {
                        *o = v;
                    }
                }
            }
            o_mid += dl;
        });
    };
    let per_prefix = (dq * oq).max(1);
    if len < PARALLEL_LEN {
        for (pi, dst) in out.chunks_mut(per_prefix).enumerate() {
            for (qb, block) in dst.chunks_mut(BLOCK * oq).enumerate() {
                rows(pi, qb, block);
            }
        }
    } else {
        out.par_chunks_mut(per_prefix)
            .enumerate()
            .for_each(|(pi, dst)| {
                dst.par_chunks_mut(BLOCK * oq)
                    .enumerate()
                    .for_each(|(qb, block)| rows(pi, qb, block));
            });
    }
    out
}

/// The output dims and, per output axis, its input stride, with size-1 axes dropped and
/// runs of output axes that are also consecutive in the input merged into one.
fn simplify(shape: &[usize], perm: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mut in_strides = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        in_strides[i] = in_strides[i + 1] * shape[i + 1];
    }
    let mut dims: Vec<usize> = Vec::with_capacity(perm.len());
    let mut strides: Vec<usize> = Vec::with_capacity(perm.len());
    for &p in perm {
        let (d, s) = (shape[p], in_strides[p]);
        if d == 1 {
            continue;
        }
        match (dims.last_mut(), strides.last_mut()) {
            (Some(ld), Some(ls)) if *ls == s * d => {
                *ld *= d;
                *ls = s;
            }
            _ => {
                dims.push(d);
                strides.push(s);
            }
        }
    }
    (dims, strides)
}

/// The input offset of row-major index `index` of `dims`, axis `i` moving it by `strides[i]`.
fn offset_of(mut index: usize, dims: &[usize], strides: &[usize]) -> usize {
    let mut offset = 0;
    for (&d, &s) in dims.iter().zip(strides).rev() {
        offset += (index % d) * s;
        index /= d;
    }
    offset
}

/// Calls `f` with the input offset of every index of `dims` (row-major order), where axis `i`
/// moves the offset by `strides[i]`.
fn for_each_index(dims: &[usize], strides: &[usize], mut f: impl FnMut(usize)) {
    if dims.contains(&0) {
        return;
    }
    let mut idx = vec![0usize; dims.len()];
    let mut base = 0usize;
    loop {
        f(base);
        let mut d = dims.len();
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            base += strides[d];
            if idx[d] < dims[d] {
                break;
            }
            base -= strides[d] * dims[d];
            idx[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};
    use proptest::prelude::*;

    /// ndarray's permuted view copied out: the definition.
    fn reference(src: &[u32], shape: &[usize], perm: &[usize]) -> Vec<u32> {
        let a = ArrayD::from_shape_vec(IxDyn(shape), src.to_vec()).expect("shape");
        a.permuted_axes(IxDyn(perm)).iter().copied().collect()
    }

    fn case() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
        prop::collection::vec(1usize..7, 0..6).prop_flat_map(|mut shape| {
            // Some axes long enough to cross a block edge.
            if let Some(first) = shape.first_mut() {
                *first += 33;
            }
            let rank = shape.len();
            (
                Just(shape),
                Just((0..rank).collect::<Vec<_>>()).prop_shuffle(),
            )
        })
    }

    proptest! {
        #[test]
        fn equals_ndarray((shape, perm) in case()) {
            let len: usize = shape.iter().product();
            let src: Vec<u32> = (0..len as u32).collect();
            prop_assert_eq!(permute(&src, &shape, &perm), reference(&src, &shape, &perm));
        }
    }

    #[test]
    fn nhwc_to_nchw_and_back() {
        // The second shape is large enough for the parallel path.
        for shape in [[2, 7, 9, 40], [2, 37, 41, 50]] {
            let src: Vec<u32> = (0..shape.iter().product::<usize>() as u32).collect();
            for perm in [
                [0, 3, 1, 2],
                [0, 2, 3, 1],
                [3, 2, 1, 0],
                [1, 0, 3, 2],
                [2, 0, 3, 1],
            ] {
                assert_eq!(permute(&src, &shape, &perm), reference(&src, &shape, &perm));
            }
        }
    }

    #[test]
    fn empty_and_scalar() {
        assert!(permute::<u32>(&[], &[0, 3], &[1, 0]).is_empty());
        assert_eq!(permute(&[5u32], &[], &[]), vec![5]);
        assert_eq!(permute(&[1u32, 2], &[1, 2, 1], &[2, 1, 0]), vec![1, 2]);
    }
}
