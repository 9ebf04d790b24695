//! The vector unit: every non-GEMM op, elementwise in f32 (integer ops exact), plus the
//! copy engine for data movement. Its cycle cost is set by `lower` from the work it does.

mod activation;
mod elementwise;
mod layer_norm;
mod pool;
mod quant;
mod reduce;
mod resize;

use crate::error::{Error, Result};
use crate::ir::{Op, exact};
use crate::tensor::Tensor;

/// Evaluates one non-GEMM op on concrete inputs (positional, `None` for omitted optional
/// ones); returns one tensor per output of the op (a node may use fewer).
pub fn eval(op: &Op, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    if let Some(t) = exact::eval(op, inputs)? {
        return Ok(t);
    }
    let x = inputs
        .first()
        .copied()
        .flatten()
        .ok_or_else(|| Error::Shape("input 0 is missing".into()))?;
    let arg = |i: usize| inputs.get(i).copied().flatten();
    let need = |i: usize| arg(i).ok_or_else(|| Error::Shape(format!("input {i} is missing")));
    let one = match op {
        Op::Relu => elementwise::relu(x),
        Op::Clip { min, max } => elementwise::clip(x, arg(1), arg(2), *min, *max),
        Op::Add | Op::Sub | Op::Mul | Op::Div => elementwise::binary(op, x, need(1)?),
        Op::Pow => elementwise::pow(x, need(1)?),
        Op::PRelu => elementwise::prelu(x, need(1)?),
        Op::Unary(u) => activation::unary(*u, x),
        Op::BatchNormalization { epsilon } => {
            let p: Vec<&Tensor> = (1..5).map(need).collect::<Result<_>>()?;
            elementwise::batch_norm(x, p[0], p[1], p[2], p[3], *epsilon)
        }
        Op::Softmax { axis, coerce_2d } => elementwise::softmax(x, *axis, *coerce_2d),
        Op::LayerNormalization { axis, epsilon } => {
            return layer_norm::layer_norm(x, need(1)?, arg(2), *axis, *epsilon);
        }
        Op::Reduce(r) => reduce::reduce(x, r, arg(1)),
        Op::Resize(a) => resize::resize(x, a, arg(1), arg(2), arg(3)),
        Op::MaxPool(p) => pool::max_pool(x, p),
        Op::AveragePool(p) => pool::average_pool(x, p),
        Op::GlobalAveragePool => pool::global(x, false),
        Op::GlobalMaxPool => pool::global(x, true),
        Op::QuantizeLinear {
            axis,
            block_size,
            output_dtype,
        } => quant::quantize(x, need(1)?, arg(2), *axis, *block_size, *output_dtype),
        Op::DequantizeLinear { axis, block_size } => {
            quant::dequantize(x, need(1)?, arg(2), *axis, *block_size)
        }
        Op::DynamicQuantizeLinear => return quant::dynamic_quantize(x),
        other => Err(Error::Invalid(format!(
            "{} is not a vector-unit op",
            other.name()
        ))),
    }?;
    Ok(vec![one])
}
