//! Lowering: IR → [`Program`]. Rewrites the graph (BN, QDQ), specialises shapes (folding constants
//! with the vector unit's exact evaluation), maps every GEMM-class node to tiled GEMMs on the
//! arrays and every other node to the vector unit, costed by the unit's own model.

mod append;
mod layout;
mod program;
pub mod tiling;
mod vector;

pub use vector::{Operands, fold, vector_op};

use crate::array;
use crate::config::AcceleratorConfig;
use crate::error::{Error, Result};
use crate::ir::geometry::Window;
use crate::ir::{
    EpilogueAct, Facts, Graph, InputBinding, Node, Op, ValueId, promote_matmul, recurrent, rewrite,
    specialize,
};
use crate::kernel::{
    Datapath, FloatFormat, GemmEpilogue, GemmKernel, GemmLayout, GemmShape, Kernel, Precision,
    Program, Traffic, VectorKernel,
};
use crate::tensor::DType;
use crate::tensor::ops::broadcast_shapes;
use append::InPlace;

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
    // The rewrites need every value's type, so they run on a specialised graph, which is then
    // specialised again to type the values the rewrites created.
    let (mut g, mut facts) = specialize(graph, inputs, fold)?;
    if recurrent::unroll(&mut g, &facts)? {
        (g, facts) = specialize(&g, inputs, fold)?;
    }
    rewrite::optimize(&mut g, &facts, cfg.rewrites);
    let (g, facts) = specialize(&g, inputs, fold)?;
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
    Ok(program::assemble(g, &facts, kernels))
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
        return vector_kernel(g, node, f, cfg, precision).map(Kernel::Vector);
    }
    if let (op, true) = node.op.unfused() {
        // The GEMM as it is, with ReLU in its output unit.
        let mut kernel = lower_node(g, &node.with_op(op.clone()), f, cfg, precision)?;
        if let Kernel::Gemm(k) = &mut kernel {
            k.epilogue.relu = true;
        }
        return Ok(kernel);
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
        inputs: node.op.gemm_inputs(),
        epilogue: epilogue(node, f, shape.n),
        shape,
        problems,
        datapath,
        tiles,
        elem_bytes: [ea, ea, ec],
        traffic,
        timing_only,
    })))
}

/// The output unit of GEMM-class `node` with `n` output columns: Gemm's scales, whether its
/// bias preloads the accumulators, and a quantized GEMM's ReLU.
fn epilogue(node: &Node, f: &Facts, n: usize) -> GemmEpilogue {
    let (alpha, beta) = match &node.op {
        Op::Gemm(a) => (a.alpha, a.beta),
        _ => (1.0, 1.0),
    };
    let preload_bias = match &node.op {
        Op::Conv(_) | Op::ConvTranspose(_) => true,
        Op::Gemm(_) => node.inputs.get(2).copied().flatten().is_some_and(|c| {
            let cs = f.shape(c);
            alpha == 1.0
                && beta == 1.0
                && cs.iter().product::<usize>() == n
                && cs.last() == Some(&n)
        }),
        _ => false,
    };
    GemmEpilogue {
        alpha,
        beta,
        preload_bias,
        relu: matches!(
            node.op,
            Op::QLinearConv(_, EpilogueAct::Relu) | Op::QLinearMatMul(EpilogueAct::Relu)
        ),
    }
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
    let activations = bytes > on_chip_bytes(cfg);
    Ok(Traffic {
        activations,
        weights: weights_constant || activations,
    })
}

/// Activation bytes that stay on chip: half of the arrays' scratchpads (the other half
/// double-buffers).
fn on_chip_bytes(cfg: &AcceleratorConfig) -> u64 {
    (cfg.arrays as u64)
        .saturating_mul(cfg.sram_kib_per_array)
        .saturating_mul(512)
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

/// A vector-unit node: its op resolved against its input shapes and the constant inputs that
/// decide them (no other constant is read, so a weight stays undecoded), and the
/// element-operations it costs (see [`array::vector::work`]). Like a GEMM's activations, its
/// non-constant inputs and its outputs cross the DRAM interface when they do not fit on chip,
/// float values in the width `precision` gives the GEMMs' activations.
///
/// A KV-cache append ([`append::in_place`]) is costed in place when
/// `cfg.kv_append_in_place`: whether it crosses the DRAM interface is decided on the whole
/// cache as for any node, but it reads nothing of the past cache, writes only the part
/// appended and works on that part alone, and an `Identity` naming the appended cache as a
/// graph output moves nothing. Values are computed as for any Concat and Identity.
///
/// A Transpose folded into a GEMM's B operand ([`layout::folded_into_operand`]) costs
/// nothing when `cfg.fold_operand_transposes`.
fn vector_kernel(
    g: &Graph,
    node: &Node,
    f: &Facts,
    cfg: &AcceleratorConfig,
    precision: Precision,
) -> Result<VectorKernel> {
    let deciding = node.op.shape_inputs();
    let operands = Operands {
        shapes: node.inputs.iter().map(|i| i.map(|v| f.shape(v))).collect(),
        values: (node.inputs.iter().enumerate())
            .map(|(pos, i)| match i {
                Some(v) if deciding.contains(&pos) => g.constant(*v),
                _ => None,
            })
            .collect(),
    };
    let op = vector_op(&node.op, &operands)?;
    let outputs: Vec<&[usize]> = node.outputs.iter().map(|&o| f.shape(o)).collect();
    let work = array::vector::work(&op, &operands.shapes, &outputs)?;
    let width = |d: DType| match (d.is_float(), precision) {
        (true, Precision::Int8) => 1,
        (true, Precision::Fp16 | Precision::Bf16) => 2,
        (true, Precision::Fp32) => 4,
        _ => d.size_bytes(),
    };
    let elements = |v: ValueId| f.shape(v).iter().product::<usize>() as u64;
    let bytes = |v: ValueId| elements(v) * width(f.dtype(v)) as u64;
    let reads: u64 = node
        .inputs
        .iter()
        .flatten()
        .filter(|&&v| !g.is_constant(v))
        .map(|&v| bytes(v))
        .sum();
    let writes: u64 = node.outputs.iter().map(|&v| bytes(v)).sum();
    let on_chip = reads.saturating_add(writes) <= on_chip_bytes(cfg);
    let in_place = match cfg.kv_append_in_place {
        true => append::in_place(g, node),
        false => None,
    };
    let folded = cfg.fold_operand_transposes
        && node
            .inputs
            .first()
            .copied()
            .flatten()
            .is_some_and(|x| layout::folded_into_operand(g, node, f.shape(x).len()));
    let (work, reads, writes) = match in_place {
        _ if folded => (0, 0, 0),
        Some(InPlace::Append { past }) => (
            work.saturating_sub(elements(past)),
            reads.saturating_sub(bytes(past)),
            writes.saturating_sub(bytes(past)),
        ),
        Some(InPlace::Alias) => (work, 0, 0),
        None => (work, reads, writes),
    };
    let (reads, writes) = match on_chip {
        false => (reads, writes),
        true => (0, 0),
    };
    Ok(VectorKernel {
        op,
        work,
        reads,
        writes,
    })
}

#[cfg(test)]
mod tests {
    use super::fold;
    use crate::ir::{Graph, InputBinding, Node, Op, Value, specialize};
    use crate::tensor::{DType, Tensor};
    use ndarray::{ArrayD, IxDyn};

    fn value(g: &mut Graph, name: &str, constant: Option<Tensor>) -> crate::ir::ValueId {
        g.add_value(Value {
            name: name.into(),
            dtype: None,
            shape: None,
            constant: constant.map(Tensor::into),
        })
    }

    #[test]
    fn shape_arithmetic_with_the_new_ops_folds_away() {
        // m = Max(Shape(x), [1, 4]); c = ConstantOfShape(m); y = Expand(x, m): every node but
        // the Expand folds, and the Expand's target shape [2, 4] is known.
        let mut g = Graph::default();
        let x = value(&mut g, "x", None);
        let floor = Tensor::I64(ArrayD::from_shape_vec(IxDyn(&[2]), vec![1, 4]).unwrap());
        let floor = value(&mut g, "floor", Some(floor));
        let one = Tensor::I64(ArrayD::from_elem(IxDyn(&[1]), 1));
        let [s, m, c, y] = ["s", "m", "c", "y"].map(|n| value(&mut g, n, None));
        let node = |op, inputs: Vec<_>, out| Node {
            name: format!("{out:?}"),
            op,
            inputs: inputs.into_iter().map(Some).collect(),
            outputs: vec![out],
        };
        g.nodes = vec![
            node(
                Op::Shape {
                    start: 0,
                    end: None,
                },
                vec![x],
                s,
            ),
            node(Op::Max, vec![s, floor], m),
            node(Op::ConstantOfShape { value: one }, vec![m], c),
            node(Op::Expand, vec![x, m], y),
        ];
        g.inputs = vec![x];
        g.outputs = vec![c, y];
        let bind = InputBinding::shape_only(DType::F32, vec![2, 1]);
        let (sg, facts) = specialize(&g, &[bind], fold).unwrap();
        assert_eq!(sg.nodes.len(), 1);
        assert_eq!(facts.shape(y), &[2, 4]);
        assert_eq!(sg.constant(c).map(Tensor::shape), Some(&[2usize, 4][..]));
    }
}
