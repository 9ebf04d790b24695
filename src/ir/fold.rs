//! Constant folding during specialisation: a node whose inputs are all known (and small) and
//! whose op needs no floating-point rounding is evaluated once, here, by the evaluator the
//! caller gives (`lower::fold`, which runs the vector unit's own code, so that a folded value
//! and a run-time one agree bit for bit); Shape is folded from the inferred shapes alone.

use super::infer::infer_node;
use super::ops::{generate, movement};
use super::{Facts, Graph, Node, Op};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Evaluates an op on concrete inputs (positional, `None` for omitted optional ones) when its
/// result needs no floating-point rounding; `Ok(None)` when it does.
pub type Evaluator = fn(&Op, &[Option<&Tensor>]) -> Result<Option<Vec<Tensor>>>;

/// Largest tensor constant folding will materialise.
const MAX_FOLD_ELEMENTS: usize = 1 << 16;

/// The outputs of `node` when it can be folded.
pub(super) fn try_fold(
    g: &Graph,
    facts: &Facts,
    node: &Node,
    exact: Evaluator,
) -> Result<Option<Vec<Tensor>>> {
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
    let Some(outs) = exact(&node.op, &consts)? else {
        return Ok(None);
    };
    if outs.iter().any(|t| t.len() > MAX_FOLD_ELEMENTS) {
        return Ok(None);
    }
    Ok(Some(outs))
}
