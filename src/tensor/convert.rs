//! Bulk element conversions: fp16 / bf16 ↔ f32 a slice at a time, 8-bit integers to and from
//! the array's wider integers, and row-major copies.
//!
//! `half` converts one value at a time through a CPU-feature check per call; its slice
//! conversions check once and use F16C eight lanes at a time where the CPU has it. fp16 slices
//! are converted sixteen lanes at a time where the CPU has AVX-512 (the same conversion
//! instructions, wider). All round to nearest even, so the results are the same bits either
//! way.

use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};
use multiversion::multiversion;
use ndarray::{ArrayD, IxDyn};
use std::borrow::Cow;

/// A 16-bit float format converted to and from f32 a slice at a time.
pub trait Half: Copy + Default + Send + Sync {
    /// `dst[i] = src[i]` widened to f32 (exact), for `i` below both lengths.
    fn widen(src: &[Self], dst: &mut [f32]);
    /// `dst[i] = src[i]` rounded to this format (nearest even), for `i` below both lengths.
    fn narrow(src: &[f32], dst: &mut [Self]);
}

impl Half for f16 {
    fn widen(src: &[f16], dst: &mut [f32]) {
        let n = src.len().min(dst.len());
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F.
            unsafe { x86::widen(&src[..n], &mut dst[..n]) };
            return;
        }
        src[..n].convert_to_f32_slice(&mut dst[..n]);
    }

    fn narrow(src: &[f32], dst: &mut [f16]) {
        let n = src.len().min(dst.len());
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F.
            unsafe { x86::narrow(&src[..n], &mut dst[..n]) };
            return;
        }
        dst[..n].convert_from_f32_slice(&src[..n]);
    }
}

impl Half for bf16 {
    fn widen(src: &[bf16], dst: &mut [f32]) {
        let n = src.len().min(dst.len());
        src[..n].convert_to_f32_slice(&mut dst[..n]);
    }

    fn narrow(src: &[f32], dst: &mut [bf16]) {
        let n = src.len().min(dst.len());
        dst[..n].convert_from_f32_slice(&src[..n]);
    }
}

/// fp16 ↔ f32 sixteen lanes at a time (`vcvtph2ps` / `vcvtps2ph`, round to nearest even).
#[cfg(target_arch = "x86_64")]
mod x86 {
    use half::f16;
    use std::arch::x86_64::{
        __m256i, _MM_FROUND_NO_EXC, _MM_FROUND_TO_NEAREST_INT, _mm256_loadu_si256,
        _mm256_storeu_si256, _mm512_cvtph_ps, _mm512_cvtps_ph, _mm512_loadu_ps, _mm512_storeu_ps,
    };

    /// # Safety
    /// The CPU must have AVX-512F; `dst` must be as long as `src`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn widen(src: &[f16], dst: &mut [f32]) {
        debug_assert_eq!(src.len(), dst.len());
        let whole = src.len() / 16 * 16;
        for (s, d) in src[..whole].chunks_exact(16).zip(dst.chunks_exact_mut(16)) {
            // SAFETY: 16 values of 16 bits are read from `s` and 16 f32 written to `d`.
            unsafe {
                let h = _mm256_loadu_si256(s.as_ptr().cast::<__m256i>());
                _mm512_storeu_ps(d.as_mut_ptr(), _mm512_cvtph_ps(h));
            }
        }
        for (s, d) in src[whole..].iter().zip(&mut dst[whole..]) {
            *d = s.to_f32();
        }
    }

    /// # Safety
    /// The CPU must have AVX-512F; `dst` must be as long as `src`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn narrow(src: &[f32], dst: &mut [f16]) {
        debug_assert_eq!(src.len(), dst.len());
        let whole = src.len() / 16 * 16;
        const NEAREST: i32 = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
        for (s, d) in src[..whole].chunks_exact(16).zip(dst.chunks_exact_mut(16)) {
            // SAFETY: 16 f32 are read from `s` and 16 values of 16 bits written to `d`.
            unsafe {
                let h = _mm512_cvtps_ph::<NEAREST>(_mm512_loadu_ps(s.as_ptr()));
                _mm256_storeu_si256(d.as_mut_ptr().cast::<__m256i>(), h);
            }
        }
        for (s, d) in src[whole..].iter().zip(&mut dst[whole..]) {
            *d = f16::from_f32(*s);
        }
    }
}

/// Values per chunk when rounding in place through a stack buffer.
const CHUNK: usize = 256;

/// The elements of `a` in row-major order: one copy of the buffer when it is contiguous.
pub fn row_major<T: Clone>(a: &ArrayD<T>) -> Vec<T> {
    as_row_major(a).into_owned()
}

/// The elements of `a` in row-major order: borrowed when it is contiguous, else copied.
pub fn as_row_major<T: Clone>(a: &ArrayD<T>) -> Cow<'_, [T]> {
    match a.as_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(a.iter().cloned().collect()),
    }
}

/// Every element of `a` through `f`, in a standard-layout array of `a`'s shape: one pass over
/// the slice when `a` is contiguous (ndarray's element map over dynamic dimensions is several
/// times slower).
pub fn map<A: Copy, B>(a: &ArrayD<A>, f: impl Fn(A) -> B) -> ArrayD<B> {
    let v: Vec<B> = match a.as_slice() {
        Some(s) => s.iter().map(|&x| f(x)).collect(),
        None => a.iter().map(|&x| f(x)).collect(),
    };
    ArrayD::from_shape_vec(ndarray::IxDyn(a.shape()), v).expect("one value per element")
}

/// The elements of `a` in row-major order, reusing its buffer when it already is one.
pub fn into_row_major<T: Clone>(a: ArrayD<T>) -> Vec<T> {
    if !a.is_standard_layout() {
        return row_major(&a);
    }
    let n = a.len();
    let (mut v, offset) = a.into_raw_vec_and_offset();
    let start = offset.unwrap_or(0);
    if start == 0 && v.len() == n {
        v
    } else {
        v.drain(start..start + n).collect()
    }
}

/// `a` with every element mapped through `bulk`, which converts a row-major slice at once.
fn map_bulk<S: Clone, D>(a: &ArrayD<S>, bulk: impl Fn(&[S]) -> Vec<D>) -> ArrayD<D> {
    ArrayD::from_shape_vec(IxDyn(a.shape()), bulk(&as_row_major(a))).expect("same element count")
}

/// fp16 values widened to f32 (exact).
pub fn f16_to_f32(a: &ArrayD<f16>) -> ArrayD<f32> {
    map_bulk(a, widened)
}

/// bf16 values widened to f32 (exact).
pub fn bf16_to_f32(a: &ArrayD<bf16>) -> ArrayD<f32> {
    map_bulk(a, widened)
}

/// f32 values rounded to fp16 (nearest even).
pub fn f32_to_f16(a: &ArrayD<f32>) -> ArrayD<f16> {
    map_bulk(a, narrowed)
}

/// f32 values rounded to bf16 (nearest even).
pub fn f32_to_bf16(a: &ArrayD<f32>) -> ArrayD<bf16> {
    map_bulk(a, narrowed)
}

/// A slice of 16-bit floats widened to f32.
fn widened<H: Half>(s: &[H]) -> Vec<f32> {
    let mut out = vec![0.0; s.len()];
    H::widen(s, &mut out);
    out
}

/// A slice of f32 rounded to a 16-bit format.
fn narrowed<H: Half>(s: &[f32]) -> Vec<H> {
    let mut out = vec![H::default(); s.len()];
    H::narrow(s, &mut out);
    out
}

/// Rounds every value of `v` to the 16-bit format of `zero` and back, in place, a chunk at a
/// time through a stack buffer.
fn round_through<H: Half>(v: &mut [f32], zero: H) {
    let mut buf = [zero; CHUNK];
    for chunk in v.chunks_mut(CHUNK) {
        let b = &mut buf[..chunk.len()];
        H::narrow(chunk, b);
        H::widen(b, chunk);
    }
}

/// 32-bit integers truncated to their low 8 bits as `u8` (`v as u8`).
pub fn i32_to_u8(v: &[i32]) -> Vec<u8> {
    let mut out = vec![0; v.len()];
    each_into(v, &mut out, |x| x as u8);
    out
}

/// 32-bit integers truncated to their low 8 bits as `i8` (`v as i8`).
pub fn i32_to_i8(v: &[i32]) -> Vec<i8> {
    let mut out = vec![0; v.len()];
    each_into(v, &mut out, |x| x as i8);
    out
}

/// 8-bit values minus `zp`, wrapped to 16 bits.
pub fn u8_minus(v: &[u8], zp: i16) -> Vec<i16> {
    let mut out = vec![0; v.len()];
    each_into(v, &mut out, |x| i16::from(x).wrapping_sub(zp));
    out
}

/// 8-bit values minus `zp`, wrapped to 16 bits.
pub fn i8_minus(v: &[i8], zp: i16) -> Vec<i16> {
    let mut out = vec![0; v.len()];
    each_into(v, &mut out, |x| i16::from(x).wrapping_sub(zp));
    out
}

/// `out[i] = f(v[i])` for `i` below both lengths, in the widest vectors the CPU has (`f`
/// inlined into each version).
#[multiversion(targets = "simd")]
fn each_into<A: Copy, B>(v: &[A], out: &mut [B], f: impl Fn(A) -> B) {
    for (o, &x) in out.iter_mut().zip(v) {
        *o = f(x);
    }
}

/// Copies `src[0]`, `src[step]`, `src[2·step]`, … into `dst`, as many as `dst` holds (`src`
/// must hold them): the rows of an im2col or of a strided layout. Short rows are copied by
/// fixed-size moves the compiler inlines (a `memcpy` call per row would cost more than the
/// row), every second value by pairs (vector shuffles).
pub fn copy_every<T: Copy>(dst: &mut [T], src: &[T], step: usize) {
    match step {
        1 if dst.len() >= 64 => dst.copy_from_slice(&src[..dst.len()]),
        1 => {
            let (d8, _) = dst.as_chunks_mut::<8>();
            let (s8, _) = src.as_chunks::<8>();
            for (d, s) in d8.iter_mut().zip(s8) {
                *d = *s;
            }
            let done = d8.len() * 8;
            for (d, &s) in dst[done..].iter_mut().zip(&src[done..]).take(7) {
                *d = s;
            }
        }
        2 => {
            let (pairs, rest) = src.as_chunks::<2>();
            let n = pairs.len().min(dst.len());
            for (d, pair) in dst[..n].iter_mut().zip(pairs) {
                *d = pair[0];
            }
            if let (Some(d), Some(&v)) = (dst.get_mut(n), rest.first()) {
                *d = v;
            }
        }
        _ => {
            for (d, &v) in dst.iter_mut().zip(src.iter().step_by(step)) {
                *d = v;
            }
        }
    }
}

/// Rounds every value of `v` to fp16 and back, in place: `f16::from_f32(x).to_f32()` each.
pub fn round_through_f16(v: &mut [f32]) {
    round_through(v, f16::ZERO);
}

/// Rounds every value of `v` to bf16 and back, in place: `bf16::from_f32(x).to_f32()` each.
pub fn round_through_bf16(v: &mut [f32]) {
    round_through(v, bf16::ZERO);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every class of f32 that rounding to a half format treats differently.
    fn awkward() -> Vec<f32> {
        let mut v = vec![
            0.0,
            -0.0,
            1.0,
            -1.5,
            65504.0,
            65520.0,
            1e-8,
            -6.0e-8,
            f32::MAX,
            f32::MIN_POSITIVE,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::from_bits(0x7fc0_1234),
            f32::from_bits(0xff80_0001),
        ];
        // Ties at every scale: the halfway points between neighbouring fp16 and bf16 values.
        v.extend((0..40).map(|e| f32::from_bits(0x3800_1000 + (e << 23))));
        v.extend((0..40).map(|e| f32::from_bits(0x0080_8000 + (e << 23))));
        v
    }

    fn check(v: Vec<f32>) {
        let n = v.len();
        let a = ArrayD::from_shape_vec(IxDyn(&[n]), v.clone()).expect("1-d");
        let h = f32_to_f16(&a);
        let b = f32_to_bf16(&a);
        let (mut rh, mut rb) = (v.clone(), v.clone());
        round_through_f16(&mut rh);
        round_through_bf16(&mut rb);
        for (i, &x) in v.iter().enumerate() {
            let (one_h, one_b) = (f16::from_f32(x), bf16::from_f32(x));
            assert_eq!(h[i].to_bits(), one_h.to_bits(), "fp16 of {x:e}");
            assert_eq!(b[i].to_bits(), one_b.to_bits(), "bf16 of {x:e}");
            assert_eq!(
                rh[i].to_bits(),
                one_h.to_f32().to_bits(),
                "fp16 round {x:e}"
            );
            assert_eq!(
                rb[i].to_bits(),
                one_b.to_f32().to_bits(),
                "bf16 round {x:e}"
            );
            assert_eq!(f16_to_f32(&h)[i].to_bits(), one_h.to_f32().to_bits());
            assert_eq!(bf16_to_f32(&b)[i].to_bits(), one_b.to_f32().to_bits());
        }
    }

    #[test]
    fn bulk_conversions_equal_one_at_a_time_on_edge_cases() {
        check(awkward());
    }

    #[test]
    fn a_transposed_array_converts_in_row_major_order() {
        let a = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0])
            .expect("2×3")
            .reversed_axes();
        assert!(a.as_slice().is_none());
        assert_eq!(row_major(&a), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        let h = f32_to_f16(&a);
        assert_eq!(h.shape(), &[3, 2]);
        assert_eq!(h[[0, 1]], f16::from_f32(4.0));
        assert_eq!(h[[2, 0]], f16::from_f32(3.0));
    }

    /// Every fp16 value widens to its own f32, and f32 values across every exponent and
    /// mantissa pattern (a prime stride through all 2³² bit patterns) round to what
    /// `f16::from_f32` gives, through the slice conversions sixteen lanes at a time.
    #[test]
    fn slice_conversions_equal_one_at_a_time_over_the_formats() {
        let all: Vec<f16> = (0..=u16::MAX).map(f16::from_bits).collect();
        let mut wide = vec![0.0; all.len()];
        f16::widen(&all, &mut wide);
        for (h, w) in all.iter().zip(&wide) {
            assert_eq!(w.to_bits(), h.to_f32().to_bits(), "{h:?}");
        }
        let sample: Vec<f32> = (0..=u32::MAX).step_by(4099).map(f32::from_bits).collect();
        let mut narrow = vec![f16::ZERO; sample.len()];
        f16::narrow(&sample, &mut narrow);
        for (x, h) in sample.iter().zip(&narrow) {
            assert_eq!(h.to_bits(), f16::from_f32(*x).to_bits(), "{x:e}");
        }
    }

    proptest! {
        #[test]
        fn bulk_conversions_equal_one_at_a_time(bits in prop::collection::vec(any::<u32>(), 0..600)) {
            check(bits.into_iter().map(f32::from_bits).collect());
        }

        #[test]
        fn integer_slices_equal_one_at_a_time(
            wide in prop::collection::vec(any::<i32>(), 0..300),
            bytes in prop::collection::vec(any::<u8>(), 0..300),
            zp in any::<i16>(),
        ) {
            let one = |v: &[i32]| v.iter().map(|&x| x as u8).collect::<Vec<_>>();
            prop_assert_eq!(i32_to_u8(&wide), one(&wide));
            prop_assert_eq!(i32_to_i8(&wide), wide.iter().map(|&x| x as i8).collect::<Vec<_>>());
            let minus = |x: i64| (x - i64::from(zp)) as i16;
            let want: Vec<i16> = bytes.iter().map(|&x| minus(x.into())).collect();
            prop_assert_eq!(u8_minus(&bytes, zp), want);
            let signed: Vec<i8> = bytes.iter().map(|&x| x as i8).collect();
            let want: Vec<i16> = signed.iter().map(|&x| minus(x.into())).collect();
            prop_assert_eq!(i8_minus(&signed, zp), want);
        }

        #[test]
        fn strided_copies_take_every_step_th_value(
            src in prop::collection::vec(any::<i16>(), 0..200),
            step in 1usize..=4,
            len in 0usize..100,
        ) {
            let want: Vec<i16> = src.iter().step_by(step).take(len).copied().collect();
            let mut got = vec![0; want.len()];
            copy_every(&mut got, &src, step);
            prop_assert_eq!(got, want);
        }
    }
}
