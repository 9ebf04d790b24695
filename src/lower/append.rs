//! KV-cache appends: the Concat that extends a decoder's cache, costed as an in-place append.
//!
//! Exporters write a layer's cache as `present = Concat(past, new, axis)` with `past` a graph
//! input and `present` a graph output, at times through an `Identity` that names the output.
//! An accelerator keeps that cache in place in DRAM: it writes only the new part, and the
//! cache itself is read by the nodes that consume `present` (the attention GEMMs, whose
//! operand traffic counts it).

use crate::ir::{Graph, Node, Op, ValueId};

/// What a node of a KV-cache append moves when the cache stays in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InPlace {
    /// The append itself: of its inputs, `past` is neither read nor written again.
    Append {
        /// The past cache, the Concat's first input.
        past: ValueId,
    },
    /// An `Identity` naming an appended cache as a graph output: it moves nothing.
    Alias,
}

/// How `node` is costed when KV-cache appends are in place, `None` when it is no part of one.
pub fn in_place(g: &Graph, node: &Node) -> Option<InPlace> {
    match node.op {
        Op::Concat { .. } => appended(g, node).map(|past| InPlace::Append { past }),
        Op::Identity => {
            let x = node.inputs.first().copied().flatten()?;
            let aliased = node.outputs.iter().any(|o| g.outputs.contains(o))
                && g.nodes.iter().any(|n| {
                    n.outputs.contains(&x)
                        && matches!(n.op, Op::Concat { .. })
                        && appended(g, n).is_some()
                });
            aliased.then_some(InPlace::Alias)
        }
        _ => None,
    }
}

/// The past cache Concat `node` appends to: its first input, a non-constant graph input,
/// when its output is a graph output or named as one by an `Identity`.
fn appended(g: &Graph, node: &Node) -> Option<ValueId> {
    let past = node.inputs.first().copied().flatten()?;
    let [present] = node.outputs.as_slice() else {
        return None;
    };
    let named = |v: &ValueId| g.outputs.contains(v);
    let output = named(present)
        || g.nodes.iter().any(|n| {
            matches!(n.op, Op::Identity)
                && n.inputs.first() == Some(&Some(*present))
                && n.outputs.iter().any(named)
        });
    (output && g.inputs.contains(&past) && !g.is_constant(past)).then_some(past)
}
