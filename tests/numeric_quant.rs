//! Requantization and QuantizeLinear, on hand-worked cases (ties, saturation, f32 conversion).

use cdmsa::numeric::{quantize_linear, requant_scale, requantize, round_half_even};
use proptest::prelude::*;

const U8: (i32, i32) = (0, 255);
const I8: (i32, i32) = (-128, 127);

fn rq(acc: i32, scale: f32, zp: i32, (qmin, qmax): (i32, i32)) -> i32 {
    requantize(acc, scale, zp, qmin, qmax)
}

#[test]
fn requantize_rounds_half_to_even() {
    assert_eq!(rq(5, 0.5, 0, U8), 2); // 2.5 → 2
    assert_eq!(rq(7, 0.5, 0, U8), 4); // 3.5 → 4
    assert_eq!(rq(-5, 0.5, 0, I8), -2); // -2.5 → -2
    assert_eq!(rq(-7, 0.5, 0, I8), -4); // -3.5 → -4
    assert_eq!(rq(5, 0.5, 10, U8), 12); // round first, then add the zero point: 2 + 10
    assert_eq!(rq(3, 0.5, 1, U8), 3); // 1.5 → 2, + 1
    assert_eq!(rq(-1, 0.5, 7, U8), 7); // -0.5 → -0 → 0, + 7
}

#[test]
fn requantize_clamps_before_adding_the_zero_point() {
    // v = 1000 is clamped to 255 - 10 = 245, then 245 + 10 = 255.
    assert_eq!(rq(1000, 1.0, 10, U8), 255);
    // v = -1000 is clamped to 0 - 10 = -10, then 0.
    assert_eq!(rq(-1000, 1.0, 10, U8), 0);
    // int8 with a negative zero point: 200·0.5 = 100 → clamp to 127 - (-3) = 130 keeps 100 → 97.
    assert_eq!(rq(200, 0.5, -3, I8), 97);
    assert_eq!(rq(300, 0.5, -3, I8), 127); // 150 → 130 → 127
    assert_eq!(rq(-300, 0.5, -3, I8), -128); // -150 → -125 → -128
    // 255.5 is clamped to 255 before rounding (it would otherwise tie to 256).
    assert_eq!(rq(511, 0.5, 0, U8), 255);
}

#[test]
fn requantize_converts_the_accumulator_to_f32_first() {
    let wide = (-(1 << 30), 1 << 30);
    // 2^24 + 1 is not an f32: it ties between 2^24 and 2^24 + 2 and goes to the even 2^24.
    assert_eq!(rq(16_777_217, 1.0, 0, wide), 16_777_216);
    // 2^24 + 3 ties between 2^24 + 2 (odd mantissa) and 2^24 + 4 (even).
    assert_eq!(rq(16_777_219, 1.0, 0, wide), 16_777_220);
    // i32::MAX converts to 2^31; times 2^-8 is exactly 2^23.
    assert_eq!(rq(i32::MAX, 1.0 / 256.0, 0, wide), 1 << 23);
    // 2^25 + 2 ties between 2^25 (even) and 2^25 + 4; halved: 2^24, where exact arithmetic
    // would give 2^24 + 1.
    assert_eq!(rq(33_554_434, 0.5, 0, wide), 16_777_216);
}

#[test]
fn requantize_maps_nan_to_the_zero_point() {
    assert_eq!(rq(0, f32::INFINITY, 3, U8), 3);
    assert_eq!(rq(1, f32::INFINITY, 3, U8), 255);
    assert_eq!(rq(-1, f32::INFINITY, 3, U8), 0);
}

#[test]
fn requant_scale_multiplies_then_divides_in_f32() {
    assert_eq!(requant_scale(0.5, 0.25, 0.125), 1.0);
    let (x, w, y) = (0.1f32, 0.3f32, 0.7f32);
    // Oracle: the f32 product is the exact f64 product rounded once; the f64 quotient of two
    // f32 values rounded to f32 is correctly rounded (53 ≥ 2·24 + 2).
    let product = (f64::from(x) * f64::from(w)) as f32;
    let want = (f64::from(product) / f64::from(y)) as f32;
    assert_eq!(requant_scale(x, w, y).to_bits(), want.to_bits());
    // The other association gives a different f32 here, so the order is really checked.
    assert_ne!(requant_scale(x, w, y).to_bits(), (x * (w / y)).to_bits());
}

#[test]
fn quantize_linear_rounds_half_to_even_and_saturates() {
    assert_eq!(quantize_linear(2.5, 1.0, 0, U8.0, U8.1), 2);
    assert_eq!(quantize_linear(3.5, 1.0, 0, U8.0, U8.1), 4);
    assert_eq!(quantize_linear(-2.5, 1.0, 0, I8.0, I8.1), -2);
    assert_eq!(quantize_linear(-3.5, 1.0, 0, I8.0, I8.1), -4);
    assert_eq!(quantize_linear(1.0, 0.4, 0, U8.0, U8.1), 2); // 2.5 → 2
    assert_eq!(quantize_linear(300.0, 1.0, 0, U8.0, U8.1), 255);
    assert_eq!(quantize_linear(-300.0, 1.0, 0, U8.0, U8.1), 0);
    assert_eq!(quantize_linear(250.0, 1.0, 10, U8.0, U8.1), 255); // 260 saturates
    assert_eq!(quantize_linear(-130.0, 1.0, 5, I8.0, I8.1), -125);
    assert_eq!(quantize_linear(f32::INFINITY, 1.0, 0, I8.0, I8.1), 127);
    assert_eq!(quantize_linear(f32::NEG_INFINITY, 1.0, 0, I8.0, I8.1), -128);
    assert_eq!(quantize_linear(f32::NAN, 1.0, 7, U8.0, U8.1), 7);
    assert_eq!(quantize_linear(1e30, 1e-30, 0, I8.0, I8.1), 127);
}

#[test]
fn quantize_linear_divides_rather_than_multiplying_by_the_reciprocal() {
    // 0.3f32 = 0.300000011920928955078125, slightly above 0.3, so 2.25 / 0.3f32 =
    // 7.4999997..., which rounds in f32 to 7.4999995 and then to 7. The reciprocal
    // 1/0.3f32 rounds to 3.33333325386..., and 2.25 times that rounds to exactly 7.5 → 8.
    assert_eq!(quantize_linear(2.25, 0.3, 0, U8.0, U8.1), 7);
    assert_eq!((2.25f32 * (1.0 / 0.3f32)).round_ties_even(), 8.0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// With scale 1 and an accumulator exactly representable in f32, requantization is a plain
    /// clamp of `acc + zp` to the range.
    #[test]
    fn requantize_with_unit_scale_is_a_clamp(acc in -(1i32 << 24)..(1 << 24), zp in -128i32..=255) {
        let want = (i64::from(acc) + i64::from(zp)).clamp(0, 255) as i32;
        prop_assert_eq!(rq(acc, 1.0, zp, U8), want);
    }
}

/// The float-arithmetic rounding equals the standard library's on every 4099th bit pattern
/// (about a million floats of every exponent, both signs, NaNs and subnormals included) and
/// on the edges: ties on both sides of even, the last fractional floats below 2^23, 2^23
/// itself, signed zeros and infinities.
#[test]
fn round_half_even_equals_round_ties_even() {
    let same = |x: f32| {
        let (got, want) = (round_half_even(x), x.round_ties_even());
        assert!(
            got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
            "{x:e} ({:#010x}): {got:e}, want {want:e}",
            x.to_bits()
        );
    };
    (0..=u32::MAX)
        .step_by(4099)
        .map(f32::from_bits)
        .for_each(same);
    let two23 = 8_388_608.0f32;
    let edges = [
        0.5,
        1.5,
        2.5,
        0.49999997,
        0.50000006,
        -0.3,
        0.0,
        4_194_304.5,
        4_194_305.5,
        two23 - 0.5,
        two23 - 1.5,
        f32::from_bits(two23.to_bits() - 1),
        two23,
        two23 + 1.0,
        f32::MIN_POSITIVE,
        f32::INFINITY,
        f32::MAX,
    ];
    for x in edges {
        same(x);
        same(-x);
    }
}
