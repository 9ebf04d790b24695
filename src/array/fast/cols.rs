//! GEMMs with few columns of B (a fully connected layer taken in its weights' layout on one
//! position, a convolution over a plane of a few positions): every output is one dot product
//! of a row of A and a column of B, B's columns turned into rows once. The packed
//! microkernels would pad B's columns to a panel of 32, most of whose lanes then idle.
//!
//! Integer sums are exact in any order (the caller bounds K), so each dot product runs on
//! 16-bit multiply-adds into 32-bit lanes.

use multiversion::multiversion;

/// Up to this many columns of B, [`int`] beats the packed microkernels.
pub(super) const FEW_COLUMNS: usize = 4;

/// B's columns (`b` is `k×n`, row-major) as rows over `ks`: `n × (ks.1 − ks.0)`.
pub(super) fn columns(b: &[i16], (k, n): (usize, usize), ks: (usize, usize)) -> Vec<i16> {
    debug_assert!(b.len() >= k * n && ks.1 <= k);
    (0..n)
        .flat_map(|j| (ks.0..ks.1).map(move |kk| b[kk * n + j]))
        .collect()
}

/// `c[i][j] = Σ_{kk in ks} a[i][kk]·b[kk][j]` for the rows of `a` (`rows × k`, row-major)
/// into `c` (`rows × n`), with `bt` B's columns as [`columns`] gives them. The sum over `ks`
/// must fit an i32 (operands in `[-255, 255]`, at most 32 768 terms).
#[multiversion(targets = "simd")]
pub(super) fn int(a: &[i16], k: usize, bt: &[i16], ks: (usize, usize), c: &mut [i32]) {
    let len = ks.1 - ks.0;
    if len == 0 {
        c.fill(0);
        return;
    }
    let n = bt.len() / len;
    for (a_row, c_row) in a.chunks(k).zip(c.chunks_mut(n)) {
        let a_row = &a_row[ks.0..ks.1];
        for (v, column) in c_row.iter_mut().zip(bt.chunks(len)) {
            *v = a_row
                .iter()
                .zip(column)
                .map(|(&x, &y)| i32::from(x) * i32::from(y))
                .fold(0i32, i32::wrapping_add);
        }
    }
}
