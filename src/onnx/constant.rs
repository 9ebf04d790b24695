//! `Constant` nodes: their value attribute as a tensor (the node itself leaves the graph).

use super::ctx::NodeCtx;
use crate::error::Result;
use crate::limits::Limits;
use crate::tensor::Tensor;
use crate::tensor::pb::tensor_from_proto_within;
use ndarray::{Array1, ArrayD, IxDyn};
use std::path::Path;

/// The attributes that can hold a Constant's value, and the opset each appeared in.
const VALUE_ATTRS: [(&str, i64); 8] = [
    ("value", 1),
    ("sparse_value", 11),
    ("value_float", 12),
    ("value_floats", 12),
    ("value_int", 12),
    ("value_ints", 12),
    ("value_string", 12),
    ("value_strings", 12),
];

/// The value of a `Constant` node: exactly one of its value attributes.
/// `value_float(s)` become float32 scalars (vectors), `value_int(s)` int64 ones. A tensor
/// larger than `limits` is refused before it is decoded.
pub(super) fn constant(
    cx: &mut NodeCtx,
    base_dir: Option<&Path>,
    limits: &Limits,
) -> Result<Tensor> {
    cx.inputs(0, 0)?;
    let present: Vec<&str> = VALUE_ATTRS
        .iter()
        .filter(|&&(name, since)| cx.opset >= since && cx.has(name))
        .map(|&(name, _)| name)
        .collect();
    let attr = match present.as_slice() {
        [one] => *one,
        [] => return Err(cx.err("has no value attribute")),
        many => {
            return Err(cx.err(format!(
                "has several value attributes ({}); exactly one is allowed",
                many.join(", ")
            )));
        }
    };
    let scalar = IxDyn(&[]);
    let tensor = match attr {
        "value" => match cx.tensor(attr)? {
            Some(t) => tensor_from_proto_within(t, base_dir, limits)
                .map_err(|e| cx.err(format!("attribute 'value': {e}")))?,
            None => return Err(cx.err("has no value attribute")),
        },
        "value_float" => Tensor::F32(ArrayD::from_elem(scalar, cx.float_or(attr, 0.0)?)),
        "value_int" => Tensor::I64(ArrayD::from_elem(scalar, cx.int_or(attr, 0)?)),
        "value_floats" => Tensor::F32(vector(cx.floats(attr)?.unwrap_or_default())),
        "value_ints" => Tensor::I64(vector(cx.ints(attr)?.unwrap_or_default())),
        "sparse_value" => return Err(cx.err("sparse_value (a sparse tensor) is not supported")),
        _ => return Err(cx.err(format!("{attr} (string constants) is not supported"))),
    };
    Ok(tensor)
}

/// A one-dimensional array of the values.
fn vector<T: Clone>(values: &[T]) -> ArrayD<T> {
    Array1::from(values.to_vec()).into_dyn()
}
