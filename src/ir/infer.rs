//! Specialisation to concrete input shapes: shape and type inference (dispatched to each op's
//! home in [`super::ops`]), with constant folding of shape sub-graphs (Shape → Gather →
//! Concat → Reshape chains and the like).

use super::fold::{Evaluator, try_fold};
use super::ops::{
    Infer, Typed, conv, elementwise, gemm, generate, movement, norm, pad, pool, quant, recurrent,
    reduce, resize,
};
use super::{Graph, Node, Op, ValueId, rules};
use crate::error::{Error, Result};
use crate::tensor::{DType, Tensor};

/// Known element type and shape of every value of a specialised graph.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    types: Vec<Option<(DType, Vec<usize>)>>,
}

impl Facts {
    /// Element type of a value.
    pub fn dtype(&self, v: ValueId) -> DType {
        self.get(v).0
    }

    /// Shape of a value.
    pub fn shape(&self, v: ValueId) -> &[usize] {
        &self.get(v).1
    }

    /// Element type and shape of a value, when it is live.
    pub fn typed(&self, v: ValueId) -> Option<&(DType, Vec<usize>)> {
        self.types.get(v.0)?.as_ref()
    }

    fn get(&self, v: ValueId) -> &(DType, Vec<usize>) {
        self.types[v.0]
            .as_ref()
            .expect("specialize infers every live value")
    }

    fn set(&mut self, v: ValueId, dtype: DType, shape: Vec<usize>) {
        self.types[v.0] = Some((dtype, shape));
    }
}

/// Largest integer input whose value a program may be specialised to.
const MAX_BOUND_VALUE_ELEMENTS: usize = 64;

/// A runtime input as specialisation sees it: its type and shape, and its value when the
/// program may depend on it (a small tensor such as a Reshape's target shape or Resize's
/// scales).
#[derive(Debug, Clone, PartialEq)]
pub struct InputBinding {
    /// Element type.
    pub dtype: DType,
    /// Shape.
    pub shape: Vec<usize>,
    /// The value the program is specialised to, if any.
    pub value: Option<Tensor>,
}

impl InputBinding {
    /// A binding by type and shape only.
    pub fn shape_only(dtype: DType, shape: Vec<usize>) -> InputBinding {
        InputBinding {
            dtype,
            shape,
            value: None,
        }
    }

    /// The binding of a concrete input: small tensors bind their value too (the program is
    /// specialised to it only where a node's output shape depends on it).
    pub fn of(t: &Tensor) -> InputBinding {
        InputBinding {
            dtype: t.dtype(),
            shape: t.shape().to_vec(),
            value: (t.len() <= MAX_BOUND_VALUE_ELEMENTS).then(|| t.clone()),
        }
    }
}

/// Binds concrete input types and shapes (and the values of small inputs that decide an
/// output shape, see [`Op::shape_inputs`]), folds what becomes constant (evaluated by
/// `exact`), and infers every remaining value. Returns the specialised graph (folded nodes
/// removed) and its facts.
pub fn specialize(
    graph: &Graph,
    inputs: &[InputBinding],
    exact: Evaluator,
) -> Result<(Graph, Facts)> {
    if inputs.len() != graph.inputs.len() {
        return Err(Error::Shape(format!(
            "the model has {} inputs, {} given",
            graph.inputs.len(),
            inputs.len()
        )));
    }
    let mut g = graph.clone();
    let mut facts = Facts {
        types: vec![None; g.values.len()],
    };
    let decides_shape = |id: ValueId| {
        graph.nodes.iter().any(|n| {
            n.op.shape_inputs()
                .iter()
                .any(|&i| n.inputs.get(i).copied().flatten() == Some(id))
        })
    };
    let limits = graph.limits;
    let mut bytes = 0u64;
    // Every value's size is checked against the graph's limits before anything of that size
    // is allocated (the folding below allocates only within its own, smaller bound).
    let mut admit = |name: &str, dt: DType, shape: &[usize]| -> Result<()> {
        let what = format!("value '{name}'");
        let b = limits.bytes(dt.size_bytes(), shape, &what)?;
        limits.add_bytes(&mut bytes, b, &what)
    };
    for (&id, b) in graph.inputs.iter().zip(inputs) {
        check_declared(graph, id, b.dtype, &b.shape)?;
        admit(&graph.value(id).name, b.dtype, &b.shape)?;
        facts.set(id, b.dtype, b.shape.clone());
        if let Some(v) = &b.value
            && decides_shape(id)
        {
            g.values[id.0].constant = Some(v.clone().into());
        }
    }
    for v in 0..g.values.len() {
        if let Some(c) = &g.values[v].constant {
            facts.set(ValueId(v), c.dtype(), c.shape().to_vec());
        }
    }
    let mut kept = Vec::with_capacity(g.nodes.len());
    for node in std::mem::take(&mut g.nodes) {
        let fail = |e: Error| match e {
            e @ (Error::Node { .. } | Error::Unsupported { .. }) => e,
            e => Error::node(&node.name, node.op.name(), e.to_string()),
        };
        let outputs = node.outputs.len();
        let count = |n: usize| {
            if n < outputs {
                Err(fail(Error::Shape(format!(
                    "{n} outputs computed for {outputs}"
                ))))
            } else {
                Ok(())
            }
        };
        rules::check(&facts, &node).map_err(fail)?;
        if let Some(outs) = try_fold(&g, &facts, &node, exact).map_err(fail)? {
            count(outs.len())?;
            for (&o, t) in node.outputs.iter().zip(outs) {
                admit(&g.values[o.0].name, t.dtype(), t.shape()).map_err(fail)?;
                facts.set(o, t.dtype(), t.shape().to_vec());
                g.values[o.0].constant = Some(t.into());
            }
            continue;
        }
        let typed = infer_node(&g, &facts, &node).map_err(fail)?;
        count(typed.len())?;
        for (&o, (dt, shape)) in node.outputs.iter().zip(typed) {
            admit(&g.values[o.0].name, dt, &shape).map_err(fail)?;
            facts.set(o, dt, shape);
        }
        kept.push(node);
    }
    g.nodes = kept;
    for &o in &g.outputs {
        if facts.types[o.0].is_none() {
            return Err(Error::Shape(format!(
                "graph output '{}' is never computed",
                g.values[o.0].name
            )));
        }
    }
    Ok((g, facts))
}

fn check_declared(graph: &Graph, id: ValueId, dtype: DType, shape: &[usize]) -> Result<()> {
    let v = graph.value(id);
    if let Some(d) = v.dtype
        && d != dtype
    {
        return Err(Error::Shape(format!(
            "input '{}' is declared {d}, got {dtype}",
            v.name
        )));
    }
    if let Some(decl) = &v.shape {
        let fits = decl.len() == shape.len()
            && decl.iter().zip(shape).all(|(d, &s)| match d {
                super::Dim::Fixed(f) => *f == s,
                super::Dim::Symbolic(_) => true,
            });
        if !fits {
            let decl: Vec<String> = decl
                .iter()
                .map(|d| match d {
                    super::Dim::Fixed(f) => f.to_string(),
                    super::Dim::Symbolic(s) => s.clone(),
                })
                .collect();
            return Err(Error::Shape(format!(
                "input '{}' is declared [{}], got {shape:?}",
                v.name,
                decl.join(",")
            )));
        }
    }
    Ok(())
}

/// Output types and shapes of one node.
pub(super) fn infer_node(g: &Graph, f: &Facts, node: &Node) -> Result<Typed> {
    let cx = &Infer { g, f, node };
    match &node.op {
        Op::Conv(a) | Op::ConvInteger(a) | Op::QLinearConv(a, _) => conv::conv(cx, a),
        Op::ConvTranspose(a) => conv::conv_transpose(cx, a),
        Op::Gemm(a) => gemm::gemm(cx, a),
        Op::MatMul | Op::MatMulInteger | Op::QLinearMatMul(_) => gemm::matmul(cx),
        Op::Relu | Op::Clip { .. } | Op::Unary(_) | Op::Not => cx.unchanged(),
        Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Compare(_) | Op::Logic(_) => {
            elementwise::binary(cx)
        }
        Op::Pow | Op::PRelu => elementwise::broadcast(cx),
        Op::Where | Op::Min | Op::Max => elementwise::variadic(cx),
        Op::Softmax { .. } | Op::BatchNormalization { .. } => cx.unchanged(),
        Op::LayerNormalization { axis, .. } => norm::layer_normalization(cx, *axis),
        Op::MaxPool(p) | Op::AveragePool(p) => pool::pool(cx, p),
        Op::GlobalAveragePool | Op::GlobalMaxPool => pool::global(cx),
        Op::Reduce(r) => reduce::reduce(cx, r),
        movement::data_movement!() => movement::infer(cx),
        Op::ConstantOfShape { value } => generate::infer_constant_of_shape(cx, value),
        Op::Range => generate::infer_range(),
        Op::Pad { pads, mode, .. } => pad::infer(cx, *mode, pads.as_deref()),
        Op::Resize(a) => resize::resize(cx, a),
        Op::QuantizeLinear { output_dtype, .. } => quant::quantize_linear(cx, *output_dtype),
        Op::DequantizeLinear { .. } => quant::dequantize_linear(cx),
        Op::DynamicQuantizeLinear => quant::dynamic_quantize_linear(cx),
        Op::Recurrent(a) => recurrent::recurrent(cx, a),
        Op::DynamicQuantizeLstm(a) => recurrent::dynamic_quantize_lstm(cx, a),
        // ReLU keeps the type and shape.
        Op::FusedRelu(op) => infer_node(g, f, &node.with_op((**op).clone())),
    }
}
