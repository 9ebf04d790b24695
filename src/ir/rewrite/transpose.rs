//! Transposes moved down the graph, past element-wise ops and Pads, until they meet another
//! Transpose and merge with it or cancel it: what an accelerator compiler does with the
//! NHWC↔NCHW pairs a TensorFlow export puts around every convolution.
//!
//! An element-wise op computes each element from the elements at the same index of its
//! operands, so running it before a transpose instead of after computes the same values
//! (constant operands are permuted to match, runtime ones must come through the same
//! permutation); a Pad pads the same planes with its pads permuted. The outputs are
//! bit-identical. A pass that would leave more elements to transpose than the graph had is
//! undone.

use super::{Graph, Node, Op, Value, ValueId, input, remove_dead};
use crate::ir::Facts;
use crate::tensor::{DType, Tensor};
use ndarray::Array1;
use std::collections::HashMap;

/// Moves, merges and cancels the Transposes of `g`.
pub(super) fn cancel_transposes(g: &mut Graph, facts: &Facts) {
    let mut types = Types {
        facts,
        new: HashMap::new(),
    };
    let before = transposed_elements(g, &types);
    let original = g.clone();
    // Sweeps over the Transposes until one changes nothing: a change can make an earlier
    // Transpose movable (its op's other operand now comes through the same permutation).
    // A move takes a Transpose later, a merge takes a Transpose's input earlier, so the sweeps
    // end; the budget only guards that argument (hundreds of changes on a TF ResNet-50).
    let mut budget = g.nodes.len() * g.nodes.len() + 64;
    loop {
        let mut changed = false;
        let mut t = 0;
        while t < g.nodes.len() && budget > 0 {
            if step(g, &mut types, t) {
                changed = true;
                budget -= 1;
            } else {
                t += 1;
            }
        }
        if !changed || budget == 0 {
            break;
        }
    }
    remove_dead(g);
    if transposed_elements(g, &types) > before {
        *g = original;
    }
}

/// The nodes at or after `from` that read `v` (its readers: the nodes are in topological
/// order, and `from` is not after `v`'s producer).
fn readers(g: &Graph, from: usize, v: ValueId) -> Vec<usize> {
    (from..g.nodes.len())
        .filter(|&i| g.nodes[i].inputs.contains(&Some(v)))
        .collect()
}

/// Types of the values, those the pass creates included.
struct Types<'a> {
    facts: &'a Facts,
    new: HashMap<ValueId, (DType, Vec<usize>)>,
}

impl Types<'_> {
    fn get(&self, v: ValueId) -> Option<&(DType, Vec<usize>)> {
        self.new.get(&v).or_else(|| self.facts.typed(v))
    }

    fn shape(&self, v: ValueId) -> Option<&[usize]> {
        self.get(v).map(|(_, s)| s.as_slice())
    }
}

/// The elements every Transpose of `g` moves.
fn transposed_elements(g: &Graph, types: &Types) -> usize {
    g.nodes
        .iter()
        .filter(|n| matches!(n.op, Op::Transpose { .. }))
        .filter_map(|n| types.shape(input(n, 0)?))
        .map(|s| s.iter().product::<usize>())
        .sum()
}

/// The permutation of a Transpose of a value of `rank` dims (`None` reverses them).
pub(super) fn permutation(perm: &Option<Vec<usize>>, rank: usize) -> Vec<usize> {
    perm.clone().unwrap_or_else(|| (0..rank).rev().collect())
}

fn inverse(p: &[usize]) -> Vec<usize> {
    let mut q = vec![0; p.len()];
    for (i, &pi) in p.iter().enumerate() {
        q[pi] = i;
    }
    q
}

/// Makes one change to node `t` when it is a Transpose that can merge or move; false when
/// it changes nothing.
fn step(g: &mut Graph, types: &mut Types, t: usize) -> bool {
    let Op::Transpose { perm } = &g.nodes[t].op else {
        return false;
    };
    let (Some(x), y) = (input(&g.nodes[t], 0), g.nodes[t].outputs[0]) else {
        return false;
    };
    let Some(rank) = types.shape(x).map(<[usize]>::len) else {
        return false;
    };
    let p = permutation(perm, rank);
    let users = readers(g, t + 1, y);
    if let Some(&c) = users
        .iter()
        .find(|&&c| matches!(g.nodes[c].op, Op::Transpose { .. }))
    {
        merge(g, c, x, &p);
        return true;
    }
    match users[..] {
        [n] if !g.outputs.contains(&y) => sink(g, types, t, n, &p),
        _ => false,
    }
}

/// Transpose `c` reads the input `x` of a Transpose by `p` instead of its output: the two
/// permutations compose into one, and a composition that is the identity removes `c`.
fn merge(g: &mut Graph, c: usize, x: ValueId, p: &[usize]) {
    let Op::Transpose { perm } = &g.nodes[c].op else {
        unreachable!("merge is called on a Transpose");
    };
    let q = permutation(perm, p.len());
    let composed: Vec<usize> = q.iter().map(|&i| p[i]).collect();
    let out = g.nodes[c].outputs[0];
    let identity = composed.iter().enumerate().all(|(i, &v)| i == v);
    if identity && !g.outputs.contains(&out) {
        g.nodes.remove(c);
        for n in &mut g.nodes {
            for v in n.inputs.iter_mut().flatten() {
                if *v == out {
                    *v = x;
                }
            }
        }
        return;
    }
    let node = &mut g.nodes[c];
    node.inputs = vec![Some(x)];
    node.op = if identity {
        Op::Identity
    } else {
        Op::Transpose {
            perm: Some(composed),
        }
    };
}

/// Whether `v` is absent or a constant of one element (broadcast alike in any layout).
fn scalar_or_absent(g: &Graph, v: Option<ValueId>) -> bool {
    v.is_none_or(|v| g.constant(v).is_some_and(|t| t.len() == 1))
}

/// Moves Transpose `t` (by `p`, whose output only `n` reads) past `n`: `n` reads the
/// Transpose's input and its output is transposed instead. False, with nothing changed, when
/// `n` is no op that commutes with the permutation.
fn sink(g: &mut Graph, types: &mut Types, t: usize, n: usize, p: &[usize]) -> bool {
    let (x, y) = (g.nodes[t].inputs[0], g.nodes[t].outputs[0]);
    let node = g.nodes[n].clone();
    let [o] = node.outputs[..] else {
        return false;
    };
    let Some((dtype, o_shape)) = types.get(o).cloned() else {
        return false;
    };
    if o_shape.len() != p.len() {
        return false;
    }
    let q = inverse(p);
    let mut inputs = node.inputs.clone();
    let mut op = node.op.clone();
    let first_only =
        |from: usize| input(&node, 0) == Some(y) && !node.inputs[from..].contains(&Some(y));
    match &node.op {
        // Their other inputs (Clip's bounds, a quantization's scale and zero point) must be
        // scalars: a per-axis scale would need its axis renumbered.
        Op::Relu
        | Op::Unary(_)
        | Op::Cast { .. }
        | Op::Not
        | Op::Identity
        | Op::Clip { .. }
        | Op::QuantizeLinear { block_size: 0, .. }
        | Op::DequantizeLinear { block_size: 0, .. } => {
            if !first_only(1) || !node.inputs[1..].iter().all(|&v| scalar_or_absent(g, v)) {
                return false;
            }
            inputs[0] = x;
        }
        Op::Add
        | Op::Sub
        | Op::Mul
        | Op::Div
        | Op::Pow
        | Op::PRelu
        | Op::Compare(_)
        | Op::Logic(_)
        | Op::Where
        | Op::Min
        | Op::Max => {
            // Every operand is checked before the graph changes.
            let mut permuted = Vec::new();
            for (i, slot) in inputs.iter_mut().enumerate() {
                let Some(v) = *slot else {
                    continue;
                };
                if v == y {
                    *slot = x;
                } else if let Some(src) = transposed_by(g, types, v, p) {
                    *slot = Some(src);
                } else if let Some(c) = g.constant(v) {
                    match permuted_constant(c, &q) {
                        Some(None) => {}
                        Some(Some(c)) => {
                            permuted.push((i, format!("{}.permuted", g.value(v).name), c))
                        }
                        None => return false,
                    }
                } else {
                    return false;
                }
            }
            for (i, name, c) in permuted {
                inputs[i] = Some(add_constant(g, name, c));
            }
        }
        Op::Pad { mode, pads, value } => {
            if !first_only(1) || input(&node, 3).is_some() || !scalar_or_absent(g, input(&node, 2))
            {
                return false;
            }
            let permute = |v: &[i64]| -> Option<Vec<i64>> {
                let r = p.len();
                (v.len() == 2 * r).then(|| {
                    let mut out = vec![0; 2 * r];
                    for (i, &pi) in p.iter().enumerate() {
                        out[pi] = v[i];
                        out[r + pi] = v[r + i];
                    }
                    out
                })
            };
            inputs[0] = x;
            match (pads, input(&node, 1)) {
                (Some(attr), None) => {
                    let Some(pads) = permute(attr) else {
                        return false;
                    };
                    op = Op::Pad {
                        mode: *mode,
                        pads: Some(pads),
                        value: *value,
                    };
                }
                (None, Some(v)) => {
                    let Some(given) = g.constant(v).and_then(|c| c.to_i64_vec().ok()) else {
                        return false;
                    };
                    let Some(pads) = permute(&given) else {
                        return false;
                    };
                    let name = format!("{}.pads_permuted", node.name);
                    let pads = Tensor::I64(Array1::from(pads).into_dyn());
                    inputs[1] = Some(add_constant(g, name, pads));
                }
                _ => return false,
            }
        }
        _ => return false,
    }
    // The value `n` now computes, before the permutation: dim `p[i]` of it is dim `i` of `o`.
    let mut shape = vec![0; p.len()];
    for (i, &pi) in p.iter().enumerate() {
        shape[pi] = o_shape[i];
    }
    let name = format!("{}.untransposed", g.value(o).name);
    let inner = g.add_value(Value {
        name,
        dtype: Some(dtype),
        shape: None,
        constant: None,
    });
    types.new.insert(inner, (dtype, shape));
    let node = &mut g.nodes[n];
    node.inputs = inputs;
    node.op = op;
    node.outputs = vec![inner];
    let transpose = &mut g.nodes[t];
    transpose.op = Op::Transpose {
        perm: Some(p.to_vec()),
    };
    transpose.inputs = vec![Some(inner)];
    transpose.outputs = vec![o];
    // The Transpose goes right after `n`, the nodes between them one place up.
    g.nodes[t..=n].rotate_left(1);
    true
}

/// The input of a Transpose by `p` that produces `v`.
fn transposed_by(g: &Graph, types: &Types, v: ValueId, p: &[usize]) -> Option<ValueId> {
    let node: &Node = g.nodes.iter().find(|n| n.outputs.contains(&v))?;
    let Op::Transpose { perm } = &node.op else {
        return None;
    };
    let x = input(node, 0)?;
    (types.shape(x)?.len() == p.len() && permutation(perm, p.len()) == p).then_some(x)
}

/// A constant operand `c` of an element-wise op, brought to the layout before the
/// permutation whose inverse is `q`: ranks below the output's gain leading ones (as
/// broadcasting would give them), then the dims move by `q`. `Some(None)` keeps a one-element
/// constant as it is; `None` when `c` has more dims than the output.
fn permuted_constant(c: &Tensor, q: &[usize]) -> Option<Option<Tensor>> {
    if c.len() == 1 {
        return Some(None);
    }
    let rank = q.len();
    if c.shape().len() > rank {
        return None;
    }
    let mut full = vec![1; rank - c.shape().len()];
    full.extend_from_slice(c.shape());
    Some(Some(c.reshape(&full).ok()?.transpose(q).ok()?))
}

fn add_constant(g: &mut Graph, name: String, t: Tensor) -> ValueId {
    g.add_value(Value {
        name,
        dtype: Some(t.dtype()),
        shape: None,
        constant: Some(t.into()),
    })
}
