//! Lowering + array execution against the naive reference interpreter, on random shapes:
//! im2col, grouping, padding, dilation, batching, tiling and requantization; ConvTranspose
//! against a direct scatter of every input pixel through the kernel. A functional run computes
//! convolutions whole in the weights' layout (depthwise ones across channels, a batch of small
//! images in few products); every bit of it must equal the tile-by-tile recording, whose tiles
//! run in the array's orientation.

use cdmsa::config::{AcceleratorConfig, Dataflow, PsumType};
use cdmsa::exec::{execute, record};
use cdmsa::ir::geometry::Window;
use cdmsa::ir::{
    AutoPad, ConvAttrs, ConvTransposeAttrs, EpilogueAct, GemmAttrs, Graph, InputBinding, Node, Op,
    Value, ValueId,
};
use cdmsa::kernel::Precision;
use cdmsa::lower::{lower, lower_at};
use cdmsa::reference::{self, RefOutput};
use cdmsa::tensor::{DType, Tensor};
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A one-node graph: runtime input 0, every other input a constant.
fn graph(op: Op, x: &Tensor, consts: Vec<Option<Tensor>>) -> Graph {
    let mut g = Graph {
        opset: 17,
        ..Graph::default()
    };
    let xin = g.add_value(Value {
        name: "x".into(),
        dtype: Some(x.dtype()),
        shape: None,
        constant: None,
    });
    let mut inputs = vec![Some(xin)];
    for (i, c) in consts.into_iter().enumerate() {
        inputs.push(c.map(|t| {
            g.add_value(Value {
                name: format!("c{i}"),
                dtype: Some(t.dtype()),
                shape: None,
                constant: Some(t.into()),
            })
        }));
    }
    let y = g.add_value(Value {
        name: "y".into(),
        dtype: None,
        shape: None,
        constant: None,
    });
    g.nodes.push(Node {
        name: "n".into(),
        op,
        inputs,
        outputs: vec![y],
    });
    g.inputs = vec![xin];
    g.outputs = vec![y];
    g
}

fn run(g: &Graph, x: &Tensor, cfg: &AcceleratorConfig) -> Tensor {
    let p = lower(g, &[InputBinding::of(x)], cfg).unwrap();
    execute(&p, std::slice::from_ref(x), cfg)
        .unwrap()
        .outputs
        .remove(0)
}

/// The whole-node run's output and the tile-by-tile recording's, as bits, at `precision`.
fn whole_and_tiles(
    g: &Graph,
    x: &Tensor,
    cfg: &AcceleratorConfig,
    precision: Precision,
) -> (Vec<u64>, Vec<u64>) {
    let p = lower_at(g, &[InputBinding::of(x)], cfg, precision).unwrap();
    let inputs = std::slice::from_ref(x);
    let bits = |t: &Tensor| -> Vec<u64> {
        match t {
            Tensor::F32(a) => a.iter().map(|v| u64::from(v.to_bits())).collect(),
            Tensor::F16(a) => a.iter().map(|v| u64::from(v.to_bits())).collect(),
            Tensor::BF16(a) => a.iter().map(|v| u64::from(v.to_bits())).collect(),
            t => t.to_i64().unwrap().iter().map(|&v| v as u64).collect(),
        }
    };
    (
        bits(&execute(&p, inputs, cfg).unwrap().outputs[0]),
        bits(&record(&p, inputs, cfg).unwrap().outputs[0]),
    )
}

fn reference_of(g: &Graph, x: &Tensor) -> RefOutput {
    let n = &g.nodes[0];
    let ins: Vec<Option<&Tensor>> = n
        .inputs
        .iter()
        .map(|i| i.map(|v: ValueId| g.constant(v).unwrap_or(x)))
        .collect();
    reference::gemm(&n.op, &ins).unwrap()
}

fn rand_f32(rng: &mut ChaCha8Rng, shape: &[usize]) -> Tensor {
    let n = shape.iter().product();
    Tensor::F32(
        ArrayD::from_shape_vec(
            IxDyn(shape),
            (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect(),
        )
        .unwrap(),
    )
}

fn rand_u8(rng: &mut ChaCha8Rng, shape: &[usize]) -> Tensor {
    let n = shape.iter().product();
    Tensor::U8(
        ArrayD::from_shape_vec(
            IxDyn(shape),
            (0..n).map(|_| rng.random_range(0..=255u8)).collect(),
        )
        .unwrap(),
    )
}

fn rand_i8(rng: &mut ChaCha8Rng, shape: &[usize]) -> Tensor {
    let n = shape.iter().product();
    Tensor::I8(
        ArrayD::from_shape_vec(
            IxDyn(shape),
            (0..n).map(|_| rng.random_range(-128..=127i8)).collect(),
        )
        .unwrap(),
    )
}

fn scalar(t: Tensor) -> Tensor {
    t.reshape(&[]).unwrap()
}

/// Accelerators the properties run on: two array shapes so that K-tiles and N-blocks vary.
fn accels() -> Vec<AcceleratorConfig> {
    let tiny = AcceleratorConfig::preset("tiny").unwrap();
    let odd = AcceleratorConfig {
        rows: 3,
        cols: 5,
        arrays: 3,
        ..tiny.clone()
    };
    vec![tiny, odd]
}

#[derive(Debug, Clone)]
struct ConvCase {
    batch: usize,
    groups: usize,
    cin_g: usize,
    cout_g: usize,
    hw: (usize, usize),
    kernel: (usize, usize),
    stride: (usize, usize),
    dilation: (usize, usize),
    pads: [usize; 4],
    auto_pad: AutoPad,
    seed: u64,
}

fn conv_case() -> impl Strategy<Value = ConvCase> {
    (
        1..=2usize,
        1..=3usize,
        1..=3usize,
        1..=4usize,
        (3..=7usize, 3..=7usize),
        (1..=3usize, 1..=3usize),
        (1..=2usize, 1..=2usize),
        (1..=2usize, 1..=2usize),
        prop::array::uniform4(0..=2usize),
        0..4u8,
        any::<u64>(),
    )
        .prop_map(
            |(batch, groups, cin_g, cout_g, hw, kernel, stride, dilation, pads, ap, seed)| {
                ConvCase {
                    batch,
                    groups,
                    cin_g,
                    cout_g,
                    hw,
                    kernel,
                    stride,
                    dilation,
                    pads,
                    auto_pad: [
                        AutoPad::NotSet,
                        AutoPad::NotSet,
                        AutoPad::SameUpper,
                        AutoPad::Valid,
                    ][ap as usize],
                    seed,
                }
            },
        )
}

impl ConvCase {
    fn attrs(&self) -> ConvAttrs {
        ConvAttrs {
            kernel_shape: None,
            strides: vec![self.stride.0, self.stride.1],
            pads: if self.auto_pad == AutoPad::NotSet {
                self.pads.to_vec()
            } else {
                vec![]
            },
            dilations: vec![self.dilation.0, self.dilation.1],
            group: self.groups,
            auto_pad: self.auto_pad,
        }
    }

    fn fits(&self) -> bool {
        let span = |k: usize, d: usize| (k - 1) * d + 1;
        let pad = |i: usize| {
            if self.auto_pad == AutoPad::NotSet {
                self.pads[i] + self.pads[i + 2]
            } else {
                0
            }
        };
        self.hw.0 + pad(0) >= span(self.kernel.0, self.dilation.0)
            && self.hw.1 + pad(1) >= span(self.kernel.1, self.dilation.1)
    }

    fn x_shape(&self) -> [usize; 4] {
        [self.batch, self.groups * self.cin_g, self.hw.0, self.hw.1]
    }

    fn w_shape(&self) -> [usize; 4] {
        [
            self.groups * self.cout_g,
            self.cin_g,
            self.kernel.0,
            self.kernel.1,
        ]
    }
}

/// ConvTranspose by definition: every input pixel times every tap, added at output position
/// `i·stride + k·dilation − pad_begin` (in f64).
fn conv_transpose_scatter(
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    win: &Window,
    groups: usize,
) -> ArrayD<f64> {
    let (x, w, b) = (x.to_f64(), w.to_f64(), b.to_f64());
    let (xs, ws) = (x.shape().to_vec(), w.shape().to_vec());
    let (cin_g, cout_g) = (xs[1] / groups, ws[1]);
    let mut y = ArrayD::<f64>::zeros(IxDyn(&[
        xs[0],
        groups * cout_g,
        win.output[0],
        win.output[1],
    ]));
    for ((bi, c, i0, i1), &v) in x.indexed_iter().map(|(i, v)| ((i[0], i[1], i[2], i[3]), v)) {
        let g = c / cin_g;
        for co in 0..cout_g {
            for k0 in 0..ws[2] {
                for k1 in 0..ws[3] {
                    let o0 = (i0 * win.strides[0] + k0 * win.dilations[0]) as isize
                        - win.pad_begin[0] as isize;
                    let o1 = (i1 * win.strides[1] + k1 * win.dilations[1]) as isize
                        - win.pad_begin[1] as isize;
                    if (0..win.output[0] as isize).contains(&o0)
                        && (0..win.output[1] as isize).contains(&o1)
                    {
                        y[[bi, g * cout_g + co, o0 as usize, o1 as usize]] +=
                            v * w[[c, co, k0, k1]];
                    }
                }
            }
        }
    }
    for ((_, c, _, _), v) in y
        .indexed_iter_mut()
        .map(|(i, v)| ((i[0], i[1], i[2], i[3]), v))
    {
        *v += b[[c]];
    }
    y
}

/// A random float Conv of case `c` (weights and bias drawn after the input), and its input.
fn float_conv(c: &ConvCase, rng: &mut ChaCha8Rng) -> (Graph, Tensor) {
    let x = rand_f32(rng, &c.x_shape());
    let w = rand_f32(rng, &c.w_shape());
    let b = rand_f32(rng, &[c.groups * c.cout_g]);
    (graph(Op::Conv(c.attrs()), &x, vec![Some(w), Some(b)]), x)
}

/// A QLinearConv of case `c` on `x` with weights `w` and zero points `x_zp`, `w_zp` (one per
/// output channel): per-channel weight scales, a bias, fixed input and output scales.
fn qlinear_conv(c: &ConvCase, x: &Tensor, w: Tensor, x_zp: Tensor, w_zp: Tensor) -> Graph {
    let cout = c.groups * c.cout_g;
    let f32s = |v: Vec<f32>| Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[v.len()]), v).unwrap());
    let xs = scalar(f32s(vec![0.02]));
    let ws = f32s((0..cout).map(|i| 0.001 + 0.0005 * i as f32).collect());
    let ys = scalar(f32s(vec![0.05]));
    let y_zp = scalar(Tensor::U8(ArrayD::from_elem(IxDyn(&[1]), 100)));
    let bias = (0..cout).map(|i| i as i32 * 37 - 50).collect();
    let bias = Tensor::I32(ArrayD::from_shape_vec(IxDyn(&[cout]), bias).unwrap());
    let inputs = [xs, x_zp, w, ws, w_zp, ys, y_zp, bias];
    graph(
        Op::QLinearConv(c.attrs(), EpilogueAct::None),
        x,
        inputs.into_iter().map(Some).collect(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn float_conv_transpose_matches_a_direct_scatter(c in conv_case(), extra in (0..2usize, 0..2usize)) {
        let attrs = ConvTransposeAttrs {
            conv: c.attrs(),
            output_padding: vec![extra.0 % c.stride.0, extra.1 % c.stride.1],
            output_shape: vec![],
        };
        // Weights are [cin, cout/groups, kernel…]; the case's cin_g/cout_g swap roles.
        let x_shape = [c.batch, c.groups * c.cin_g, c.hw.0, c.hw.1];
        let w_shape = [c.groups * c.cin_g, c.cout_g, c.kernel.0, c.kernel.1];
        let win = Window::of_conv_transpose(&attrs, &x_shape, &w_shape);
        prop_assume!(win.as_ref().is_ok_and(|w| w.output_size() > 0));
        let win = win.unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(c.seed);
        let x = rand_f32(&mut rng, &x_shape);
        let w = rand_f32(&mut rng, &w_shape);
        let b = rand_f32(&mut rng, &[c.groups * c.cout_g]);
        let want = conv_transpose_scatter(&x, &w, &b, &win, c.groups);
        let g = graph(Op::ConvTranspose(attrs), &x, vec![Some(w), Some(b)]);
        for cfg in accels() {
            let got = run(&g, &x, &cfg).to_f64();
            prop_assert_eq!(got.shape(), want.shape());
            for (a, b) in got.iter().zip(&want) {
                prop_assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn float_conv_matches_the_reference(c in conv_case()) {
        prop_assume!(c.fits());
        let mut rng = ChaCha8Rng::seed_from_u64(c.seed);
        let (g, x) = float_conv(&c, &mut rng);
        let RefOutput::Float(want) = reference_of(&g, &x) else { unreachable!() };
        for cfg in accels() {
            let got = run(&g, &x, &cfg).to_f64();
            prop_assert_eq!(got.shape(), want.shape());
            for (a, b) in got.iter().zip(&want) {
                prop_assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{a} vs {b}");
            }
            for precision in [Precision::Native, Precision::Fp16, Precision::Bf16] {
                let (whole, tiles) = whole_and_tiles(&g, &x, &cfg, precision);
                prop_assert_eq!(whole, tiles, "{:?}", precision);
            }
        }
    }

    #[test]
    fn integer_convs_match_the_reference(c in conv_case()) {
        prop_assume!(c.fits());
        let mut rng = ChaCha8Rng::seed_from_u64(c.seed);
        let x = rand_u8(&mut rng, &c.x_shape());
        let w = rand_i8(&mut rng, &c.w_shape());
        let cout = c.groups * c.cout_g;
        let x_zp = scalar(rand_u8(&mut rng, &[1]));
        let w_zp = rand_i8(&mut rng, &[cout]);
        // ConvInteger: exact int32 accumulators.
        let g = graph(Op::ConvInteger(c.attrs()), &x, vec![Some(w.clone()), Some(x_zp.clone()), Some(w_zp.clone())]);
        let RefOutput::Int(want) = reference_of(&g, &x) else { unreachable!() };
        for cfg in accels() {
            prop_assert_eq!(run(&g, &x, &cfg).to_i64().unwrap(), want.clone());
        }
        // QLinearConv with per-channel scales and a bias: codes within one step of the f64
        // formula (MLAS rounds the scale product in f32), and the same on every array shape.
        let q = qlinear_conv(&c, &x, w, x_zp, w_zp);
        let RefOutput::Int(want) = reference_of(&q, &x) else { unreachable!() };
        for cfg in accels() {
            let (whole, tiles) = whole_and_tiles(&q, &x, &cfg, Precision::Native);
            prop_assert_eq!(whole, tiles);
        }
        let results: Vec<_> = accels().iter().map(|cfg| run(&q, &x, cfg).to_i64().unwrap()).collect();
        prop_assert_eq!(&results[0], &results[1]);
        for (a, b) in results[0].iter().zip(&want) {
            prop_assert!((a - b).abs() <= 1, "{a} vs {b}");
        }
    }

    #[test]
    fn batched_matmul_and_gemm_match_the_reference(batch in 1..=3usize, m in 1..=9usize, k in 1..=11usize, n in 1..=9usize, broadcast_b in any::<bool>(), trans in any::<(bool, bool)>(), seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = rand_f32(&mut rng, &[batch, 2, m, k]);
        let b = if broadcast_b { rand_f32(&mut rng, &[k, n]) } else { rand_f32(&mut rng, &[batch, 1, k, n]) };
        let g = graph(Op::MatMul, &a, vec![Some(b)]);
        let RefOutput::Float(want) = reference_of(&g, &a) else { unreachable!() };
        for cfg in accels() {
            let got = run(&g, &a, &cfg).to_f64();
            prop_assert_eq!(got.shape(), want.shape());
            for (x, y) in got.iter().zip(&want) {
                prop_assert!((x - y).abs() <= 1e-5 * (1.0 + y.abs()));
            }
        }
        let (ta, tb) = trans;
        let ga = rand_f32(&mut rng, &if ta { [k, m] } else { [m, k] });
        let gb = rand_f32(&mut rng, &if tb { [n, k] } else { [k, n] });
        let gc = rand_f32(&mut rng, &[m, n]);
        let attrs = GemmAttrs { alpha: 0.5, beta: 2.0, trans_a: ta, trans_b: tb };
        let g = graph(Op::Gemm(attrs), &ga, vec![Some(gb), Some(gc)]);
        let RefOutput::Float(want) = reference_of(&g, &ga) else { unreachable!() };
        let got = run(&g, &ga, &accels()[1]).to_f64();
        for (x, y) in got.iter().zip(&want) {
            prop_assert!((x - y).abs() <= 1e-5 * (1.0 + y.abs()));
        }
    }
}

/// A depthwise convolution: one input and one output channel per group, as many groups as a
/// vector of channels holds and more, on rows short enough to be taken channels-last and
/// long enough to be taken over whole planes (8 outputs and more).
fn depthwise_case() -> impl Strategy<Value = ConvCase> {
    (
        conv_case(),
        prop_oneof![1..=9usize, Just(16), Just(17), Just(33)],
        prop_oneof![Just(None), (8..=40usize).prop_map(Some)],
    )
        .prop_map(|(c, groups, width)| ConvCase {
            groups,
            cin_g: 1,
            cout_g: 1,
            hw: (c.hw.0, width.unwrap_or(c.hw.1)),
            ..c
        })
}

/// A batch large enough that a functional run puts several images' columns in one product.
fn batched_case() -> impl Strategy<Value = ConvCase> {
    (conv_case(), 9..=24usize).prop_map(|(c, batch)| ConvCase { batch, ..c })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn batched_convs_give_the_tiles_bits(c in batched_case()) {
        prop_assume!(c.fits());
        let mut rng = ChaCha8Rng::seed_from_u64(c.seed);
        let (g, x) = float_conv(&c, &mut rng);
        let cfg = &accels()[1];
        for precision in [Precision::Native, Precision::Fp16] {
            let (whole, tiles) = whole_and_tiles(&g, &x, cfg, precision);
            prop_assert_eq!(whole, tiles, "{:?}", precision);
        }
        let cout = c.groups * c.cout_g;
        let x = rand_u8(&mut rng, &c.x_shape());
        let w = rand_i8(&mut rng, &c.w_shape());
        let zps = vec![Some(scalar(rand_u8(&mut rng, &[1]))), Some(rand_i8(&mut rng, &[cout]))];
        let g = graph(Op::ConvInteger(c.attrs()), &x, [vec![Some(w)], zps].concat());
        let (whole, tiles) = whole_and_tiles(&g, &x, cfg, Precision::Native);
        prop_assert_eq!(whole, tiles);
    }

    #[test]
    fn depthwise_convs_across_channels_give_the_tiles_bits(c in depthwise_case()) {
        prop_assume!(c.fits());
        let mut rng = ChaCha8Rng::seed_from_u64(c.seed);
        let (g, x) = float_conv(&c, &mut rng);
        for cfg in accels() {
            for precision in [Precision::Native, Precision::Fp16, Precision::Bf16] {
                let (whole, tiles) = whole_and_tiles(&g, &x, &cfg, precision);
                prop_assert_eq!(whole, tiles, "{:?}", precision);
            }
        }
        let x = rand_u8(&mut rng, &c.x_shape());
        let w = rand_i8(&mut rng, &c.w_shape());
        let x_zp = scalar(rand_u8(&mut rng, &[1]));
        let w_zp = rand_i8(&mut rng, &[c.groups]);
        let q = qlinear_conv(&c, &x, w, x_zp, w_zp);
        for cfg in accels() {
            let (whole, tiles) = whole_and_tiles(&q, &x, &cfg, Precision::Native);
            prop_assert_eq!(whole, tiles);
        }
    }
}

#[test]
fn u8_input_and_u8_weights_with_zero_points_are_exact_in_matmul_integer() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let a = rand_u8(&mut rng, &[5, 13]);
    let b = rand_u8(&mut rng, &[13, 6]);
    let a_zp = scalar(Tensor::U8(ArrayD::from_elem(IxDyn(&[1]), 128)));
    let b_zp =
        Tensor::U8(ArrayD::from_shape_vec(IxDyn(&[6]), vec![0, 1, 127, 128, 254, 255]).unwrap());
    let g = graph(Op::MatMulInteger, &a, vec![Some(b), Some(a_zp), Some(b_zp)]);
    let RefOutput::Int(want) = reference_of(&g, &a) else {
        unreachable!()
    };
    for cfg in accels() {
        let got = run(&g, &a, &cfg);
        assert_eq!(got.dtype(), DType::I32);
        assert_eq!(got.to_i64().unwrap(), want);
    }
}

#[test]
fn packed_depthwise_tiles_give_every_channel_its_bits_alone() {
    // A depthwise 2×2 convolution of 6 channels on the 8×8 arrays: each channel is a GEMM
    // of K = 4, N = 1, so ⌊8 / 4⌋ = 2 channels share a tile job block-diagonally. Its 3
    // packs already give both arrays a tile job, so the 5 × 5 outputs stay one M-block.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let x = rand_f32(&mut rng, &[1, 6, 5, 5]);
    let w = rand_f32(&mut rng, &[6, 1, 2, 2]);
    let b = rand_f32(&mut rng, &[6]);
    let attrs = ConvAttrs {
        kernel_shape: None,
        strides: vec![1, 1],
        pads: vec![1, 0, 0, 1],
        dilations: vec![1, 1],
        group: 6,
        auto_pad: AutoPad::NotSet,
    };
    let g = graph(Op::Conv(attrs), &x, vec![Some(w), Some(b)]);
    let packed = AcceleratorConfig::preset("tiny").unwrap();
    let alone = AcceleratorConfig {
        pack_problems: false,
        ..packed.clone()
    };
    let tiles = |cfg: &AcceleratorConfig| -> Vec<usize> {
        let p = lower(&g, &[InputBinding::of(&x)], cfg).unwrap();
        match &p.kernels[0] {
            cdmsa::kernel::Kernel::Gemm(k) => k.tiles.iter().map(|t| t.packed).collect(),
            k => panic!("a GEMM kernel, not {k:?}"),
        }
    };
    assert_eq!(tiles(&packed), [2; 3]);
    assert_eq!(tiles(&alone), [1; 6]);
    for precision in [Precision::Native, Precision::Fp16, Precision::Bf16] {
        // Tile by tile (packed) equals the whole node, which equals the unpacked lowering.
        let (whole, by_tile) = whole_and_tiles(&g, &x, &packed, precision);
        assert_eq!(whole, by_tile, "{precision:?}");
        assert_eq!(
            by_tile,
            whole_and_tiles(&g, &x, &alone, precision).1,
            "{precision:?}"
        );
    }
}

/// A convolution large enough that the whole-node run cuts each image's columns into many
/// blocks of output rows (its im2col far above one block's 64 Ki values) gives the
/// tile-by-tile recording's bits in every block: float at native, fp16 and bf16 precision,
/// strided and grouped, and the requantized int8 path with per-channel scales.
#[test]
fn convolutions_cut_into_many_column_blocks_keep_every_bit() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let cfg = AcceleratorConfig::preset("tiny").unwrap();
    let attrs = |stride: usize, group: usize| ConvAttrs {
        kernel_shape: None,
        strides: vec![stride, stride],
        pads: vec![1, 1, 1, 1],
        dilations: vec![1, 1],
        group,
        auto_pad: AutoPad::NotSet,
    };
    // K = 24·9 = 216 and 40 positions per output row: 7 rows (of 48) per block.
    let x = rand_f32(&mut rng, &[2, 24, 48, 40]);
    for (stride, group) in [(1, 1), (2, 1), (1, 2)] {
        let w = rand_f32(&mut rng, &[12, 24 / group, 3, 3]);
        let b = rand_f32(&mut rng, &[12]);
        let g = graph(Op::Conv(attrs(stride, group)), &x, vec![Some(w), Some(b)]);
        for precision in [Precision::Native, Precision::Fp16, Precision::Bf16] {
            let (whole, tiles) = whole_and_tiles(&g, &x, &cfg, precision);
            assert_eq!(
                whole, tiles,
                "stride {stride}, group {group}, {precision:?}"
            );
        }
    }
    let xq = rand_u8(&mut rng, &[1, 24, 48, 40]);
    let w = rand_i8(&mut rng, &[12, 24, 3, 3]);
    let per_channel = |base: f32| {
        Tensor::F32(
            ArrayD::from_shape_vec(
                IxDyn(&[12]),
                (0..12).map(|i| base * (1.0 + i as f32 / 7.0)).collect(),
            )
            .unwrap(),
        )
    };
    let q = graph(
        Op::QLinearConv(attrs(1, 1), EpilogueAct::None),
        &xq,
        vec![
            Some(scalar(Tensor::F32(ArrayD::from_elem(IxDyn(&[1]), 0.02)))),
            Some(scalar(Tensor::U8(ArrayD::from_elem(IxDyn(&[1]), 117)))),
            Some(w),
            Some(per_channel(0.003)),
            Some(Tensor::I8(ArrayD::from_elem(IxDyn(&[12]), 0))),
            Some(scalar(Tensor::F32(ArrayD::from_elem(IxDyn(&[1]), 0.4)))),
            Some(scalar(Tensor::U8(ArrayD::from_elem(IxDyn(&[1]), 128)))),
            Some(Tensor::I32(
                ArrayD::from_shape_vec(IxDyn(&[12]), (0..12).map(|i| i * 91 - 400).collect())
                    .unwrap(),
            )),
        ],
    );
    let (whole, tiles) = whole_and_tiles(&q, &xq, &cfg, Precision::Native);
    assert_eq!(whole, tiles, "QLinearConv");
    // The codes spread over the range, so the requantization is exercised, not saturated.
    let distinct: std::collections::BTreeSet<_> = whole.iter().collect();
    assert!(distinct.len() > 100, "{} distinct codes", distinct.len());
}

/// A value from a few exact ones: signed zeros, ±1, and magnitudes whose products underflow
/// to signed zeros in f32 (±1e-30) and in fp16 partial sums (±2⁻¹⁴), so that outputs come out
/// zeros whose sign depends on every term; now and then an infinity or a NaN.
fn exact_value(rng: &mut ChaCha8Rng, special: bool) -> f32 {
    const TINY16: f32 = 6.103_515_6e-5;
    const VALUES: [f32; 8] = [0.0, -0.0, 1.0, -1.0, 1e-30, -1e-30, TINY16, -TINY16];
    match rng.random_range(0..64) {
        0 if special => f32::INFINITY,
        1 if special => f32::NAN,
        _ => VALUES[rng.random_range(0..VALUES.len())],
    }
}

fn exact_tensor(rng: &mut ChaCha8Rng, shape: &[usize], special: bool) -> Tensor {
    let n = shape.iter().product();
    let v = (0..n).map(|_| exact_value(rng, special)).collect();
    Tensor::F32(ArrayD::from_shape_vec(IxDyn(shape), v).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A functional run computes a strided ConvTranspose phase by phase, skipping the taps
    /// that read inserted zeros; every bit, the sign of every zero and every NaN included,
    /// must equal the tile-by-tile recording over the zero-inserted input: K-tiles long and
    /// short, fp32 and fp16 partial sums, weight- and output-stationary, non-finite weights.
    #[test]
    fn conv_transposes_by_phase_give_the_tiles_bits(
        c in conv_case(),
        stride in (1..=3usize, 2..=3usize),
        kernel in (1..=4usize, 1..=4usize),
        extra in (0..3usize, 0..3usize),
        exact in any::<bool>(),
        infinite_weight in any::<bool>(),
    ) {
        let c = ConvCase { stride, kernel, ..c };
        let attrs = ConvTransposeAttrs {
            conv: c.attrs(),
            output_padding: vec![extra.0 % stride.0, extra.1 % stride.1],
            output_shape: vec![],
        };
        let x_shape = [c.batch, c.groups * c.cin_g, c.hw.0, c.hw.1];
        let w_shape = [c.groups * c.cin_g, c.cout_g, kernel.0, kernel.1];
        let win = Window::of_conv_transpose(&attrs, &x_shape, &w_shape);
        prop_assume!(win.is_ok_and(|w| w.output_size() > 0));
        let mut rng = ChaCha8Rng::seed_from_u64(c.seed);
        let (x, mut w, b) = if exact {
            (
                exact_tensor(&mut rng, &x_shape, true),
                exact_tensor(&mut rng, &w_shape, false),
                exact_tensor(&mut rng, &[c.groups * c.cout_g], false),
            )
        } else {
            (
                rand_f32(&mut rng, &x_shape),
                rand_f32(&mut rng, &w_shape),
                rand_f32(&mut rng, &[c.groups * c.cout_g]),
            )
        };
        if infinite_weight && let Tensor::F32(a) = &mut w {
            a.as_slice_mut().unwrap()[0] = f32::INFINITY;
        }
        let g = graph(Op::ConvTranspose(attrs), &x, vec![Some(w), Some(b)]);
        let tiny = AcceleratorConfig::preset("tiny").unwrap();
        let mut configs = accels();
        configs.push(AcceleratorConfig { rows: 2, psum: PsumType::Fp16, ..tiny.clone() });
        configs.push(AcceleratorConfig { rows: 4, dataflow: Dataflow::Os, ..tiny });
        for cfg in configs {
            for precision in [Precision::Native, Precision::Fp16, Precision::Bf16] {
                let (whole, tiles) = whole_and_tiles(&g, &x, &cfg, precision);
                prop_assert_eq!(whole, tiles, "rows {}, {:?}", cfg.rows, precision);
            }
        }
    }
}

/// A chain of element-wise arithmetic a functional run computes into its dying operands:
/// `r = Relu(x)`, `s = Relu(x + 0)` feed `Sub(r, s)`, then that with a per-channel constant
/// (`Div(c, t)` and `Mul(t, c)`, the operand taken second and first), then `Add(u, x)` whose
/// `x` is still read by nobody after it. Every bit, NaNs and signed zeros included, must equal
/// the tile-by-tile recording, which computes every value anew.
#[test]
fn arithmetic_computed_into_dying_operands_keeps_every_bit() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut x = rand_f32(&mut rng, &[2, 3, 4, 5]);
    if let Tensor::F32(a) = &mut x {
        let v = a.as_slice_mut().unwrap();
        (v[0], v[1], v[2], v[3]) = (f32::NAN, -0.0, 0.0, f32::INFINITY);
    }
    let c = rand_f32(&mut rng, &[1, 3, 1, 1]);
    let zero = Tensor::F32(ArrayD::from_elem(IxDyn(&[1]), 0.0));
    let mut g = Graph {
        opset: 17,
        ..Graph::default()
    };
    let value = |g: &mut Graph, name: &str, constant: Option<Tensor>| {
        g.add_value(Value {
            name: name.into(),
            dtype: constant.as_ref().map(Tensor::dtype).or(Some(DType::F32)),
            shape: None,
            constant: constant.map(Into::into),
        })
    };
    let xin = value(&mut g, "x", None);
    let (cv, zv) = (
        value(&mut g, "c", Some(c)),
        value(&mut g, "zero", Some(zero)),
    );
    let names = ["r", "x0", "s", "t", "q", "m", "y"];
    let v: Vec<ValueId> = names.iter().map(|n| value(&mut g, n, None)).collect();
    let nodes = [
        (Op::Relu, vec![xin], v[0]),
        (Op::Add, vec![xin, zv], v[1]),
        (Op::Relu, vec![v[1]], v[2]),
        (Op::Sub, vec![v[0], v[2]], v[3]),
        (Op::Div, vec![cv, v[3]], v[4]),
        (Op::Mul, vec![v[4], cv], v[5]),
        (Op::Add, vec![v[5], xin], v[6]),
    ];
    for (i, (op, inputs, out)) in nodes.into_iter().enumerate() {
        g.nodes.push(Node {
            name: format!("n{i}"),
            op,
            inputs: inputs.into_iter().map(Some).collect(),
            outputs: vec![out],
        });
    }
    g.inputs = vec![xin];
    g.outputs = vec![v[6]];
    let cfg = AcceleratorConfig::preset("tiny").unwrap();
    let (whole, tiles) = whole_and_tiles(&g, &x, &cfg, Precision::Native);
    assert_eq!(whole, tiles);
    // The NaN and the infinity reach the output.
    assert!(f32::from_bits(whole[0] as u32).is_nan());
}
