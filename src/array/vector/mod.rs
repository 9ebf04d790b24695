//! The vector unit: every non-GEMM op, elementwise in f32 (integer ops exact), plus the
//! copy engine for data movement. Each op's file holds its evaluation and its cost in
//! element-operations, from which `lower` sets the unit's cycles.

mod activation;
mod elementwise;
pub mod exact;
mod generate;
mod layer_norm;
mod movement;
mod pad;
mod pool;
mod quant;
mod reduce;
mod resize;

use crate::error::{Error, Result};
use crate::ir::ops::gemm::gemm_class;
use crate::ir::ops::movement::data_movement;
use crate::ir::{Op, Unary};
use crate::tensor::Tensor;

/// Evaluates one non-GEMM op on concrete inputs (positional, `None` for omitted optional
/// ones); returns one tensor per output of the op (a node may use fewer).
pub fn eval(op: &Op, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let arg = |i: usize| inputs.get(i).copied().flatten();
    let need = |i: usize| arg(i).ok_or_else(|| Error::Shape(format!("input {i} is missing")));
    let one = match op {
        data_movement!() => return movement::eval(op, inputs),
        Op::Pad { mode, pads, value } => pad::eval(*mode, pads.as_deref(), *value, inputs),
        Op::ConstantOfShape { value } => generate::constant_of_shape(need(0)?, value),
        Op::Range => generate::range(need(0)?, need(1)?, need(2)?),
        Op::Compare(c) => exact::compare(*c, need(0)?, need(1)?),
        Op::Logic(l) => exact::logic(*l, need(0)?, need(1)?),
        Op::Not => exact::not(need(0)?),
        Op::Where => exact::select(need(0)?, need(1)?, need(2)?),
        Op::Min | Op::Max => {
            let all: Vec<&Tensor> = (0..inputs.len()).map(need).collect::<Result<_>>()?;
            exact::extremum(matches!(op, Op::Max), &all)
        }
        Op::Unary(u @ (Unary::Neg | Unary::Abs)) => exact::neg_abs(*u, need(0)?),
        Op::Add | Op::Sub | Op::Mul | Op::Div => match exact::int_arith(op, need(0)?, need(1)?)? {
            Some(t) => Ok(t),
            None => elementwise::binary(op, need(0)?, need(1)?),
        },
        Op::Relu => elementwise::relu(need(0)?),
        Op::Clip { min, max } => elementwise::clip(need(0)?, arg(1), arg(2), *min, *max),
        Op::Pow => elementwise::pow(need(0)?, need(1)?),
        Op::PRelu => elementwise::prelu(need(0)?, need(1)?),
        Op::Unary(u) => activation::unary(*u, need(0)?),
        Op::BatchNormalization { epsilon } => {
            let p: Vec<&Tensor> = (1..5).map(need).collect::<Result<_>>()?;
            elementwise::batch_norm(need(0)?, p[0], p[1], p[2], p[3], *epsilon)
        }
        Op::Softmax { axis, coerce_2d } => elementwise::softmax(need(0)?, *axis, *coerce_2d),
        Op::LayerNormalization { axis, epsilon } => {
            return layer_norm::layer_norm(need(0)?, need(1)?, arg(2), *axis, *epsilon);
        }
        Op::Reduce(r) => reduce::reduce(need(0)?, r, arg(1)),
        Op::Resize(a) => resize::resize(need(0)?, a, arg(1), arg(2), arg(3)),
        Op::MaxPool(p) => pool::max_pool(need(0)?, p),
        Op::AveragePool(p) => pool::average_pool(need(0)?, p),
        Op::GlobalAveragePool => pool::global(need(0)?, false),
        Op::GlobalMaxPool => pool::global(need(0)?, true),
        Op::QuantizeLinear {
            axis,
            block_size,
            output_dtype,
        } => quant::quantize(
            need(0)?,
            need(1)?,
            arg(2),
            *axis,
            *block_size,
            *output_dtype,
        ),
        Op::DequantizeLinear { axis, block_size } => {
            quant::dequantize(need(0)?, need(1)?, arg(2), *axis, *block_size)
        }
        Op::DynamicQuantizeLinear => return quant::dynamic_quantize(need(0)?),
        gemm_class!() | Op::DynamicQuantizeLstm(_) => Err(not_vector(op)),
    }?;
    Ok(vec![one])
}

/// The element-operations a vector-unit node performs, from the shapes of its inputs (`None`
/// when omitted) and outputs; the unit does `vector_lanes` of them per cycle.
pub fn work(op: &Op, inputs: &[Option<&[usize]>], outputs: &[&[usize]]) -> Result<u64> {
    let out = outputs
        .iter()
        .fold(0u64, |s, o| s.saturating_add(elements(o)));
    let input = |i: usize| {
        inputs
            .get(i)
            .copied()
            .flatten()
            .ok_or_else(|| Error::Shape(format!("required input {i} is missing")))
    };
    let inp = |i: usize| input(i).map(elements);
    Ok(match op {
        data_movement!() => movement::work(op, out),
        Op::MaxPool(p) | Op::AveragePool(p) => pool::window_work(p, out),
        Op::GlobalAveragePool | Op::GlobalMaxPool => inp(0)?,
        Op::Relu
        | Op::Clip { .. }
        | Op::Add
        | Op::Sub
        | Op::Mul
        | Op::Div
        | Op::Pow
        | Op::PRelu
        | Op::BatchNormalization { .. }
        | Op::Softmax { .. } => elementwise::work(op, out),
        Op::Unary(u) => activation::work(*u, out),
        Op::Reduce(_) => reduce::work(inp(0)?, out),
        Op::LayerNormalization { .. } => layer_norm::work(inp(0)?),
        Op::Min | Op::Max => exact::extremum_work(inputs.len(), out),
        Op::Compare(_) | Op::Logic(_) | Op::Not | Op::Where => out,
        Op::Resize(a) => resize::work(a, input(0)?.len(), out),
        Op::QuantizeLinear { .. } | Op::DequantizeLinear { .. } => out,
        Op::DynamicQuantizeLinear => quant::dynamic_work(inp(0)?, out),
        Op::Pad { .. } | Op::ConstantOfShape { .. } | Op::Range => out,
        gemm_class!() | Op::DynamicQuantizeLstm(_) => return Err(not_vector(op)),
    })
}

/// The GEMM-class ops run on the arrays; DynamicQuantizeLSTM is unrolled before lowering.
fn not_vector(op: &Op) -> Error {
    Error::Invalid(format!("{} is not a vector-unit op", op.name()))
}

/// The product of `dims` as a u64, saturating (work estimates of absurd shapes stay finite).
fn elements(dims: &[usize]) -> u64 {
    dims.iter().fold(1u64, |n, &d| n.saturating_mul(d as u64))
}
