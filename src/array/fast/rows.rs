//! GEMMs with few rows of A (a depthwise convolution's one output channel per group, a
//! matrix-vector product): each row of A streams B once as scaled rows added into its output
//! row, with no packing of B. Packing B costs as much as such a product itself.
//!
//! The arithmetic per output is the one of the [module docs](crate::array): integer sums are
//! exact (the caller bounds K), and a float K-tile's partial sum starts at +0 and takes
//! `s = a·b + s` fused, for `k` ascending, before it is added to the output.

use multiversion::multiversion;

/// Below this many rows of A, [`int`] and [`float`] beat the packed microkernels: those
/// pack all of B to reuse each packed panel across a block of 8–12 rows of A.
pub(super) const FEW_ROWS: usize = 4;

/// `c[i][j] = Σ_{k in ks} a[i][k]·b[k][j]` for `m` rows (a: `m×k`, b: `k×n`, c: `m×n`, all
/// row-major). The sum over `ks` must fit an i32 (operands in `[-255, 255]`, at most 32 768
/// terms).
#[multiversion(targets = "simd")]
pub(super) fn int(
    (m, k, n): (usize, usize, usize),
    a: &[i16],
    b: &[i16],
    ks: (usize, usize),
    c: &mut [i32],
) {
    for (i, row) in c[..m * n].chunks_mut(n).enumerate() {
        row.fill(0);
        for kk in ks.0..ks.1 {
            let av = i32::from(a[i * k + kk]);
            for (v, &bv) in row.iter_mut().zip(&b[kk * n..(kk + 1) * n]) {
                *v += av * i32::from(bv);
            }
        }
    }
}

/// Adds `A·B`'s K-tile sums (tiles of `k_tile` consecutive `k`) into `out` (`m×n`, holding
/// the start values), each tile's partial sums made with fused multiply-adds (a vector FMA
/// instruction where the CPU has one; `mul_add` is the same single rounding either way).
#[multiversion(targets = "simd")]
pub(super) fn float(
    k_tile: usize,
    (m, k, n): (usize, usize, usize),
    a: &[f32],
    b: &[f32],
    out: &mut [f32],
) {
    let mut s = vec![0f32; n];
    for (i, row) in out[..m * n].chunks_mut(n).enumerate() {
        for k0 in (0..k).step_by(k_tile.max(1)) {
            s.fill(0.0);
            for kk in k0..(k0 + k_tile).min(k) {
                let av = a[i * k + kk];
                for (v, &bv) in s.iter_mut().zip(&b[kk * n..(kk + 1) * n]) {
                    *v = av.mul_add(bv, *v);
                }
            }
            for (o, &v) in row.iter_mut().zip(&s) {
                *o += v;
            }
        }
    }
}
