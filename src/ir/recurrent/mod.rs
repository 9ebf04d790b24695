//! Recurrences unrolled over their specialised sequence length into per-step nodes that the
//! arrays and the vector unit run: ONNX LSTM, GRU and RNN, and onnxruntime's
//! DynamicQuantizeLSTM. Per direction, one GEMM projects the whole input sequence
//! (`P = X·Wᵀ`); per step, a GEMM multiplies the hidden state by the recurrent weights and
//! the vector unit runs the cell's gate arithmetic ([`cells`]), in the order of onnxruntime's
//! CPU kernels: the products summed first, then the biases (`Wb + Rb`, added as one).
//!
//! DynamicQuantizeLSTM keeps onnxruntime's roundings in their order: the input is quantized
//! once over all steps, `P = f32(Xq·W) · (x_scale · w_scale)`; per step the hidden state is
//! quantized again, `G = f32(Hq·R) · (h_scale · r_scale) + P_t`.
//!
//! A `sequence_lens` shorter than the sequence masks the steps past a batch entry's end: its
//! state is kept and its Y rows are zero. A reverse direction then starts, as the
//! specification asks, at the entry's own last step.

mod builder;
mod cells;

use builder::Builder;

use super::ValueId;
use super::{Activation, Cell, Facts, Graph, Node, Op, RecurrentAttrs, RecurrentDirection};
use crate::error::{Error, Result};
use crate::tensor::{DType, Tensor};
use ndarray::{ArrayD, IxDyn};

/// Replaces every recurrent node of the specialised `g` by its unrolled steps. Returns
/// whether anything changed (the new values then need specialising).
pub fn unroll(g: &mut Graph, facts: &Facts) -> Result<bool> {
    let mut changed = false;
    let mut nodes = Vec::with_capacity(g.nodes.len());
    for node in std::mem::take(&mut g.nodes) {
        let (a, quantized) = match &node.op {
            Op::Recurrent(a) => (a, false),
            Op::DynamicQuantizeLstm(a) => (a, true),
            _ => {
                nodes.push(node);
                continue;
            }
        };
        let dtype = facts.dtype(node.input(0)?);
        let mut b = Builder::new(g, &mut nodes, node.name.clone(), dtype);
        b.recurrence(&node, a, quantized, facts)
            .map_err(|e| match e {
                e @ Error::Limit(_) => e,
                e => Error::node(&node.name, node.op.name(), e.to_string()),
            })?;
        changed = true;
    }
    g.nodes = nodes;
    Ok(changed)
}

/// The right operand of a product by the weights.
#[derive(Debug, Clone, Copy)]
enum Weights {
    /// A float matrix `[k, n]`, multiplied by MatMul.
    Float(ValueId),
    /// An int8 matrix with its scale and zero point; the left operand is quantized
    /// dynamically at every product.
    Quantized {
        m: ValueId,
        scale: ValueId,
        zp: ValueId,
    },
}

/// One direction's operands, as its cell reads them.
struct Direction {
    /// The input sequence's projection `[seq, batch, gates·hidden]`.
    projected: ValueId,
    /// The recurrent weights and biases.
    operands: cells::Operands,
    /// The peephole weights of the input, output and forget gates, `[hidden]` each.
    peephole: Option<[ValueId; 3]>,
    /// The cell's activation functions.
    activations: Vec<Activation>,
}

impl Builder<'_> {
    /// `x · w`, `[rows, k]` by `[k, n]`, on the arrays.
    fn product(&mut self, x: ValueId, w: Weights) -> ValueId {
        match w {
            Weights::Float(m) => self.one(Op::MatMul, &[x, m]),
            Weights::Quantized { m, scale, zp } => {
                let q = self.node(Op::DynamicQuantizeLinear, &[x], 3);
                self.quantized_product(&q, [m, scale, zp])
            }
        }
    }

    /// `f32(xq · m) · (x_scale · scale)`: the product of an input quantized dynamically
    /// (`q`: DynamicQuantizeLinear's three outputs) and quantized weights.
    fn quantized_product(&mut self, q: &[ValueId], [m, scale, zp]: [ValueId; 3]) -> ValueId {
        let acc = self.one(Op::MatMulInteger, &[q[0], m, q[2], zp]);
        let accf = self.one(Op::Cast { to: DType::F32 }, &[acc]);
        let scale = self.one(Op::Mul, &[q[1], scale]);
        self.one(Op::Mul, &[accf, scale])
    }

    fn recurrence(
        &mut self,
        node: &Node,
        a: &RecurrentAttrs,
        quantized: bool,
        facts: &Facts,
    ) -> Result<()> {
        let xs = facts.shape(node.input(0)?);
        let (seq, batch) = if a.batch_first {
            (xs[1], xs[0])
        } else {
            (xs[0], xs[1])
        };
        // About 30 nodes per step and direction; the graph's node bound holds for the result.
        let steps = seq.saturating_mul(a.direction.count());
        let total = steps.saturating_mul(30).saturating_add(self.nodes.len());
        self.g
            .limits
            .nodes(total, &format!("the graph unrolled over {seq} steps"))?;
        let mut x = node.input(0)?;
        if a.batch_first {
            x = self.one(
                Op::Transpose {
                    perm: Some(vec![1, 0, 2]),
                },
                &[x],
            );
        }
        let dirs: Vec<bool> = match a.direction {
            RecurrentDirection::Forward => vec![false],
            RecurrentDirection::Reverse => vec![true],
            RecurrentDirection::Bidirectional => vec![false, true],
        };
        // Per step, which entries still run, and the zero rows Y takes for the others.
        let masks = self
            .masks(node, seq, facts)?
            .map(|alive| (alive, self.filled("zero", 0.0, &[batch, a.hidden])));
        // The quantized input, shared by both directions.
        let xq = quantized.then(|| self.node(Op::DynamicQuantizeLinear, &[x], 3));
        // Per direction, the output at every step, in sequence order.
        let mut hidden: Vec<Vec<ValueId>> = Vec::new();
        let mut finals = Vec::new();
        for (d, &reverse) in dirs.iter().enumerate() {
            let (projected, r) = match &xq {
                Some(q) => self.quantized_weights(node, d, q)?,
                None => {
                    let w = self.pick(node.input(1)?, 0, d, "W")?;
                    let w = self.transposed(w)?;
                    let r = self.pick(node.input(2)?, 0, d, "R")?;
                    (
                        self.one(Op::MatMul, &[x, w]),
                        Weights::Float(self.transposed(r)?),
                    )
                }
            };
            let dir = self.direction(node, a, d, projected, r)?;
            let mut state = [
                self.initial_state(node, a, d, 0, batch)?,
                self.initial_state(node, a, d, 1, batch)?,
            ];
            let mut out = vec![state[0]; seq];
            for step in 0..seq {
                let t = if reverse { seq - 1 - step } else { step };
                let index = self.scalar_index(t);
                let p_t = self.one(Op::Gather { axis: 0 }, &[dir.projected, index]);
                let next = cells::step(self, a, &dir, p_t, state);
                (state, out[t]) = match &masks {
                    Some((alive, zero)) => {
                        let keep = |b: &mut Self, new: ValueId, old: ValueId| {
                            b.one(Op::Where, &[alive[t], new, old])
                        };
                        let y = keep(self, next[0], *zero);
                        (
                            [keep(self, next[0], state[0]), keep(self, next[1], state[1])],
                            y,
                        )
                    }
                    None => (next, next[0]),
                };
            }
            hidden.push(out);
            finals.push(state);
        }
        self.outputs(node, a, &hidden, &finals, batch)
    }

    /// DynamicQuantizeLSTM's direction `d`: the projection of the quantized input `xq` and
    /// the recurrent weights. Its W and R are `[input, 4·hidden]` and `[hidden, 4·hidden]`.
    fn quantized_weights(
        &mut self,
        node: &Node,
        d: usize,
        xq: &[ValueId],
    ) -> Result<(ValueId, Weights)> {
        let [w_scale, w_zp] = self.quant(node, 8, d, "W_scale")?;
        let [r_scale, r_zp] = self.quant(node, 10, d, "R_scale")?;
        let w = self.pick(node.input(1)?, 0, d, "W")?;
        let r = self.pick(node.input(2)?, 0, d, "R")?;
        let projected = self.quantized_product(xq, [w, w_scale, w_zp]);
        let r = Weights::Quantized {
            m: r,
            scale: r_scale,
            zp: r_zp,
        };
        Ok((projected, r))
    }

    /// A direction's per-tensor scale (or per-column scales) and zero point, constants.
    fn quant(&mut self, node: &Node, i: usize, d: usize, what: &str) -> Result<[ValueId; 2]> {
        let [scale, zp] = [i, i + 1].map(|i| {
            node.input(i).and_then(|v| {
                self.g
                    .is_constant(v)
                    .then_some(v)
                    .ok_or_else(|| Error::Shape(format!("{what} must be a constant")))
            })
        });
        let scale = self.pick(scale?, 0, d, what)?;
        let zp = self.pick(zp?, 0, d, what)?;
        let t = self.g.constant(zp).expect("picked from a constant");
        let values = t.to_i64_vec()?;
        let Some(&first) = values.first().filter(|&&v| values.iter().all(|&x| x == v)) else {
            return Err(Error::Shape(format!(
                "{what}: the zero points must be one value, found {values:?}"
            )));
        };
        let first = Tensor::I64(ArrayD::from_elem(IxDyn(&[]), first)).cast(t.dtype());
        let zp = self.value(what, Some(first));
        Ok([scale, zp])
    }

    /// Direction `d`'s biases, peepholes and activations around its products.
    fn direction(
        &mut self,
        node: &Node,
        a: &RecurrentAttrs,
        d: usize,
        projected: ValueId,
        r: Weights,
    ) -> Result<Direction> {
        let rows = a.cell.gates() * a.hidden;
        let biases = match node.inputs.get(3).copied().flatten() {
            Some(b) => {
                let b = self.pick(b, 0, d, "B")?;
                Some([self.part(b, 1, 0, rows)?, self.part(b, 1, rows, 2 * rows)?])
            }
            None => None,
        };
        let operands = cells::operands(self, a, r, biases)?;
        let peephole = match (a.cell, node.inputs.get(7).copied().flatten()) {
            (Cell::Lstm { .. }, Some(p)) => {
                let p = self.pick(p, 0, d, "P")?;
                let h = a.hidden;
                Some([
                    self.part(p, 1, 0, h)?,
                    self.part(p, 1, h, 2 * h)?,
                    self.part(p, 1, 2 * h, 3 * h)?,
                ])
            }
            _ => None,
        };
        Ok(Direction {
            projected,
            operands,
            peephole,
            activations: a.activations_of(d).to_vec(),
        })
    }

    /// Direction `d`'s initial hidden (`k` = 0) or cell (`k` = 1) state, zero when not given.
    fn initial_state(
        &mut self,
        node: &Node,
        a: &RecurrentAttrs,
        d: usize,
        k: usize,
        batch: usize,
    ) -> Result<ValueId> {
        match node.inputs.get(5 + k).copied().flatten() {
            Some(v) => self.pick(v, usize::from(a.batch_first), d, "initial state"),
            None => Ok(self.filled("zero_state", 0.0, &[batch, a.hidden])),
        }
    }

    /// Per step, whether each batch entry's sequence is still running (`[batch, 1]`
    /// booleans), or `None` when every sequence is as long as X's (no sequence_lens, or a
    /// constant one equal to it everywhere).
    fn masks(&mut self, node: &Node, seq: usize, facts: &Facts) -> Result<Option<Vec<ValueId>>> {
        let Some(lens) = node.inputs.get(4).copied().flatten() else {
            return Ok(None);
        };
        if let Some(t) = self.g.constant(lens) {
            let values = t.to_i64_vec()?;
            if let Some(bad) = values.iter().find(|&&l| l < 0 || l as usize > seq) {
                return Err(Error::Shape(format!(
                    "sequence_lens holds {bad}, outside [0, {seq}]"
                )));
            }
            if values.iter().all(|&l| l as usize == seq) {
                return Ok(None);
            }
        }
        let dt = facts.dtype(lens);
        let axes = self.ints(&[1]);
        let masks = (0..seq)
            .map(|t| {
                let t = Tensor::I64(ArrayD::from_elem(IxDyn(&[]), t as i64)).cast(dt);
                let t = self.value("step", Some(t));
                let running = self.one(Op::Compare(super::Comparison::Less), &[t, lens]);
                self.one(Op::Unsqueeze { axes: None }, &[running, axes])
            })
            .collect();
        Ok(Some(masks))
    }

    /// Y `[seq, dirs, batch, hidden]` and the final states `[dirs, batch, hidden]` (batch
    /// first when the layout says so), onto the node's own output values.
    fn outputs(
        &mut self,
        node: &Node,
        a: &RecurrentAttrs,
        hidden: &[Vec<ValueId>],
        finals: &[[ValueId; 2]],
        batch: usize,
    ) -> Result<()> {
        let seq = hidden.first().map_or(0, Vec::len);
        if let Some(&y) = node.outputs.first() {
            // Every step's states in (step, direction) order, `[batch, hidden]` each, stacked
            // along the batch axis and then given Y's four axes.
            let rows: Vec<ValueId> = (0..seq)
                .flat_map(|t| hidden.iter().map(move |h| h[t]))
                .collect();
            let stacked = self.concat(rows, 0, None);
            let dirs = hidden.len();
            let shape = self.ints(&[seq as i64, dirs as i64, batch as i64, a.hidden as i64]);
            let reshape = Op::Reshape { allowzero: false };
            if a.batch_first {
                let y_seq = self.one(reshape, &[stacked, shape]);
                let perm = Some(vec![2, 0, 1, 3]);
                self.node_into(Op::Transpose { perm }, &[Some(y_seq)], vec![y]);
            } else {
                self.node_into(reshape, &[Some(stacked), Some(shape)], vec![y]);
            }
        }
        let axis0 = self.ints(&[0]);
        for (k, &out) in node.outputs.iter().enumerate().skip(1) {
            let parts: Vec<ValueId> = finals
                .iter()
                .map(|state| self.one(Op::Unsqueeze { axes: None }, &[state[k - 1], axis0]))
                .collect();
            if a.batch_first {
                let stacked = self.concat(parts, 0, None);
                let perm = Some(vec![1, 0, 2]);
                self.node_into(Op::Transpose { perm }, &[Some(stacked)], vec![out]);
            } else {
                self.concat(parts, 0, Some(out));
            }
        }
        Ok(())
    }
}
