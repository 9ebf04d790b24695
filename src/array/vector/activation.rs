//! Elementwise activations and math functions of one float tensor, computed in f32 and
//! rounded once to the tensor's type. (Neg and Abs, exact in every type, normally run through
//! `exact`; they are here for completeness of the float path.)

use super::elementwise::{map_float, map_float_slices};
use super::erf::erf_into;
use crate::error::Result;
use crate::kernel::Unary;
use crate::tensor::Tensor;

/// `1 / (1 + e⁻ˣ)` as the vector unit evaluates it: the odd rational approximation Eigen
/// and onnxruntime's MLAS use (degree 9 over degree 10 in x, input clamped to ±18), every
/// step a fused multiply-add, the result floored at 0. Within a few ulp of the exact
/// function, and bit-identical to onnxruntime's CPU Sigmoid.
#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    const P: [f32; 5] = [
        4.370_31e-11,
        1.156_273_2e-7,
        6.085_749e-5,
        8.513_771e-3,
        0.248_287_95,
    ];
    const Q: [f32; 6] = [
        6.102_473_7e-13,
        5.761_021_4e-9,
        6.291_068e-6,
        1.701_988_2e-3,
        0.116_817_65,
        0.993_151_9,
    ];
    if x.is_nan() {
        return x;
    }
    let v = x.clamp(-18.0, 18.0);
    let v2 = v * v;
    let p = P[1..].iter().fold(P[0], |acc, &c| acc.mul_add(v2, c)) * v;
    let q = Q[1..].iter().fold(Q[0], |acc, &c| acc.mul_add(v2, c));
    (p / q + 0.5).max(0.0)
}

/// `tanh x` as the vector unit evaluates it: the odd rational approximation Eigen and
/// onnxruntime's MLAS use (degree 13 over degree 6 in x, input clamped to ±9), every step a
/// fused multiply-add. Bit-identical to onnxruntime's CPU Tanh.
#[inline(always)]
fn tanh(x: f32) -> f32 {
    const P: [f32; 7] = [
        -2.760_768_4e-16,
        2.000_188e-13,
        -8.604_672e-11,
        5.122_297_3e-8,
        1.485_722_35e-5,
        6.372_619_5e-4,
        4.893_524_6e-3,
    ];
    const Q: [f32; 4] = [1.198_258_4e-6, 1.185_347_1e-4, 2.268_434_7e-3, 4.893_525e-3];
    if x.is_nan() {
        return x;
    }
    let v = x.clamp(-9.0, 9.0);
    let v2 = v * v;
    let p = P[1..].iter().fold(P[0], |acc, &c| acc.mul_add(v2, c)) * v;
    let q = Q[1..].iter().fold(Q[0], |acc, &c| acc.mul_add(v2, c));
    p / q
}

/// `ln(1 + eˣ)` without overflow for large `x`.
fn softplus(x: f32) -> f32 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// `max(0, min(1, alpha·x + beta))`.
fn hard_sigmoid(x: f32, alpha: f32, beta: f32) -> f32 {
    (alpha * x + beta).clamp(0.0, 1.0)
}

/// GELU by the tanh approximation: `x/2 · (1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
fn gelu_tanh(x: f32) -> f32 {
    let inner = (std::f32::consts::FRAC_2_SQRT_PI
        * std::f32::consts::FRAC_1_SQRT_2
        * (x + 0.044715 * x * x * x))
        .tanh();
    0.5 * x * (1.0 + inner)
}

/// GELU: `dst[i] = x/2 · (1 + erf(x/√2))` for `x = src[i]`, erf vectorised (`erf::erf_into`)
/// a stack buffer at a time.
fn gelu_erf_into(src: &[f32], dst: &mut [f32]) {
    const CHUNK: usize = 1024;
    let mut scaled = [0f32; CHUNK];
    for (src, dst) in src.chunks(CHUNK).zip(dst.chunks_mut(CHUNK)) {
        let scaled = &mut scaled[..src.len()];
        for (s, &x) in scaled.iter_mut().zip(src) {
            *s = x * std::f32::consts::FRAC_1_SQRT_2;
        }
        erf_into(scaled, dst);
        for (d, &x) in dst.iter_mut().zip(src) {
            *d = 0.5 * x * (1.0 + *d);
        }
    }
}

/// Applies a float activation to `x` (one loop per function, so each is compiled inline).
pub fn unary(u: Unary, x: &Tensor) -> Result<Tensor> {
    match u {
        Unary::Reciprocal => map_float(x, |v| 1.0 / v),
        Unary::Sqrt => map_float(x, f32::sqrt),
        Unary::Exp => map_float(x, f32::exp),
        Unary::Log => map_float(x, f32::ln),
        Unary::Sigmoid => map_float(x, sigmoid),
        Unary::Tanh => map_float(x, tanh),
        Unary::Erf => map_float_slices(x, erf_into),
        Unary::Floor => map_float(x, f32::floor),
        Unary::Ceil => map_float(x, f32::ceil),
        Unary::Round => map_float(x, f32::round_ties_even),
        Unary::Softplus => map_float(x, softplus),
        Unary::HardSwish => map_float(x, |v| v * hard_sigmoid(v, 1.0 / 6.0, 0.5)),
        Unary::HardSigmoid { alpha, beta } => map_float(x, |v| hard_sigmoid(v, alpha, beta)),
        Unary::LeakyRelu { alpha } => map_float(x, |v| if v < 0.0 { alpha * v } else { v }),
        Unary::Gelu { tanh: false } => map_float_slices(x, gelu_erf_into),
        Unary::Gelu { tanh: true } => map_float(x, gelu_tanh),
        Unary::Neg => map_float(x, |v| -v),
        Unary::Abs => map_float(x, f32::abs),
    }
}

/// Element-operations per element of a unary function: 1 for what a lane does in one step
/// (sign, compare-and-select, multiply-add), more for what needs a division, a square root or
/// a transcendental evaluation (a polynomial of several multiply-adds).
fn unary_ops(u: Unary) -> u64 {
    match u {
        Unary::Neg | Unary::Abs | Unary::LeakyRelu { .. } => 1,
        Unary::Floor | Unary::Ceil | Unary::Round => 1,
        Unary::HardSigmoid { .. } => 2,
        Unary::HardSwish => 3,
        Unary::Reciprocal | Unary::Sqrt => 4,
        Unary::Exp | Unary::Log | Unary::Erf | Unary::Tanh => 8,
        Unary::Sigmoid | Unary::Softplus => 10,
        Unary::Gelu { .. } => 12,
    }
}

/// The element-operations of `u` over `outputs` elements.
pub fn work(u: Unary, outputs: u64) -> u64 {
    outputs.saturating_mul(unary_ops(u))
}

#[cfg(test)]
mod tests {
    use super::super::erf::erf;
    use super::*;

    /// The tensor path (parallel chunks, compiled for FMA where the CPU has it) gives every
    /// value the bits of the scalar function (erf's: libm's f64 erf rounded to f32).
    #[test]
    fn tensor_path_equals_the_scalar_functions() {
        let n = 70_001;
        let mut v: Vec<f32> = (0..n)
            .map(|i| f32::from_bits(0x9E37_79B9u32.wrapping_mul(i as u32)))
            .collect();
        v[..4].copy_from_slice(&[f32::NAN, f32::INFINITY, -0.0, 17.99]);
        let x =
            Tensor::F32(ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[n]), v.clone()).unwrap());
        for (u, f) in [
            (Unary::Sigmoid, sigmoid as fn(f32) -> f32),
            (Unary::Tanh, tanh),
            (Unary::Erf, |v| libm::erf(f64::from(v)) as f32),
            (Unary::Gelu { tanh: false }, |v| {
                let e = libm::erf(f64::from(v * std::f32::consts::FRAC_1_SQRT_2)) as f32;
                0.5 * v * (1.0 + e)
            }),
            (Unary::Gelu { tanh: true }, gelu_tanh),
        ] {
            let Tensor::F32(got) = unary(u, &x).unwrap() else {
                panic!("f32 in, f32 out")
            };
            for (&g, &xv) in got.iter().zip(&v) {
                let want = f(xv);
                assert!(
                    g.to_bits() == want.to_bits() || (g.is_nan() && want.is_nan()),
                    "{u:?}({xv})"
                );
            }
        }
    }

    /// fp16 and bf16 Erf and GELU: every bit pattern widened, through libm's erf, rounded
    /// back once.
    #[test]
    fn half_erf_and_gelu_are_libms_rounded_once() {
        use half::{bf16, f16};
        let shape = ndarray::IxDyn(&[1 << 16]);
        let erf_libm = |v: f32| libm::erf(f64::from(v)) as f32;
        let gelu_libm = |v: f32| 0.5 * v * (1.0 + erf_libm(v * std::f32::consts::FRAC_1_SQRT_2));
        let same = |g: f32, w: f32| g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan());
        for (u, f) in [
            (Unary::Erf, &erf_libm as &dyn Fn(f32) -> f32),
            (Unary::Gelu { tanh: false }, &gelu_libm),
        ] {
            let h: Vec<f16> = (0..=u16::MAX).map(f16::from_bits).collect();
            let x = Tensor::F16(ndarray::ArrayD::from_shape_vec(shape.clone(), h.clone()).unwrap());
            let Tensor::F16(got) = unary(u, &x).unwrap() else {
                panic!("f16 in, f16 out")
            };
            for (g, v) in got.iter().zip(&h) {
                let want = f16::from_f32(f(v.to_f32()));
                assert!(same(g.to_f32(), want.to_f32()), "{u:?}({v}) in fp16");
            }
            let b: Vec<bf16> = (0..=u16::MAX).map(bf16::from_bits).collect();
            let x =
                Tensor::BF16(ndarray::ArrayD::from_shape_vec(shape.clone(), b.clone()).unwrap());
            let Tensor::BF16(got) = unary(u, &x).unwrap() else {
                panic!("bf16 in, bf16 out")
            };
            for (g, v) in got.iter().zip(&b) {
                let want = bf16::from_f32(f(v.to_f32()));
                assert!(same(g.to_f32(), want.to_f32()), "{u:?}({v}) in bf16");
            }
        }
    }

    #[test]
    fn functions_match_their_definitions() {
        assert_eq!(erf(0.5), 0.520_499_9);
        assert_eq!(sigmoid(0.0), 0.5);
        assert_eq!(sigmoid(-100.0), 0.0);
        assert_eq!(softplus(100.0), 100.0);
        assert!((softplus(0.0) - std::f32::consts::LN_2).abs() < 1e-7);
        assert_eq!(hard_sigmoid(10.0, 0.2, 0.5), 1.0);
        let mut g = [0.0];
        gelu_erf_into(&[1.0], &mut g);
        assert!((g[0] - 0.841_344_7).abs() < 1e-6);
        assert!((gelu_tanh(1.0) - 0.841_192).abs() < 1e-6);
    }

    /// Inputs and onnxruntime 1.32's CPU outputs (as bits), clamp regions included.
    const ORT_SIGMOID: [(f32, u32); 12] = [
        (0.0, 0x3f00_0000),
        (0.5, 0x3f1f_597e),
        (-3.7, 0x3cc5_a600),
        (17.844, 0x3f80_0001),
        (-18.5, 0x0000_0000),
        (2.25, 0x3f67_972e),
        (-0.001, 0x3eff_df3b),
        (8.9, 0x3f7f_f710),
        (9.5, 0x3f7f_fb18),
        (-25.0, 0x0000_0000),
        (0.001, 0x3f00_1062),
        (-7.25, 0x3a3a_0800),
    ];
    const ORT_TANH: [(f32, u32); 12] = [
        (0.0, 0x0000_0000),
        (0.5, 0x3eec_9a9f),
        (-3.7, 0xbf7f_afee),
        (17.844, 0x3f80_0000),
        (-18.5, 0xbf80_0000),
        (2.25, 0x3f7a_5fec),
        (-0.001, 0xba83_126b),
        (8.9, 0x3f80_0000),
        (9.5, 0x3f80_0000),
        (-25.0, 0xbf80_0000),
        (0.001, 0x3a83_126b),
        (-7.25, 0xbf7f_fff0),
    ];

    #[test]
    fn sigmoid_and_tanh_are_onnxruntimes() {
        for (x, bits) in ORT_SIGMOID {
            assert_eq!(sigmoid(x).to_bits(), bits, "sigmoid({x})");
        }
        for (x, bits) in ORT_TANH {
            assert_eq!(tanh(x).to_bits(), bits, "tanh({x})");
        }
        assert!(sigmoid(f32::NAN).is_nan() && tanh(f32::NAN).is_nan());
    }

    #[test]
    fn sigmoid_and_tanh_stay_close_to_the_exact_functions() {
        for i in -4000..=4000 {
            let x = i as f32 / 100.0;
            let exact_s = 1.0 / (1.0 + (-f64::from(x)).exp());
            let exact_t = f64::from(x).tanh();
            assert!(
                (f64::from(sigmoid(x)) - exact_s).abs() < 4e-7,
                "sigmoid({x})"
            );
            assert!((f64::from(tanh(x)) - exact_t).abs() < 4e-7, "tanh({x})");
        }
    }
}
