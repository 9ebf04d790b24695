//! The graph rewrites that claim to be exact leave every output bit as the graph as written
//! computes it: random chains of Transposes, element-wise ops, Pads and residual joins, a
//! TensorFlow-style NHWC block, and a QDQ pair around data movement, each lowered and run with
//! the rewrite on and off. The block also shows the rewrite doing its job: its inner
//! Transposes and no-op Casts are gone, and the cycles charged are those of the rewritten graph.

use cdmsa::config::{AcceleratorConfig, PRESETS, Rewrite, Rewrites};
use cdmsa::exec::{execute, layer_costs, record};
use cdmsa::ir::{
    AutoPad, ConvAttrs, ConvTransposeAttrs, GemmAttrs, Graph, InputBinding, Node, Op, PadMode,
    PoolAttrs, Value, ValueId,
};
use cdmsa::kernel::{Program, Unary};
use cdmsa::lower::lower;
use cdmsa::tensor::{DType, Tensor};
use half::f16;
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Builds a graph node by node.
struct Builder {
    g: Graph,
    nodes: usize,
}

impl Builder {
    fn new(x: &Tensor) -> (Builder, ValueId) {
        let mut b = Builder {
            g: Graph {
                opset: 17,
                ..Graph::default()
            },
            nodes: 0,
        };
        let x = b.value("x", Some(x.dtype()), None);
        b.g.inputs = vec![x];
        (b, x)
    }

    fn value(&mut self, name: &str, dtype: Option<DType>, constant: Option<Tensor>) -> ValueId {
        self.g.add_value(Value {
            name: name.into(),
            dtype,
            shape: None,
            constant: constant.map(Into::into),
        })
    }

    fn constant(&mut self, t: Tensor) -> ValueId {
        let name = format!("c{}", self.g.values.len());
        self.value(&name, Some(t.dtype()), Some(t))
    }

    fn node(&mut self, op: Op, inputs: &[Option<ValueId>]) -> ValueId {
        self.nodes += 1;
        let out = self.value(&format!("v{}", self.nodes), None, None);
        self.g.nodes.push(Node {
            name: format!("n{}", self.nodes),
            op,
            inputs: inputs.to_vec(),
            outputs: vec![out],
        });
        out
    }

    fn transpose(&mut self, x: ValueId, perm: &[usize]) -> ValueId {
        self.node(
            Op::Transpose {
                perm: Some(perm.to_vec()),
            },
            &[Some(x)],
        )
    }

    fn finish(mut self, out: ValueId) -> Graph {
        self.g.outputs = vec![out];
        self.g
    }
}

fn config(rewrites: Rewrites) -> AcceleratorConfig {
    AcceleratorConfig {
        rewrites,
        ..AcceleratorConfig::preset("tiny").unwrap()
    }
}

fn lowered(g: &Graph, x: &Tensor, rewrites: Rewrites) -> (Program, AcceleratorConfig) {
    let cfg = config(rewrites);
    (lower(g, &[InputBinding::of(x)], &cfg).unwrap(), cfg)
}

/// The output's bits, its shape, and the program's Transposes.
fn run(g: &Graph, x: &Tensor, rewrites: Rewrites) -> (Vec<u64>, Vec<usize>, usize) {
    let (p, cfg) = lowered(g, x, rewrites);
    let out = execute(&p, std::slice::from_ref(x), &cfg)
        .unwrap()
        .outputs
        .remove(0);
    let transposes = p.nodes.iter().filter(|n| n.op == "Transpose").count();
    (bits(&out), out.shape().to_vec(), transposes)
}

fn bits(t: &Tensor) -> Vec<u64> {
    match t {
        Tensor::F32(a) => a.iter().map(|v| u64::from(v.to_bits())).collect(),
        Tensor::F16(a) => a.iter().map(|v| u64::from(v.to_bits())).collect(),
        t => t.to_i64().unwrap().iter().map(|&v| v as u64).collect(),
    }
}

fn random(rng: &mut ChaCha8Rng, dtype: DType, shape: &[usize]) -> Tensor {
    let n = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(-2.0f32..2.0)).collect();
    let a = ArrayD::from_shape_vec(IxDyn(shape), v).unwrap();
    match dtype {
        DType::F16 => Tensor::F16(a.mapv(f16::from_f32)),
        _ => Tensor::F32(a),
    }
}

fn permuted(shape: &[usize], perm: &[usize]) -> Vec<usize> {
    perm.iter().map(|&p| shape[p]).collect()
}

/// A random permutation of `rank` axes.
fn random_perm(rng: &mut ChaCha8Rng, rank: usize) -> Vec<usize> {
    let mut p: Vec<usize> = (0..rank).collect();
    for i in (1..rank).rev() {
        p.swap(i, rng.random_range(0..=i));
    }
    p
}

fn inverse(p: &[usize]) -> Vec<usize> {
    let mut q = vec![0; p.len()];
    for (i, &pi) in p.iter().enumerate() {
        q[pi] = i;
    }
    q
}

/// A random chain of Transposes, element-wise ops (unary, with broadcast constants, with
/// scalars), no-op Casts, Pads and residual joins of two transposed branches, ending in the
/// Transpose that undoes the chain's permutations.
fn random_chain(seed: u64, steps: usize) -> (Graph, Tensor) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dtype = if rng.random_bool(0.3) {
        DType::F16
    } else {
        DType::F32
    };
    let rank = rng.random_range(2..=4);
    let mut shape: Vec<usize> = (0..rank).map(|_| rng.random_range(1..=4)).collect();
    let x = random(&mut rng, dtype, &shape);
    let (mut b, mut cur) = Builder::new(&x);
    let mut layout: Vec<usize> = (0..rank).collect();
    for _ in 0..steps {
        match rng.random_range(0..7) {
            0 | 1 => {
                let p = random_perm(&mut rng, rank);
                cur = b.transpose(cur, &p);
                shape = permuted(&shape, &p);
                layout = permuted(&layout, &p);
            }
            2 => {
                let op = match rng.random_range(0..4) {
                    0 => Op::Relu,
                    1 => Op::Unary(Unary::Sigmoid),
                    2 => Op::Cast { to: dtype },
                    _ => Op::Unary(Unary::LeakyRelu { alpha: 0.1 }),
                };
                cur = b.node(op, &[Some(cur)]);
            }
            3 => {
                // A constant broadcast against some dims, with fewer dims at times.
                let drop = rng.random_range(0..rank);
                let cshape: Vec<usize> = shape[drop..]
                    .iter()
                    .map(|&d| if rng.random_bool(0.5) { d } else { 1 })
                    .collect();
                let c = random(&mut rng, dtype, &cshape);
                let c = b.constant(c);
                let op = [Op::Add, Op::Sub, Op::Mul, Op::Max][rng.random_range(0..4)].clone();
                let ins = if rng.random_bool(0.5) {
                    [Some(cur), Some(c)]
                } else {
                    [Some(c), Some(cur)]
                };
                cur = b.node(op, &ins);
            }
            4 => {
                let s = random(&mut rng, dtype, &[]);
                let s = b.constant(s);
                cur = b.node(Op::Div, &[Some(cur), Some(s)]);
            }
            5 => {
                // Two branches through the same permutation, joined.
                let p = random_perm(&mut rng, rank);
                let a = b.transpose(cur, &p);
                let a = b.node(Op::Relu, &[Some(a)]);
                let c = b.transpose(cur, &p);
                let c = b.node(Op::Unary(Unary::Tanh), &[Some(c)]);
                cur = b.node(Op::Add, &[Some(a), Some(c)]);
                shape = permuted(&shape, &p);
                layout = permuted(&layout, &p);
            }
            _ => {
                let pads: Vec<i64> = (0..2 * rank).map(|_| rng.random_range(0..=1)).collect();
                let pads_t =
                    Tensor::I64(ArrayD::from_shape_vec(IxDyn(&[2 * rank]), pads.clone()).unwrap());
                let pv = b.constant(pads_t);
                let mode = [PadMode::Constant, PadMode::Edge][rng.random_range(0..2)];
                cur = b.node(
                    Op::Pad {
                        mode,
                        pads: None,
                        value: 0.0,
                    },
                    &[Some(cur), Some(pv)],
                );
                for (i, d) in shape.iter_mut().enumerate() {
                    *d += (pads[i] + pads[rank + i]) as usize;
                }
            }
        }
    }
    let back = inverse(&layout);
    cur = b.transpose(cur, &back);
    (b.finish(cur), x)
}

fn exact(rewrites: &[Rewrite]) -> Rewrites {
    rewrites
        .iter()
        .fold(Rewrites::none(), |set, &r| set.with(r, true))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    #[test]
    fn exact_rewrites_keep_every_bit_of_random_chains(seed in any::<u64>(), steps in 1usize..10) {
        let (g, x) = random_chain(seed, steps);
        let (want, want_shape, before) = run(&g, &x, Rewrites::none());
        for set in [
            exact(&[Rewrite::CancelTransposes]),
            exact(&[Rewrite::DropNoOps]),
            exact(&[Rewrite::DropNoOps, Rewrite::CancelTransposes]),
            Rewrites::all(),
        ] {
            let (got, got_shape, after) = run(&g, &x, set);
            prop_assert_eq!(&got_shape, &want_shape);
            prop_assert!(got == want, "{set:?} changed the output of seed {seed}");
            prop_assert!(after <= before, "{set:?}: {after} Transposes, {before} before");
        }
    }
}

/// A 2-D convolution's attributes: one stride for both dims, explicit pads.
fn conv_attrs(stride: usize, pads: Vec<usize>) -> ConvAttrs {
    ConvAttrs {
        kernel_shape: None,
        strides: vec![stride; 2],
        pads,
        dilations: vec![1, 1],
        group: 1,
        auto_pad: AutoPad::NotSet,
    }
}

fn conv(
    b: &mut Builder,
    x: ValueId,
    rng: &mut ChaCha8Rng,
    cin: usize,
    cout: usize,
    k: usize,
) -> ValueId {
    let w = b.constant(random(rng, DType::F32, &[cout, cin, k, k]));
    let attrs = conv_attrs(1, vec![k / 2; 4]);
    b.node(Op::Conv(attrs), &[Some(x), Some(w)])
}

#[test]
fn a_tensorflow_style_block_loses_its_inner_transposes_and_keeps_every_bit() {
    // NHWC in and out, NCHW around each Conv, as tf2onnx writes it: a convolution, its bias
    // and batch-norm arithmetic in NHWC, a second convolution and a residual join.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let x = random(&mut rng, DType::F32, &[2, 6, 5, 3]);
    let (mut b, input) = Builder::new(&x);
    let (to_nchw, to_nhwc) = ([0, 3, 1, 2], [0, 2, 3, 1]);
    let t = b.transpose(input, &to_nchw);
    let c1 = conv(&mut b, t, &mut rng, 3, 4, 3);
    let t = b.transpose(c1, &to_nhwc);
    let t = b.node(Op::Cast { to: DType::F32 }, &[Some(t)]);
    let bias = b.constant(random(&mut rng, DType::F32, &[4]));
    let t = b.node(Op::Add, &[Some(t), Some(bias)]);
    let scale = b.constant(random(&mut rng, DType::F32, &[4]));
    let t = b.node(Op::Mul, &[Some(t), Some(scale)]);
    let r1 = b.node(Op::Relu, &[Some(t)]);
    let t = b.transpose(r1, &to_nchw);
    let c2 = conv(&mut b, t, &mut rng, 4, 4, 1);
    let t = b.transpose(c2, &to_nhwc);
    let t = b.node(Op::Add, &[Some(t), Some(r1)]);
    let out = b.node(Op::Relu, &[Some(t)]);
    let g = b.finish(out);

    let (want, _, before) = run(&g, &x, Rewrites::none());
    let (got, _, after) = run(&g, &x, Rewrites::all());
    assert_eq!(got, want, "the rewritten block's output differs");
    assert_eq!((before, after), (4, 2), "Transposes before and after");

    let cycles = |set| -> u64 {
        let (p, cfg) = lowered(&g, &x, set);
        layer_costs(&p, &cfg).iter().map(|l| l.cycles.0).sum()
    };
    let (p, _) = lowered(&g, &x, Rewrites::all());
    assert!(
        p.nodes.iter().all(|n| n.op != "Cast"),
        "the no-op Cast is gone"
    );
    assert!(
        cycles(Rewrites::all()) < cycles(Rewrites::none()),
        "the rewritten graph is charged less"
    );
}

#[test]
fn qdq_around_data_movement_runs_on_the_codes_bit_for_bit() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let codes: Vec<u8> = (0..2 * 3 * 6 * 6).map(|_| rng.random()).collect();
    let x = Tensor::U8(ArrayD::from_shape_vec(IxDyn(&[2, 3, 6, 6]), codes).unwrap());
    let (mut b, input) = Builder::new(&x);
    let scale = b.constant(Tensor::F32(ArrayD::from_elem(IxDyn(&[]), 0.037)));
    let zp = b.constant(Tensor::U8(ArrayD::from_elem(IxDyn(&[]), 131)));
    let dq = b.node(
        Op::DequantizeLinear {
            axis: 1,
            block_size: 0,
        },
        &[Some(input), Some(scale), Some(zp)],
    );
    let pool = PoolAttrs {
        kernel_shape: vec![3, 3],
        strides: vec![2, 2],
        pads: vec![1, 1, 1, 1],
        ..PoolAttrs::default()
    };
    let m = b.node(Op::MaxPool(pool), &[Some(dq)]);
    let q = b.node(
        Op::QuantizeLinear {
            axis: 1,
            block_size: 0,
            output_dtype: None,
        },
        &[Some(m), Some(scale), Some(zp)],
    );
    let g = b.finish(q);
    let (want, _, _) = run(&g, &x, Rewrites::none());
    let (got, _, _) = run(&g, &x, exact(&[Rewrite::QdqMovement]));
    assert_eq!(got, want);
    let (p, _) = lowered(&g, &x, exact(&[Rewrite::QdqMovement]));
    let ops: Vec<&str> = p.nodes.iter().map(|n| n.op).collect();
    assert_eq!(ops, ["MaxPool"], "the pair around the MaxPool is gone");
}

/// A rewrite newly claimed exact needs a test of its own here.
#[test]
fn the_claimed_exact_rewrites_are_the_tested_ones() {
    let exact: Vec<Rewrite> = Rewrite::ALL.into_iter().filter(|r| r.is_exact()).collect();
    assert_eq!(
        exact,
        [
            Rewrite::QdqMovement,
            Rewrite::DropNoOps,
            Rewrite::CancelTransposes,
            Rewrite::FoldPad,
            Rewrite::FuseRelu
        ]
    );
}

#[test]
fn an_accelerator_file_switches_rewrites_by_name() {
    let (_, tiny) = PRESETS.iter().find(|(n, _)| *n == "tiny").unwrap();
    let rewrites = |table: &str| {
        let text = format!("{tiny}\n[rewrites]\n{table}\n");
        AcceleratorConfig::from_toml(&text).unwrap().rewrites
    };
    assert_eq!(
        rewrites("cancel_transposes = false"),
        Rewrites::default().with(Rewrite::CancelTransposes, false)
    );
    assert_eq!(rewrites("fuse_relu = true"), Rewrites::all());
    assert!(
        AcceleratorConfig::from_toml(tiny)
            .unwrap()
            .rewrites
            .is_default()
    );
    let bad = format!("{tiny}\n[rewrites]\ncancel_everything = false\n");
    let err = AcceleratorConfig::from_toml(&bad).unwrap_err().to_string();
    assert!(err.contains("cancel_everything"), "{err}");
}

/// `Pad(x, pads, fill) → Conv` with the Conv's own pads, random shapes and pads.
fn padded_conv(seed: u64, fill: f32, mode: PadMode, channel_pad: bool) -> (Graph, Tensor) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (n, c, h, w) = (
        rng.random_range(1..=2),
        rng.random_range(1..=4),
        rng.random_range(2..=7),
        rng.random_range(2..=7),
    );
    let x = random(&mut rng, DType::F32, &[n, c, h, w]);
    let (mut b, input) = Builder::new(&x);
    let mut pads: Vec<i64> = vec![0, 0, 0, 0, 0, 0, 0, 0];
    for i in [2, 3, 6, 7] {
        pads[i] = rng.random_range(0..=2);
    }
    if channel_pad {
        pads[1] = 1;
    }
    let pads = b.constant(Tensor::I64(
        ArrayD::from_shape_vec(IxDyn(&[8]), pads).unwrap(),
    ));
    let fill = b.constant(Tensor::F32(ArrayD::from_elem(IxDyn(&[]), fill)));
    let padded = b.node(
        Op::Pad {
            mode,
            pads: None,
            value: 0.0,
        },
        &[Some(input), Some(pads), Some(fill)],
    );
    let cin = c + usize::from(channel_pad);
    let mut wt = random(&mut rng, DType::F32, &[3, cin, 3, 3]);
    // An infinite weight: a padded +0 times it is NaN, whichever node pads.
    if let Tensor::F32(a) = &mut wt {
        a[[1, 0, 1, 2]] = f32::INFINITY;
    }
    let wt = b.constant(wt);
    let own: Vec<usize> = (0..4).map(|_| rng.random_range(0..=1)).collect();
    let attrs = conv_attrs(rng.random_range(1..=2), own);
    let out = b.node(Op::Conv(attrs), &[Some(padded), Some(wt)]);
    (b.finish(out), x)
}

#[test]
fn a_zero_pad_folds_into_the_convolution_bit_for_bit_and_no_other_pad_does() {
    let only = exact(&[Rewrite::FoldPad]);
    for seed in 0..24 {
        let (g, x) = padded_conv(seed, 0.0, PadMode::Constant, false);
        let (want, _, _) = run(&g, &x, Rewrites::none());
        let (got, _, _) = run(&g, &x, only);
        assert_eq!(got, want, "seed {seed}");
        let (p, _) = lowered(&g, &x, only);
        let ops: Vec<&str> = p.nodes.iter().map(|n| n.op).collect();
        assert_eq!(ops, ["Conv"], "seed {seed}");
    }
    // A −0 or non-zero fill, another mode, a padded channel: the Pad stays.
    for (fill, mode, channel) in [
        (-0.0, PadMode::Constant, false),
        (0.5, PadMode::Constant, false),
        (0.0, PadMode::Edge, false),
        (0.0, PadMode::Constant, true),
    ] {
        let (g, x) = padded_conv(5, fill, mode, channel);
        let (want, _, _) = run(&g, &x, Rewrites::none());
        let (got, _, _) = run(&g, &x, only);
        assert_eq!(got, want, "{fill} {mode:?} {channel}");
        let (p, _) = lowered(&g, &x, only);
        assert_eq!(p.nodes.len(), 2, "{fill} {mode:?} {channel}: the Pad stays");
    }
}

#[test]
fn a_zero_pad_folds_through_the_transpose_of_a_tensorflow_stem() {
    // NHWC input, zero Pad of H and W, Transpose to NCHW, a strided 7×7 Conv.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let x = random(&mut rng, DType::F32, &[1, 9, 8, 3]);
    let (mut b, input) = Builder::new(&x);
    let pads =
        Tensor::I64(ArrayD::from_shape_vec(IxDyn(&[8]), vec![0, 3, 2, 0, 0, 1, 3, 0]).unwrap());
    let pads = b.constant(pads);
    let padded = b.node(
        Op::Pad {
            mode: PadMode::Constant,
            pads: None,
            value: 0.0,
        },
        &[Some(input), Some(pads)],
    );
    let t = b.transpose(padded, &[0, 3, 1, 2]);
    let wt = b.constant(random(&mut rng, DType::F32, &[4, 3, 7, 7]));
    let attrs = conv_attrs(2, vec![0; 4]);
    let out = b.node(Op::Conv(attrs), &[Some(t), Some(wt)]);
    let g = b.finish(out);
    let only = exact(&[Rewrite::FoldPad]);
    let (want, _, _) = run(&g, &x, Rewrites::none());
    let (got, _, _) = run(&g, &x, only);
    assert_eq!(got, want);
    let (p, _) = lowered(&g, &x, only);
    let ops: Vec<&str> = p.nodes.iter().map(|n| n.op).collect();
    assert_eq!(ops, ["Transpose", "Conv"]);
}

/// A float GEMM-class node of kind `kind` (Conv, ConvTranspose, Gemm, MatMul) followed by a
/// ReLU, its input holding NaN, ±0 and ±∞ among random values.
fn gemm_then_relu(seed: u64, kind: usize, dtype: DType) -> (Graph, Tensor) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let d = |rng: &mut ChaCha8Rng| rng.random_range(1..=6);
    let (xshape, wshape, op, bias) = match kind {
        0 => {
            let (c, o) = (d(&mut rng), d(&mut rng));
            let attrs = conv_attrs(1, vec![1; 4]);
            (
                vec![2, c, d(&mut rng) + 1, d(&mut rng) + 1],
                vec![o, c, 2, 2],
                Op::Conv(attrs),
                Some(o),
            )
        }
        1 => {
            let (c, o) = (d(&mut rng), d(&mut rng));
            let attrs = ConvTransposeAttrs {
                conv: ConvAttrs {
                    strides: vec![2, 2],
                    dilations: vec![1, 1],
                    group: 1,
                    ..ConvAttrs::default()
                },
                ..ConvTransposeAttrs::default()
            };
            (
                vec![1, c, d(&mut rng), d(&mut rng)],
                vec![c, o, 2, 2],
                Op::ConvTranspose(attrs),
                Some(o),
            )
        }
        2 => {
            let (m, k, n) = (d(&mut rng), d(&mut rng), d(&mut rng));
            let attrs = GemmAttrs {
                alpha: 1.0,
                beta: 1.0,
                trans_a: false,
                trans_b: true,
            };
            (vec![m, k], vec![n, k], Op::Gemm(attrs), Some(n))
        }
        _ => {
            let (b, m, k, n) = (d(&mut rng), d(&mut rng), d(&mut rng), d(&mut rng));
            (vec![b, m, k], vec![k, n], Op::MatMul, None)
        }
    };
    let mut x = random(&mut rng, DType::F32, &xshape).to_f32();
    let special = [
        f32::NAN,
        -0.0,
        0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        -1e-30,
    ];
    for v in x.iter_mut() {
        if rng.random_bool(0.1) {
            *v = special[rng.random_range(0..special.len())];
        }
    }
    let x = Tensor::from_f32(x, dtype);
    let (mut b, input) = Builder::new(&x);
    let w = b.constant(random(&mut rng, dtype, &wshape));
    let bias = bias.map(|n| b.constant(random(&mut rng, dtype, &[n])));
    let y = b.node(op, &[Some(input), Some(w), bias]);
    let out = b.node(Op::Relu, &[Some(y)]);
    (b.finish(out), x)
}

#[test]
fn a_relu_fused_into_any_float_gemm_keeps_every_bit() {
    let only = exact(&[Rewrite::FuseRelu]);
    for seed in 0..12 {
        for kind in 0..4 {
            for dtype in [DType::F32, DType::F16] {
                let (g, x) = gemm_then_relu(seed, kind, dtype);
                let what = format!("seed {seed}, kind {kind}, {dtype}");
                let (want, _, _) = run(&g, &x, Rewrites::none());
                let (got, _, _) = run(&g, &x, only);
                assert_eq!(got, want, "{what}");
                // The tile-by-tile recording applies the fused ReLU too.
                let (p, cfg) = lowered(&g, &x, only);
                let recorded = record(&p, std::slice::from_ref(&x), &cfg).unwrap().outputs;
                assert_eq!(bits(&recorded[0]), want, "{what}: recorded");
                assert_eq!(p.nodes.len(), 1, "{what}: the ReLU is gone");
            }
        }
    }
}
