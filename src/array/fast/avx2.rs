//! AVX2/FMA microkernels: f32 fused multiply-adds 8 output columns per vector, and 16-bit pair
//! multiply-adds (`vpmaddwd`) into exact 32-bit sums.
//!
//! Each microkernel keeps a block of `MR` rows × 16 columns of partial sums in registers; every
//! partial sum is one output's own chain, updated for `k` ascending, so no reduction is
//! reordered.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::pack::{PackedF32, PackedPairs};

/// Length of the K-chunks a block of outputs runs through before the next block.
const KC: usize = 512;
/// Rows per register block.
pub(super) const MR: usize = 6;
/// Columns per register block (two vectors of 8).
pub(super) const NR: usize = 16;

/// Lane masks (all ones for lanes `< w`) of the two vectors of a block of width `w`.
#[target_feature(enable = "avx2")]
fn masks(w: usize) -> (__m256i, __m256i) {
    let lane = |i: usize| if i < w { -1 } else { 0 };
    let v = |o: usize| {
        _mm256_setr_epi32(
            lane(o),
            lane(o + 1),
            lane(o + 2),
            lane(o + 3),
            lane(o + 4),
            lane(o + 5),
            lane(o + 6),
            lane(o + 7),
        )
    };
    (v(0), v(8))
}

/// As [`super::avx512::f32_rows`], with `NR`-wide panels.
///
/// # Safety
/// The CPU must support AVX2 and FMA. `a` holds at least `rows·k` values, `c` at least
/// `rows·n`, `pb` packs `k×n` with `NR`-wide panels, and `k_tile ≥ 1`.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn f32_rows(
    a: &[f32],
    k: usize,
    rows: usize,
    pb: &PackedF32,
    k_tile: usize,
    c: &mut [f32],
    n: usize,
) {
    debug_assert!(a.len() >= rows * k && c.len() >= rows * n && pb.nr == NR && k_tile >= 1);
    // K-chunks of whole K-tiles, about KC long, so the chunk of A's rows and of a B panel
    // stay cached while a block of outputs runs through every K-tile of the chunk.
    let chunk = (KC / k_tile).max(1) * k_tile;
    for t0 in (0..k).step_by(chunk) {
        let kl = chunk.min(k - t0);
        for p in 0..n.div_ceil(NR) {
            let (j0, w) = (p * NR, NR.min(n - p * NR));
            let m = masks(w);
            let bp = pb.panel(p)[t0 * NR..].as_ptr();
            for i0 in (0..rows).step_by(MR) {
                // SAFETY: rows i0..i0+mr of `a` start at column t0 and have kl ≥ 1 more
                // values each; the panel holds kl rows of NR from t0; `c` rows i0..i0+mr
                // have columns j0..j0+w (the masks cover exactly those).
                unsafe {
                    let ap = a.as_ptr().add(i0 * k + t0);
                    let cp = c.as_mut_ptr().add(i0 * n + j0);
                    let f = (ap, k, bp, (kl, k_tile), cp, n, m);
                    match rows - i0 {
                        1 => f32_block::<1>(f),
                        2 => f32_block::<2>(f),
                        3 => f32_block::<3>(f),
                        4 => f32_block::<4>(f),
                        5 => f32_block::<5>(f),
                        _ => f32_block::<MR>(f),
                    }
                }
            }
        }
    }
}

type F32Args = (
    *const f32,
    usize,
    *const f32,
    (usize, usize),
    *mut f32,
    usize,
    (__m256i, __m256i),
);

/// One `R×16` block over `kl` values of k cut into K-tiles of `k_tile`: per K-tile,
/// `s = fma(a, b, s)` from +0 for k ascending, then `c += s`.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn f32_block<const R: usize>((ap, lda, bp, (kl, k_tile), cp, ldc, (m0, m1)): F32Args) {
    for t0 in (0..kl).step_by(k_tile) {
        let mut s = [[_mm256_setzero_ps(); 2]; R];
        for kk in t0..kl.min(t0 + k_tile) {
            // SAFETY (whole block): the caller's bounds (see `f32_rows`).
            unsafe {
                let b0 = _mm256_loadu_ps(bp.add(kk * NR));
                let b1 = _mm256_loadu_ps(bp.add(kk * NR + 8));
                for (r, sr) in s.iter_mut().enumerate() {
                    let av = _mm256_set1_ps(*ap.add(r * lda + kk));
                    sr[0] = _mm256_fmadd_ps(av, b0, sr[0]);
                    sr[1] = _mm256_fmadd_ps(av, b1, sr[1]);
                }
            }
        }
        for (r, sr) in s.iter().enumerate() {
            // SAFETY: the masks cover the block's columns of row r of `c`.
            unsafe {
                let row = cp.add(r * ldc);
                let c0 = _mm256_maskload_ps(row, m0);
                _mm256_maskstore_ps(row, m0, _mm256_add_ps(c0, sr[0]));
                let c1 = _mm256_maskload_ps(row.add(8), m1);
                _mm256_maskstore_ps(row.add(8), m1, _mm256_add_ps(c1, sr[1]));
            }
        }
    }
}

/// `c = A·B` (wrapping i32) for rows `0..rows` of `a` (i16, row stride `2·pb.pairs`, zero
/// padded) against every panel of `pb`; `c` is `rows×n`, row-major.
///
/// # Safety
/// The CPU must support AVX2. `a` holds at least `rows·2·pb.pairs` values and `c` at least
/// `rows·n`; `pb` packs `n` columns with `NR`-wide panels.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn pair_rows(a: &[i16], rows: usize, pb: &PackedPairs, c: &mut [i32], n: usize) {
    let lda = pb.pairs * 2;
    debug_assert!(a.len() >= rows * lda && c.len() >= rows * n && pb.nr == NR);
    for p in 0..n.div_ceil(NR) {
        let (j0, w) = (p * NR, NR.min(n - p * NR));
        let m = masks(w);
        let bp = pb.panel(p).as_ptr();
        for i0 in (0..rows).step_by(MR) {
            // SAFETY: rows i0..i0+mr of `a` hold lda values each, the panel holds
            // pairs·NR·2 values, and the masks cover columns j0..j0+w of `c`'s rows.
            unsafe {
                let f = (
                    a.as_ptr().add(i0 * lda),
                    lda,
                    bp,
                    pb.pairs,
                    c.as_mut_ptr().add(i0 * n + j0),
                    n,
                    m,
                );
                match rows - i0 {
                    1 => pair_block::<1>(f),
                    2 => pair_block::<2>(f),
                    3 => pair_block::<3>(f),
                    4 => pair_block::<4>(f),
                    5 => pair_block::<5>(f),
                    _ => pair_block::<MR>(f),
                }
            }
        }
    }
}

type PairArgs = (
    *const i16,
    usize,
    *const i16,
    usize,
    *mut i32,
    usize,
    (__m256i, __m256i),
);

/// One `R×16` block: `Σ_q madd(a[2q..2q+2], b[q])`, stored (not added) into `c`.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn pair_block<const R: usize>((ap, lda, bp, pairs, cp, ldc, (m0, m1)): PairArgs) {
    let mut s = [[_mm256_setzero_si256(); 2]; R];
    for q in 0..pairs {
        // SAFETY (whole block): the caller's bounds (see `pair_rows`).
        unsafe {
            let b0 = _mm256_loadu_si256(bp.add(q * NR * 2).cast());
            let b1 = _mm256_loadu_si256(bp.add(q * NR * 2 + 16).cast());
            for (r, sr) in s.iter_mut().enumerate() {
                let word = ap.add(r * lda + q * 2).cast::<i32>().read_unaligned();
                let av = _mm256_set1_epi32(word);
                sr[0] = _mm256_add_epi32(sr[0], _mm256_madd_epi16(av, b0));
                sr[1] = _mm256_add_epi32(sr[1], _mm256_madd_epi16(av, b1));
            }
        }
    }
    for (r, sr) in s.iter().enumerate() {
        // SAFETY: the masks cover the block's columns of row r of `c`.
        unsafe {
            let row = cp.add(r * ldc);
            _mm256_maskstore_epi32(row.cast(), m0, sr[0]);
            _mm256_maskstore_epi32(row.add(8).cast(), m1, sr[1]);
        }
    }
}
