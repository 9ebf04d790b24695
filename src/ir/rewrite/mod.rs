//! Graph rewrites an accelerator compiler makes: BatchNormalization folded into the
//! preceding Conv, QDQ patterns absorbed into integer kernels, no-op nodes removed,
//! transposes cancelled, zero Pads folded into convolutions, ReLUs fused into the GEMMs
//! before them, dead nodes removed. Each can be switched off ([`Rewrites`]).

mod no_ops;
mod pad;
mod relu;
mod transpose;

use crate::config::{Rewrite, Rewrites};

use super::{EpilogueAct, Facts, Graph, Node, Op, Value, ValueId};
use crate::tensor::{DType, Tensor};
use ndarray::{ArrayD, Axis, IxDyn};
use std::collections::HashMap;

/// Runs the rewrites of `set` on a specialised graph (`facts` gives every value's type), in
/// the order of [`Rewrite::ALL`]: those that change values first, so that switching off an
/// exact one leaves the others' work as it was.
pub fn optimize(graph: &mut Graph, facts: &Facts, set: Rewrites) {
    for r in Rewrite::ALL.into_iter().filter(|&r| set.contains(r)) {
        match r {
            Rewrite::FoldBatchnorm => fold_batchnorm(graph),
            Rewrite::AbsorbQdq => absorb_qdq(graph, facts),
            Rewrite::QdqMovement => drop_qdq_around_movement(graph),
            Rewrite::DropNoOps => no_ops::drop_no_ops(graph, facts),
            Rewrite::CancelTransposes => transpose::cancel_transposes(graph, facts),
            Rewrite::FoldPad => pad::fold_pad_into_conv(graph, facts),
            Rewrite::FuseRelu => relu::fuse_relu(graph, facts),
        }
    }
    remove_dead(graph);
}

/// The nodes that read each value, by value id.
struct Consumers(Vec<Vec<usize>>);

impl Consumers {
    fn of(g: &Graph) -> Consumers {
        let mut of = vec![Vec::new(); g.values.len()];
        for (i, n) in g.nodes.iter().enumerate() {
            for v in n.inputs.iter().flatten() {
                if v.0 >= of.len() {
                    of.resize(v.0 + 1, Vec::new());
                }
                of[v.0].push(i);
            }
        }
        Consumers(of)
    }

    /// The nodes that read `v`, in graph order.
    fn get(&self, v: ValueId) -> &[usize] {
        self.0.get(v.0).map_or(&[], Vec::as_slice)
    }
}

fn producers(g: &Graph) -> HashMap<ValueId, usize> {
    g.nodes
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.outputs.iter().map(move |&o| (o, i)))
        .collect()
}

/// The single consumer of `v`, when it has exactly one and is not a graph output.
fn sole_consumer(g: &Graph, cons: &Consumers, v: ValueId) -> Option<usize> {
    match cons.get(v) {
        [i] if !g.outputs.contains(&v) => Some(*i),
        _ => None,
    }
}

fn input(n: &Node, i: usize) -> Option<ValueId> {
    n.inputs.get(i).copied().flatten()
}

/// Folds `Conv → BatchNormalization` (constant weights and statistics) into the Conv.
fn fold_batchnorm(g: &mut Graph) {
    let cons = Consumers::of(g);
    let mut removed = Vec::new();
    for ci in 0..g.nodes.len() {
        let Op::Conv(_) = g.nodes[ci].op else {
            continue;
        };
        let conv_out = g.nodes[ci].outputs[0];
        let Some(bi) = sole_consumer(g, &cons, conv_out) else {
            continue;
        };
        let bn = &g.nodes[bi];
        let Op::BatchNormalization { epsilon } = bn.op else {
            continue;
        };
        if bn.outputs.len() != 1 {
            continue;
        }
        let params: Option<Vec<ArrayD<f64>>> = (1..5)
            .map(|i| input(bn, i).and_then(|v| g.constant(v)).map(Tensor::to_f64))
            .collect();
        let Some(w_id) = input(&g.nodes[ci], 1) else {
            continue;
        };
        let (Some(params), Some(w)) = (params, g.constant(w_id)) else {
            continue;
        };
        let (wdt, wshape) = (w.dtype(), w.shape().to_vec());
        let cout = wshape[0];
        if !wdt.is_float() || params.iter().any(|p| p.len() != cout) {
            continue;
        }
        let bias = match input(&g.nodes[ci], 2) {
            Some(b) => match g.constant(b) {
                Some(t) if t.len() == cout => t.to_f64().iter().copied().collect(),
                _ => continue,
            },
            None => vec![0.0; cout],
        };
        let [scale, beta, mean, var] = [&params[0], &params[1], &params[2], &params[3]]
            .map(|p| p.iter().copied().collect::<Vec<f64>>());
        let factor: Vec<f64> = (0..cout)
            .map(|c| scale[c] / (var[c] + f64::from(epsilon)).sqrt())
            .collect();
        let mut w64 = w.to_f64();
        for (c, mut row) in w64.axis_iter_mut(Axis(0)).enumerate() {
            row.mapv_inplace(|v| v * factor[c]);
        }
        let new_bias: Vec<f64> = (0..cout)
            .map(|c| (bias[c] - mean[c]) * factor[c] + beta[c])
            .collect();
        let new_w = Tensor::F32(w64.mapv(|v| v as f32)).cast(wdt);
        let new_b = Tensor::F32(
            ArrayD::from_shape_vec(IxDyn(&[cout]), new_bias.iter().map(|&v| v as f32).collect())
                .expect("cout elements"),
        )
        .cast(wdt);
        let conv_name = g.nodes[ci].name.clone();
        let w_new = g.add_value(Value {
            name: format!("{conv_name}.folded_weight"),
            dtype: Some(wdt),
            shape: None,
            constant: Some(new_w.into()),
        });
        let b_new = g.add_value(Value {
            name: format!("{conv_name}.folded_bias"),
            dtype: Some(wdt),
            shape: None,
            constant: Some(new_b.into()),
        });
        let bn_out = g.nodes[bi].outputs[0];
        let conv = &mut g.nodes[ci];
        conv.inputs = vec![conv.inputs[0], Some(w_new), Some(b_new)];
        conv.outputs = vec![bn_out];
        removed.push(bi);
    }
    remove_nodes(g, &removed);
}

/// The (quantized input, scale, zero point) of a DequantizeLinear producing `v`.
fn dq_source(
    g: &Graph,
    prod: &HashMap<ValueId, usize>,
    v: ValueId,
) -> Option<[Option<ValueId>; 3]> {
    let n = &g.nodes[*prod.get(&v)?];
    match n.op {
        Op::DequantizeLinear { block_size: 0, .. } => Some([input(n, 0), input(n, 1), input(n, 2)]),
        _ => None,
    }
}

fn is_int8(facts: &Facts, v: Option<ValueId>) -> bool {
    v.is_some_and(|v| matches!(facts.dtype(v), DType::I8 | DType::U8))
}

/// Fuses `DQ → Conv/MatMul/Gemm [→ Relu] → Q` into QLinearConv / QLinearMatMul.
fn absorb_qdq(g: &mut Graph, facts: &Facts) {
    let cons = Consumers::of(g);
    let prod = producers(g);
    let mut dropped = Vec::new();
    for ni in 0..g.nodes.len() {
        let n = g.nodes[ni].clone();
        let (gemm_like, trans_b) = match &n.op {
            Op::Conv(_) => (false, false),
            Op::MatMul => (true, false),
            Op::Gemm(a) if a.alpha == 1.0 && a.beta == 1.0 && !a.trans_a => (true, a.trans_b),
            _ => continue,
        };
        let (Some(x), Some(w)) = (input(&n, 0), input(&n, 1)) else {
            continue;
        };
        let (Some(xq), Some(wq)) = (dq_source(g, &prod, x), dq_source(g, &prod, w)) else {
            continue;
        };
        if !is_int8(facts, xq[0]) || !is_int8(facts, wq[0]) {
            continue;
        }
        // The bias must be an int32 tensor behind its own DequantizeLinear.
        let bias = match input(&n, 2) {
            None => None,
            Some(b) => match dq_source(g, &prod, b) {
                Some([Some(bq), _, _])
                    if g.constant(bq).is_some_and(|t| t.dtype() == DType::I32) =>
                {
                    Some(bq)
                }
                _ => continue,
            },
        };
        // Output: a QuantizeLinear, directly or through one Relu.
        let Some(mut ci) = sole_consumer(g, &cons, n.outputs[0]) else {
            continue;
        };
        let mut relu = None;
        if g.nodes[ci].op == Op::Relu {
            let Some(next) = sole_consumer(g, &cons, g.nodes[ci].outputs[0]) else {
                continue;
            };
            relu = Some(ci);
            ci = next;
        }
        let q = g.nodes[ci].clone();
        let Op::QuantizeLinear { block_size: 0, .. } = q.op else {
            continue;
        };
        let mut w_q = wq[0];
        if trans_b {
            let Some(t) = w_q
                .and_then(|v| g.constant(v))
                .and_then(|t| t.transpose(&[1, 0]).ok())
            else {
                continue;
            };
            w_q = Some(g.add_value(Value {
                name: format!("{}.weight_t", n.name),
                dtype: Some(t.dtype()),
                shape: None,
                constant: Some(t.into()),
            }));
        }
        let mut inputs = vec![
            xq[0],
            xq[1],
            xq[2],
            w_q,
            wq[1],
            wq[2],
            input(&q, 1),
            input(&q, 2),
        ];
        inputs.push(bias);
        let act = if relu.is_some() {
            EpilogueAct::Relu
        } else {
            EpilogueAct::None
        };
        let op = if gemm_like {
            Op::QLinearMatMul(act)
        } else {
            let Op::Conv(a) = n.op else { unreachable!() };
            Op::QLinearConv(a, act)
        };
        g.nodes[ni] = Node {
            name: n.name.clone(),
            op,
            inputs,
            outputs: q.outputs.clone(),
        };
        dropped.push(ci);
        if let Some(r) = relu {
            dropped.push(r);
        }
    }
    remove_nodes(g, &dropped);
}

/// `DQ → op → Q` with the same scale and zero point on both sides, where `op` only moves
/// or selects elements (MaxPool, Flatten, Reshape, ...), runs `op` on the quantized codes:
/// max and data movement commute with the monotone dequantize, and `Q(DQ(q)) = q`, so the
/// result is bit-identical and the vector unit skips two conversions (onnxruntime does the same).
fn drop_qdq_around_movement(g: &mut Graph) {
    let cons = Consumers::of(g);
    let prod = producers(g);
    let mut dropped = Vec::new();
    for ni in 0..g.nodes.len() {
        let n = &g.nodes[ni];
        let movement = matches!(
            n.op,
            Op::MaxPool(_)
                | Op::Flatten { .. }
                | Op::Reshape { .. }
                | Op::Transpose { .. }
                | Op::Squeeze { .. }
                | Op::Unsqueeze { .. }
                | Op::Identity
        );
        let Some(x) = input(n, 0) else { continue };
        if !movement || n.outputs.len() != 1 || sole_consumer(g, &cons, x) != Some(ni) {
            continue;
        }
        let Some(&di) = prod.get(&x) else { continue };
        let Some(qi) = sole_consumer(g, &cons, n.outputs[0]) else {
            continue;
        };
        let (dq, q) = (&g.nodes[di], &g.nodes[qi]);
        let same_params = |i: usize| match (input(dq, i), input(q, i)) {
            (None, None) => true,
            (Some(a), Some(b)) => g.constant(a).is_some() && g.constant(a) == g.constant(b),
            _ => false,
        };
        let is_pair = matches!(dq.op, Op::DequantizeLinear { block_size: 0, .. })
            && matches!(q.op, Op::QuantizeLinear { block_size: 0, .. });
        if !is_pair
            || !same_params(1)
            || !same_params(2)
            || g.constant(input(dq, 1).unwrap_or(x))
                .is_none_or(|s| s.len() != 1)
        {
            continue;
        }
        let (codes, out) = (input(dq, 0), q.outputs.clone());
        let node = &mut g.nodes[ni];
        node.inputs[0] = codes;
        node.outputs = out;
        dropped.push(qi);
    }
    remove_nodes(g, &dropped);
}

/// Removes the nodes at these positions of `g.nodes`.
fn remove_nodes(g: &mut Graph, positions: &[usize]) {
    let mut keep = vec![true; g.nodes.len()];
    for &i in positions {
        keep[i] = false;
    }
    let mut keep = keep.into_iter();
    g.nodes.retain(|_| keep.next().unwrap_or(true));
}

/// Removes nodes none of whose outputs is used.
pub fn remove_dead(g: &mut Graph) {
    loop {
        let cons = Consumers::of(g);
        let before = g.nodes.len();
        let outputs = g.outputs.clone();
        g.nodes.retain(|n| {
            n.outputs
                .iter()
                .any(|o| !cons.get(*o).is_empty() || outputs.contains(o))
        });
        if g.nodes.len() == before {
            break;
        }
    }
}
