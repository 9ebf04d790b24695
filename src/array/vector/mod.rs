//! The vector unit: every non-GEMM op, elementwise in f32 (integer ops exact), plus the
//! copy engine for data movement. Its cycle cost is set by `lower` from the work it does.

mod elementwise;
mod pool;
mod quant;

use crate::error::{Error, Result};
use crate::ir::{Op, movement};
use crate::tensor::Tensor;

/// Evaluates one non-GEMM op on concrete inputs (positional, `None` for omitted optional ones).
pub fn eval(op: &Op, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    if let Some(t) = movement::eval(op, inputs)? {
        return Ok(t);
    }
    let x = inputs
        .first()
        .copied()
        .flatten()
        .ok_or_else(|| Error::Shape("input 0 is missing".into()))?;
    let arg = |i: usize| inputs.get(i).copied().flatten();
    match op {
        Op::Relu => elementwise::relu(x),
        Op::Clip { min, max } => elementwise::clip(x, arg(1), arg(2), *min, *max),
        Op::Add | Op::Sub | Op::Mul | Op::Div => {
            let y = arg(1).ok_or_else(|| Error::Shape("input 1 is missing".into()))?;
            elementwise::binary(op, x, y)
        }
        Op::BatchNormalization { epsilon } => {
            let p: Vec<&Tensor> = (1..5)
                .map(|i| arg(i).ok_or_else(|| Error::Shape(format!("input {i} is missing"))))
                .collect::<Result<_>>()?;
            elementwise::batch_norm(x, p[0], p[1], p[2], p[3], *epsilon)
        }
        Op::Softmax { axis, coerce_2d } => elementwise::softmax(x, *axis, *coerce_2d),
        Op::MaxPool(p) => pool::max_pool(x, p),
        Op::AveragePool(p) => pool::average_pool(x, p),
        Op::GlobalAveragePool => pool::global(x, false),
        Op::GlobalMaxPool => pool::global(x, true),
        Op::QuantizeLinear {
            axis,
            block_size,
            output_dtype,
        } => {
            let scale =
                arg(1).ok_or_else(|| Error::Shape("QuantizeLinear needs a scale".into()))?;
            quant::quantize(x, scale, arg(2), *axis, *block_size, *output_dtype)
        }
        Op::DequantizeLinear { axis, block_size } => {
            let scale =
                arg(1).ok_or_else(|| Error::Shape("DequantizeLinear needs a scale".into()))?;
            quant::dequantize(x, scale, arg(2), *axis, *block_size)
        }
        other => Err(Error::Invalid(format!(
            "{} is not a vector-unit op",
            other.name()
        ))),
    }
}
