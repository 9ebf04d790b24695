//! Operand packing for the vector microkernels: B cut into panels of `NR` columns stored
//! k-major (so a microkernel loads one contiguous vector per `k`), and the integer operands
//! re-encoded for 16-bit pair (`vpmaddwd`) or 8-bit quad (`vpdpbusd`) multiply-adds.
//! Padding lanes and padding `k` hold zeros, which add nothing to an integer sum and feed
//! only float lanes that are never stored. Panels are packed in parallel.

use multiversion::multiversion;
use rayon::prelude::*;

/// B (`k×n`, row-major) as panels of `nr` columns: panel `p` holds `k` rows of `nr` values,
/// columns past `n` zero.
pub(super) struct PackedF32 {
    /// Panel width.
    pub nr: usize,
    /// Rows of B.
    pub k: usize,
    /// `⌈n/nr⌉ · k · nr` values.
    pub data: Vec<f32>,
}

impl PackedF32 {
    pub(super) fn new(b: &[f32], k: usize, n: usize, nr: usize) -> PackedF32 {
        let panels = n.div_ceil(nr);
        let mut data = vec![0.0; panels * k * nr];
        if k > 0 {
            data.par_chunks_mut(k * nr)
                .enumerate()
                .for_each(|(p, panel)| {
                    let (j0, w) = (p * nr, nr.min(n - p * nr));
                    for (kk, dst) in panel.chunks_mut(nr).enumerate() {
                        dst[..w].copy_from_slice(&b[kk * n + j0..kk * n + j0 + w]);
                    }
                });
        }
        PackedF32 { nr, k, data }
    }

    /// Panel `p`, `k·nr` values.
    pub(super) fn panel(&self, p: usize) -> &[f32] {
        &self.data[p * self.k * self.nr..(p + 1) * self.k * self.nr]
    }
}

/// Integer B for 16-bit pair multiply-adds: panel `p`, pair `q` holds, for each of `nr`
/// columns, `(b[2q][j], b[2q+1][j])` (the second zero past `k`).
pub(super) struct PackedPairs {
    pub nr: usize,
    /// `⌈k/2⌉`.
    pub pairs: usize,
    pub data: Vec<i16>,
}

impl PackedPairs {
    /// Packs rows `k0..k1` of B (`n` columns).
    pub(super) fn new(b: &[i16], (k0, k1): (usize, usize), n: usize, nr: usize) -> PackedPairs {
        let k = k1 - k0;
        let pairs = k.div_ceil(2);
        let panels = n.div_ceil(nr);
        let mut data = vec![0i16; panels * pairs * nr * 2];
        for p in 0..panels {
            let (j0, w) = (p * nr, nr.min(n - p * nr));
            let panel = &mut data[p * pairs * nr * 2..(p + 1) * pairs * nr * 2];
            for kk in 0..k {
                let row = &b[(k0 + kk) * n + j0..(k0 + kk) * n + j0 + w];
                let base = (kk / 2) * nr * 2 + kk % 2;
                for (c, &v) in row.iter().enumerate() {
                    panel[base + 2 * c] = v;
                }
            }
        }
        PackedPairs { nr, pairs, data }
    }

    pub(super) fn panel(&self, p: usize) -> &[i16] {
        let len = self.pairs * self.nr * 2;
        &self.data[p * len..(p + 1) * len]
    }
}

/// Rows of A (`k0..k1` of each row, row stride `k`) with `k` padded to a multiple of `pad`.
pub(super) fn padded_rows<T: Copy + Default>(
    a: &[T],
    k: usize,
    rows: std::ops::Range<usize>,
    (k0, k1): (usize, usize),
    pad: usize,
) -> Vec<T> {
    let width = (k1 - k0).div_ceil(pad) * pad;
    let mut out = vec![T::default(); rows.len() * width];
    for (dst, i) in out.chunks_mut(width.max(1)).zip(rows) {
        dst[..k1 - k0].copy_from_slice(&a[i * k + k0..i * k + k1]);
    }
    out
}

/// Integer B for unsigned×signed 8-bit quad multiply-adds (`vpdpbusd`): each column `j` is
/// shifted by `offset[j]` into `[-128, 127]`; panel `p`, quad `q` holds, for each of `nr`
/// columns, `b[4q..4q+4][j] - offset[j]` (zero past `k`).
pub(super) struct PackedQuads {
    pub nr: usize,
    /// `⌈k/4⌉`.
    pub quads: usize,
    pub data: Vec<i8>,
    /// Per column: the offset subtracted.
    pub offset: Vec<i32>,
    /// Per column: `Σ_k (b[k][j] - offset[j])`.
    pub col_sum: Vec<i32>,
}

impl PackedQuads {
    /// Packs rows `k0..k1` of B (`n` columns), or `None` when some column's values span more
    /// than 256 consecutive integers (they do not fit an 8-bit signed operand after a shift).
    pub(super) fn new(
        b: &[i16],
        (k0, k1): (usize, usize),
        n: usize,
        nr: usize,
    ) -> Option<PackedQuads> {
        let k = k1 - k0;
        let mut lo = vec![i32::MAX; n];
        let mut hi = vec![i32::MIN; n];
        for row in b[k0 * n..k1 * n].chunks(n) {
            for ((l, h), &v) in lo.iter_mut().zip(hi.iter_mut()).zip(row) {
                *l = (*l).min(i32::from(v));
                *h = (*h).max(i32::from(v));
            }
        }
        if k > 0 && lo.iter().zip(&hi).any(|(l, h)| h - l > 255) {
            return None;
        }
        let offset: Vec<i32> = lo
            .iter()
            .map(|&l| if k == 0 { 0 } else { l + 128 })
            .collect();
        Some(PackedQuads::with_offsets(b, (k0, k1), n, nr, offset))
    }

    /// [`PackedQuads::new`] for a B whose every value the caller knows to lie within
    /// `[lo, lo + 255]`: one offset for all columns, without scanning B for each column's
    /// range. The products' sums are exact whatever the offsets, so the bits are
    /// [`PackedQuads::new`]'s.
    pub(super) fn within(
        b: &[i16],
        (k0, k1): (usize, usize),
        n: usize,
        nr: usize,
        lo: i32,
    ) -> PackedQuads {
        debug_assert!(
            b[k0 * n..k1 * n]
                .iter()
                .all(|&v| (lo..=lo + 255).contains(&i32::from(v))),
            "B's values lie within [{lo}, {lo} + 255]"
        );
        PackedQuads::with_offsets(b, (k0, k1), n, nr, vec![lo + 128; n])
    }

    /// Packs rows `k0..k1` of B, each column `j` shifted by `offset[j]` into `[-128, 127]`.
    fn with_offsets(
        b: &[i16],
        (k0, k1): (usize, usize),
        n: usize,
        nr: usize,
        offset: Vec<i32>,
    ) -> PackedQuads {
        let k = k1 - k0;
        let quads = k.div_ceil(4);
        let panels = n.div_ceil(nr);
        let mut data = vec![0i8; panels * quads * nr * 4];
        let mut col_sum = vec![0i32; n];
        if quads > 0 {
            data.par_chunks_mut(quads * nr * 4)
                .zip(col_sum.par_chunks_mut(nr))
                .enumerate()
                .for_each(|(p, (panel, sums))| {
                    let j0 = p * nr;
                    let offs = &offset[j0..j0 + sums.len()];
                    quad_panel(b, (k0, k1), (n, j0), offs, panel, sums);
                });
        }
        PackedQuads {
            nr,
            quads,
            data,
            offset,
            col_sum,
        }
    }

    pub(super) fn panel(&self, p: usize) -> &[i8] {
        let len = self.quads * self.nr * 4;
        &self.data[p * len..(p + 1) * len]
    }
}

/// Packs one panel of [`PackedQuads`]: rows `k0..k1` of B's columns `j0..j0 + w` (`w` the
/// length of `offs` and `sums`), each shifted by its offset, into `panel`'s quads (four bytes
/// per column, `nr = panel.len() / (4 · quads)` columns per quad), with each column's sum of
/// the shifted values added into `sums`. In the widest vectors the CPU has.
#[multiversion(targets = "simd")]
fn quad_panel(
    b: &[i16],
    (k0, k1): (usize, usize),
    (n, j0): (usize, usize),
    offs: &[i32],
    panel: &mut [i8],
    sums: &mut [i32],
) {
    let (w, quads) = (sums.len(), (k1 - k0).div_ceil(4));
    let nr = panel.len() / (4 * quads).max(1);
    // Quad q: rows 4q..4q+4 of the panel's columns, four bytes per column.
    for (q, quad) in panel.chunks_exact_mut(nr * 4).enumerate() {
        let row = |i: usize| {
            let kk = k0 + 4 * q + i;
            (kk < k1).then(|| &b[kk * n + j0..kk * n + j0 + w])
        };
        let rows = [row(0), row(1), row(2), row(3)];
        if let [Some(r0), Some(r1), Some(r2), Some(r3)] = rows {
            let columns = r0.iter().zip(r1).zip(r2).zip(r3);
            let targets = quad.chunks_exact_mut(4).zip(offs).zip(sums.iter_mut());
            for ((((&v0, &v1), &v2), &v3), ((dst, &o), sum)) in columns.zip(targets) {
                let s = [v0, v1, v2, v3].map(|v| i32::from(v) - o);
                dst.copy_from_slice(&s.map(|v| v as i8));
                *sum = s.iter().fold(*sum, |acc, &v| acc.wrapping_add(v));
            }
            continue;
        }
        for (c, (dst, (&o, sum))) in quad
            .chunks_exact_mut(4)
            .zip(offs.iter().zip(sums.iter_mut()))
            .enumerate()
        {
            for (d, r) in dst.iter_mut().zip(&rows) {
                if let Some(r) = r {
                    // In [-128, 127] by the offset's choice.
                    let shifted = i32::from(r[c]) - o;
                    *d = shifted as i8;
                    *sum = sum.wrapping_add(shifted);
                }
            }
        }
    }
}

/// A's offset for the quad microkernels: `min(A)` when every value lies within 256 consecutive
/// integers of it (so `a - min` fits an unsigned byte), else `None`.
pub(super) fn unsigned_offset(a: &[i16]) -> Option<i32> {
    let (lo, hi) = a.iter().fold((i32::MAX, i32::MIN), |(l, h), &v| {
        (l.min(i32::from(v)), h.max(i32::from(v)))
    });
    match hi.checked_sub(lo) {
        Some(span) if span <= 255 => Some(lo),
        _ if a.is_empty() => Some(0),
        _ => None,
    }
}

/// Rows `rows` of A (`k0..k1` of each, row stride `k`) as bytes `a - offset`, `k` padded to a
/// multiple of 4, and each row's sum of those bytes.
#[multiversion(targets = "simd")]
pub(super) fn unsigned_rows(
    a: &[i16],
    k: usize,
    rows: std::ops::Range<usize>,
    (k0, k1): (usize, usize),
    offset: i32,
) -> (Vec<u8>, Vec<i32>) {
    let width = (k1 - k0).div_ceil(4) * 4;
    let mut out = vec![0u8; rows.len() * width];
    let mut sums = Vec::with_capacity(rows.len());
    for (r, i) in rows.enumerate() {
        let dst = &mut out[r * width..(r + 1) * width];
        let mut sum = 0i32;
        for (d, &v) in dst.iter_mut().zip(&a[i * k + k0..i * k + k1]) {
            // In [0, 255] by `unsigned_offset`.
            let u = i32::from(v) - offset;
            *d = u as u8;
            sum = sum.wrapping_add(u);
        }
        sums.push(sum);
    }
    (out, sums)
}
