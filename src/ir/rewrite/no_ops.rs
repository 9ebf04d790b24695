//! Nodes that compute nothing removed: a Cast to the type its input already has, and an
//! Identity. Their readers read the input instead; one whose output is a graph output stays,
//! as it names that output. Bit-identical.

use super::{Graph, Op, ValueId, input};
use crate::ir::Facts;
use std::collections::HashMap;

/// Removes the no-op Casts and Identities of `g`.
pub(super) fn drop_no_ops(g: &mut Graph, facts: &Facts) {
    // What each removed node's output is replaced by; nodes are in topological order, so a
    // reader always comes after the node it reads and sees its replacement.
    let mut replaced: HashMap<ValueId, ValueId> = HashMap::new();
    let outputs = g.outputs.clone();
    g.nodes.retain_mut(|n| {
        for v in n.inputs.iter_mut().flatten() {
            if let Some(&r) = replaced.get(v) {
                *v = r;
            }
        }
        let (Some(x), &[out]) = (input(n, 0), n.outputs.as_slice()) else {
            return true;
        };
        let no_op = match n.op {
            Op::Identity => true,
            Op::Cast { to } => facts.typed(x).is_some_and(|(dt, _)| *dt == to),
            _ => false,
        };
        if !no_op || outputs.contains(&out) {
            return true;
        }
        replaced.insert(out, x);
        false
    });
}
