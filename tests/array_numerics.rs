//! Hand-picked cases where the modelled order and precision change the result: 16-bit versus
//! 32-bit partial sums, K-tile boundaries, the exact-then-round-once MAC, and 32-bit wrapping.

use cdmsa::array::{ArraySpec, Bias, IntGemmOut, gemm_float, gemm_int, pe};
use cdmsa::config::{Dataflow, PsumType, TimingMode};
use cdmsa::kernel::{FloatFormat, GemmShape};

fn ws(rows: usize, psum: PsumType) -> ArraySpec {
    ArraySpec {
        rows,
        cols: 1,
        dataflow: Dataflow::Ws,
        timing: TimingMode::Pipelined,
        psum,
    }
}

/// Runs the fast path and the PE model, checks they agree, and returns the values.
fn both(spec: &ArraySpec, fmt: FloatFormat, shape: GemmShape, a: &[f32], b: &[f32]) -> Vec<f32> {
    let fast = gemm_float(spec, fmt, shape, a, b, Bias::None);
    let (model, _) = pe::run_float(spec, fmt, shape, a, b, None);
    assert_eq!(
        fast.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        model.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    fast
}

#[test]
fn fp16_partial_sums_round_every_mac() {
    // fp16 operands a = [1, 1, 1], b = [1, 2^-11, 2^-11], one K-tile (R = 4).
    // fp32 partial sums: 1 + 2^-11 + 2^-11 = 1 + 2^-10, exact in f32.
    // fp16 partial sums: 1 + 2^-11 is halfway between 1 and 1 + 2^-10 and ties to the even 1.0,
    // and so does the next MAC: the result stays 1.0.
    let shape = GemmShape { m: 1, k: 3, n: 1 };
    let (a, b) = ([1.0; 3], [1.0, 2f32.powi(-11), 2f32.powi(-11)]);
    assert_eq!(
        both(&ws(4, PsumType::Fp32), FloatFormat::Fp16, shape, &a, &b),
        vec![1.0 + 2f32.powi(-10)]
    );
    assert_eq!(
        both(&ws(4, PsumType::Fp16), FloatFormat::Fp16, shape, &a, &b),
        vec![1.0]
    );
    // fp32 operands ignore the 16-bit partial-sum setting.
    assert_eq!(
        both(&ws(4, PsumType::Fp16), FloatFormat::Fp32, shape, &a, &b),
        vec![1.0 + 2f32.powi(-10)]
    );
}

#[test]
fn bf16_partial_sums_round_the_exact_sum() {
    // bf16 operands a = [1, 7], b = [-2^-60, 37], 16-bit partial sums.
    // MAC 0: s = -2^-60. MAC 1: 7·37 + s = 259 - 2^-60 exactly. 259 is halfway between the bf16
    // values 258 and 260, and the exact sum is just below it, so it rounds to 258. (Adding in
    // f64 first would lose the -2^-60 and tie to the even 260.)
    let shape = GemmShape { m: 1, k: 2, n: 1 };
    let out = both(
        &ws(4, PsumType::Fp16),
        FloatFormat::Bf16,
        shape,
        &[1.0, 7.0],
        &[-(2f32.powi(-60)), 37.0],
    );
    assert_eq!(out, vec![258.0]);
}

#[test]
fn k_tile_boundaries_change_fp32_results() {
    // fp32, a = [1, 1, 1, 1], b = [1, 2^24, 1, -2^24].
    // R = 4, one K-tile: 1 → 1 + 2^24 (tie, to even 2^24) → 2^24 + 1 (tie, 2^24) → 0.
    // R = 2, two K-tiles: tile 0 = 1 + 2^24 → 2^24; tile 1 = 1 - 2^24 = -16777215 (exact);
    // accumulator 0 + 2^24 - 16777215 = 1.
    let shape = GemmShape { m: 1, k: 4, n: 1 };
    let (a, b) = ([1.0; 4], [1.0, 16_777_216.0, 1.0, -16_777_216.0]);
    assert_eq!(
        both(&ws(4, PsumType::Fp32), FloatFormat::Fp32, shape, &a, &b),
        vec![0.0]
    );
    assert_eq!(
        both(&ws(2, PsumType::Fp32), FloatFormat::Fp32, shape, &a, &b),
        vec![1.0]
    );
    // Output-stationary keeps all of k in one chain, whatever R is.
    let os = ArraySpec {
        rows: 2,
        dataflow: Dataflow::Os,
        ..ws(2, PsumType::Fp32)
    };
    assert_eq!(both(&os, FloatFormat::Fp32, shape, &a, &b), vec![0.0]);
}

#[test]
fn fp32_macs_are_fused() {
    // a·b = (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24; with s = -(1 + 2^-11) the fused result is 2^-24.
    // A separate f32 multiply would round the product to 1 + 2^-11 and give 0.
    let x = 1.0 + 2f32.powi(-12);
    let shape = GemmShape { m: 1, k: 2, n: 1 };
    let out = both(
        &ws(2, PsumType::Fp32),
        FloatFormat::Fp32,
        shape,
        &[1.0, x],
        &[-(1.0 + 2f32.powi(-11)), x],
    );
    assert_eq!(out, vec![2f32.powi(-24)]);
}

#[test]
fn input_stationary_values_use_the_weight_stationary_k_tiles() {
    let shape = GemmShape { m: 1, k: 4, n: 1 };
    let (a, b) = ([1.0; 4], [1.0, 16_777_216.0, 1.0, -16_777_216.0]);
    let is = ArraySpec {
        dataflow: Dataflow::Is,
        ..ws(2, PsumType::Fp32)
    };
    assert_eq!(
        gemm_float(&is, FloatFormat::Fp32, shape, &a, &b, Bias::None),
        vec![1.0]
    );
}

#[test]
fn int_accumulators_wrap_and_report_overflow() {
    // bias = 2^31 - 11, plus 1·255 = 2^31 + 244, which wraps to 2^31 + 244 - 2^32 = -2147483404.
    // The second column stays in range: -5 + 1·255 = 250.
    let shape = GemmShape { m: 1, k: 1, n: 2 };
    let spec = ArraySpec {
        cols: 2,
        ..ws(2, PsumType::Fp32)
    };
    let (a, b, bias) = ([1], [255, 255], [i32::MAX - 10, -5]);
    let want = IntGemmOut {
        acc: vec![-2_147_483_404, 250],
        overflow: true,
    };
    assert_eq!(gemm_int(&spec, shape, &a, &b, Bias::Columns(&bias)), want);
    assert_eq!(pe::run_int(&spec, shape, &a, &b, Some(&bias)).0, want);
    // The same sum without the bias fits: no overflow reported.
    let plain = IntGemmOut {
        acc: vec![255, 255],
        overflow: false,
    };
    assert_eq!(gemm_int(&spec, shape, &a, &b, Bias::None), plain);
}

#[test]
fn empty_reductions_give_the_bias() {
    let shape = GemmShape { m: 2, k: 0, n: 2 };
    let spec = ArraySpec {
        cols: 2,
        ..ws(2, PsumType::Fp16)
    };
    // With 16-bit partial sums the bias is rounded to fp16 first: 1 + 2^-12 → 1.
    let out = gemm_float(
        &spec,
        FloatFormat::Fp16,
        shape,
        &[],
        &[],
        Bias::Columns(&[1.0 + 2f32.powi(-12), -0.0]),
    );
    assert_eq!(
        out.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        vec![
            1f32.to_bits(),
            (-0f32).to_bits(),
            1f32.to_bits(),
            (-0f32).to_bits()
        ]
    );
    assert_eq!(
        gemm_int(&spec, shape, &[], &[], Bias::Columns(&[3, -4])).acc,
        vec![3, -4, 3, -4]
    );
    assert!(
        gemm_int(
            &spec,
            GemmShape { m: 0, k: 5, n: 3 },
            &[],
            &[0; 15],
            Bias::None
        )
        .acc
        .is_empty()
    );
}
