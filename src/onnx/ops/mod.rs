//! NodeProto → [`Op`]: the node's [`OpKind`] by name, then one parser per op family, reading
//! the attributes with the defaults and the opset-dependent meaning of the ONNX specification
//! and checking the node's arity.

mod activation;
mod conv;
mod elementwise;
mod gemm;
mod generate;
mod logic;
mod norm;
mod pad;
mod pool;
mod quant;
mod recurrent;
mod reduce;
mod resize;
mod shape;
mod window;

use super::ctx::NodeCtx;
use crate::error::{Error, Result};
use crate::ir::{Comparison, Logic, Op, OpKind, Reduction, Unary};

/// The op of a node of `domain` (`""` for the default domain); an op type the IR does not
/// have is [`Error::Unsupported`].
pub(super) fn parse(cx: &mut NodeCtx, domain: &str) -> Result<Op> {
    let kind = OpKind::from_name(domain, cx.op).ok_or_else(|| Error::Unsupported {
        node: cx.name.to_string(),
        op: cx.op.to_string(),
        domain: domain.to_string(),
    })?;
    match kind {
        OpKind::Conv => conv::conv(cx),
        OpKind::ConvInteger => conv::conv_integer(cx),
        OpKind::QLinearConv => conv::qlinear_conv(cx),
        OpKind::Gemm => gemm::gemm(cx),
        OpKind::MatMul => gemm::matmul(cx),
        OpKind::MatMulInteger => gemm::matmul_integer(cx),
        OpKind::QLinearMatMul => gemm::qlinear_matmul(cx),
        OpKind::Relu => elementwise::relu(cx),
        OpKind::Clip => elementwise::clip(cx),
        OpKind::Add => elementwise::binary(cx, Op::Add),
        OpKind::Sub => elementwise::binary(cx, Op::Sub),
        OpKind::Mul => elementwise::binary(cx, Op::Mul),
        OpKind::Div => elementwise::binary(cx, Op::Div),
        OpKind::BatchNormalization => norm::batch_normalization(cx),
        OpKind::Softmax => norm::softmax(cx),
        OpKind::MaxPool => pool::max_pool(cx),
        OpKind::AveragePool => pool::average_pool(cx),
        OpKind::GlobalAveragePool => pool::global_average_pool(cx),
        OpKind::GlobalMaxPool => pool::global_max_pool(cx),
        OpKind::QuantizeLinear => quant::quantize_linear(cx),
        OpKind::DequantizeLinear => quant::dequantize_linear(cx),
        OpKind::Identity => shape::identity(cx),
        OpKind::Reshape => shape::reshape(cx),
        OpKind::Flatten => shape::flatten(cx),
        OpKind::Transpose => shape::transpose(cx),
        OpKind::Concat => shape::concat(cx),
        OpKind::Shape => shape::shape(cx),
        OpKind::Gather => shape::gather(cx),
        OpKind::Unsqueeze => shape::unsqueeze(cx),
        OpKind::Squeeze => shape::squeeze(cx),
        OpKind::Cast => shape::cast(cx),
        OpKind::Slice => shape::slice(cx),
        OpKind::Split => shape::split(cx),
        OpKind::Expand => shape::expand(cx),
        OpKind::ConvTranspose => conv::conv_transpose(cx),
        OpKind::Pow => elementwise::binary(cx, Op::Pow),
        OpKind::PRelu => elementwise::binary(cx, Op::PRelu),
        OpKind::Min => elementwise::variadic(cx, Op::Min),
        OpKind::Max => elementwise::variadic(cx, Op::Max),
        OpKind::Neg => activation::unary(cx, Unary::Neg, 1),
        OpKind::Abs => activation::unary(cx, Unary::Abs, 1),
        OpKind::Reciprocal => activation::unary(cx, Unary::Reciprocal, 1),
        OpKind::Sqrt => activation::unary(cx, Unary::Sqrt, 1),
        OpKind::Exp => activation::unary(cx, Unary::Exp, 1),
        OpKind::Log => activation::unary(cx, Unary::Log, 1),
        OpKind::Sigmoid => activation::unary(cx, Unary::Sigmoid, 1),
        OpKind::Tanh => activation::unary(cx, Unary::Tanh, 1),
        OpKind::Erf => activation::unary(cx, Unary::Erf, 9),
        OpKind::Floor => activation::unary(cx, Unary::Floor, 6),
        OpKind::Ceil => activation::unary(cx, Unary::Ceil, 6),
        OpKind::Round => activation::unary(cx, Unary::Round, 11),
        OpKind::Softplus => activation::unary(cx, Unary::Softplus, 1),
        OpKind::HardSwish => activation::unary(cx, Unary::HardSwish, 14),
        OpKind::HardSigmoid => activation::hard_sigmoid(cx),
        OpKind::LeakyRelu => activation::leaky_relu(cx),
        OpKind::Gelu => activation::gelu(cx),
        OpKind::Equal => logic::compare(cx, Comparison::Equal),
        OpKind::Less => logic::compare(cx, Comparison::Less),
        OpKind::LessOrEqual => logic::compare(cx, Comparison::LessOrEqual),
        OpKind::Greater => logic::compare(cx, Comparison::Greater),
        OpKind::GreaterOrEqual => logic::compare(cx, Comparison::GreaterOrEqual),
        OpKind::And => logic::logic(cx, Logic::And),
        OpKind::Or => logic::logic(cx, Logic::Or),
        OpKind::Xor => logic::logic(cx, Logic::Xor),
        OpKind::Not => logic::not(cx),
        OpKind::Where => logic::where_(cx),
        OpKind::ReduceMean => reduce::reduce(cx, Reduction::Mean),
        OpKind::ReduceSum => reduce::reduce(cx, Reduction::Sum),
        OpKind::ReduceMax => reduce::reduce(cx, Reduction::Max),
        OpKind::ReduceMin => reduce::reduce(cx, Reduction::Min),
        OpKind::LayerNormalization => norm::layer_normalization(cx),
        OpKind::ConstantOfShape => generate::constant_of_shape(cx),
        OpKind::Range => generate::range(cx),
        OpKind::Pad => pad::pad(cx),
        OpKind::Resize => resize::resize(cx),
        OpKind::DynamicQuantizeLinear => quant::dynamic_quantize_linear(cx),
        OpKind::Lstm => recurrent::lstm(cx),
        OpKind::Gru => recurrent::gru(cx),
        OpKind::Rnn => recurrent::rnn(cx),
        OpKind::DynamicQuantizeLstm => recurrent::dynamic_quantize_lstm(cx),
    }
}
