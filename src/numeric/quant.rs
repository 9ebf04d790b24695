//! Integer (re)quantization with the exact operation order of onnxruntime.
//!
//! `requantize` follows MLAS `MlasRequantizeOutput` (used by QLinearConv / QLinearMatMul):
//! the i32 accumulator is converted to f32 (round to nearest even), multiplied by the f32
//! scale, clamped to the output range shifted by the zero point, rounded half to even, and
//! shifted by the zero point. `quantize_linear` is ONNX QuantizeLinear: `x / scale` (a true
//! division, not a multiplication by the reciprocal), round half to even, add the zero point,
//! saturate.

/// The requantization multiplier `(x_scale * w_scale) / y_scale`, in f32, in that order.
pub fn requant_scale(x_scale: f32, w_scale: f32, y_scale: f32) -> f32 {
    (x_scale * w_scale) / y_scale
}

/// Requantizes an i32 accumulator (bias already added) to the integer range `[qmin, qmax]`.
///
/// `v = f32(acc) * scale`, clamped to `[f32(qmin - y_zp), f32(qmax - y_zp)]`, rounded half to
/// even, plus `y_zp`. The result is kept in `[qmin, qmax]` (it can only stray when those bounds
/// are not exactly representable in f32, i.e. beyond 2^24). A NaN product (NaN or infinite
/// `scale` times 0) yields `y_zp`, saturated. Requires `qmin <= qmax`.
pub fn requantize(acc: i32, scale: f32, y_zp: i32, qmin: i32, qmax: i32) -> i32 {
    let lo = (i64::from(qmin) - i64::from(y_zp)) as f32;
    let hi = (i64::from(qmax) - i64::from(y_zp)) as f32;
    let v = acc as f32 * scale;
    if v.is_nan() {
        return saturate(i64::from(y_zp), qmin, qmax);
    }
    // max-then-min, as MLAS does; neither panics when the bounds are inverted.
    let v = v.max(lo).min(hi);
    saturate(round_half_even(v) as i64 + i64::from(y_zp), qmin, qmax)
}

/// ONNX QuantizeLinear of one value: `saturate(round_half_even(x / scale) + zp)` to `[qmin, qmax]`.
///
/// The quotient is an f32 division. A NaN quotient counts as 0 (the result is `zp`, saturated);
/// ±infinity saturates. Requires `qmin <= qmax`.
pub fn quantize_linear(x: f32, scale: f32, zp: i32, qmin: i32, qmax: i32) -> i32 {
    let q = round_half_even(x / scale);
    // `as i64` saturates infinities and out-of-range values and maps NaN to 0.
    saturate((q as i64).saturating_add(i64::from(zp)), qmin, qmax)
}

/// `x` rounded to the nearest integer, ties to even: [`f32::round_ties_even`]'s value, in
/// plain float arithmetic (the method is a libm call on CPUs without SSE4.1's `roundss`).
///
/// Below 2^23 in magnitude, adding 2^23 (with `x`'s sign) leaves no fraction bits, so the
/// addition rounds `x` to an integer, ties to even, and subtracting 2^23 back is exact; the
/// sign is restored so that, say, −0.3 gives −0. From 2^23 on every float is an integer, and
/// NaN and ±∞ are returned as they are.
#[inline]
pub fn round_half_even(x: f32) -> f32 {
    const TWO_23: f32 = 8_388_608.0;
    if x.abs() < TWO_23 {
        let t = TWO_23.copysign(x);
        ((x + t) - t).copysign(x)
    } else {
        x
    }
}

/// `v` clamped to `[qmin, qmax]` (upper bound checked last, so inverted bounds do not panic).
fn saturate(v: i64, qmin: i32, qmax: i32) -> i32 {
    v.max(i64::from(qmin)).min(i64::from(qmax)) as i32
}
