//! Operand layouts: a Transpose that swaps only the last two axes of a GEMM's B operand is
//! folded into that operand's layout, as an accelerator compiler folds it: the array's weight
//! loader reads the matrix by columns instead of rows (attention's `K^T`, say). The Transpose
//! then costs nothing; its values are computed as for any Transpose.

use crate::ir::{Graph, Node, Op};

/// Whether `node`, of an input of `rank` dims, is a Transpose folded into the B operand of
/// every node that reads it (each a MatMul reading it as B only), its output no graph output.
pub fn folded_into_operand(g: &Graph, node: &Node, rank: usize) -> bool {
    let Op::Transpose { perm } = &node.op else {
        return false;
    };
    let swaps_last_two = match perm {
        None => rank == 2,
        Some(p) => {
            rank >= 2
                && p.len() == rank
                && p[..rank - 2].iter().enumerate().all(|(i, &a)| a == i)
                && p[rank - 2..] == [rank - 1, rank - 2]
        }
    };
    let [out] = node.outputs.as_slice() else {
        return false;
    };
    let readers = || g.nodes.iter().filter(|n| n.inputs.contains(&Some(*out)));
    swaps_last_two
        && !g.outputs.contains(out)
        && readers().next().is_some()
        && readers().all(|n| {
            matches!(n.op, Op::MatMul)
                && n.inputs.get(1) == Some(&Some(*out))
                && n.inputs.first() != Some(&Some(*out))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Value, ValueId};

    fn value(g: &mut Graph, name: &str) -> ValueId {
        g.add_value(Value {
            name: name.into(),
            dtype: None,
            shape: None,
            constant: None,
        })
    }

    fn node(op: Op, inputs: &[ValueId], output: ValueId) -> Node {
        Node {
            name: format!("n{}", output.0),
            op,
            inputs: inputs.iter().map(|&v| Some(v)).collect(),
            outputs: vec![output],
        }
    }

    /// `t = Transpose(k)` read by `readers` (each given its op and t's input position).
    fn transposed(perm: Option<Vec<usize>>, readers: &[(Op, usize)]) -> (Graph, Node) {
        let mut g = Graph::default();
        let (k, t, other) = (value(&mut g, "k"), value(&mut g, "t"), value(&mut g, "x"));
        let transpose = node(Op::Transpose { perm }, &[k], t);
        g.nodes.push(transpose.clone());
        for (op, at) in readers {
            let out = value(&mut g, "y");
            let inputs = if *at == 1 { [other, t] } else { [t, other] };
            g.nodes.push(node(op.clone(), &inputs, out));
        }
        (g, transpose)
    }

    #[test]
    fn only_a_last_two_axes_swap_read_as_b_by_matmuls_folds() {
        let swap = Some(vec![0, 1, 3, 2]);
        let (g, t) = transposed(swap.clone(), &[(Op::MatMul, 1), (Op::MatMul, 1)]);
        assert!(folded_into_operand(&g, &t, 4));
        let (g, t) = transposed(None, &[(Op::MatMul, 1)]);
        assert!(folded_into_operand(&g, &t, 2));
        assert!(!folded_into_operand(&g, &t, 3), "None reverses 3 dims");
        let (g, t) = transposed(Some(vec![0, 2, 3, 1]), &[(Op::MatMul, 1)]);
        assert!(
            !folded_into_operand(&g, &t, 4),
            "not a swap of the last two"
        );
        let (g, t) = transposed(swap.clone(), &[(Op::MatMul, 0)]);
        assert!(!folded_into_operand(&g, &t, 4), "read as A");
        let (g, t) = transposed(swap.clone(), &[(Op::MatMul, 1), (Op::Add, 0)]);
        assert!(!folded_into_operand(&g, &t, 4), "read by a vector op too");
        let (mut g, t) = transposed(swap, &[(Op::MatMul, 1)]);
        g.outputs.push(t.outputs[0]);
        assert!(!folded_into_operand(&g, &t, 4), "a graph output");
    }
}
