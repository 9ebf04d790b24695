//! A zero-fill Pad feeding a float Conv, directly or through one Transpose, becomes the
//! Conv's own padding (the Transpose then reads the unpadded value): the convolution reads the
//! same +0 values at the same places, so its columns, and every product and sum of them, are
//! the same. Bit-identical.

use super::{Graph, Op, ValueId, input, sole_consumer, transpose};
use crate::ir::{AutoPad, Facts, PadMode};
use crate::tensor::Tensor;

/// Folds every such Pad into the Conv that reads it.
pub(super) fn fold_pad_into_conv(g: &mut Graph, facts: &Facts) {
    let cons = super::Consumers::of(g);
    let mut dropped = Vec::new();
    for pi in 0..g.nodes.len() {
        let Some((x, pads)) = zero_pad(g, facts, pi) else {
            continue;
        };
        let rank = pads.len() / 2;
        let padded = g.nodes[pi].outputs[0];
        let Some(mut ci) = sole_consumer(g, &cons, padded) else {
            continue;
        };
        // Through a Transpose, dim `i` of the Conv's input is dim `perm[i]` of the Pad's.
        let mut through = None;
        let mut perm: Vec<usize> = (0..rank).collect();
        if let Op::Transpose { perm: p } = &g.nodes[ci].op {
            perm = transpose::permutation(p, rank);
            let Some(next) = sole_consumer(g, &cons, g.nodes[ci].outputs[0]) else {
                continue;
            };
            through = Some(ci);
            ci = next;
        }
        let conv_input = through.map_or(padded, |t| g.nodes[t].outputs[0]);
        let begins: Vec<usize> = perm.iter().map(|&d| pads[d]).collect();
        let ends: Vec<usize> = perm.iter().map(|&d| pads[rank + d]).collect();
        if begins[..2].iter().chain(&ends[..2]).any(|&p| p != 0) {
            continue;
        }
        let conv = &mut g.nodes[ci];
        if conv.inputs.first() != Some(&Some(conv_input)) {
            continue;
        }
        let Op::Conv(a) = &mut conv.op else {
            continue;
        };
        let spatial = rank - 2;
        let mut own = if a.pads.is_empty() {
            vec![0; 2 * spatial]
        } else {
            a.pads.clone()
        };
        if a.auto_pad != AutoPad::NotSet || own.len() != 2 * spatial {
            continue;
        }
        for i in 0..spatial {
            own[i] += begins[2 + i];
            own[spatial + i] += ends[2 + i];
        }
        a.pads = own;
        let reader = through.unwrap_or(ci);
        g.nodes[reader].inputs[0] = Some(x);
        dropped.push(pi);
    }
    super::remove_nodes(g, &dropped);
}

/// The input and the pads (all begins, then all ends) of node `pi` when it is a
/// constant-mode Pad of a float value of rank ≥ 3 with a +0 fill and no negative pad.
fn zero_pad(g: &Graph, facts: &Facts, pi: usize) -> Option<(ValueId, Vec<usize>)> {
    let n = &g.nodes[pi];
    let Op::Pad {
        mode: PadMode::Constant,
        pads,
        value,
    } = &n.op
    else {
        return None;
    };
    let x = input(n, 0)?;
    let (dtype, shape) = facts.typed(x)?;
    if !dtype.is_float() || input(n, 3).is_some() || shape.len() < 3 {
        return None;
    }
    let fill_is_zero = match input(n, 2) {
        Some(v) => g.constant(v).is_some_and(positive_zero),
        None => value.to_bits() == 0,
    };
    let pads = match (pads, input(n, 1)) {
        (Some(p), _) => p.clone(),
        (None, Some(v)) => g.constant(v)?.to_i64_vec().ok()?,
        (None, None) => return None,
    };
    if !fill_is_zero || pads.len() != 2 * shape.len() {
        return None;
    }
    pads.iter()
        .map(|&p| usize::try_from(p).ok())
        .collect::<Option<Vec<_>>>()
        .map(|p| (x, p))
}

/// Whether a one-element constant holds +0 (not −0, whose products could differ in sign).
fn positive_zero(t: &Tensor) -> bool {
    t.len() == 1 && t.to_f64().iter().all(|v| v.to_bits() == 0)
}
