//! Recurrences unrolled over their specialised sequence length into per-step nodes that the
//! arrays and the vector unit run. A DynamicQuantizeLSTM becomes, per direction, one
//! integer GEMM of the whole quantized input sequence and, per step, an integer GEMM of the
//! dynamically quantized hidden state followed by the gate arithmetic — the operations of
//! onnxruntime's kernel, with its roundings in its order:
//!
//! - `P = f32(Xq·W) · (x_scale · w_scale)`, the input quantized once over all steps;
//! - per step `G = f32(Hq·R) · (h_scale · r_scale) + P_t`, then `+ (Wb + Rb)`;
//! - `i, o, f = σ(G_i), σ(G_o), σ(G_f)` (`f = 1 − i` with `input_forget`), `g = tanh(G_c)`;
//! - `C = C_prev · f + i · g`, `H = tanh(C) · o`.

use super::{Facts, Graph, LstmAttrs, LstmDirection, Node, Op, Unary, Value, ValueId};
use crate::error::{Error, Result};
use crate::tensor::{DType, Tensor};
use ndarray::{ArrayD, IxDyn};

/// Replaces every recurrent node of the specialised `g` by its unrolled steps. Returns
/// whether anything changed (the new values then need specialising).
pub fn unroll(g: &mut Graph, facts: &Facts) -> Result<bool> {
    let mut changed = false;
    let mut nodes = Vec::with_capacity(g.nodes.len());
    for node in std::mem::take(&mut g.nodes) {
        let Op::DynamicQuantizeLstm(a) = &node.op else {
            nodes.push(node);
            continue;
        };
        let mut b = Builder {
            g,
            nodes: &mut nodes,
            prefix: node.name.clone(),
            next: 0,
        };
        b.lstm(&node, a, facts).map_err(|e| match e {
            e @ Error::Limit(_) => e,
            e => Error::node(&node.name, node.op.name(), e.to_string()),
        })?;
        changed = true;
    }
    g.nodes = nodes;
    Ok(changed)
}

/// Appends nodes and values named after the node being unrolled.
struct Builder<'a> {
    g: &'a mut Graph,
    nodes: &'a mut Vec<Node>,
    prefix: String,
    next: usize,
}

/// One direction's constants.
struct Direction {
    w: ValueId,
    w_scale: ValueId,
    w_zp: ValueId,
    r: ValueId,
    r_scale: ValueId,
    r_zp: ValueId,
    bias: Option<ValueId>,
    reverse: bool,
}

impl Builder<'_> {
    fn name(&mut self, what: &str) -> String {
        self.next += 1;
        format!("{}/{what}_{}", self.prefix, self.next)
    }

    fn value(&mut self, what: &str, constant: Option<Tensor>) -> ValueId {
        let name = self.name(what);
        self.g.add_value(Value {
            name,
            dtype: constant.as_ref().map(Tensor::dtype),
            shape: None,
            constant: constant.map(Tensor::into),
        })
    }

    /// Appends `op` over `inputs` with `outputs` fresh values, or onto the given ones.
    fn node_into(&mut self, op: Op, inputs: &[Option<ValueId>], outputs: Vec<ValueId>) {
        let name = self.name(op.name());
        self.nodes.push(Node {
            name,
            op,
            inputs: inputs.to_vec(),
            outputs,
        });
    }

    fn node(&mut self, op: Op, inputs: &[ValueId], outputs: usize) -> Vec<ValueId> {
        let outs: Vec<ValueId> = (0..outputs).map(|_| self.value(op.name(), None)).collect();
        let inputs: Vec<Option<ValueId>> = inputs.iter().copied().map(Some).collect();
        self.node_into(op, &inputs, outs.clone());
        outs
    }

    fn one(&mut self, op: Op, inputs: &[ValueId]) -> ValueId {
        self.node(op, inputs, 1)[0]
    }

    fn unary(&mut self, u: Unary, x: ValueId) -> ValueId {
        self.one(Op::Unary(u), &[x])
    }

    fn ints(&mut self, v: &[i64]) -> ValueId {
        let t = Tensor::I64(ArrayD::from_shape_vec(IxDyn(&[v.len()]), v.to_vec()).expect("1-D"));
        self.value("const", Some(t))
    }

    fn scalar_index(&mut self, i: usize) -> ValueId {
        let t = Tensor::I64(ArrayD::from_elem(IxDyn(&[]), i as i64));
        self.value("index", Some(t))
    }

    /// Row `d` of a constant input (its first axis dropped), as a new constant.
    fn row(&mut self, node: &Node, i: usize, d: usize, what: &str) -> Result<ValueId> {
        let row = direction(constant(self.g, node, i, what)?, d, what)?;
        Ok(self.value(what, Some(row)))
    }

    /// A direction's per-tensor scale (or per-column scales) and zero point.
    fn quant(&mut self, node: &Node, i: usize, d: usize, what: &str) -> Result<[ValueId; 2]> {
        let scale = self.row(node, i, d, what)?;
        let zp = direction(constant(self.g, node, i + 1, what)?, d, what)?;
        let values = zp.to_i64_vec()?;
        let Some(&first) = values.first().filter(|&&v| values.iter().all(|&x| x == v)) else {
            return Err(Error::Shape(format!(
                "{what}: the zero points must be one value, found {values:?}"
            )));
        };
        let first = Tensor::I64(ArrayD::from_elem(IxDyn(&[]), first)).cast(zp.dtype());
        let zp = self.value(what, Some(first));
        Ok([scale, zp])
    }

    fn lstm(&mut self, node: &Node, a: &LstmAttrs, facts: &Facts) -> Result<()> {
        let x = node.input(0)?;
        let xs = facts.shape(x);
        let (seq, batch, h) = (xs[0], xs[1], a.hidden);
        // About 24 nodes per step and direction; the graph's node bound holds for the result.
        let steps = seq.saturating_mul(a.direction.count());
        let total = steps.saturating_mul(24).saturating_add(self.nodes.len());
        self.g
            .limits
            .nodes(total, &format!("the graph unrolled over {seq} steps"))?;
        let dirs: Vec<bool> = match a.direction {
            LstmDirection::Forward => vec![false],
            LstmDirection::Reverse => vec![true],
            LstmDirection::Bidirectional => vec![false, true],
        };
        let (xq, x_scale, x_zp) = {
            let q = self.node(Op::DynamicQuantizeLinear, &[x], 3);
            (q[0], q[1], q[2])
        };
        // Per direction, the hidden state after every step, in sequence order.
        let mut hidden: Vec<Vec<ValueId>> = Vec::new();
        let mut finals = Vec::new();
        for (d, &reverse) in dirs.iter().enumerate() {
            let [w_scale, w_zp] = self.quant(node, 8, d, "W_scale")?;
            let [r_scale, r_zp] = self.quant(node, 10, d, "R_scale")?;
            let dir = Direction {
                w: self.row(node, 1, d, "W")?,
                w_scale,
                w_zp,
                r: self.row(node, 2, d, "R")?,
                r_scale,
                r_zp,
                bias: self.bias(node, d, h)?,
                reverse,
            };
            let states = [5, 6].map(|i| match node.inputs.get(i).copied().flatten() {
                Some(v) => {
                    let index = self.scalar_index(d);
                    self.one(Op::Gather { axis: 0 }, &[v, index])
                }
                None => self.value("zero_state", Some(Tensor::zeros(DType::F32, &[batch, h]))),
            });
            let acc = self.one(Op::MatMulInteger, &[xq, dir.w, x_zp, dir.w_zp]);
            let accf = self.one(Op::Cast { to: DType::F32 }, &[acc]);
            let scale = self.one(Op::Mul, &[x_scale, dir.w_scale]);
            let projected = self.one(Op::Mul, &[accf, scale]);
            let (mut hp, mut cp) = (states[0], states[1]);
            let mut out = vec![hp; seq];
            for step in 0..seq {
                let t = if dir.reverse { seq - 1 - step } else { step };
                (hp, cp) = self.step(a, &dir, projected, t, hp, cp)?;
                out[t] = hp;
            }
            hidden.push(out);
            finals.push((hp, cp));
        }
        self.outputs(node, &hidden, &finals)
    }

    /// `Wb + Rb` of direction `d`, added once (as onnxruntime does) by an Add node that
    /// specialisation folds.
    fn bias(&mut self, node: &Node, d: usize, h: usize) -> Result<Option<ValueId>> {
        if node.inputs.get(3).copied().flatten().is_none() {
            return Ok(None);
        }
        let row = direction(constant(self.g, node, 3, "B")?, d, "B")?;
        if row.shape() != [8 * h] {
            return Err(Error::Shape(format!(
                "B's rows are {:?}, not [8·hidden]",
                row.shape()
            )));
        }
        let half = 4 * h as isize;
        let [wb, rb] = [0, half].map(|start| row.slice_axis(0, start, start + half, 1));
        let (wb, rb) = (self.value("Wb", Some(wb)), self.value("Rb", Some(rb)));
        Ok(Some(self.one(Op::Add, &[wb, rb])))
    }

    /// One step at time `t`: the new hidden and cell states.
    fn step(
        &mut self,
        a: &LstmAttrs,
        dir: &Direction,
        projected: ValueId,
        t: usize,
        h_prev: ValueId,
        c_prev: ValueId,
    ) -> Result<(ValueId, ValueId)> {
        let index = self.scalar_index(t);
        let p_t = self.one(Op::Gather { axis: 0 }, &[projected, index]);
        let q = self.node(Op::DynamicQuantizeLinear, &[h_prev], 3);
        let acc = self.one(Op::MatMulInteger, &[q[0], dir.r, q[2], dir.r_zp]);
        let accf = self.one(Op::Cast { to: DType::F32 }, &[acc]);
        let scale = self.one(Op::Mul, &[q[1], dir.r_scale]);
        let recurrent = self.one(Op::Mul, &[accf, scale]);
        let mut gates = self.one(Op::Add, &[recurrent, p_t]);
        if let Some(b) = dir.bias {
            gates = self.one(Op::Add, &[gates, b]);
        }
        let split = Op::Split {
            axis: 1,
            split: None,
            parts: 4,
            uneven: false,
        };
        let g = self.node(split, &[gates], 4);
        let i = self.unary(Unary::Sigmoid, g[0]);
        let o = self.unary(Unary::Sigmoid, g[1]);
        let f = if a.input_forget {
            let one = self.value("one", Some(Tensor::F32(ArrayD::from_elem(IxDyn(&[]), 1.0))));
            self.one(Op::Sub, &[one, i])
        } else {
            self.unary(Unary::Sigmoid, g[2])
        };
        let cell = self.unary(Unary::Tanh, g[3]);
        let kept = self.one(Op::Mul, &[c_prev, f]);
        let added = self.one(Op::Mul, &[i, cell]);
        let c = self.one(Op::Add, &[kept, added]);
        let tc = self.unary(Unary::Tanh, c);
        let h = self.one(Op::Mul, &[tc, o]);
        Ok((h, c))
    }

    /// Concat of `parts` along `axis`, into `out` or a fresh value.
    fn concat(&mut self, parts: Vec<ValueId>, axis: i64, out: Option<ValueId>) -> ValueId {
        let inputs: Vec<Option<ValueId>> = parts.into_iter().map(Some).collect();
        let out = out.unwrap_or_else(|| self.value("Concat", None));
        self.node_into(Op::Concat { axis }, &inputs, vec![out]);
        out
    }

    /// Y `[seq, dirs, batch, hidden]`, Y_h and Y_c `[dirs, batch, hidden]`, onto the node's
    /// own output values.
    fn outputs(
        &mut self,
        node: &Node,
        hidden: &[Vec<ValueId>],
        finals: &[(ValueId, ValueId)],
    ) -> Result<()> {
        let seq = hidden.first().map_or(0, Vec::len);
        if let Some(&y) = node.outputs.first() {
            let axes = self.ints(&[0, 1]);
            let steps: Vec<ValueId> = (0..seq)
                .map(|t| {
                    let dirs: Vec<ValueId> = hidden
                        .iter()
                        .map(|h| self.one(Op::Unsqueeze { axes: None }, &[h[t], axes]))
                        .collect();
                    self.concat(dirs, 1, None)
                })
                .collect();
            self.concat(steps, 0, Some(y));
        }
        let axis0 = self.ints(&[0]);
        for (k, &out) in node.outputs.iter().enumerate().skip(1) {
            let parts: Vec<ValueId> = finals
                .iter()
                .map(|&(h, c)| {
                    let v = if k == 1 { h } else { c };
                    self.one(Op::Unsqueeze { axes: None }, &[v, axis0])
                })
                .collect();
            self.concat(parts, 0, Some(out));
        }
        Ok(())
    }
}

fn constant<'g>(g: &'g Graph, node: &Node, i: usize, what: &str) -> Result<&'g Tensor> {
    g.constant(node.input(i)?)
        .ok_or_else(|| Error::Shape(format!("{what} must be a constant")))
}

/// Row `d` of `t` along its first (direction) axis, that axis dropped.
fn direction(t: &Tensor, d: usize, what: &str) -> Result<Tensor> {
    let s = t.shape();
    if s.first().is_none_or(|&n| n <= d) {
        return Err(Error::Shape(format!("{what} {s:?} has no direction {d}")));
    }
    t.slice_axis(0, d as isize, d as isize + 1, 1)
        .reshape(&s[1..])
}
