//! AVX-512 microkernels: f32 fused multiply-adds 16 output columns per vector, and unsigned×signed
//! 8-bit quad multiply-adds (`vpdpbusd`, AVX-512 VNNI) into exact 32-bit sums.
//!
//! Each microkernel keeps a block of `MR` rows × 32 columns of partial sums in registers; every
//! partial sum is one output's own chain, updated for `k` ascending, so no reduction is
//! reordered.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::pack::{PackedF32, PackedQuads};

/// Length of the K-chunks a block of outputs runs through before the next block.
const KC: usize = 512;
/// Rows per register block.
pub(super) const MR: usize = 12;
/// Columns per register block (two vectors of 16).
pub(super) const NR: usize = 32;

/// Mask of the first `w` of 16 lanes.
fn lanes(w: usize) -> u16 {
    if w >= 16 { u16::MAX } else { (1u16 << w) - 1 }
}

/// For rows `0..rows` of `a` (row stride `k`) and every panel of `pb`: adds each K-tile's
/// partial sums (fused MACs from +0, `k` ascending within the tile) into `c` (`rows×n`,
/// row-major, holding the accumulators' start values), K-tile by K-tile.
///
/// # Safety
/// The CPU must support AVX-512F. `a` holds at least `rows·k` values, `c` at least `rows·n`,
/// `pb` packs `k×n` with `NR`-wide panels, and `k_tile ≥ 1`.
#[target_feature(enable = "avx512f")]
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
            let masks = (lanes(w), lanes(w.saturating_sub(16)));
            let bp = pb.panel(p)[t0 * NR..].as_ptr();
            for i0 in (0..rows).step_by(MR) {
                // SAFETY: rows i0..i0+mr of `a` start at column t0 and have kl ≥ 1 more
                // values each; the panel holds kl rows of NR from t0; `c` rows i0..i0+mr
                // have columns j0..j0+w (the masks cover exactly those).
                unsafe {
                    let ap = a.as_ptr().add(i0 * k + t0);
                    let cp = c.as_mut_ptr().add(i0 * n + j0);
                    let f = (ap, k, bp, (kl, k_tile), cp, n, masks);
                    match rows - i0 {
                        1 => f32_block::<1>(f),
                        2 => f32_block::<2>(f),
                        3 => f32_block::<3>(f),
                        4 => f32_block::<4>(f),
                        5 => f32_block::<5>(f),
                        6 => f32_block::<6>(f),
                        7 => f32_block::<7>(f),
                        8 => f32_block::<8>(f),
                        9 => f32_block::<9>(f),
                        10 => f32_block::<10>(f),
                        11 => f32_block::<11>(f),
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
    (u16, u16),
);

/// One `R×32` block over `kl` values of k cut into K-tiles of `k_tile`: per K-tile,
/// `s = fma(a, b, s)` from +0 for k ascending, then `c += s`.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn f32_block<const R: usize>((ap, lda, bp, (kl, k_tile), cp, ldc, (m0, m1)): F32Args) {
    for t0 in (0..kl).step_by(k_tile) {
        let mut s = [[_mm512_setzero_ps(); 2]; R];
        for kk in t0..kl.min(t0 + k_tile) {
            // SAFETY (whole block): the caller's bounds (see `f32_rows`).
            unsafe {
                let b0 = _mm512_loadu_ps(bp.add(kk * NR));
                let b1 = _mm512_loadu_ps(bp.add(kk * NR + 16));
                for (r, sr) in s.iter_mut().enumerate() {
                    let av = _mm512_set1_ps(*ap.add(r * lda + kk));
                    sr[0] = _mm512_fmadd_ps(av, b0, sr[0]);
                    sr[1] = _mm512_fmadd_ps(av, b1, sr[1]);
                }
            }
        }
        for (r, sr) in s.iter().enumerate() {
            // SAFETY: the masks cover the block's columns of row r of `c`.
            unsafe {
                let row = cp.add(r * ldc);
                let c0 = _mm512_maskz_loadu_ps(m0, row);
                _mm512_mask_storeu_ps(row, m0, _mm512_add_ps(c0, sr[0]));
                let c1 = _mm512_maskz_loadu_ps(m1, row.add(16));
                _mm512_mask_storeu_ps(row.add(16), m1, _mm512_add_ps(c1, sr[1]));
            }
        }
    }
}

/// `c[i][j] = A'·B' + row_sums[i]·offsets[j] + terms[j]` (wrapping i32) for rows
/// `0..rows` of `a` (bytes, row stride `4·pb.quads`) against every panel of `pb`: the
/// product of the shifted operands with the offsets' corrections added as it is stored.
/// `c` is `rows×n`, row-major.
///
/// # Safety
/// The CPU must support AVX-512F, AVX-512BW and AVX-512 VNNI. `a` holds at least
/// `rows·4·pb.quads` bytes, `c` at least `rows·n` values, `row_sums` `rows` and `offsets`
/// and `terms` `n`; `pb` packs `n` columns with `NR`-wide panels.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) unsafe fn quad_rows(
    (a, rows, row_sums): (&[u8], usize, &[i32]),
    pb: &PackedQuads,
    (offsets, terms): (&[i32], &[i32]),
    c: &mut [i32],
    n: usize,
) {
    let lda = pb.quads * 4;
    debug_assert!(a.len() >= rows * lda && c.len() >= rows * n && pb.nr == NR);
    debug_assert!(row_sums.len() >= rows && offsets.len() >= n && terms.len() >= n);
    for p in 0..n.div_ceil(NR) {
        let (j0, w) = (p * NR, NR.min(n - p * NR));
        let masks = (lanes(w), lanes(w.saturating_sub(16)));
        let bp = pb.panel(p).as_ptr();
        for i0 in (0..rows).step_by(MR) {
            // SAFETY: rows i0..i0+mr of `a` hold lda bytes each, the panel holds quads·NR·4
            // bytes, the masks cover columns j0..j0+w of `c`'s rows i0..i0+mr and of
            // `offsets` and `terms`, and `row_sums` holds rows i0..i0+mr.
            unsafe {
                let f = (
                    a.as_ptr().add(i0 * lda),
                    lda,
                    bp,
                    pb.quads,
                    c.as_mut_ptr().add(i0 * n + j0),
                    n,
                    masks,
                    (
                        row_sums.as_ptr().add(i0),
                        offsets.as_ptr().add(j0),
                        terms.as_ptr().add(j0),
                    ),
                );
                match rows - i0 {
                    1 => quad_block::<1>(f),
                    2 => quad_block::<2>(f),
                    3 => quad_block::<3>(f),
                    4 => quad_block::<4>(f),
                    5 => quad_block::<5>(f),
                    6 => quad_block::<6>(f),
                    7 => quad_block::<7>(f),
                    8 => quad_block::<8>(f),
                    9 => quad_block::<9>(f),
                    10 => quad_block::<10>(f),
                    11 => quad_block::<11>(f),
                    _ => quad_block::<MR>(f),
                }
            }
        }
    }
}

type QuadArgs = (
    *const u8,
    usize,
    *const i8,
    usize,
    *mut i32,
    usize,
    (u16, u16),
    (*const i32, *const i32, *const i32),
);

/// One `R×32` block: `Σ_q dpbusd(a[4q..4q+4], b[q]) + row_sum·offset + term`, stored (not
/// added) into `c`.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
unsafe fn quad_block<const R: usize>(
    (ap, lda, bp, quads, cp, ldc, (m0, m1), (sums, offsets, terms)): QuadArgs,
) {
    let mut s = [[_mm512_setzero_si512(); 2]; R];
    for q in 0..quads {
        // SAFETY (whole block): the caller's bounds (see `quad_rows`).
        unsafe {
            let b0 = _mm512_loadu_si512(bp.add(q * NR * 4).cast());
            let b1 = _mm512_loadu_si512(bp.add(q * NR * 4 + 64).cast());
            for (r, sr) in s.iter_mut().enumerate() {
                let word = ap.add(r * lda + q * 4).cast::<i32>().read_unaligned();
                let av = _mm512_set1_epi32(word);
                sr[0] = _mm512_dpbusd_epi32(sr[0], av, b0);
                sr[1] = _mm512_dpbusd_epi32(sr[1], av, b1);
            }
        }
    }
    // SAFETY: the masks cover the block's columns of `offsets` and `terms`.
    let (o, t) = unsafe {
        (
            [
                _mm512_maskz_loadu_epi32(m0, offsets),
                _mm512_maskz_loadu_epi32(m1, offsets.add(16)),
            ],
            [
                _mm512_maskz_loadu_epi32(m0, terms),
                _mm512_maskz_loadu_epi32(m1, terms.add(16)),
            ],
        )
    };
    for (r, sr) in s.iter().enumerate() {
        // SAFETY: the masks cover the block's columns of row r of `c`; `sums` holds row r.
        unsafe {
            let ra = _mm512_set1_epi32(*sums.add(r));
            let row = cp.add(r * ldc);
            for h in 0..2 {
                let fix = _mm512_add_epi32(_mm512_mullo_epi32(ra, o[h]), t[h]);
                let v = _mm512_add_epi32(sr[h], fix);
                _mm512_mask_storeu_epi32(row.add(16 * h), [m0, m1][h], v);
            }
        }
    }
}
