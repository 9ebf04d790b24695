//! The fast datapath gives the PE-level model's bits, for every datapath, dataflow with a PE
//! model, timing mode and random shape.

use cdmsa::array::{ArraySpec, gemm_float, gemm_int, pe};
use cdmsa::config::{Dataflow, PsumType, TimingMode};
use cdmsa::kernel::{FloatFormat, GemmShape};
use half::{bf16, f16};
use proptest::prelude::*;

/// A random array with a PE model and a tile-job shape for it (WS: n ≤ C; OS: m ≤ R, n ≤ C).
fn array_and_shape() -> impl Strategy<Value = (ArraySpec, GemmShape)> {
    let modes = (
        prop_oneof![Just(Dataflow::Ws), Just(Dataflow::Os)],
        prop_oneof![Just(TimingMode::Scalesim), Just(TimingMode::Pipelined)],
        prop_oneof![Just(PsumType::Fp32), Just(PsumType::Fp16)],
    );
    (1usize..=6, 1usize..=6, modes).prop_flat_map(|(rows, cols, (dataflow, timing, psum))| {
        let max_m = if dataflow == Dataflow::Os { rows } else { 12 };
        let spec = ArraySpec {
            rows,
            cols,
            dataflow,
            timing,
            psum,
        };
        (Just(spec), 1..=max_m, 1usize..=15, 1..=cols)
            .prop_map(|(spec, m, k, n)| (spec, GemmShape { m, k, n }))
    })
}

/// A, B and bias for `shape`, drawn from `value` (bias from `bias`).
fn operands<T: std::fmt::Debug, U: std::fmt::Debug>(
    shape: GemmShape,
    value: impl Strategy<Value = T> + Clone,
    bias: impl Strategy<Value = U>,
) -> impl Strategy<Value = (Vec<T>, Vec<T>, Option<Vec<U>>)> {
    (
        prop::collection::vec(value.clone(), shape.m * shape.k),
        prop::collection::vec(value, shape.k * shape.n),
        prop::option::of(prop::collection::vec(bias, shape.n)),
    )
}

/// A finite fp16 value, widened: any bit pattern (subnormals up to 65504), small integers, or
/// values near ±1 with full mantissas, so sums cancel and round.
fn fp16_value() -> impl Strategy<Value = f32> + Clone {
    prop_oneof![
        1 => any::<u16>().prop_map(|bits| {
            let bits = if bits & 0x7C00 == 0x7C00 { bits & !0x4000 } else { bits };
            f16::from_bits(bits).to_f32()
        }),
        1 => (-64i32..=64).prop_map(|i| i as f32),
        3 => (any::<u16>(), -4i32..=4).prop_map(|(bits, e)| {
            let near_one = f16::from_bits(0x3C00 | (bits & 0x83FF)).to_f32();
            near_one * 2f32.powi(e)
        }),
    ]
}

/// A finite bf16 value, widened: any bit pattern (from subnormals to 3·10^38), small integers,
/// or values near ±1.
fn bf16_value() -> impl Strategy<Value = f32> + Clone {
    prop_oneof![
        1 => any::<u16>().prop_map(|bits| {
            let bits = if bits & 0x7F80 == 0x7F80 { bits & !0x4000 } else { bits };
            bf16::from_bits(bits).to_f32()
        }),
        1 => (-64i32..=64).prop_map(|i| i as f32),
        3 => (any::<u16>(), -4i32..=4).prop_map(|(bits, e)| {
            let near_one = bf16::from_bits(0x3F80 | (bits & 0x807F)).to_f32();
            near_one * 2f32.powi(e)
        }),
    ]
}

/// A finite f32: any bit pattern, or full-mantissa values of moderate magnitude and either sign.
fn fp32_value() -> impl Strategy<Value = f32> + Clone {
    prop_oneof![
        1 => any::<u32>().prop_map(|bits| {
            let bits = if bits & 0x7F80_0000 == 0x7F80_0000 { bits & !0x4000_0000 } else { bits };
            f32::from_bits(bits)
        }),
        3 => (any::<u32>(), -20i32..=20).prop_map(|(bits, e)| {
            f32::from_bits(0x3F80_0000 | (bits & 0x807F_FFFF)) * 2f32.powi(e)
        }),
    ]
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

fn check_float(
    spec: &ArraySpec,
    fmt: FloatFormat,
    shape: GemmShape,
    (a, b, bias): &(Vec<f32>, Vec<f32>, Option<Vec<f32>>),
) -> Result<(), TestCaseError> {
    let fast = gemm_float(spec, fmt, shape, a, b, bias.as_deref());
    let (model, _) = pe::run_float(spec, fmt, shape, a, b, bias.as_deref());
    prop_assert_eq!(bits(&fast), bits(&model));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn int_matches(
        (spec, shape, ops) in array_and_shape().prop_flat_map(|(spec, shape)| {
            (Just(spec), Just(shape), operands(shape, -255i16..=255, any::<i32>()))
        })
    ) {
        let (a, b, bias) = ops;
        let fast = gemm_int(&spec, shape, &a, &b, bias.as_deref());
        let (model, _) = pe::run_int(&spec, shape, &a, &b, bias.as_deref());
        prop_assert_eq!(fast, model);
    }

    #[test]
    fn fp32_matches(
        (spec, shape, ops) in array_and_shape().prop_flat_map(|(spec, shape)| {
            (Just(spec), Just(shape), operands(shape, fp32_value(), fp32_value()))
        })
    ) {
        check_float(&spec, FloatFormat::Fp32, shape, &ops)?;
    }

    #[test]
    fn fp16_matches(
        (spec, shape, ops) in array_and_shape().prop_flat_map(|(spec, shape)| {
            (Just(spec), Just(shape), operands(shape, fp16_value(), fp32_value()))
        })
    ) {
        check_float(&spec, FloatFormat::Fp16, shape, &ops)?;
    }

    #[test]
    fn bf16_matches(
        (spec, shape, ops) in array_and_shape().prop_flat_map(|(spec, shape)| {
            (Just(spec), Just(shape), operands(shape, bf16_value(), fp32_value()))
        })
    ) {
        check_float(&spec, FloatFormat::Bf16, shape, &ops)?;
    }
}

/// Shapes large enough for the fast path to split rows across threads.
#[test]
fn large_shapes_match() {
    let shape = GemmShape {
        m: 520,
        k: 64,
        n: 8,
    };
    // Deterministic values with full mantissas and mixed signs.
    let value = |i: usize| {
        let x = ((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as f32 / (1u64 << 24) as f32;
        (x - 0.5) * 8.0
    };
    let a16: Vec<f32> = (0..shape.m * shape.k)
        .map(|i| f16::from_f32(value(i)).to_f32())
        .collect();
    let b16: Vec<f32> = (0..shape.k * shape.n)
        .map(|i| f16::from_f32(value(i + 7)).to_f32())
        .collect();
    let ab: Vec<f32> = a16.iter().map(|&v| bf16::from_f32(v).to_f32()).collect();
    let bb: Vec<f32> = b16.iter().map(|&v| bf16::from_f32(v).to_f32()).collect();
    let bias: Vec<f32> = (0..shape.n).map(|j| value(j + 99)).collect();
    for psum in [PsumType::Fp32, PsumType::Fp16] {
        let spec = ArraySpec {
            rows: 8,
            cols: 8,
            dataflow: Dataflow::Ws,
            timing: TimingMode::Pipelined,
            psum,
        };
        for (fmt, a, b) in [
            (FloatFormat::Fp16, &a16, &b16),
            (FloatFormat::Bf16, &ab, &bb),
        ] {
            let fast = gemm_float(&spec, fmt, shape, a, b, Some(&bias));
            let (model, _) = pe::run_float(&spec, fmt, shape, a, b, Some(&bias));
            assert_eq!(bits(&fast), bits(&model), "{fmt:?}, {psum:?}");
        }
        let ai: Vec<i16> = (0..shape.m * shape.k)
            .map(|i| (value(i) * 63.0) as i16)
            .collect();
        let bi: Vec<i16> = (0..shape.k * shape.n)
            .map(|i| (value(i + 3) * 63.0) as i16)
            .collect();
        let fast = gemm_int(&spec, shape, &ai, &bi, None);
        assert_eq!(fast, pe::run_int(&spec, shape, &ai, &bi, None).0);
    }
}
