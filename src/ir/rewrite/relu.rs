//! A ReLU after a float Conv, ConvTranspose, Gemm or MatMul runs in the arrays' output unit
//! ([`Op::FusedRelu`]) instead of as a pass of the vector unit: the output unit applies the
//! vector unit's own ReLU to the same values, after the same rounding. Bit-identical.

use super::{Graph, Op, input, sole_consumer};
use crate::ir::Facts;

/// Fuses every such ReLU into the node before it.
pub(super) fn fuse_relu(g: &mut Graph, facts: &Facts) {
    let cons = super::Consumers::of(g);
    let mut dropped = Vec::new();
    for ni in 0..g.nodes.len() {
        let n = &g.nodes[ni];
        let fusable = matches!(
            n.op,
            Op::Conv(_) | Op::ConvTranspose(_) | Op::Gemm(_) | Op::MatMul
        );
        let [out] = n.outputs[..] else {
            continue;
        };
        if !fusable || !facts.typed(out).is_some_and(|(dt, _)| dt.is_float()) {
            continue;
        }
        let Some(ri) = sole_consumer(g, &cons, out) else {
            continue;
        };
        let relu = &g.nodes[ri];
        if relu.op != Op::Relu || input(relu, 0) != Some(out) || relu.outputs.len() != 1 {
            continue;
        }
        let relu_out = relu.outputs[0];
        let n = &mut g.nodes[ni];
        n.op = Op::FusedRelu(Box::new(n.op.clone()));
        n.outputs = vec![relu_out];
        dropped.push(ri);
    }
    super::remove_nodes(g, &dropped);
}
