//! One step of each recurrent cell, as the ONNX specification writes it (`⊙` elementwise,
//! `f`, `g`, `h` the direction's activations, `P_t` the step's input projection):
//!
//! - LSTM: `G = H·Rᵀ + P_t + (Wb + Rb)`, split into i, o, f, c;
//!   `i = f(G_i + Pᵢ ⊙ C)`, `f = f(G_f + P_f ⊙ C)` (`1 − i` with `input_forget`),
//!   `c = g(G_c)`, `C' = f ⊙ C + i ⊙ c`, `o = f(G_o + P_o ⊙ C')`, `H' = h(C') ⊙ o`;
//! - GRU: `z = f(…)`, `r = f(…)` from `H·R_zrᵀ + P_t + (Wb + Rb)`;
//!   `ĥ = g(P_h + (r ⊙ H)·R_hᵀ + (Wb_h + Rb_h))`, or with `linear_before_reset`
//!   `ĥ = g(P_h + r ⊙ (H·R_hᵀ + Rb_h) + Wb_h)`; `H' = (1 − z) ⊙ ĥ + z ⊙ H`;
//! - RNN: `H' = f(H·Rᵀ + P_t + (Wb + Rb))`.
//!
//! A `clip` bounds every gate's input before its activation (not `h(C')`).

use super::{Builder, Direction, Weights};
use crate::error::{Error, Result};
use crate::ir::{Activation, Cell, Op, RecurrentAttrs, ValueId};

/// A direction's recurrent weights and biases arranged for its cell, made once before
/// the steps.
pub(super) enum Operands {
    /// LSTM: every gate's recurrent weights, and `Wb + Rb`.
    Lstm {
        r: Weights,
        bias: Option<ValueId>,
        input_forget: bool,
    },
    /// RNN: the recurrent weights, and `Wb + Rb`.
    Rnn { r: Weights, bias: Option<ValueId> },
    /// GRU.
    Gru(GruOperands),
}

/// A GRU direction's operands, split between its update and reset gates (z, r) and its
/// candidate (h).
pub(super) struct GruOperands {
    /// `R_zrᵀ` and `R_hᵀ`.
    r_zr: ValueId,
    r_h: ValueId,
    /// `Wb_zr + Rb_zr`.
    bias_zr: Option<ValueId>,
    /// `Rb_h`, added to `H·R_hᵀ` inside the reset (`linear_before_reset` only).
    inner_h: Option<ValueId>,
    /// `Wb_h` with `linear_before_reset`, else `Wb_h + Rb_h`.
    outer_h: Option<ValueId>,
    /// The reset gate applies after the candidate's product.
    linear_before_reset: bool,
}

/// Arranges the recurrent weights `r` (`[hidden, gates·hidden]`) and the biases `Wb` and
/// `Rb` (`[gates·hidden]` each) for the cell of `a`.
pub(super) fn operands(
    b: &mut Builder,
    a: &RecurrentAttrs,
    r: Weights,
    biases: Option<[ValueId; 2]>,
) -> Result<Operands> {
    let joint_bias = |b: &mut Builder| biases.map(|[wb, rb]| b.one(Op::Add, &[wb, rb]));
    let linear_before_reset = match a.cell {
        Cell::Lstm { input_forget } => {
            let bias = joint_bias(b);
            return Ok(Operands::Lstm {
                r,
                bias,
                input_forget,
            });
        }
        Cell::Rnn => {
            let bias = joint_bias(b);
            return Ok(Operands::Rnn { r, bias });
        }
        Cell::Gru {
            linear_before_reset,
        } => linear_before_reset,
    };
    let Weights::Float(r) = r else {
        return Err(Error::Invalid("a GRU's weights are float".into()));
    };
    let n = a.hidden;
    let halves = |b: &mut Builder, v: ValueId, rank: usize| -> Result<[ValueId; 2]> {
        Ok([b.part(v, rank, 0, 2 * n)?, b.part(v, rank, 2 * n, 3 * n)?])
    };
    let [r_zr, r_h] = halves(b, r, 2)?;
    let biases = match biases {
        Some([wb, rb]) => Some([halves(b, wb, 1)?, halves(b, rb, 1)?]),
        None => None,
    };
    let (bias_zr, inner_h, outer_h) = match biases {
        None => (None, None, None),
        Some([[wb_zr, wb_h], [rb_zr, rb_h]]) => {
            let bias_zr = Some(b.one(Op::Add, &[wb_zr, rb_zr]));
            if linear_before_reset {
                (bias_zr, Some(rb_h), Some(wb_h))
            } else {
                (bias_zr, None, Some(b.one(Op::Add, &[wb_h, rb_h])))
            }
        }
    };
    Ok(Operands::Gru(GruOperands {
        r_zr,
        r_h,
        bias_zr,
        inner_h,
        outer_h,
        linear_before_reset,
    }))
}

/// The states after one step from `state` (hidden, cell; a GRU's and an RNN's cell state
/// passes through unchanged).
pub(super) fn step(
    b: &mut Builder,
    a: &RecurrentAttrs,
    dir: &Direction,
    p_t: ValueId,
    state: [ValueId; 2],
) -> [ValueId; 2] {
    match dir.operands {
        Operands::Lstm {
            r,
            bias,
            input_forget,
        } => {
            let g = b.product(state[0], r);
            let g = b.sum(&[Some(g), Some(p_t), bias]);
            lstm(b, a, dir, g, state[1], input_forget)
        }
        Operands::Rnn { r, bias } => {
            let g = b.product(state[0], r);
            let g = b.sum(&[Some(g), Some(p_t), bias]);
            [b.gate(a, dir.activations[0], g), state[1]]
        }
        Operands::Gru(ref o) => [gru(b, a, dir, o, p_t, state[0]), state[1]],
    }
}

/// An LSTM step from its gates' pre-activations `g` (`[batch, 4·hidden]`, before the
/// peepholes) and the cell state `c`.
fn lstm(
    b: &mut Builder,
    a: &RecurrentAttrs,
    dir: &Direction,
    g: ValueId,
    c: ValueId,
    input_forget: bool,
) -> [ValueId; 2] {
    let [fa, ga, ha] = [0, 1, 2].map(|k| dir.activations[k]);
    let g = b.node(split(4), &[g], 4);
    let peep = |b: &mut Builder, k: usize, gate: ValueId, state: ValueId| match dir.peephole {
        Some(p) => {
            let m = b.one(Op::Mul, &[p[k], state]);
            b.one(Op::Add, &[gate, m])
        }
        None => gate,
    };
    let gi = peep(b, 0, g[0], c);
    let i = b.gate(a, fa, gi);
    let f = if input_forget {
        let one = b.filled("one", 1.0, &[]);
        b.one(Op::Sub, &[one, i])
    } else {
        let gf = peep(b, 2, g[2], c);
        b.gate(a, fa, gf)
    };
    let cell = b.gate(a, ga, g[3]);
    let kept = b.one(Op::Mul, &[c, f]);
    let added = b.one(Op::Mul, &[i, cell]);
    let c = b.one(Op::Add, &[kept, added]);
    let go = peep(b, 1, g[1], c);
    let o = b.gate(a, fa, go);
    let tc = b.one(ha.op(), &[c]);
    [b.one(Op::Mul, &[tc, o]), c]
}

fn gru(
    b: &mut Builder,
    a: &RecurrentAttrs,
    dir: &Direction,
    o: &GruOperands,
    p_t: ValueId,
    h: ValueId,
) -> ValueId {
    let [fa, ga] = [0, 1].map(|k| dir.activations[k]);
    let n = a.hidden as i64;
    let parts = Op::Split {
        axis: 1,
        split: Some(vec![2 * n, n]),
        parts: 2,
        uneven: false,
    };
    let p = b.node(parts, &[p_t], 2);
    let zr = b.product(h, Weights::Float(o.r_zr));
    let zr = b.sum(&[Some(zr), Some(p[0]), o.bias_zr]);
    let zr = b.node(split(2), &[zr], 2);
    let z = b.gate(a, fa, zr[0]);
    let r = b.gate(a, fa, zr[1]);
    let reset = if o.linear_before_reset {
        let rh = b.product(h, Weights::Float(o.r_h));
        let rh = b.sum(&[Some(rh), o.inner_h]);
        b.one(Op::Mul, &[r, rh])
    } else {
        let reset = b.one(Op::Mul, &[r, h]);
        b.product(reset, Weights::Float(o.r_h))
    };
    let candidate = b.sum(&[Some(p[1]), Some(reset), o.outer_h]);
    let candidate = b.gate(a, ga, candidate);
    let one = b.filled("one", 1.0, &[]);
    let keep_new = b.one(Op::Sub, &[one, z]);
    let new = b.one(Op::Mul, &[keep_new, candidate]);
    let old = b.one(Op::Mul, &[z, h]);
    b.one(Op::Add, &[new, old])
}

/// Split into `parts` equal parts along axis 1.
fn split(parts: usize) -> Op {
    Op::Split {
        axis: 1,
        split: None,
        parts,
        uneven: false,
    }
}

impl Builder<'_> {
    /// `x` through a gate's activation, clipped first when the op clips.
    fn gate(&mut self, a: &RecurrentAttrs, act: Activation, x: ValueId) -> ValueId {
        let x = match a.clip {
            Some(c) => self.one(
                Op::Clip {
                    min: Some(-c),
                    max: Some(c),
                },
                &[x],
            ),
            None => x,
        };
        self.one(act.op(), &[x])
    }

    /// The terms summed left to right, the absent ones left out.
    fn sum(&mut self, terms: &[Option<ValueId>]) -> ValueId {
        let mut terms = terms.iter().flatten().copied();
        let first = terms.next().expect("a sum of at least one term");
        terms.fold(first, |acc, t| self.one(Op::Add, &[acc, t]))
    }
}
