//! Shape and type inference for concrete input shapes, with constant folding of
//! shape sub-graphs (Shape → Gather → Concat → Reshape chains and the like).

use super::fold::try_fold;
use super::geometry::Window;
use super::movement::{
    expand_shape, flatten_shape, reshape_shape, slice_axes, sliced_shape, split_lengths,
    squeeze_shape, transpose_perm, unsqueeze_shape,
};
use super::{Graph, Node, Op, ValueId, exact, generate, pad, reduce, resize, rules};
use crate::error::{Error, Result};
use crate::tensor::ops::{broadcast_shapes, normalize_axis};
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
/// output shape, see [`Op::shape_inputs`]), folds what becomes constant, and infers every
/// remaining value. Returns the specialised graph (folded nodes removed) and its facts.
pub fn specialize(graph: &Graph, inputs: &[InputBinding]) -> Result<(Graph, Facts)> {
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
        if let Some(outs) = try_fold(&g, &facts, &node).map_err(fail)? {
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

fn const_ints(g: &Graph, node: &Node, i: usize, what: &str) -> Result<Option<Vec<i64>>> {
    match node.inputs.get(i).copied().flatten() {
        None => Ok(None),
        Some(v) => match g.constant(v) {
            Some(t) => t.to_i64_vec().map(Some),
            None => Err(Error::Shape(format!(
                "{what} must be a constant (dynamic shapes are not supported)"
            ))),
        },
    }
}

fn const_floats(g: &Graph, node: &Node, i: usize, what: &str) -> Result<Option<Vec<f64>>> {
    match node.inputs.get(i).copied().flatten() {
        None => Ok(None),
        Some(v) => match g.constant(v) {
            Some(t) => Ok(Some(t.to_f64().iter().copied().collect())),
            None => Err(Error::Shape(format!(
                "{what} must be a constant (dynamic shapes are not supported)"
            ))),
        },
    }
}

/// The common type of inputs that must agree.
fn same_dtype(f: &Facts, ids: &[ValueId]) -> Result<DType> {
    let first = f.dtype(ids[0]);
    match ids.iter().map(|&v| f.dtype(v)).find(|&d| d != first) {
        Some(other) => Err(Error::Shape(format!(
            "operand types differ: {first} and {other}"
        ))),
        None => Ok(first),
    }
}

/// Output types and shapes of one node.
pub(super) fn infer_node(g: &Graph, f: &Facts, node: &Node) -> Result<Vec<(DType, Vec<usize>)>> {
    let x = || node.input(0);
    let same = |shape: Vec<usize>| -> Result<Vec<(DType, Vec<usize>)>> {
        Ok(vec![(f.dtype(x()?), shape)])
    };
    let zp_type = |i: usize, default: DType| {
        node.inputs
            .get(i)
            .copied()
            .flatten()
            .map_or(default, |v| f.dtype(v))
    };
    match &node.op {
        Op::Conv(a) | Op::ConvInteger(a) | Op::QLinearConv(a, _) => {
            let w_at = if matches!(node.op, Op::QLinearConv(..)) {
                3
            } else {
                1
            };
            let xs = f.shape(x()?);
            let ws = f.shape(node.input(w_at)?);
            if xs.len() < 3 || ws.len() != xs.len() {
                return Err(Error::Shape(format!(
                    "conv input {xs:?} and weight {ws:?} ranks do not fit"
                )));
            }
            let group = a.group.max(1);
            if ws[1].checked_mul(group) != Some(xs[1]) || !ws[0].is_multiple_of(group) {
                return Err(Error::Shape(format!(
                    "conv input channels {} do not match weight {ws:?} with group {group}",
                    xs[1]
                )));
            }
            let kernel = a.kernel_shape.clone().unwrap_or_else(|| ws[2..].to_vec());
            if kernel != ws[2..] {
                return Err(Error::Shape(format!(
                    "kernel_shape {kernel:?} differs from the weight {ws:?}"
                )));
            }
            let win = Window::of_conv(a, xs, &kernel)?;
            let mut out = vec![xs[0], ws[0]];
            out.extend(win.output);
            let dt = match node.op {
                Op::Conv(_) => f.dtype(x()?),
                Op::ConvInteger(_) => DType::I32,
                _ => zp_type(7, DType::U8),
            };
            Ok(vec![(dt, out)])
        }
        Op::ConvTranspose(a) => {
            let (xs, ws) = (f.shape(x()?), f.shape(node.input(1)?));
            let win = Window::of_conv_transpose(a, xs, ws)?;
            let channels = ws[1].checked_mul(a.conv.group).ok_or_else(|| {
                Error::Shape(format!(
                    "{} output channels per group × group {} overflows",
                    ws[1], a.conv.group
                ))
            })?;
            let mut out = vec![xs[0], channels];
            out.extend(win.output);
            if let Some(b) = node.inputs.get(2).copied().flatten()
                && f.shape(b) != [out[1]]
            {
                return Err(Error::Shape(format!(
                    "bias {:?} does not fit {} output channels",
                    f.shape(b),
                    out[1]
                )));
            }
            same(out)
        }
        Op::Gemm(a) => {
            let (sa, sb) = (f.shape(x()?), f.shape(node.input(1)?));
            if sa.len() != 2 || sb.len() != 2 {
                return Err(Error::Shape(format!(
                    "Gemm needs 2-D operands, got {sa:?} and {sb:?}"
                )));
            }
            let (m, ka) = if a.trans_a {
                (sa[1], sa[0])
            } else {
                (sa[0], sa[1])
            };
            let (kb, n) = if a.trans_b {
                (sb[1], sb[0])
            } else {
                (sb[0], sb[1])
            };
            if ka != kb {
                return Err(Error::Shape(format!(
                    "Gemm inner dims differ: {sa:?} · {sb:?}"
                )));
            }
            if let Some(c) = node.inputs.get(2).copied().flatten() {
                broadcast_shapes(f.shape(c), &[m, n])?;
            }
            same(vec![m, n])
        }
        Op::MatMul | Op::MatMulInteger | Op::QLinearMatMul(_) => {
            let b_at = if matches!(node.op, Op::QLinearMatMul(_)) {
                3
            } else {
                1
            };
            let shape = matmul_shape(f.shape(x()?), f.shape(node.input(b_at)?))?;
            let dt = match node.op {
                Op::MatMul => f.dtype(x()?),
                Op::MatMulInteger => DType::I32,
                _ => zp_type(7, DType::U8),
            };
            Ok(vec![(dt, shape)])
        }
        Op::Relu
        | Op::Clip { .. }
        | Op::Identity
        | Op::Softmax { .. }
        | Op::BatchNormalization { .. } => same(f.shape(x()?).to_vec()),
        Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Compare(_) | Op::Logic(_) => {
            let (a, b) = (x()?, node.input(1)?);
            let dt = same_dtype(f, &[a, b])?;
            let out = matches!(node.op, Op::Compare(_) | Op::Logic(_));
            let dt = if out { DType::Bool } else { dt };
            Ok(vec![(dt, broadcast_shapes(f.shape(a), f.shape(b))?)])
        }
        Op::Pow | Op::PRelu => same(broadcast_shapes(f.shape(x()?), f.shape(node.input(1)?))?),
        Op::Where | Op::Min | Op::Max => {
            let ids: Vec<ValueId> = (0..node.inputs.len())
                .map(|i| node.input(i))
                .collect::<Result<_>>()?;
            let values = if node.op == Op::Where {
                &ids[1..]
            } else {
                &ids[..]
            };
            let dt = same_dtype(f, values)?;
            let shapes: Vec<&[usize]> = ids.iter().map(|&v| f.shape(v)).collect();
            Ok(vec![(dt, exact::broadcast_all(&shapes)?)])
        }
        Op::Unary(_) | Op::Not => same(f.shape(x()?).to_vec()),
        Op::Reduce(r) => {
            let axes = match &r.axes {
                Some(a) => Some(a.clone()),
                None => const_ints(g, node, 1, "the reduction's axes")?,
            };
            let xs = f.shape(x()?);
            let ax = reduce::reduce_axes(xs.len(), axes.as_deref(), r.noop_with_empty_axes)?;
            same(reduce::reduced_shape(xs, &ax, r.keepdims))
        }
        Op::LayerNormalization { axis, .. } => {
            let xs = f.shape(x()?);
            let ax = normalize_axis(*axis, xs.len())?;
            if xs[ax..].contains(&0) {
                return Err(Error::Shape(format!(
                    "LayerNormalization normalises over nothing: input {xs:?} is empty from axis {ax} on"
                )));
            }
            let mut stats = xs.to_vec();
            stats[ax..].fill(1);
            let dt = f.dtype(x()?);
            Ok(vec![(dt, xs.to_vec()), (dt, stats.clone()), (dt, stats)])
        }
        Op::Split {
            axis,
            split,
            parts,
            uneven,
        } => {
            let xs = f.shape(x()?);
            let ax = normalize_axis(*axis, xs.len())?;
            let lengths = match split {
                Some(s) => Some(s.clone()),
                None => const_ints(g, node, 1, "Split's lengths")?,
            };
            let dt = f.dtype(x()?);
            Ok(split_lengths(xs[ax], lengths.as_deref(), *parts, *uneven)?
                .into_iter()
                .map(|l| {
                    let mut s = xs.to_vec();
                    s[ax] = l;
                    (dt, s)
                })
                .collect())
        }
        Op::Expand => {
            let target = const_ints(g, node, 1, "Expand's shape")?
                .ok_or_else(|| Error::Shape("Expand needs a shape".into()))?;
            same(expand_shape(f.shape(x()?), &target)?)
        }
        Op::ConstantOfShape { value } => {
            let shape = g
                .constant(x()?)
                .ok_or_else(|| Error::Shape("ConstantOfShape's shape must be a constant".into()))?;
            Ok(vec![(value.dtype(), generate::dims(shape)?)])
        }
        Op::Range => Err(Error::Shape(
            "Range's start, limit and delta must be constants".into(),
        )),
        Op::Pad { pads, mode, .. } => {
            let pads = match pads {
                Some(p) => p.clone(),
                None => const_ints(g, node, 1, "Pad's pads")?
                    .ok_or_else(|| Error::Shape("Pad needs pads".into()))?,
            };
            let axes = const_ints(g, node, 3, "Pad's axes")?;
            let xs = f.shape(x()?);
            let resolved = pad::resolve(xs.len(), &pads, axes.as_deref())?;
            pad::check_fill(xs, &resolved, *mode)?;
            same(pad::padded_shape(xs, &resolved)?)
        }
        Op::Resize(a) => {
            let roi = const_floats(g, node, 1, "Resize's roi")?;
            let scales = const_floats(g, node, 2, "Resize's scales")?;
            let sizes = const_ints(g, node, 3, "Resize's sizes")?;
            let p = resize::plan(
                a,
                f.shape(x()?),
                roi.as_deref(),
                scales.as_deref(),
                sizes.as_deref(),
            )?;
            same(p.shape)
        }
        Op::DynamicQuantizeLstm(a) => {
            let (xs, ws, rs) = (
                f.shape(x()?),
                f.shape(node.input(1)?),
                f.shape(node.input(2)?),
            );
            let (dirs, h) = (a.direction.count(), a.hidden);
            let fits = xs.len() == 3
                && ws.len() == 3
                && rs.len() == 3
                && ws == [dirs, xs[2], 4 * h]
                && rs == [dirs, h, 4 * h];
            if !fits || f.dtype(x()?) != DType::F32 {
                return Err(Error::Shape(format!(
                    "X {xs:?} (f32, [seq, batch, input]), W {ws:?} and R {rs:?} do not fit \
                     {dirs} direction(s) of hidden size {h}"
                )));
            }
            let state = vec![dirs, xs[1], h];
            Ok(vec![
                (DType::F32, vec![xs[0], dirs, xs[1], h]),
                (DType::F32, state.clone()),
                (DType::F32, state),
            ])
        }
        Op::DynamicQuantizeLinear => Ok(vec![
            (DType::U8, f.shape(x()?).to_vec()),
            (DType::F32, Vec::new()),
            (DType::U8, Vec::new()),
        ]),
        Op::MaxPool(p) | Op::AveragePool(p) => {
            let xs = f.shape(x()?);
            if xs.len() < 3 {
                return Err(Error::Shape(format!(
                    "pooling needs N,C,spatial… input, got {xs:?}"
                )));
            }
            only_batch_empty(xs)?;
            let win = Window::of_pool(p, xs)?;
            let mut out = xs[..2].to_vec();
            out.extend(win.output);
            same(out)
        }
        Op::GlobalAveragePool | Op::GlobalMaxPool => {
            let xs = f.shape(x()?);
            if xs.len() < 3 {
                return Err(Error::Shape(format!(
                    "global pooling needs N,C,spatial… input, got {xs:?}"
                )));
            }
            only_batch_empty(xs)?;
            let mut out = xs[..2].to_vec();
            out.extend(std::iter::repeat_n(1, xs.len() - 2));
            same(out)
        }
        Op::Flatten { axis } => same(flatten_shape(f.shape(x()?), *axis)?),
        Op::Reshape { allowzero } => {
            let target = const_ints(g, node, 1, "Reshape's shape")?
                .ok_or_else(|| Error::Shape("Reshape needs a shape".into()))?;
            same(reshape_shape(f.shape(x()?), &target, *allowzero)?)
        }
        Op::Transpose { perm } => {
            let xs = f.shape(x()?);
            let perm = transpose_perm(xs.len(), perm.as_deref());
            if perm.len() != xs.len() || perm.iter().any(|&p| p >= xs.len()) {
                return Err(Error::Shape(format!(
                    "perm {perm:?} does not fit rank {}",
                    xs.len()
                )));
            }
            same(perm.iter().map(|&p| xs[p]).collect())
        }
        Op::Concat { axis } => {
            let first = f.shape(x()?).to_vec();
            let ax = normalize_axis(*axis, first.len())?;
            let mut out = first.clone();
            out[ax] = 0;
            for i in &node.inputs {
                let s = f.shape(i.ok_or_else(|| Error::Shape("Concat input missing".into()))?);
                if s.len() != first.len()
                    || s.iter()
                        .zip(&first)
                        .enumerate()
                        .any(|(d, (a, b))| d != ax && a != b)
                {
                    return Err(Error::Shape(format!(
                        "Concat inputs {first:?} and {s:?} differ off axis {ax}"
                    )));
                }
                out[ax] += s[ax];
            }
            same(out)
        }
        Op::QuantizeLinear { output_dtype, .. } => {
            let dt = node
                .inputs
                .get(2)
                .copied()
                .flatten()
                .map(|v| f.dtype(v))
                .or(*output_dtype)
                .unwrap_or(DType::U8);
            Ok(vec![(dt, f.shape(x()?).to_vec())])
        }
        Op::DequantizeLinear { .. } => Ok(vec![(f.dtype(node.input(1)?), f.shape(x()?).to_vec())]),
        Op::Shape { .. } => unreachable!("Shape is always folded"),
        Op::Gather { axis } => {
            let xs = f.shape(x()?);
            let ax = normalize_axis(*axis, xs.len())?;
            let mut out = xs[..ax].to_vec();
            out.extend_from_slice(f.shape(node.input(1)?));
            out.extend_from_slice(&xs[ax + 1..]);
            same(out)
        }
        Op::Unsqueeze { axes } => {
            let axes = match axes {
                Some(a) => a.clone(),
                None => const_ints(g, node, 1, "Unsqueeze's axes")?
                    .ok_or_else(|| Error::Shape("Unsqueeze needs axes".into()))?,
            };
            same(unsqueeze_shape(f.shape(x()?), &axes)?)
        }
        Op::Squeeze { axes } => {
            let axes = match axes {
                Some(a) => Some(a.clone()),
                None => const_ints(g, node, 1, "Squeeze's axes")?,
            };
            same(squeeze_shape(f.shape(x()?), axes.as_deref())?)
        }
        Op::Cast { to } => Ok(vec![(*to, f.shape(x()?).to_vec())]),
        Op::Slice => {
            let xs = f.shape(x()?);
            let req = |i, w| {
                const_ints(g, node, i, w)?.ok_or_else(|| Error::Shape(format!("Slice needs {w}")))
            };
            let (starts, ends) = (req(1, "starts")?, req(2, "ends")?);
            let axes = const_ints(g, node, 3, "Slice's axes")?;
            let steps = const_ints(g, node, 4, "Slice's steps")?;
            same(sliced_shape(
                xs,
                &slice_axes(xs, &starts, &ends, axes.as_deref(), steps.as_deref())?,
            ))
        }
    }
}

/// Pooling of an empty channel or spatial axis is refused (as onnxruntime does); an empty
/// batch gives an empty output.
fn only_batch_empty(xs: &[usize]) -> Result<()> {
    match xs.iter().skip(1).position(|&d| d == 0) {
        Some(d) => Err(Error::Shape(format!(
            "pooling input {xs:?} is empty along dim {}: only the batch may be empty",
            d + 1
        ))),
        None => Ok(()),
    }
}

/// numpy `matmul`'s promotion of 1-D operands: `a` becomes a row `[1, k]`, `b` a column `[k, 1]`.
pub fn promote_matmul(a: &[usize], b: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let a2 = if a.len() == 1 {
        vec![1, a[0]]
    } else {
        a.to_vec()
    };
    let b2 = if b.len() == 1 {
        vec![b[0], 1]
    } else {
        b.to_vec()
    };
    (a2, b2)
}

/// numpy `matmul` output shape (1-D operands promoted and the added dim removed).
pub fn matmul_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    if a.is_empty() || b.is_empty() {
        return Err(Error::Shape("MatMul of a scalar".into()));
    }
    let (a2, b2) = promote_matmul(a, b);
    let (m, k) = (a2[a2.len() - 2], a2[a2.len() - 1]);
    let (kb, n) = (b2[b2.len() - 2], b2[b2.len() - 1]);
    if k != kb {
        return Err(Error::Shape(format!(
            "MatMul inner dims differ: {a:?} · {b:?}"
        )));
    }
    let mut out = broadcast_shapes(&a2[..a2.len() - 2], &b2[..b2.len() - 2])?;
    if a.len() > 1 {
        out.push(m);
    }
    if b.len() > 1 {
        out.push(n);
    }
    Ok(out)
}
