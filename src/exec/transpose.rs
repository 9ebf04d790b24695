//! 2-D transposes of row-major matrices, the layout changes around the depthwise path and the
//! operands of transposed GEMMs: whole 8 × 8 tiles moved by vector shuffles (SSE2, which every
//! x86-64 CPU has) for 2- and 4-byte values, the rest value by value.

/// A value a transpose moves: the 8 × 8 tile move, by shuffles where the type allows.
pub(crate) trait Tiled: Copy {
    /// Writes the transpose of the 8 × 8 tile at `src` (rows `src_stride` apart) to `dst`
    /// (rows `dst_stride` apart).
    ///
    /// # Panics
    /// If either slice is shorter than its 8 rows.
    fn tile(src: &[Self], src_stride: usize, dst: &mut [Self], dst_stride: usize) {
        for i in 0..TILE {
            for j in 0..TILE {
                dst[j * dst_stride + i] = src[i * src_stride + j];
            }
        }
    }
}

/// Side of the tiles moved at once.
const TILE: usize = 8;

/// The smallest length of a slice holding `TILE` rows of `TILE` values, `stride` apart.
fn tile_len(stride: usize) -> usize {
    (TILE - 1) * stride + TILE
}

impl Tiled for u8 {}

impl Tiled for i16 {
    fn tile(src: &[i16], src_stride: usize, dst: &mut [i16], dst_stride: usize) {
        assert!(src.len() >= tile_len(src_stride) && dst.len() >= tile_len(dst_stride));
        #[cfg(target_arch = "x86_64")]
        // SAFETY: SSE2 is part of x86-64; the eight rows read and written lie within the
        // slices (checked above), loads and stores are unaligned.
        unsafe {
            sse2::tile16(
                src.as_ptr().cast(),
                src_stride,
                dst.as_mut_ptr().cast(),
                dst_stride,
            );
        }
        #[cfg(not(target_arch = "x86_64"))]
        for i in 0..TILE {
            for j in 0..TILE {
                dst[j * dst_stride + i] = src[i * src_stride + j];
            }
        }
    }
}

/// 4-byte values: moved as their bits.
macro_rules! tiled_32 {
    ($($t:ty),*) => {$(
        impl Tiled for $t {
            fn tile(src: &[$t], src_stride: usize, dst: &mut [$t], dst_stride: usize) {
                assert!(src.len() >= tile_len(src_stride) && dst.len() >= tile_len(dst_stride));
                #[cfg(target_arch = "x86_64")]
                // SAFETY: as for i16; the values' bits are moved unchanged.
                unsafe {
                    sse2::tile32(src.as_ptr().cast(), src_stride, dst.as_mut_ptr().cast(), dst_stride);
                }
                #[cfg(not(target_arch = "x86_64"))]
                for i in 0..TILE {
                    for j in 0..TILE {
                        dst[j * dst_stride + i] = src[i * src_stride + j];
                    }
                }
            }
        }
    )*};
}
tiled_32!(i32, f32);

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::*;

    /// The 8 × 8 transpose of 16-bit values: three rounds of interleaving (16-, 32- and 64-bit
    /// lanes).
    ///
    /// # Safety
    /// Eight rows of eight values at `src` (`src_stride` apart) are readable and at `dst`
    /// (`dst_stride` apart) writable.
    pub(super) unsafe fn tile16(src: *const i16, ss: usize, dst: *mut i16, ds: usize) {
        // SAFETY: the caller's bounds; SSE2 is always present on x86-64.
        unsafe {
            let r = |i: usize| _mm_loadu_si128(src.add(i * ss).cast());
            let (a0, a1, a2, a3) = (r(0), r(1), r(2), r(3));
            let (a4, a5, a6, a7) = (r(4), r(5), r(6), r(7));
            let b0 = _mm_unpacklo_epi16(a0, a1);
            let b1 = _mm_unpackhi_epi16(a0, a1);
            let b2 = _mm_unpacklo_epi16(a2, a3);
            let b3 = _mm_unpackhi_epi16(a2, a3);
            let b4 = _mm_unpacklo_epi16(a4, a5);
            let b5 = _mm_unpackhi_epi16(a4, a5);
            let b6 = _mm_unpacklo_epi16(a6, a7);
            let b7 = _mm_unpackhi_epi16(a6, a7);
            let c0 = _mm_unpacklo_epi32(b0, b2);
            let c1 = _mm_unpackhi_epi32(b0, b2);
            let c2 = _mm_unpacklo_epi32(b1, b3);
            let c3 = _mm_unpackhi_epi32(b1, b3);
            let c4 = _mm_unpacklo_epi32(b4, b6);
            let c5 = _mm_unpackhi_epi32(b4, b6);
            let c6 = _mm_unpacklo_epi32(b5, b7);
            let c7 = _mm_unpackhi_epi32(b5, b7);
            let w = |j: usize, v: __m128i| _mm_storeu_si128(dst.add(j * ds).cast(), v);
            w(0, _mm_unpacklo_epi64(c0, c4));
            w(1, _mm_unpackhi_epi64(c0, c4));
            w(2, _mm_unpacklo_epi64(c1, c5));
            w(3, _mm_unpackhi_epi64(c1, c5));
            w(4, _mm_unpacklo_epi64(c2, c6));
            w(5, _mm_unpackhi_epi64(c2, c6));
            w(6, _mm_unpacklo_epi64(c3, c7));
            w(7, _mm_unpackhi_epi64(c3, c7));
        }
    }

    /// The 8 × 8 transpose of 32-bit values, as four 4 × 4 transposes (two rounds of
    /// interleaving each).
    ///
    /// # Safety
    /// As [`tile16`], for 32-bit values.
    pub(super) unsafe fn tile32(src: *const i32, ss: usize, dst: *mut i32, ds: usize) {
        for (bi, bj) in [(0, 0), (0, 4), (4, 0), (4, 4)] {
            // SAFETY: the caller's bounds; each 4 × 4 block lies within the tile.
            unsafe {
                let r = |i: usize| _mm_loadu_si128(src.add((bi + i) * ss + bj).cast());
                let (r0, r1, r2, r3) = (r(0), r(1), r(2), r(3));
                let t0 = _mm_unpacklo_epi32(r0, r1);
                let t1 = _mm_unpacklo_epi32(r2, r3);
                let t2 = _mm_unpackhi_epi32(r0, r1);
                let t3 = _mm_unpackhi_epi32(r2, r3);
                let w =
                    |j: usize, v: __m128i| _mm_storeu_si128(dst.add((bj + j) * ds + bi).cast(), v);
                w(0, _mm_unpacklo_epi64(t0, t1));
                w(1, _mm_unpackhi_epi64(t0, t1));
                w(2, _mm_unpacklo_epi64(t2, t3));
                w(3, _mm_unpackhi_epi64(t2, t3));
            }
        }
    }
}

/// The transpose (`cols × rows`) of the row-major `rows × cols` matrix `a`.
pub(crate) fn transpose<T: Tiled>(a: &[T], rows: usize, cols: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(rows * cols);
    transpose_into(a, rows, cols, &mut out);
    out
}

/// Appends the transpose of the row-major `rows × cols` matrix `a` to `out`: whole 8 × 8
/// tiles by [`Tiled::tile`], the right and bottom edges value by value.
pub(crate) fn transpose_into<T: Tiled>(a: &[T], rows: usize, cols: usize, out: &mut Vec<T>) {
    let Some(&first) = a.first().filter(|_| rows * cols > 0) else {
        return;
    };
    let start = out.len();
    out.resize(start + rows * cols, first);
    let out = &mut out[start..];
    let (full_r, full_c) = (rows / TILE * TILE, cols / TILE * TILE);
    for r0 in (0..full_r).step_by(TILE) {
        for c0 in (0..full_c).step_by(TILE) {
            T::tile(&a[r0 * cols + c0..], cols, &mut out[c0 * rows + r0..], rows);
        }
    }
    for r in 0..full_r {
        for c in full_c..cols {
            out[c * rows + r] = a[r * cols + c];
        }
    }
    for r in full_r..rows {
        for c in 0..cols {
            out[c * rows + r] = a[r * cols + c];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value at its mirrored place, for shapes with and without whole tiles and edges
    /// on either side, through each kind of tile move.
    fn check<T: Tiled + PartialEq + std::fmt::Debug>(of: impl Fn(usize) -> T) {
        for (rows, cols) in [(1, 1), (3, 5), (8, 8), (9, 17), (16, 7), (24, 40), (13, 64)] {
            let a: Vec<T> = (0..rows * cols).map(&of).collect();
            let mut out = vec![of(usize::MAX / 2)];
            transpose_into(&a, rows, cols, &mut out);
            assert_eq!(out.len(), 1 + rows * cols);
            assert_eq!(out[0], of(usize::MAX / 2), "the earlier contents are kept");
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(out[1 + c * rows + r], of(r * cols + c), "{rows}×{cols}");
                }
            }
            assert_eq!(transpose(&a, rows, cols), out[1..]);
        }
    }

    #[test]
    fn transpose_moves_every_value_to_its_mirrored_place() {
        check(|v| v as i16);
        check(|v| v as i32);
        check(|v| (v % 100_003) as f32 - 0.5);
        check(|v| v as u8);
    }
}
