//! ULP distances, on hand-worked pairs.

use cdmsa::numeric::{ulp_distance_bf16, ulp_distance_f16, ulp_distance_f32};
use half::{bf16, f16};

#[test]
fn f32_distances() {
    assert_eq!(ulp_distance_f32(1.0, 1.0), 0);
    assert_eq!(ulp_distance_f32(1.0, 1.0 + f32::EPSILON), 1);
    // Across a binade: 1 - 2^-24 is one step below 1.
    assert_eq!(ulp_distance_f32(1.0 - 2f32.powi(-24), 1.0), 1);
    assert_eq!(ulp_distance_f32(0.0, -0.0), 0);
    // The two smallest subnormals of opposite sign straddle zero: two steps.
    let tiny = f32::from_bits(1);
    assert_eq!(ulp_distance_f32(tiny, -tiny), 2);
    assert_eq!(ulp_distance_f32(-tiny, 0.0), 1);
    assert_eq!(ulp_distance_f32(f32::MAX, f32::INFINITY), 1);
    // 1.0 = 0x3F80_0000 and -1.0 are 2·0x3F80_0000 steps apart.
    assert_eq!(ulp_distance_f32(1.0, -1.0), 2 * 0x3F80_0000);
    assert_eq!(ulp_distance_f32(f32::NAN, f32::NAN), 0);
    assert_eq!(ulp_distance_f32(f32::NAN, 1.0), u64::MAX);
    assert_eq!(ulp_distance_f32(1.0, -f32::NAN), u64::MAX);
}

#[test]
fn f16_distances() {
    let h = f16::from_f32;
    // fp16 has 10 mantissa bits: 1 + 2^-10 is the next value after 1, 1 + 3·2^-10 three on.
    assert_eq!(ulp_distance_f16(h(1.0), h(1.0 + 3.0 / 1024.0)), 3);
    assert_eq!(ulp_distance_f16(h(2048.0), h(2050.0)), 1);
    assert_eq!(ulp_distance_f16(f16::ZERO, f16::NEG_ZERO), 0);
    assert_eq!(ulp_distance_f16(f16::MAX, f16::INFINITY), 1);
    assert_eq!(
        ulp_distance_f16(f16::NEG_INFINITY, f16::INFINITY),
        2 * 0x7C00
    );
    assert_eq!(ulp_distance_f16(f16::NAN, f16::ONE), u64::MAX);
}

#[test]
fn bf16_distances() {
    let h = bf16::from_f32;
    // bf16 has 7 mantissa bits: 256 and 258 are neighbours, 256 and 260 two apart.
    assert_eq!(ulp_distance_bf16(h(256.0), h(258.0)), 1);
    assert_eq!(ulp_distance_bf16(h(256.0), h(260.0)), 2);
    assert_eq!(ulp_distance_bf16(h(-256.0), h(-260.0)), 2);
    assert_eq!(ulp_distance_bf16(bf16::ZERO, bf16::NEG_ZERO), 0);
    assert_eq!(ulp_distance_bf16(bf16::NAN, bf16::NAN), 0);
}
