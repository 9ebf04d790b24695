//! Constant folding during specialisation: a node whose inputs are all known (and small) and
//! whose op needs no floating-point rounding is evaluated once, here, by the same code the
//! vector unit runs ([`exact::eval`]); Shape is folded from the inferred shapes alone.

use super::infer::infer_node;
use super::ops::{generate, movement};
use super::{Facts, Graph, Node, Op, exact};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Largest tensor constant folding will materialise.
const MAX_FOLD_ELEMENTS: usize = 1 << 16;

/// The outputs of `node` when it can be folded.
pub(super) fn try_fold(g: &Graph, facts: &Facts, node: &Node) -> Result<Option<Vec<Tensor>>> {
    if let Op::Shape { start, end } = &node.op {
        let x = node
            .inputs
            .first()
            .copied()
            .flatten()
            .ok_or_else(|| Error::Shape("Shape needs an input".into()))?;
        let dims = movement::shape_slice(facts.shape(x), *start, *end);
        let n = dims.len();
        return Ok(Some(vec![Tensor::I64(
            ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[n]), dims)
                .map_err(|e| Error::Shape(e.to_string()))?,
        )]));
    }
    if node.op.is_gemm_class() {
        return Ok(None);
    }
    let consts: Option<Vec<Option<&Tensor>>> = node
        .inputs
        .iter()
        .map(|i| match i {
            None => Some(None),
            // The size is checked before the values are read: a large constant is not decoded.
            Some(v) => g.values[v.0]
                .constant
                .as_ref()
                .filter(|c| c.len() <= MAX_FOLD_ELEMENTS)
                .map(|c| Some(c.tensor())),
        })
        .collect();
    let Some(consts) = consts else {
        return Ok(None);
    };
    // The outputs' sizes are known before they are computed: nothing larger than the folding
    // bound is allocated (broadcasts, Expand, ConstantOfShape, Pad and Range of small inputs can
    // ask for huge outputs).
    if let Op::Range = node.op {
        let arg = |i: usize| {
            consts
                .get(i)
                .copied()
                .flatten()
                .ok_or_else(|| Error::Shape(format!("input {i} is missing")))
        };
        let n = generate::range_len(arg(0)?, arg(1)?, arg(2)?)?;
        if n > MAX_FOLD_ELEMENTS {
            return Err(Error::Limit(format!(
                "Range would have {n} elements; a Range is computed when the model is specialised and may have at most {MAX_FOLD_ELEMENTS}"
            )));
        }
    } else {
        match infer_node(g, facts, node) {
            Ok(outs)
                if outs.iter().all(|(_, shape)| {
                    shape
                        .iter()
                        .try_fold(1usize, |n, &d| n.checked_mul(d.max(1)))
                        .is_some_and(|n| n <= MAX_FOLD_ELEMENTS)
                }) => {}
            _ => return Ok(None),
        }
    }
    let Some(outs) = exact::eval(&node.op, &consts)? else {
        return Ok(None);
    };
    if outs.iter().any(|t| t.len() > MAX_FOLD_ELEMENTS) {
        return Ok(None);
    }
    Ok(Some(outs))
}

#[cfg(test)]
mod tests {
    use crate::ir::{Graph, InputBinding, Node, Op, Value, specialize};
    use crate::tensor::{DType, Tensor};
    use ndarray::{ArrayD, IxDyn};

    fn value(g: &mut Graph, name: &str, constant: Option<Tensor>) -> crate::ir::ValueId {
        g.add_value(Value {
            name: name.into(),
            dtype: None,
            shape: None,
            constant: constant.map(Tensor::into),
        })
    }

    #[test]
    fn shape_arithmetic_with_the_new_ops_folds_away() {
        // m = Max(Shape(x), [1, 4]); c = ConstantOfShape(m); y = Expand(x, m): every node but
        // the Expand folds, and the Expand's target shape [2, 4] is known.
        let mut g = Graph::default();
        let x = value(&mut g, "x", None);
        let floor = Tensor::I64(ArrayD::from_shape_vec(IxDyn(&[2]), vec![1, 4]).unwrap());
        let floor = value(&mut g, "floor", Some(floor));
        let one = Tensor::I64(ArrayD::from_elem(IxDyn(&[1]), 1));
        let [s, m, c, y] = ["s", "m", "c", "y"].map(|n| value(&mut g, n, None));
        let node = |op, inputs: Vec<_>, out| Node {
            name: format!("{out:?}"),
            op,
            inputs: inputs.into_iter().map(Some).collect(),
            outputs: vec![out],
        };
        g.nodes = vec![
            node(
                Op::Shape {
                    start: 0,
                    end: None,
                },
                vec![x],
                s,
            ),
            node(Op::Max, vec![s, floor], m),
            node(Op::ConstantOfShape { value: one }, vec![m], c),
            node(Op::Expand, vec![x, m], y),
        ];
        g.inputs = vec![x];
        g.outputs = vec![c, y];
        let bind = InputBinding::shape_only(DType::F32, vec![2, 1]);
        let (sg, facts) = specialize(&g, &[bind]).unwrap();
        assert_eq!(sg.nodes.len(), 1);
        assert_eq!(facts.shape(y), &[2, 4]);
        assert_eq!(sg.constant(c).map(Tensor::shape), Some(&[2usize, 4][..]));
    }
}
