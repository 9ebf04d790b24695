//! Bulk element conversions: fp16 / bf16 ↔ f32 a slice at a time, and row-major copies.
//!
//! `half` converts one value at a time through a CPU-feature check per call; its slice
//! conversions check once and use F16C eight lanes at a time where the CPU has it. Both round
//! to nearest even, so the results are the same bits either way.

use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};
use ndarray::{ArrayD, IxDyn};
use std::borrow::Cow;

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
    map_bulk(a, |s| s.to_f32_vec())
}

/// bf16 values widened to f32 (exact).
pub fn bf16_to_f32(a: &ArrayD<bf16>) -> ArrayD<f32> {
    map_bulk(a, |s| s.to_f32_vec())
}

/// f32 values rounded to fp16 (nearest even).
pub fn f32_to_f16(a: &ArrayD<f32>) -> ArrayD<f16> {
    map_bulk(a, |s| {
        let mut out = vec![f16::ZERO; s.len()];
        out.convert_from_f32_slice(s);
        out
    })
}

/// f32 values rounded to bf16 (nearest even).
pub fn f32_to_bf16(a: &ArrayD<f32>) -> ArrayD<bf16> {
    map_bulk(a, |s| {
        let mut out = vec![bf16::ZERO; s.len()];
        out.convert_from_f32_slice(s);
        out
    })
}

/// Rounds every value of `v` to the 16-bit format of `zero` and back, in place, a chunk at a
/// time through a stack buffer.
fn round_through<H: Copy>(v: &mut [f32], zero: H)
where
    [H]: HalfFloatSliceExt,
{
    let mut buf = [zero; CHUNK];
    for chunk in v.chunks_mut(CHUNK) {
        let b = &mut buf[..chunk.len()];
        b.convert_from_f32_slice(chunk);
        b.convert_to_f32_slice(chunk);
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

    proptest! {
        #[test]
        fn bulk_conversions_equal_one_at_a_time(bits in prop::collection::vec(any::<u32>(), 0..600)) {
            check(bits.into_iter().map(f32::from_bits).collect());
        }
    }
}
