//! The fast datapath gives the PE-level model's bits, for every datapath, dataflow with a PE
//! model, timing mode and random shape, and for every microkernel family this CPU runs (portable,
//! AVX2, AVX-512) on shapes that hit every edge of their register blocks and panels. The edge
//! shapes' one to three rows of A take the vector families' few-row kernels, which stream B
//! unpacked; more rows take the packed microkernels. The depthwise kernels, which take every
//! channel's product at once (channels-last, and over whole planes for 2-D windows), give each
//! channel's PE-level product.

use cdmsa::array::{
    ArraySpec, Bias, Isa, PackedF32B, PackedIntA, PackedIntB, PlaneWindow, TAP_PADDING, Taps,
    depthwise_float_on, depthwise_float_planes, depthwise_int_on, depthwise_int_planes, gemm_float,
    gemm_float_on, gemm_float_packed, gemm_int, gemm_int_on, gemm_int_packed, gemm_int_packed_a,
    gemm_int_packed_a_within, pe,
};
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
    let fast = gemm_float(spec, fmt, shape, a, b, bias.as_deref().into());
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
        let fast = gemm_int(&spec, shape, &a, &b, bias.as_deref().into());
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
    let value = |i: usize| spread(i, 8.0);
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
            let fast = gemm_float(&spec, fmt, shape, a, b, Bias::Columns(&bias));
            let (model, _) = pe::run_float(&spec, fmt, shape, a, b, Some(&bias));
            assert_eq!(bits(&fast), bits(&model), "{fmt:?}, {psum:?}");
        }
        let ai: Vec<i16> = (0..shape.m * shape.k)
            .map(|i| (value(i) * 63.0) as i16)
            .collect();
        let bi: Vec<i16> = (0..shape.k * shape.n)
            .map(|i| (value(i + 3) * 63.0) as i16)
            .collect();
        let fast = gemm_int(&spec, shape, &ai, &bi, Bias::None);
        assert_eq!(fast, pe::run_int(&spec, shape, &ai, &bi, None).0);
    }
}

/// Deterministic value `i` in `[-width/2, width/2)`: full mantissas, mixed signs.
fn spread(i: usize, width: f32) -> f32 {
    let x = ((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as f32 / (1u64 << 24) as f32;
    (x - 0.5) * width
}

/// The microkernel families this CPU can run (the portable one everywhere).
fn families() -> Vec<Isa> {
    Isa::ALL.into_iter().filter(|isa| isa.supported()).collect()
}

/// Row and column ranges cutting `len` into pieces of at most `size`.
fn pieces(len: usize, size: usize) -> Vec<(usize, usize)> {
    (0..len)
        .step_by(size)
        .map(|s| (s, (s + size).min(len)))
        .collect()
}

/// The sub-matrix `rows × cols` of a row-major matrix of `width` columns.
fn sub<T: Copy>(v: &[T], width: usize, rows: (usize, usize), cols: (usize, usize)) -> Vec<T> {
    (rows.0..rows.1)
        .flat_map(|i| v[i * width + cols.0..i * width + cols.1].iter().copied())
        .collect()
}

/// The PE-level model's outputs for any shape: the GEMM cut into tile jobs the model can run
/// (WS: `n ≤ C`; OS: `m ≤ R`, `n ≤ C`), each output computed by the job holding it. Shapes
/// with no outputs give nothing; `k = 0` gives the started accumulators (`start`).
fn pe_oracle<T: Copy, B: Copy, S: Copy>(
    spec: &ArraySpec,
    shape: GemmShape,
    (a, b, bias): (&[T], &[T], Option<&[B]>),
    start: impl Fn(Option<B>) -> S,
    run: impl Fn(GemmShape, &[T], &[T], Option<&[B]>) -> Vec<S>,
) -> Vec<S> {
    let GemmShape { m, k, n } = shape;
    if k == 0 {
        return (0..m * n).map(|i| start(bias.map(|v| v[i % n]))).collect();
    }
    let row_block = if spec.dataflow == Dataflow::Os {
        spec.rows
    } else {
        m.max(1)
    };
    let mut out: Vec<Option<S>> = vec![None; m * n];
    for rows in pieces(m, row_block) {
        for cols in pieces(n, spec.cols) {
            let tile = GemmShape {
                m: rows.1 - rows.0,
                k,
                n: cols.1 - cols.0,
            };
            let tb = sub(b, n, (0, k), cols);
            let tbias = bias.map(|v| v[cols.0..cols.1].to_vec());
            let got = run(tile, &sub(a, k, rows, (0, k)), &tb, tbias.as_deref());
            for (idx, v) in got.into_iter().enumerate() {
                let (i, j) = (rows.0 + idx / tile.n, cols.0 + idx % tile.n);
                out[i * n + j] = Some(v);
            }
        }
    }
    out.into_iter()
        .map(|v| v.expect("every output computed"))
        .collect()
}

/// An array whose K-tiles (R rows) and tile jobs (C columns) cut the edge shapes below.
fn edge_spec() -> impl Strategy<Value = ArraySpec> {
    (
        prop_oneof![Just(1usize), 2usize..=9, Just(16), Just(33)],
        prop_oneof![Just(1usize), 5usize..=17, Just(32), Just(48)],
        prop_oneof![Just(Dataflow::Ws), Just(Dataflow::Os)],
        prop_oneof![Just(PsumType::Fp32), Just(PsumType::Fp16)],
    )
        .prop_map(|(rows, cols, dataflow, psum)| ArraySpec {
            rows,
            cols,
            dataflow,
            timing: TimingMode::Pipelined,
            psum,
        })
}

/// Dimensions around the register blocks (AVX2 6×16, AVX-512 12×32), the pair and quad
/// packing of k, and empty ones.
fn edge_shape() -> impl Strategy<Value = GemmShape> {
    let dim = || prop_oneof![Just(0usize), 1usize..=5, 6usize..=40, Just(64), Just(65)];
    (dim(), dim(), dim()).prop_map(|(m, k, n)| GemmShape { m, k, n })
}

/// Any of the float operand formats.
fn any_format() -> impl Strategy<Value = FloatFormat> {
    prop_oneof![
        Just(FloatFormat::Fp32),
        Just(FloatFormat::Fp16),
        Just(FloatFormat::Bf16)
    ]
}

/// A float of any class: finite values of every exponent, subnormals, ±0, ±inf and NaN.
fn any_f32() -> impl Strategy<Value = f32> + Clone {
    prop_oneof![
        4 => (any::<u32>(), -6i32..=6).prop_map(|(bits, e)| {
            f32::from_bits(0x3F80_0000 | (bits & 0x807F_FFFF)) * 2f32.powi(e)
        }),
        1 => any::<u32>().prop_map(f32::from_bits),
        1 => prop_oneof![
            Just(0.0f32), Just(-0.0), Just(f32::INFINITY), Just(f32::NEG_INFINITY),
            Just(f32::NAN), Just(f32::MIN_POSITIVE / 8.0), Just(-f32::MAX), Just(f32::MAX),
        ],
    ]
}

/// `v` rounded to `fmt` (the operands a real tensor in that format holds).
fn in_format(fmt: FloatFormat, v: f32) -> f32 {
    match fmt {
        FloatFormat::Fp32 => v,
        FloatFormat::Fp16 => f16::from_f32(v).to_f32(),
        FloatFormat::Bf16 => bf16::from_f32(v).to_f32(),
    }
}

/// Bits, with every NaN the same: NaN payloads and signs are not part of the contract.
fn class_bits(values: &[f32]) -> Vec<u32> {
    values
        .iter()
        .map(|v| if v.is_nan() { 0x7FC0_0000 } else { v.to_bits() })
        .collect()
}

/// Integer operands as the lowering makes them: an 8-bit tensor minus its zero point (uint8
/// or int8, per tensor for A; per tensor or per column for B), any value in [-255, 255], or
/// the extremes.
fn int_matrix(rows: usize, cols: usize, per_column: bool) -> impl Strategy<Value = Vec<i16>> {
    let n = rows * cols;
    prop_oneof![
        // uint8 with a zero point.
        (prop::collection::vec(0i16..=255, n), 0i16..=255)
            .prop_map(|(v, zp)| v.into_iter().map(|x| x - zp).collect()),
        // int8 with a zero point per column (or one).
        (
            prop::collection::vec(-128i16..=127, n),
            prop::collection::vec(-128i16..=127, cols.max(1))
        )
            .prop_map(move |(v, zp)| {
                v.iter()
                    .enumerate()
                    .map(|(i, &x)| {
                        x - if per_column {
                            zp[i % cols.max(1)]
                        } else {
                            zp[0]
                        }
                    })
                    .collect()
            }),
        prop::collection::vec(-255i16..=255, n),
        prop::collection::vec(prop_oneof![Just(-255i16), Just(255)], n),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn every_family_int_matches_pe_on_edge_shapes(
        (spec, shape, a, b, bias) in (edge_spec(), edge_shape()).prop_flat_map(|(spec, shape)| (
            Just(spec),
            Just(shape),
            int_matrix(shape.m, shape.k, false),
            int_matrix(shape.k, shape.n, true),
            prop::option::of(prop::collection::vec(
                prop_oneof![any::<i32>(), Just(i32::MAX), Just(i32::MIN)], shape.n)),
        ))
    ) {
        let want = pe_oracle(&spec, shape, (&a, &b, bias.as_deref()),
            |bias| bias.unwrap_or(0),
            |s, a, b, bias| pe::run_int(&spec, s, a, b, bias).0.acc);
        for isa in families() {
            let got = gemm_int_on(isa, &spec, shape, &a, &b, bias.as_deref().into());
            prop_assert_eq!(&got.acc, &want, "{:?}", isa);
            let exact = |i: usize, j: usize| {
                bias.as_ref().map_or(0, |v| i64::from(v[j]))
                    + (0..shape.k)
                        .map(|kk| i64::from(a[i * shape.k + kk]) * i64::from(b[kk * shape.n + j]))
                        .sum::<i64>()
            };
            let overflow = (0..shape.m * shape.n)
                .any(|o| i32::try_from(exact(o / shape.n, o % shape.n)).is_err());
            prop_assert_eq!(got.overflow, overflow, "{:?}", isa);
            // The transposed product with the bias per row: every output's bits and the flag.
            let got_t = gemm_int_on(isa, &spec, transposed_shape(shape), &transposed(&b, shape.k, shape.n),
                &transposed(&a, shape.m, shape.k), bias.as_deref().map_or(Bias::None, Bias::Rows));
            prop_assert_eq!(&got_t.acc, &transposed(&want, shape.m, shape.n), "{:?} transposed", isa);
            prop_assert_eq!(got_t.overflow, overflow, "{:?} transposed", isa);
        }
        // B prepared once, for A as drawn (its values may span more than a byte: the 16-bit
        // pair kernel) and A narrowed to a byte's span (the 8-bit quad kernel): the bits and
        // flag of the unprepared product, each time.
        let packed = PackedIntB::new(&b, shape.k, shape.n);
        let narrow: Vec<i16> = a.iter().map(|&v| v.clamp(-100, 100)).collect();
        for a in [&a, &narrow, &a] {
            let bias = bias.as_deref().into();
            let got = gemm_int_packed(&spec, shape, a, &b, &packed, bias);
            prop_assert_eq!(got, gemm_int(&spec, shape, a, &b, bias), "prepared B");
        }
        // A prepared once (a convolution's weights taken in their layout), for B as drawn
        // and B narrowed to a byte's span: the bits and flag of the unprepared product.
        let packed = PackedIntA::new(&a, shape.m, shape.k);
        let narrow: Vec<i16> = b.iter().map(|&v| v.clamp(-100, 100)).collect();
        for b in [&b, &narrow, &b] {
            let bias = bias.as_deref().into();
            let got = gemm_int_packed_a(&spec, shape, (&a, &packed), b, bias, &|_, _| {});
            prop_assert_eq!(got, gemm_int(&spec, shape, &a, b, bias), "prepared A");
        }
        // B an 8-bit activation shifted by its zero point (within [lo, lo + 255], lo drawn
        // from B itself), its range promised instead of scanned, for A as drawn and A within
        // a byte's span (the 8-bit quad kernel): the PE-level model's bits.
        let lo = -i32::from(b.first().copied().unwrap_or(0)).rem_euclid(256);
        let activation: Vec<i16> =
            b.iter().map(|&v| (lo + i32::from(v).rem_euclid(256)) as i16).collect();
        let narrow: Vec<i16> = a.iter().map(|&v| v.clamp(-100, 100)).collect();
        for a in [&a, &narrow] {
            let want = pe_oracle(&spec, shape, (a, &activation, bias.as_deref()),
                |bias| bias.unwrap_or(0),
                |s, a, b, bias| pe::run_int(&spec, s, a, b, bias).0.acc);
            let packed = PackedIntA::new(a, shape.m, shape.k);
            let got = gemm_int_packed_a_within(&spec, shape, (a, &packed), (&activation, lo),
                bias.as_deref().into(), &|_, _| {});
            prop_assert_eq!(&got.acc, &want, "B within [{}, {} + 255]", lo, lo);
            prop_assert_eq!(got, gemm_int(&spec, shape, a, &activation, bias.as_deref().into()));
        }
    }

    #[test]
    fn every_family_float_matches_pe_on_edge_shapes(
        (spec, fmt, shape, ops) in (
            edge_spec(),
            any_format(),
            edge_shape(),
        ).prop_flat_map(|(spec, fmt, shape)| (
            Just(spec), Just(fmt), Just(shape), operands(shape, any_f32(), any_f32()),
        ))
    ) {
        let (a, b, bias) = ops;
        let a: Vec<f32> = a.iter().map(|&v| in_format(fmt, v)).collect();
        let b: Vec<f32> = b.iter().map(|&v| in_format(fmt, v)).collect();
        let want = pe_oracle(&spec, shape, (&a, &b, bias.as_deref()),
            |bias| match (fmt, spec.psum) {
                (FloatFormat::Fp32, _) | (_, PsumType::Fp32) => bias.unwrap_or(0.0),
                (FloatFormat::Fp16, _) => f16::from_f32(bias.unwrap_or(0.0)).to_f32(),
                (FloatFormat::Bf16, _) => bf16::from_f32(bias.unwrap_or(0.0)).to_f32(),
            },
            |s, a, b, bias| pe::run_float(&spec, fmt, s, a, b, bias).0);
        for isa in families() {
            let got = gemm_float_on(isa, &spec, fmt, shape, &a, &b, bias.as_deref().into());
            prop_assert_eq!(class_bits(&got), class_bits(&want), "{:?}", isa);
            let got_t = gemm_float_on(isa, &spec, fmt, transposed_shape(shape),
                &transposed(&b, shape.k, shape.n), &transposed(&a, shape.m, shape.k),
                bias.as_deref().map_or(Bias::None, Bias::Rows));
            prop_assert_eq!(class_bits(&got_t), class_bits(&transposed(&want, shape.m, shape.n)),
                "{:?} transposed", isa);
        }
        // B prepared once, used by two products (the second on the kept packing).
        let packed = PackedF32B::new(shape.k, shape.n);
        let negated: Vec<f32> = a.iter().map(|v| -v).collect();
        for a in [&a, &negated, &a] {
            let bias = bias.as_deref().into();
            let got = gemm_float_packed(&spec, fmt, shape, a, &b, &packed, bias);
            prop_assert_eq!(class_bits(&got), class_bits(&gemm_float(&spec, fmt, shape, a, &b, bias)),
                "prepared B");
        }
    }
}

/// The shape of `Cᵀ = Bᵀ·Aᵀ`.
fn transposed_shape(s: GemmShape) -> GemmShape {
    GemmShape {
        m: s.n,
        k: s.k,
        n: s.m,
    }
}

/// The transpose of a row-major `rows × cols` matrix.
fn transposed<T: Copy>(v: &[T], rows: usize, cols: usize) -> Vec<T> {
    (0..cols)
        .flat_map(|j| (0..rows).map(move |i| v[i * cols + j]))
        .collect()
}

/// A product that underflows to −0 on a bias of −0, worked by hand: the partial sum is
/// `fma(2^-126, -2^-30, +0) = −0`. On a one-row array the K-tile is full and the output keeps
/// the sign (`−0 + (−0) = −0`); on a four-row array the three idle rows add `0·0`, the partial
/// sum becomes +0, and so does the output (`−0 + (+0) = +0`).
#[test]
fn a_padded_k_tile_turns_a_negative_zero_sum_positive_in_every_family() {
    let spec = |rows| ArraySpec {
        rows,
        cols: 4,
        dataflow: Dataflow::Ws,
        timing: TimingMode::Pipelined,
        psum: PsumType::Fp32,
    };
    let shape = GemmShape { m: 1, k: 1, n: 1 };
    let (a, b, bias) = ([f32::MIN_POSITIVE], [-(2f32.powi(-30))], [-0.0f32]);
    for (rows, want) in [(1, -0.0f32), (4, 0.0f32)] {
        let spec = spec(rows);
        let (pe, _) = pe::run_float(&spec, FloatFormat::Fp32, shape, &a, &b, Some(&bias));
        assert_eq!(pe[0].to_bits(), want.to_bits(), "PE model, {rows} rows");
        for isa in families() {
            let got = gemm_float_on(
                isa,
                &spec,
                FloatFormat::Fp32,
                shape,
                &a,
                &b,
                Bias::Columns(&bias),
            );
            assert_eq!(got[0].to_bits(), want.to_bits(), "{isa:?}, {rows} rows");
        }
    }
}

/// Sums past the i32 range wrap exactly and are reported, across the integer K-chunks.
#[test]
fn int_overflow_wraps_and_is_reported_by_every_family() {
    let spec = ArraySpec {
        rows: 128,
        cols: 128,
        dataflow: Dataflow::Ws,
        timing: TimingMode::Pipelined,
        psum: PsumType::Fp32,
    };
    let shape = GemmShape {
        m: 3,
        k: 70_001,
        n: 33,
    };
    let a: Vec<i16> = (0..shape.m * shape.k)
        .map(|i| if i % 7 == 3 { -255 } else { 255 })
        .collect();
    let b: Vec<i16> = (0..shape.k * shape.n)
        .map(|i| if i % 5 == 1 { 1 } else { 255 })
        .collect();
    let bias: Vec<i32> = (0..shape.n as i32).map(|j| i32::MAX - j).collect();
    let exact: Vec<i64> = (0..shape.m * shape.n)
        .map(|o| {
            let (i, j) = (o / shape.n, o % shape.n);
            i64::from(bias[j])
                + (0..shape.k)
                    .map(|kk| i64::from(a[i * shape.k + kk]) * i64::from(b[kk * shape.n + j]))
                    .sum::<i64>()
        })
        .collect();
    assert!(exact.iter().any(|&v| i32::try_from(v).is_err()));
    let wrapped: Vec<i32> = exact.iter().map(|&v| v as i32).collect();
    for isa in families() {
        let got = gemm_int_on(isa, &spec, shape, &a, &b, Bias::Columns(&bias));
        assert_eq!(got.acc, wrapped, "{isa:?}");
        assert!(got.overflow, "{isa:?}");
    }
}

/// A GEMM large enough to be split into row blocks on several threads gives the portable
/// kernel's bits on every family, in pools of one and two threads.
#[test]
fn parallel_row_blocks_match_the_portable_kernel() {
    let spec = ArraySpec {
        rows: 40,
        cols: 128,
        dataflow: Dataflow::Ws,
        timing: TimingMode::Pipelined,
        psum: PsumType::Fp32,
    };
    let shape = GemmShape {
        m: 301,
        k: 150,
        n: 77,
    };
    let value = |i: usize| spread(i, 8.0);
    let a: Vec<f32> = (0..shape.m * shape.k).map(value).collect();
    let b: Vec<f32> = (0..shape.k * shape.n).map(|i| value(i + 11)).collect();
    let ai: Vec<i16> = a.iter().map(|&v| (v * 31.0) as i16).collect();
    let bi: Vec<i16> = b.iter().map(|&v| (v * 15.0) as i16).collect();
    let bias: Vec<f32> = (0..shape.n).map(|j| value(j + 5)).collect();
    let want = gemm_float_on(
        Isa::Portable,
        &spec,
        FloatFormat::Fp32,
        shape,
        &a,
        &b,
        Bias::Columns(&bias),
    );
    let want_int = gemm_int_on(Isa::Portable, &spec, shape, &ai, &bi, Bias::None);
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool");
        for isa in families() {
            let got = pool.install(|| {
                gemm_float_on(
                    isa,
                    &spec,
                    FloatFormat::Fp32,
                    shape,
                    &a,
                    &b,
                    Bias::Columns(&bias),
                )
            });
            assert_eq!(bits(&got), bits(&want), "{isa:?}, {threads} threads");
            let got = pool.install(|| gemm_int_on(isa, &spec, shape, &ai, &bi, Bias::None));
            assert_eq!(got, want_int, "{isa:?}, {threads} threads");
        }
        // A prepared whole, each block of rows reading its part of the encoding, and each
        // block's rows finished where they were computed: the unprepared product with every
        // row then finished, whatever the blocks.
        let packed = PackedIntA::new(&ai, shape.m, shape.k);
        let finish = |rows: std::ops::Range<usize>, values: &mut [i32]| {
            for (i, row) in rows.zip(values.chunks_mut(shape.n)) {
                row.iter_mut()
                    .for_each(|v| *v = v.wrapping_mul(3) ^ i as i32);
            }
        };
        let got = pool
            .install(|| gemm_int_packed_a(&spec, shape, (&ai, &packed), &bi, Bias::None, &finish));
        let mut want_finished = want_int.clone();
        finish(0..shape.m, &mut want_finished.acc);
        assert_eq!(got, want_finished, "prepared A, {threads} threads");
    }
}

/// Reductions longer than the float kernels' K-chunk (several K-tiles per chunk, a K-tile
/// longer than a chunk, a chunk ending mid-way) give the portable kernel's bits.
#[test]
fn long_reductions_match_the_portable_kernel() {
    let shape = GemmShape {
        m: 13,
        k: 1100,
        n: 35,
    };
    let value = |i: usize| spread(i, 4.0);
    let a: Vec<f32> = (0..shape.m * shape.k).map(value).collect();
    let b: Vec<f32> = (0..shape.k * shape.n).map(|i| value(i + 3)).collect();
    for (rows, dataflow) in [
        (7, Dataflow::Ws),
        (128, Dataflow::Ws),
        (600, Dataflow::Ws),
        (1, Dataflow::Os),
    ] {
        let spec = ArraySpec {
            rows,
            cols: 16,
            dataflow,
            timing: TimingMode::Pipelined,
            psum: PsumType::Fp32,
        };
        let want = gemm_float_on(
            Isa::Portable,
            &spec,
            FloatFormat::Fp32,
            shape,
            &a,
            &b,
            Bias::None,
        );
        for isa in families() {
            let got = gemm_float_on(isa, &spec, FloatFormat::Fp32, shape, &a, &b, Bias::None);
            assert_eq!(
                bits(&got),
                bits(&want),
                "{isa:?}, {rows} rows, {dataflow:?}"
            );
        }
    }
}

/// A depthwise product's shape: channels around the vector widths, taps around the K-tiles of
/// [`edge_spec`], and per output position the input row of each tap, a quarter of them in the
/// padding.
fn depthwise_case() -> impl Strategy<Value = (usize, usize, usize, Vec<u32>)> {
    (
        prop_oneof![1usize..=9, Just(16), Just(17), Just(33)],
        1usize..=12,
        1usize..=6,
        0usize..=7,
    )
        .prop_flat_map(|(channels, taps, inputs, positions)| {
            let row = prop_oneof![3 => 0..inputs as u32, 1 => Just(TAP_PADDING)];
            (
                Just(channels),
                Just(taps),
                Just(inputs),
                prop::collection::vec(row, taps * positions),
            )
        })
}

/// Channel `ch` of a depthwise product as the GEMM the array runs for it: A the channel's
/// im2col (positions × taps, zeros in the padding), B its weights (taps × 1).
fn channel_gemm<T: Copy + Default>(
    (channels, taps, rows): (usize, usize, &[u32]),
    w: &[T],
    x: &[T],
    ch: usize,
) -> (GemmShape, Vec<T>, Vec<T>) {
    let shape = GemmShape {
        m: rows.len() / taps,
        k: taps,
        n: 1,
    };
    let a = rows
        .iter()
        .map(|&r| {
            if r == TAP_PADDING {
                T::default()
            } else {
                x[r as usize * channels + ch]
            }
        })
        .collect();
    let b = (0..taps).map(|t| w[t * channels + ch]).collect();
    (shape, a, b)
}

/// The PE model's outputs of every channel, positions × channels.
fn per_channel_pe<S: Copy + Default>(
    channels: usize,
    positions: usize,
    mut channel: impl FnMut(usize) -> Vec<S>,
) -> Vec<S> {
    let mut out = vec![S::default(); positions * channels];
    for ch in 0..channels {
        for (p, v) in channel(ch).into_iter().enumerate() {
            out[p * channels + ch] = v;
        }
    }
    out
}

/// The PE model's integer depthwise product, positions × channels (`w` taps × channels, `x`
/// input rows × channels, `rows` per position and tap), and whether an exact sum left the
/// i32 range (the portable kernel's flag).
fn depthwise_int_pe(
    (channels, taps, rows): (usize, usize, &[u32]),
    w: &[i16],
    x: &[i16],
    bias: Option<&[i32]>,
) -> (Vec<i32>, bool) {
    let spec = ArraySpec {
        rows: 4,
        cols: 4,
        dataflow: Dataflow::Ws,
        timing: TimingMode::Pipelined,
        psum: PsumType::Fp32,
    };
    let mut overflow = false;
    let want = per_channel_pe(channels, rows.len() / taps, |ch| {
        let (shape, a, b) = channel_gemm((channels, taps, rows), w, x, ch);
        let col_bias = bias.map(|v| vec![v[ch]]);
        let exact = gemm_int_on(
            Isa::Portable,
            &spec,
            shape,
            &a,
            &b,
            col_bias.as_deref().into(),
        );
        overflow |= exact.overflow;
        pe_oracle(
            &spec,
            shape,
            (&a, &b, col_bias.as_deref()),
            |bias| bias.unwrap_or(0),
            |s, a, b, bias| pe::run_int(&spec, s, a, b, bias).0.acc,
        )
    });
    (want, overflow)
}

/// The PE model's float depthwise product on `spec` with `fmt` operands, positions × channels
/// (layouts as [`depthwise_int_pe`]).
fn depthwise_float_pe(
    (spec, fmt): (&ArraySpec, FloatFormat),
    (channels, taps, rows): (usize, usize, &[u32]),
    w: &[f32],
    x: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    per_channel_pe(channels, rows.len() / taps, |ch| {
        let (shape, a, b) = channel_gemm((channels, taps, rows), w, x, ch);
        let col_bias = bias.map(|v| vec![v[ch]]);
        pe_oracle(
            spec,
            shape,
            (&a, &b, col_bias.as_deref()),
            |bias| match (fmt, spec.psum) {
                (FloatFormat::Fp32, _) | (_, PsumType::Fp32) => bias.unwrap_or(0.0),
                (FloatFormat::Fp16, _) => f16::from_f32(bias.unwrap_or(0.0)).to_f32(),
                (FloatFormat::Bf16, _) => bf16::from_f32(bias.unwrap_or(0.0)).to_f32(),
            },
            |s, a, b, bias| pe::run_float(spec, fmt, s, a, b, bias).0,
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn every_family_depthwise_int_matches_pe(
        ((channels, taps, _, rows), w, x, bias) in depthwise_case().prop_flat_map(
            |(c, t, i, rows)| (
                Just((c, t, i, rows)),
                int_matrix(t, c, true),
                int_matrix(i, c, false),
                prop::option::of(prop::collection::vec(
                    prop_oneof![any::<i32>(), Just(i32::MAX), Just(i32::MIN)], c)),
            ))
    ) {
        let (want, overflow) = depthwise_int_pe((channels, taps, &rows), &w, &x, bias.as_deref());
        let t = Taps { channels, taps, rows: &rows };
        for isa in families() {
            let got = depthwise_int_on(isa, &t, &w, &x, bias.as_deref());
            prop_assert_eq!(&got.acc, &want, "{:?}", isa);
            prop_assert_eq!(got.overflow, overflow, "{:?}", isa);
        }
    }

    #[test]
    fn every_family_depthwise_float_matches_pe(
        (spec, fmt, (channels, taps, _, rows), ops) in (
            edge_spec(),
            any_format(),
            depthwise_case(),
        ).prop_flat_map(|(spec, fmt, (c, t, i, rows))| (
            Just(spec), Just(fmt), Just((c, t, i, rows)),
            (
                prop::collection::vec(any_f32(), t * c),
                prop::collection::vec(any_f32(), i * c),
                prop::option::of(prop::collection::vec(any_f32(), c)),
            ),
        ))
    ) {
        let (w, x, bias) = ops;
        let w: Vec<f32> = w.iter().map(|&v| in_format(fmt, v)).collect();
        let x: Vec<f32> = x.iter().map(|&v| in_format(fmt, v)).collect();
        let want =
            depthwise_float_pe((&spec, fmt), (channels, taps, &rows), &w, &x, bias.as_deref());
        let t = Taps { channels, taps, rows: &rows };
        for isa in families() {
            let got = depthwise_float_on(isa, &spec, fmt, &t, &w, &x, bias.as_deref());
            prop_assert_eq!(class_bits(&got), class_bits(&want), "{:?}", isa);
        }
    }
}

/// A 2-D window over planes: sizes, kernels, strides, dilations and padding drawn small, the
/// output as ONNX's floor formula gives it, sometimes one more (ceil mode), so that taps fall
/// in the padding on every side and past the input's end.
fn plane_window() -> impl Strategy<Value = PlaneWindow> {
    let dim = (
        1usize..=9,
        1usize..=3,
        1usize..=3,
        1usize..=2,
        0usize..=2,
        any::<bool>(),
    );
    (1usize..=5, dim.clone(), dim).prop_filter_map(
        "a window that fits its padded input",
        |(channels, ys, xs)| {
            let size = |(input, k, s, d, pad, ceil): (usize, usize, usize, usize, usize, bool)| {
                let span = d * (k - 1) + 1;
                let padded = input + 2 * pad;
                (padded >= span).then(|| (padded - span) / s + 1 + usize::from(ceil))
            };
            let (oy, ox) = (size(ys)?, size(xs)?);
            Some(PlaneWindow {
                channels,
                input: [ys.0, xs.0],
                output: [oy, ox],
                kernel: [ys.1, xs.1],
                strides: [ys.2, xs.2],
                dilations: [ys.3, xs.3],
                pad_begin: [ys.4, xs.4],
            })
        },
    )
}

/// Per output position and tap, the input position the tap reads (row-major in the plane),
/// or [`TAP_PADDING`]: the closed-form coordinate `o·s + k·d − pad` per dim.
fn plane_taps(win: &PlaneWindow) -> Vec<u32> {
    let coord = |d: usize, o: usize, k: usize| {
        (o * win.strides[d] + k * win.dilations[d])
            .checked_sub(win.pad_begin[d])
            .filter(|&c| c < win.input[d])
    };
    let mut rows = Vec::new();
    for oy in 0..win.output[0] {
        for ox in 0..win.output[1] {
            for ky in 0..win.kernel[0] {
                for kx in 0..win.kernel[1] {
                    rows.push(match (coord(0, oy, ky), coord(1, ox, kx)) {
                        (Some(y), Some(x)) => (y * win.input[1] + x) as u32,
                        _ => TAP_PADDING,
                    });
                }
            }
        }
    }
    rows
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_family_depthwise_int_planes_matches_pe(
        (win, w, x, bias) in plane_window().prop_flat_map(|win| {
            let (c, taps) = (win.channels, win.kernel[0] * win.kernel[1]);
            (
                Just(win),
                int_matrix(c, taps, false),
                int_matrix(c, win.input[0] * win.input[1], false),
                prop::option::of(prop::collection::vec(
                    prop_oneof![any::<i32>(), Just(i32::MAX), Just(i32::MIN)], c)),
            )
        })
    ) {
        let (channels, taps) = (win.channels, win.kernel[0] * win.kernel[1]);
        let (inputs, positions) = (win.input[0] * win.input[1], win.output[0] * win.output[1]);
        let rows = plane_taps(&win);
        let (w_last, x_last) = (transposed(&w, channels, taps), transposed(&x, channels, inputs));
        let (want, overflow) =
            depthwise_int_pe((channels, taps, &rows), &w_last, &x_last, bias.as_deref());
        // The oracle is positions × channels; the planes are channels × positions, and each
        // takes `finish` with its channel.
        let mut want = transposed(&want, positions, channels);
        for (ch, plane) in want.chunks_mut(positions.max(1)).enumerate() {
            plane.iter_mut().for_each(|v| *v = v.wrapping_mul(3) ^ ch as i32);
        }
        let finish = |ch: usize, plane: &mut [i32]| {
            plane.iter_mut().for_each(|v| *v = v.wrapping_mul(3) ^ ch as i32);
        };
        for isa in families() {
            let got = depthwise_int_planes(isa, &win, &w, &x, bias.as_deref(), &finish);
            prop_assert_eq!(&got.acc, &want, "{:?}", isa);
            prop_assert_eq!(got.overflow, overflow, "{:?}", isa);
        }
    }

    #[test]
    fn every_family_depthwise_float_planes_matches_pe(
        (spec, fmt, win, ops) in (
            edge_spec(),
            any_format(),
            plane_window(),
        ).prop_flat_map(|(spec, fmt, win)| {
            let (c, taps) = (win.channels, win.kernel[0] * win.kernel[1]);
            (
                Just(spec), Just(fmt), Just(win),
                (
                    prop::collection::vec(any_f32(), c * taps),
                    prop::collection::vec(any_f32(), c * win.input[0] * win.input[1]),
                    prop::option::of(prop::collection::vec(any_f32(), c)),
                ),
            )
        })
    ) {
        let (w, x, bias) = ops;
        let w: Vec<f32> = w.iter().map(|&v| in_format(fmt, v)).collect();
        let x: Vec<f32> = x.iter().map(|&v| in_format(fmt, v)).collect();
        let (channels, taps) = (win.channels, win.kernel[0] * win.kernel[1]);
        let (inputs, positions) = (win.input[0] * win.input[1], win.output[0] * win.output[1]);
        let rows = plane_taps(&win);
        let (w_last, x_last) = (transposed(&w, channels, taps), transposed(&x, channels, inputs));
        let want = depthwise_float_pe(
            (&spec, fmt), (channels, taps, &rows), &w_last, &x_last, bias.as_deref());
        let mut want = transposed(&want, positions, channels);
        for (ch, plane) in want.chunks_mut(positions.max(1)).enumerate() {
            plane.iter_mut().for_each(|v| *v += ch as f32);
        }
        let finish = |ch: usize, plane: &mut [f32]| plane.iter_mut().for_each(|v| *v += ch as f32);
        for isa in families() {
            let got =
                depthwise_float_planes(isa, (&spec, fmt), &win, &w, &x, bias.as_deref(), &finish);
            prop_assert_eq!(class_bits(&got), class_bits(&want), "{:?}", isa);
        }
    }
}
