//! Temporary stand-in for scalar numerics.
pub fn requant_scale(x_scale: f32, w_scale: f32, y_scale: f32) -> f32 {
    (x_scale * w_scale) / y_scale
}
pub fn requantize(acc: i32, scale: f32, y_zp: i32, qmin: i32, qmax: i32) -> i32 {
    let v = (acc as f32) * scale;
    let v = v.clamp((qmin - y_zp) as f32, (qmax - y_zp) as f32);
    v.round_ties_even() as i32 + y_zp
}
pub fn quantize_linear(x: f32, scale: f32, zp: i32, qmin: i32, qmax: i32) -> i32 {
    let v = (x / scale).round_ties_even();
    if v.is_nan() {
        return zp.clamp(qmin, qmax);
    }
    ((v as i64) + zp as i64).clamp(qmin as i64, qmax as i64) as i32
}
fn ordered(bits: i64, sign: bool, mag: i64) -> i64 {
    let _ = bits;
    if sign { -mag } else { mag }
}
pub fn ulp_distance_f32(a: f32, b: f32) -> u64 {
    let (x, y) = (a.to_bits() as i64, b.to_bits() as i64);
    (ordered(x, x >> 31 & 1 == 1, x & 0x7fff_ffff) - ordered(y, y >> 31 & 1 == 1, y & 0x7fff_ffff))
        .unsigned_abs()
}
pub fn ulp_distance_f16(a: half::f16, b: half::f16) -> u64 {
    let (x, y) = (a.to_bits() as i64, b.to_bits() as i64);
    (ordered(x, x >> 15 & 1 == 1, x & 0x7fff) - ordered(y, y >> 15 & 1 == 1, y & 0x7fff))
        .unsigned_abs()
}
pub fn ulp_distance_bf16(a: half::bf16, b: half::bf16) -> u64 {
    let (x, y) = (a.to_bits() as i64, b.to_bits() as i64);
    (ordered(x, x >> 15 & 1 == 1, x & 0x7fff) - ordered(y, y >> 15 & 1 == 1, y & 0x7fff))
        .unsigned_abs()
}
