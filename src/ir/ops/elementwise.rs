//! The elementwise ops: unary functions (Relu, Clip, Neg, Exp, …), binary arithmetic with
//! broadcasting (Add, Sub, Mul, Div, Pow, PRelu), comparisons, logic and the variadic
//! Where, Min and Max.

use super::{Infer, Typed};
use crate::error::{Error, Result};
use crate::ir::{Facts, Op, OpKind, ValueId};
pub use crate::kernel::{Comparison, Logic, Unary};
use crate::tensor::DType;
use crate::tensor::ops::{broadcast_all, broadcast_shapes};

impl Unary {
    /// The ONNX op type.
    pub fn kind(&self) -> OpKind {
        match self {
            Unary::Neg => OpKind::Neg,
            Unary::Abs => OpKind::Abs,
            Unary::Reciprocal => OpKind::Reciprocal,
            Unary::Sqrt => OpKind::Sqrt,
            Unary::Exp => OpKind::Exp,
            Unary::Log => OpKind::Log,
            Unary::Sigmoid => OpKind::Sigmoid,
            Unary::Tanh => OpKind::Tanh,
            Unary::Erf => OpKind::Erf,
            Unary::Floor => OpKind::Floor,
            Unary::Ceil => OpKind::Ceil,
            Unary::Round => OpKind::Round,
            Unary::Softplus => OpKind::Softplus,
            Unary::HardSwish => OpKind::HardSwish,
            Unary::HardSigmoid { .. } => OpKind::HardSigmoid,
            Unary::LeakyRelu { .. } => OpKind::LeakyRelu,
            Unary::Gelu { .. } => OpKind::Gelu,
        }
    }
}

/// Add, Sub, Mul, Div (operands of one type) and the comparisons and logic (bool output):
/// the broadcast shape.
pub fn binary(cx: &Infer) -> Result<Typed> {
    let (a, b) = (cx.input(0)?, cx.input(1)?);
    let dt = same_dtype(cx.f, &[a, b])?;
    let out = matches!(cx.node.op, Op::Compare(_) | Op::Logic(_));
    let dt = if out { DType::Bool } else { dt };
    Ok(vec![(dt, broadcast_shapes(cx.f.shape(a), cx.f.shape(b))?)])
}

/// Pow and PRelu: X's type, broadcast to the second operand.
pub fn broadcast(cx: &Infer) -> Result<Typed> {
    cx.same(broadcast_shapes(cx.shape(0)?, cx.shape(1)?)?)
}

/// Where (condition, then two values of one type), Min and Max (any number of operands of
/// one type): the broadcast of every input.
pub fn variadic(cx: &Infer) -> Result<Typed> {
    let ids: Vec<ValueId> = (0..cx.node.inputs.len())
        .map(|i| cx.input(i))
        .collect::<Result<_>>()?;
    let values = if cx.node.op == Op::Where {
        &ids[1..]
    } else {
        &ids[..]
    };
    let dt = same_dtype(cx.f, values)?;
    let shapes: Vec<&[usize]> = ids.iter().map(|&v| cx.f.shape(v)).collect();
    Ok(vec![(dt, broadcast_all(&shapes)?)])
}

/// The common type of inputs that must agree.
fn same_dtype(f: &Facts, ids: &[ValueId]) -> Result<DType> {
    let first = f.dtype(ids[0]);
    match ids.iter().map(|&v| f.dtype(v)).find(|&d| d != first) {
        Some(other) => Err(Error::Shape(format!(
            "operand types differ: {first} and {other}"
        ))),
        None => Ok(first),
    }
}
