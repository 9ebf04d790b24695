//! Distances in units in the last place, for comparing outputs with references.
//!
//! Values are mapped to integers that count representable numbers in order (sign-magnitude to
//! two's complement), so the distance is the number of representable steps between them.
//! `+0` and `-0` are the same point, the smallest subnormals of opposite signs are 2 apart,
//! and ±infinity is one step past the largest finite value. NaN: two NaNs (any payloads) are
//! at distance 0, a NaN and a non-NaN at `u64::MAX`.

use half::{bf16, f16};

/// The distance between two values given as sign-magnitude bit patterns of `width` bits.
fn distance(a: u64, b: u64, a_nan: bool, b_nan: bool, width: u32) -> u64 {
    match (a_nan, b_nan) {
        (true, true) => 0,
        (true, false) | (false, true) => u64::MAX,
        (false, false) => ordered(a, width).abs_diff(ordered(b, width)),
    }
}

/// The position of a sign-magnitude bit pattern on the number line (`±0` ↦ 0).
fn ordered(bits: u64, width: u32) -> i64 {
    let sign = 1 << (width - 1);
    let magnitude = (bits & (sign - 1)) as i64;
    if bits & sign != 0 {
        -magnitude
    } else {
        magnitude
    }
}

/// ULPs between two f32 values (see the module docs for zeros, infinities and NaN).
pub fn ulp_distance_f32(a: f32, b: f32) -> u64 {
    distance(
        a.to_bits().into(),
        b.to_bits().into(),
        a.is_nan(),
        b.is_nan(),
        32,
    )
}

/// ULPs between two fp16 values (see the module docs for zeros, infinities and NaN).
pub fn ulp_distance_f16(a: f16, b: f16) -> u64 {
    distance(
        a.to_bits().into(),
        b.to_bits().into(),
        a.is_nan(),
        b.is_nan(),
        16,
    )
}

/// ULPs between two bf16 values (see the module docs for zeros, infinities and NaN).
pub fn ulp_distance_bf16(a: bf16, b: bf16) -> u64 {
    distance(
        a.to_bits().into(),
        b.to_bits().into(),
        a.is_nan(),
        b.is_nan(),
        16,
    )
}
