//! Lowering: IR → `kernel::Program`. Fuses (BN, QDQ), specialises shapes, maps every
//! GEMM-class node to tiled GEMMs on the arrays and every other node to the vector unit.

pub mod tiling;

use crate::config::AcceleratorConfig;
use crate::error::{Error, Result};
use crate::ir::geometry::Window;
use crate::ir::{
    Facts, Graph, InputBinding, Node, Op, ResizeMode, Unary, fuse, promote_matmul, recurrent,
    specialize,
};
use crate::kernel::{
    Datapath, FloatFormat, GemmKernel, GemmLayout, GemmShape, Kernel, Precision, Program, Traffic,
    VectorKernel,
};
use crate::tensor::DType;
use crate::tensor::ops::broadcast_shapes;

/// Lowers `graph` for inputs of the given types and shapes onto `cfg`.
pub fn lower(graph: &Graph, inputs: &[InputBinding], cfg: &AcceleratorConfig) -> Result<Program> {
    lower_at(graph, inputs, cfg, Precision::Native)
}

/// Lowers with the float GEMMs on the datapath `precision` names (see [`Precision`]).
pub fn lower_at(
    graph: &Graph,
    inputs: &[InputBinding],
    cfg: &AcceleratorConfig,
    precision: Precision,
) -> Result<Program> {
    // Fusion needs every value's type, so it runs on a specialised graph, which is then
    // specialised again to type the values the rewrites created.
    let (mut g, mut facts) = specialize(graph, inputs)?;
    if recurrent::unroll(&mut g, &facts)? {
        (g, facts) = specialize(&g, inputs)?;
    }
    fuse::optimize(&mut g, &facts);
    let (g, facts) = specialize(&g, inputs)?;
    let kernels = g
        .nodes
        .iter()
        .map(|n| {
            lower_node(&g, n, &facts, cfg, precision).map_err(|e| match e {
                e @ (Error::Node { .. } | Error::Unsupported { .. }) => e,
                e => Error::node(&n.name, n.op.name(), e.to_string()),
            })
        })
        .collect::<Result<_>>()?;
    Ok(Program {
        graph: g,
        facts,
        kernels,
    })
}

fn float_format(dt: DType) -> Result<FloatFormat> {
    match dt {
        DType::F32 => Ok(FloatFormat::Fp32),
        DType::F16 => Ok(FloatFormat::Fp16),
        DType::BF16 => Ok(FloatFormat::Bf16),
        d => Err(Error::DType(format!("{d} operands on the float datapath"))),
    }
}

fn lower_node(
    g: &Graph,
    node: &Node,
    f: &Facts,
    cfg: &AcceleratorConfig,
    precision: Precision,
) -> Result<Kernel> {
    if !node.op.is_gemm_class() {
        return Ok(Kernel::Vector(VectorKernel {
            work: vector_work(node, f)?,
        }));
    }
    let int = matches!(
        node.op,
        Op::QLinearConv(..) | Op::QLinearMatMul(_) | Op::ConvInteger(_) | Op::MatMulInteger
    );
    let x = node.input(0)?;
    let out = node.outputs[0];
    let datapath = if int {
        for i in [0, node.op.weight_input()] {
            let d = f.dtype(node.input(i)?);
            if !matches!(d, DType::U8 | DType::I8) {
                return Err(Error::DType(format!("{d} operand on the int8 datapath")));
            }
        }
        Datapath::Int8
    } else {
        match precision {
            Precision::Native => Datapath::Float(float_format(f.dtype(x))?),
            Precision::Fp32 => Datapath::Float(FloatFormat::Fp32),
            Precision::Fp16 => Datapath::Float(FloatFormat::Fp16),
            Precision::Bf16 => Datapath::Float(FloatFormat::Bf16),
            Precision::Int8 => Datapath::Int8,
        }
    };
    // Values of a float GEMM on the int8 datapath need quantization parameters it lacks.
    let timing_only = !int && datapath == Datapath::Int8;
    let (layout, shape, problems) = match &node.op {
        Op::Conv(a) | Op::ConvInteger(a) | Op::QLinearConv(a, _) => {
            let w = node.input(node.op.weight_input())?;
            let (xs, ws) = (f.shape(x), f.shape(w));
            let window = Window::of_conv(a, xs, &ws[2..])?;
            let groups = a.group.max(1);
            conv_gemm(window, false, xs[0], groups, ws[1], ws[0] / groups)
        }
        Op::ConvTranspose(a) => {
            let (xs, ws) = (f.shape(x), f.shape(node.input(1)?));
            let window = Window::of_conv_transpose(a, xs, ws)?;
            let groups = a.conv.group.max(1);
            conv_gemm(window, true, xs[0], groups, ws[0] / groups, ws[1])
        }
        op => {
            let (trans_a, trans_b) = match op {
                Op::Gemm(a) => (a.trans_a, a.trans_b),
                _ => (false, false),
            };
            let b = node.input(node.op.weight_input())?;
            matmul_layout(f.shape(x), f.shape(b), trans_a, trans_b)?
        }
    };
    let ec = match (&node.op, datapath) {
        (Op::ConvInteger(_) | Op::MatMulInteger, _) => 4,
        (_, Datapath::Float(fmt)) if !matches!(fmt, FloatFormat::Fp32) => 2,
        (_, Datapath::Int8) if timing_only => 1,
        (_, _) => f.dtype(out).size_bytes() as u64,
    };
    let ea = match datapath {
        Datapath::Int8 => 1,
        Datapath::Float(FloatFormat::Fp32) => 4,
        Datapath::Float(_) => 2,
    };
    let traffic = traffic(g, node, f, cfg, [ea, ec])?;
    let tiles = tiling::tile_jobs(shape, problems, cfg, [ea, ea, ec]);
    Ok(Kernel::Gemm(Box::new(GemmKernel {
        layout,
        shape,
        problems,
        datapath,
        tiles,
        elem_bytes: [ea, ea, ec],
        traffic,
        timing_only,
    })))
}

/// Activations stay on chip when the layer's inputs and outputs fit half of the arrays'
/// scratchpads (the other half double-buffers); constant weights always stream from DRAM,
/// and a second activation operand (attention's K and V) streams with the activations.
fn traffic(
    g: &Graph,
    node: &Node,
    f: &Facts,
    cfg: &AcceleratorConfig,
    [ea, ec]: [u64; 2],
) -> Result<Traffic> {
    let b = node.input(node.op.weight_input())?;
    let elements = |v| f.shape(v).iter().product::<usize>() as u64;
    let weights_constant = g.is_constant(b);
    let mut bytes = elements(node.input(0)?) * ea + elements(node.outputs[0]) * ec;
    if !weights_constant {
        bytes += elements(b) * ea;
    }
    let on_chip = (cfg.arrays as u64)
        .saturating_mul(cfg.sram_kib_per_array)
        .saturating_mul(512);
    let activations = bytes > on_chip;
    Ok(Traffic {
        activations,
        weights: weights_constant || activations,
    })
}

/// A convolution (or a transposed one over its zero-inserted input) as `groups` im2col
/// GEMMs: rows are (batch, output position), K is (input channel in group, kernel tap).
fn conv_gemm(
    window: Window,
    transposed: bool,
    batch: usize,
    groups: usize,
    cin_per_group: usize,
    cout_per_group: usize,
) -> (GemmLayout, GemmShape, usize) {
    let shape = GemmShape {
        m: batch * window.output_size(),
        k: cin_per_group * window.kernel_size(),
        n: cout_per_group,
    };
    (
        GemmLayout::Conv {
            window,
            transposed,
            groups,
            batch,
            cin_per_group,
            cout_per_group,
        },
        shape,
        groups,
    )
}

/// The GEMM problems of a (batched, broadcast) matrix product; 1-D operands are promoted
/// as numpy does. A 2-D B shared by every batch folds the batch into M.
fn matmul_layout(
    a: &[usize],
    b: &[usize],
    trans_a: bool,
    trans_b: bool,
) -> Result<(GemmLayout, GemmShape, usize)> {
    let (a2, b2) = promote_matmul(a, b);
    let (ra, rb) = (a2.len(), b2.len());
    let (m, k) = if trans_a {
        (a2[ra - 1], a2[ra - 2])
    } else {
        (a2[ra - 2], a2[ra - 1])
    };
    let (kb, n) = if trans_b {
        (b2[rb - 1], b2[rb - 2])
    } else {
        (b2[rb - 2], b2[rb - 1])
    };
    if k != kb {
        return Err(Error::Shape(format!("inner dims differ: {a:?} · {b:?}")));
    }
    let (ab, bb) = (&a2[..ra - 2], &b2[..rb - 2]);
    let batch = broadcast_shapes(ab, bb)?;
    let count: usize = batch.iter().product();
    if bb.iter().product::<usize>() == 1 && !trans_a {
        let layout = GemmLayout::MatMul {
            trans_a,
            trans_b,
            a_batch: vec![0],
            b_batch: vec![0],
        };
        return Ok((layout, GemmShape { m: m * count, k, n }, 1));
    }
    // Index of each output batch's operand matrix under broadcasting.
    let index = |dims: &[usize], p: usize| -> usize {
        let (mut rem, mut idx, mut stride) = (p, 0, 1);
        for (d, &size) in batch.iter().enumerate().rev() {
            let coord = rem % size;
            rem /= size;
            let off = batch.len() - dims.len();
            if d >= off {
                let own = dims[d - off];
                idx += if own == 1 { 0 } else { coord } * stride;
                stride *= own;
            }
        }
        idx
    };
    let layout = GemmLayout::MatMul {
        trans_a,
        trans_b,
        a_batch: (0..count).map(|p| index(ab, p)).collect(),
        b_batch: (0..count).map(|p| index(bb, p)).collect(),
    };
    Ok((layout, GemmShape { m, k, n }, count))
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

/// Element-operations a vector-unit node performs.
/// The product of `dims` as a u64, saturating (work estimates of absurd shapes stay finite).
fn product(dims: &[usize]) -> u64 {
    dims.iter().fold(1u64, |n, &d| n.saturating_mul(d as u64))
}

fn vector_work(node: &Node, f: &Facts) -> Result<u64> {
    let out: u64 = node
        .outputs
        .iter()
        .fold(0u64, |s, &o| s.saturating_add(product(f.shape(o))));
    let inp = |i: usize| -> Result<u64> { Ok(product(f.shape(node.input(i)?))) };
    Ok(match &node.op {
        Op::Reshape { .. }
        | Op::Flatten { .. }
        | Op::Squeeze { .. }
        | Op::Unsqueeze { .. }
        | Op::Identity
        | Op::Shape { .. } => 0,
        Op::MaxPool(p) | Op::AveragePool(p) => out.saturating_mul(product(&p.kernel_shape)),
        Op::GlobalAveragePool | Op::GlobalMaxPool => inp(0)?,
        Op::BatchNormalization { .. } => out.saturating_mul(2),
        Op::Softmax { .. } => out.saturating_mul(3),
        Op::Unary(u) => out.saturating_mul(unary_ops(*u)),
        // One product of logarithm and exponential per element.
        Op::Pow => out.saturating_mul(16),
        // A reduction reads every input element once (a mean adds one division per output).
        Op::Reduce(_) => inp(0)?.saturating_add(out),
        // Mean and variance passes over the input, then normalize, scale and shift.
        Op::LayerNormalization { .. } => inp(0)?.saturating_mul(5),
        // Variadic Min/Max: one comparison per extra operand.
        Op::Min | Op::Max => out.saturating_mul(node.inputs.len().saturating_sub(1).max(1) as u64),
        // Linear: a multiply-add per blended neighbour along each resampled axis.
        Op::Resize(a) => match a.mode {
            ResizeMode::Nearest(_) => out,
            ResizeMode::Linear => out.saturating_mul(2 * f.shape(node.input(0)?).len() as u64),
        },
        // Min and max over the input, then a division and rounding per element.
        Op::DynamicQuantizeLinear => inp(0)?.saturating_add(out).saturating_mul(2),
        _ => out,
    })
}
