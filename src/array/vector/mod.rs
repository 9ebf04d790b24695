//! The vector unit: every non-GEMM op, elementwise in f32 (integer ops exact), plus the
//! copy engine for data movement. Each op's file holds its evaluation and its cost in
//! element-operations, from which `lower` sets the unit's cycles.

mod activation;
mod elementwise;
pub mod erf;
mod exact;
mod generate;
mod layer_norm;
mod movement;
mod pad;
mod pool;
mod quant;
mod reduce;
mod resize;

use crate::error::{Error, Result};
use crate::kernel::{Unary, VectorOp};
use crate::tensor::Tensor;
pub use elementwise::{binary_in_place, relu_in_place};
use movement::copy_engine;

/// Evaluates one vector-unit op on concrete inputs (positional, `None` for omitted optional
/// ones); returns one tensor per output of the op (a node may use fewer).
pub fn eval(op: &VectorOp, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let arg = |i: usize| inputs.get(i).copied().flatten();
    let need = |i: usize| arg(i).ok_or_else(|| Error::Shape(format!("input {i} is missing")));
    let one = match op {
        copy_engine!() => return movement::move_data(op, inputs),
        VectorOp::Pad {
            mode,
            pads,
            shape,
            value,
        } => pad::pad(
            need(0)?,
            pads,
            shape,
            *mode,
            &pad::fill_value(arg(2), *value)?,
        ),
        VectorOp::ConstantOfShape { shape, value } => generate::constant_of_shape(shape, value),
        VectorOp::Range { len } => generate::range(need(0)?, need(2)?, *len),
        VectorOp::Compare(c) => exact::compare(*c, need(0)?, need(1)?),
        VectorOp::Logic(l) => exact::logic(*l, need(0)?, need(1)?),
        VectorOp::Not => exact::not(need(0)?),
        VectorOp::Where => exact::select(need(0)?, need(1)?, need(2)?),
        VectorOp::Min | VectorOp::Max => {
            let all: Vec<&Tensor> = (0..inputs.len()).map(need).collect::<Result<_>>()?;
            exact::extremum(matches!(op, VectorOp::Max), &all)
        }
        VectorOp::Unary(u @ (Unary::Neg | Unary::Abs)) => exact::neg_abs(*u, need(0)?),
        VectorOp::Add | VectorOp::Sub | VectorOp::Mul | VectorOp::Div => {
            match exact::int_arith(op, need(0)?, need(1)?)? {
                Some(t) => Ok(t),
                None => elementwise::binary(op, need(0)?, need(1)?),
            }
        }
        VectorOp::Relu => elementwise::relu(need(0)?),
        VectorOp::Clip { min, max } => elementwise::clip(need(0)?, arg(1), arg(2), *min, *max),
        VectorOp::Pow => elementwise::pow(need(0)?, need(1)?),
        VectorOp::PRelu => elementwise::prelu(need(0)?, need(1)?),
        VectorOp::Unary(u) => activation::unary(*u, need(0)?),
        VectorOp::BatchNormalization { epsilon } => {
            let p: Vec<&Tensor> = (1..5).map(need).collect::<Result<_>>()?;
            elementwise::batch_norm(need(0)?, p[0], p[1], p[2], p[3], *epsilon)
        }
        VectorOp::Softmax { axis, coerce_2d } => elementwise::softmax(need(0)?, *axis, *coerce_2d),
        VectorOp::LayerNormalization { axis, epsilon } => {
            return layer_norm::layer_norm(need(0)?, need(1)?, arg(2), *axis, *epsilon);
        }
        VectorOp::Reduce { kind, axes, shape } => reduce::reduce(need(0)?, *kind, axes, shape),
        VectorOp::Resize {
            mode,
            transform,
            extrapolation_value,
            plan,
        } => resize::resize(need(0)?, *mode, *transform, *extrapolation_value, plan),
        VectorOp::MaxPool(w) => pool::max_pool(need(0)?, w),
        VectorOp::AveragePool {
            window,
            count_include_pad,
        } => pool::average_pool(need(0)?, window, *count_include_pad),
        VectorOp::GlobalAveragePool => pool::global(need(0)?, false),
        VectorOp::GlobalMaxPool => pool::global(need(0)?, true),
        VectorOp::QuantizeLinear {
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
        VectorOp::DequantizeLinear { axis, block_size } => {
            quant::dequantize(need(0)?, need(1)?, arg(2), *axis, *block_size)
        }
        VectorOp::DynamicQuantizeLinear => return quant::dynamic_quantize(need(0)?),
    }?;
    Ok(vec![one])
}

/// The element-operations a vector-unit op performs, from the shapes of its inputs (`None`
/// when omitted) and outputs; the unit does `vector_lanes` of them per cycle.
pub fn work(op: &VectorOp, inputs: &[Option<&[usize]>], outputs: &[&[usize]]) -> Result<u64> {
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
        copy_engine!() => movement::work(op, out),
        VectorOp::MaxPool(window) | VectorOp::AveragePool { window, .. } => {
            pool::window_work(window, out)
        }
        VectorOp::GlobalAveragePool | VectorOp::GlobalMaxPool => inp(0)?,
        VectorOp::Relu
        | VectorOp::Clip { .. }
        | VectorOp::Add
        | VectorOp::Sub
        | VectorOp::Mul
        | VectorOp::Div
        | VectorOp::Pow
        | VectorOp::PRelu
        | VectorOp::BatchNormalization { .. }
        | VectorOp::Softmax { .. } => elementwise::work(op, out),
        VectorOp::Unary(u) => activation::work(*u, out),
        VectorOp::Reduce { .. } => reduce::work(inp(0)?, out),
        VectorOp::LayerNormalization { .. } => layer_norm::work(inp(0)?),
        VectorOp::Min | VectorOp::Max => exact::extremum_work(inputs.len(), out),
        VectorOp::Compare(_) | VectorOp::Logic(_) | VectorOp::Not | VectorOp::Where => out,
        VectorOp::Resize { mode, .. } => resize::work(*mode, input(0)?.len(), out),
        VectorOp::QuantizeLinear { .. } | VectorOp::DequantizeLinear { .. } => out,
        VectorOp::DynamicQuantizeLinear => quant::dynamic_work(inp(0)?, out),
        VectorOp::Pad { .. } | VectorOp::ConstantOfShape { .. } | VectorOp::Range { .. } => out,
    })
}

/// The product of `dims` as a u64, saturating (work estimates of absurd shapes stay finite).
fn elements(dims: &[usize]) -> u64 {
    dims.iter().fold(1u64, |n, &d| n.saturating_mul(d as u64))
}
