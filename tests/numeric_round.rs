//! f64 → fp16 / bf16 rounding: exhaustive over every value and every midpoint, plus random
//! checks against independent methods.

use cdmsa::numeric::{round_f64_to_bf16, round_f64_to_f16, round_sum_to_bf16, round_sum_to_f16};
use half::{bf16, f16};
use proptest::prelude::*;
use std::sync::LazyLock;

/// One 16-bit format under test: its rounding function and bit-level facts.
struct Case {
    round: fn(f64) -> u16,
    to_f64: fn(u16) -> f64,
    /// Bit pattern of the largest finite value.
    max_bits: u16,
    /// Bit pattern of +infinity.
    inf_bits: u16,
}

const F16: Case = Case {
    round: |x| round_f64_to_f16(x).to_bits(),
    to_f64: |b| f16::from_bits(b).to_f64(),
    max_bits: 0x7BFF,
    inf_bits: 0x7C00,
};

const BF16: Case = Case {
    round: |x| round_f64_to_bf16(x).to_bits(),
    to_f64: |b| bf16::from_bits(b).to_f64(),
    max_bits: 0x7F7F,
    inf_bits: 0x7F80,
};

/// Every finite value rounds to itself (±0 keep their sign), infinities and NaN are preserved.
fn every_value_is_a_fixed_point(case: &Case) {
    for bits in 0..=u16::MAX {
        let x = (case.to_f64)(bits);
        let got = (case.round)(x);
        if x.is_nan() {
            assert!((case.to_f64)(got).is_nan(), "{bits:#06x}");
            assert_eq!(got & 0x8000, bits & 0x8000, "NaN sign of {bits:#06x}");
        } else {
            assert_eq!(got, bits, "{x:e}");
        }
    }
}

/// The exact midpoint between neighbours goes to the one with the even bit pattern; one f64
/// step either side goes to the nearer neighbour. Above the largest finite value the
/// "neighbour" is the next power of two, which overflows to infinity.
fn every_midpoint_ties_to_even(case: &Case) {
    for lo in 0..=case.max_bits {
        let a = (case.to_f64)(lo);
        let b = if lo == case.max_bits {
            // The value after the largest finite one, were the exponent unbounded.
            2.0 * a - (case.to_f64)(lo - 1)
        } else {
            (case.to_f64)(lo + 1)
        };
        let hi_bits = lo + 1; // == inf_bits past the largest finite value
        let mid = (a + b) / 2.0; // exact: a and b are 16-bit values, far from f64 limits
        assert!(a < mid && mid < b);
        let even = if lo % 2 == 0 { lo } else { hi_bits };
        for sign in [0u16, 0x8000] {
            let s = if sign == 0 { 1.0 } else { -1.0 };
            assert_eq!((case.round)(s * mid), sign | even, "tie {:e}", s * mid);
            assert_eq!(
                (case.round)(s * mid.next_down()),
                sign | lo,
                "below {:e}",
                s * mid
            );
            assert_eq!(
                (case.round)(s * mid.next_up()),
                sign | hi_bits,
                "above {:e}",
                s * mid
            );
        }
    }
    assert_eq!((case.round)(f64::INFINITY), case.inf_bits);
    assert_eq!((case.round)(f64::MAX), case.inf_bits);
    assert_eq!((case.round)(-f64::MAX), 0x8000 | case.inf_bits);
    assert_eq!((case.round)(f64::MIN_POSITIVE), 0);
    assert_eq!((case.round)(-5e-324), 0x8000);
}

#[test]
fn f16_values_are_fixed_points() {
    every_value_is_a_fixed_point(&F16);
}

#[test]
fn f16_midpoints_tie_to_even() {
    every_midpoint_ties_to_even(&F16);
}

#[test]
fn bf16_values_are_fixed_points() {
    every_value_is_a_fixed_point(&BF16);
}

#[test]
fn bf16_midpoints_tie_to_even() {
    every_midpoint_ties_to_even(&BF16);
}

#[test]
fn f16_hand_worked_roundings() {
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: the even mantissa (1.0) wins.
    assert_eq!(round_f64_to_f16(1.0 + 2f64.powi(-11)).to_f64(), 1.0);
    // 1 + 3·2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even).
    assert_eq!(
        round_f64_to_f16(1.0 + 3.0 * 2f64.powi(-11)).to_f64(),
        1.0 + 2f64.powi(-9)
    );
    // 65520 is halfway between 65504 and 2^16: overflows to +inf.
    assert_eq!(round_f64_to_f16(65520.0), f16::INFINITY);
    assert_eq!(round_f64_to_f16(65519.99).to_f64(), 65504.0);
    // 3·2^-26 is 0.75 of the smallest subnormal, 2^-24: more than half, so it rounds up to it.
    assert_eq!(round_f64_to_f16(3.0 * 2f64.powi(-26)).to_bits(), 0x0001);
    // A value that double-rounds through f32: 1 + 2^-11 + 2^-40 rounds to 1 + 2^-11 in f32,
    // then ties to 1.0; the correct result is 1 + 2^-10.
    let x = 1.0 + 2f64.powi(-11) + 2f64.powi(-40);
    assert_eq!(f16::from_f32(x as f32).to_f64(), 1.0);
    assert_eq!(round_f64_to_f16(x).to_f64(), 1.0 + 2f64.powi(-10));
}

#[test]
fn sums_round_once_even_when_the_f64_sum_is_inexact() {
    // 259 is halfway between the bf16 values 258 (odd mantissa) and 260 (even).
    let tiny = 2f64.powi(-60); // a bf16 value, 68 bits below 259's last bit
    assert_eq!(round_f64_to_bf16(259.0 - tiny).to_f64(), 260.0); // f64 already lost the tail
    assert_eq!(round_sum_to_bf16(259.0, -tiny).to_f64(), 258.0);
    assert_eq!(round_sum_to_bf16(259.0, tiny).to_f64(), 260.0);
    assert_eq!(round_sum_to_bf16(259.0, 0.0).to_f64(), 260.0);
    // 257 is halfway between 256 (even) and 258 (odd).
    assert_eq!(round_sum_to_bf16(257.0, tiny).to_f64(), 258.0);
    assert_eq!(round_sum_to_bf16(257.0, -tiny).to_f64(), 256.0);
    assert_eq!(round_sum_to_bf16(-257.0, -tiny).to_f64(), -258.0);
    assert_eq!(round_sum_to_bf16(-257.0, tiny).to_f64(), -256.0);
    // Exact cancellation gives +0; two negative zeros give -0.
    assert_eq!(round_sum_to_f16(3.0, -3.0).to_bits(), 0x0000);
    assert_eq!(round_sum_to_f16(-0.0, -0.0).to_bits(), 0x8000);
    assert!(round_sum_to_f16(f64::INFINITY, f64::NEG_INFINITY).is_nan());
    assert_eq!(round_sum_to_f16(f64::INFINITY, 1.0), f16::INFINITY);
}

/// All positive finite values of a format, ascending (bit patterns are ordered).
fn positive_values(case: &Case) -> Vec<f64> {
    (0..=case.max_bits).map(case.to_f64).collect()
}

static F16_VALUES: LazyLock<Vec<f64>> = LazyLock::new(|| positive_values(&F16));
static BF16_VALUES: LazyLock<Vec<f64>> = LazyLock::new(|| positive_values(&BF16));

/// Nearest-even rounding by search: bracket |x| between neighbours and compare distances.
fn by_search(values: &[f64], x: f64) -> u16 {
    let sign = if x.is_sign_negative() { 0x8000 } else { 0 };
    let ax = x.abs();
    let i = values.partition_point(|&v| v <= ax) - 1; // values[0] = 0 ≤ ax
    let lo = values[i];
    let hi = values
        .get(i + 1)
        .copied()
        .unwrap_or_else(|| 2.0 * lo - values[i - 1]);
    // lo ≤ ax < hi and hi ≤ 2·lo (or lo = 0): both differences are exact (Sterbenz).
    let (dl, dh) = (ax - lo, hi - ax);
    let pick_hi = dh < dl || (dh == dl && i % 2 == 1);
    sign | (i as u16 + u16::from(pick_hi))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn f16_agrees_with_from_f32_on_f32_inputs(bits in any::<u32>()) {
        let x = f32::from_bits(bits);
        let ours = round_f64_to_f16(f64::from(x));
        if x.is_nan() {
            prop_assert!(ours.is_nan());
        } else {
            prop_assert_eq!(ours.to_bits(), f16::from_f32(x).to_bits());
        }
    }

    #[test]
    fn bf16_agrees_with_from_f32_on_f32_inputs(bits in any::<u32>()) {
        let x = f32::from_bits(bits);
        let ours = round_f64_to_bf16(f64::from(x));
        if x.is_nan() {
            prop_assert!(ours.is_nan());
        } else {
            prop_assert_eq!(ours.to_bits(), bf16::from_f32(x).to_bits());
        }
    }

    #[test]
    fn f16_agrees_with_search(mantissa in any::<u64>(), exp in -30i32..17, neg in any::<bool>()) {
        let x = f64::from_bits((mantissa >> 12) | 0x3FF0_0000_0000_0000) * 2f64.powi(exp);
        let x = if neg { -x } else { x };
        let want = if x.abs() >= 65520.0 { F16.inf_bits | (u16::from(neg) << 15) } else { by_search(&F16_VALUES, x) };
        prop_assert_eq!(round_f64_to_f16(x).to_bits(), want);
    }

    #[test]
    fn bf16_agrees_with_search(mantissa in any::<u64>(), exp in -140i32..128, neg in any::<bool>()) {
        let x = f64::from_bits((mantissa >> 12) | 0x3FF0_0000_0000_0000) * 2f64.powi(exp);
        let x = if neg { -x } else { x };
        // Overflow starts half an ulp (2^119) above the largest finite value.
        let overflow = x.abs() >= (BF16.to_f64)(BF16.max_bits) + 2f64.powi(119);
        let want = if overflow { BF16.inf_bits | (u16::from(neg) << 15) } else { by_search(&BF16_VALUES, x) };
        prop_assert_eq!(round_f64_to_bf16(x).to_bits(), want);
    }

    #[test]
    fn exact_sums_round_like_a_single_conversion(a in any::<u16>(), b in any::<u16>()) {
        // Two fp16 values are at most 40 bits apart, so their f64 sum is exact.
        let (x, y) = (f16::from_bits(a).to_f64(), f16::from_bits(b).to_f64());
        prop_assume!(x.is_finite() && y.is_finite());
        prop_assert_eq!(round_sum_to_f16(x, y).to_bits(), round_f64_to_f16(x + y).to_bits());
    }
}
