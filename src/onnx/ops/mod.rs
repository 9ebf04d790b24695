//! NodeProto → [`Op`]: one parser per op family, reading the attributes with the defaults
//! and the opset-dependent meaning of the ONNX specification and checking the node's arity.

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
use crate::ir::{Comparison, Logic, Op, Reduction, Unary};

/// onnxruntime `com.microsoft` ops the IR has.
pub(super) const CONTRIB_OPS: [&str; 1] = ["DynamicQuantizeLSTM"];

/// The op of a `com.microsoft` node listed in [`CONTRIB_OPS`].
pub(super) fn parse_contrib(cx: &mut NodeCtx) -> Result<Op> {
    match cx.op {
        "DynamicQuantizeLSTM" => recurrent::dynamic_quantize_lstm(cx),
        other => Err(Error::Unsupported {
            node: cx.name.to_string(),
            op: other.to_string(),
            domain: "com.microsoft".into(),
        }),
    }
}

/// The op of a default-domain node; an op type the IR does not have is
/// [`Error::Unsupported`].
pub(super) fn parse(cx: &mut NodeCtx) -> Result<Op> {
    match cx.op {
        "Conv" => conv::conv(cx),
        "ConvInteger" => conv::conv_integer(cx),
        "QLinearConv" => conv::qlinear_conv(cx),
        "Gemm" => gemm::gemm(cx),
        "MatMul" => gemm::matmul(cx),
        "MatMulInteger" => gemm::matmul_integer(cx),
        "QLinearMatMul" => gemm::qlinear_matmul(cx),
        "Relu" => elementwise::relu(cx),
        "Clip" => elementwise::clip(cx),
        "Add" => elementwise::binary(cx, Op::Add),
        "Sub" => elementwise::binary(cx, Op::Sub),
        "Mul" => elementwise::binary(cx, Op::Mul),
        "Div" => elementwise::binary(cx, Op::Div),
        "BatchNormalization" => norm::batch_normalization(cx),
        "Softmax" => norm::softmax(cx),
        "MaxPool" => pool::max_pool(cx),
        "AveragePool" => pool::average_pool(cx),
        "GlobalAveragePool" => pool::global_average_pool(cx),
        "GlobalMaxPool" => pool::global_max_pool(cx),
        "QuantizeLinear" => quant::quantize_linear(cx),
        "DequantizeLinear" => quant::dequantize_linear(cx),
        "Identity" => shape::identity(cx),
        "Reshape" => shape::reshape(cx),
        "Flatten" => shape::flatten(cx),
        "Transpose" => shape::transpose(cx),
        "Concat" => shape::concat(cx),
        "Shape" => shape::shape(cx),
        "Gather" => shape::gather(cx),
        "Unsqueeze" => shape::unsqueeze(cx),
        "Squeeze" => shape::squeeze(cx),
        "Cast" => shape::cast(cx),
        "Slice" => shape::slice(cx),
        "Split" => shape::split(cx),
        "Expand" => shape::expand(cx),
        "ConvTranspose" => conv::conv_transpose(cx),
        "Pow" => elementwise::binary(cx, Op::Pow),
        "PRelu" => elementwise::binary(cx, Op::PRelu),
        "Min" => elementwise::variadic(cx, Op::Min),
        "Max" => elementwise::variadic(cx, Op::Max),
        "Neg" => activation::unary(cx, Unary::Neg, 1),
        "Abs" => activation::unary(cx, Unary::Abs, 1),
        "Reciprocal" => activation::unary(cx, Unary::Reciprocal, 1),
        "Sqrt" => activation::unary(cx, Unary::Sqrt, 1),
        "Exp" => activation::unary(cx, Unary::Exp, 1),
        "Log" => activation::unary(cx, Unary::Log, 1),
        "Sigmoid" => activation::unary(cx, Unary::Sigmoid, 1),
        "Tanh" => activation::unary(cx, Unary::Tanh, 1),
        "Erf" => activation::unary(cx, Unary::Erf, 9),
        "Floor" => activation::unary(cx, Unary::Floor, 6),
        "Ceil" => activation::unary(cx, Unary::Ceil, 6),
        "Round" => activation::unary(cx, Unary::Round, 11),
        "Softplus" => activation::unary(cx, Unary::Softplus, 1),
        "HardSwish" => activation::unary(cx, Unary::HardSwish, 14),
        "HardSigmoid" => activation::hard_sigmoid(cx),
        "LeakyRelu" => activation::leaky_relu(cx),
        "Gelu" => activation::gelu(cx),
        "Equal" => logic::compare(cx, Comparison::Equal),
        "Less" => logic::compare(cx, Comparison::Less),
        "LessOrEqual" => logic::compare(cx, Comparison::LessOrEqual),
        "Greater" => logic::compare(cx, Comparison::Greater),
        "GreaterOrEqual" => logic::compare(cx, Comparison::GreaterOrEqual),
        "And" => logic::logic(cx, Logic::And),
        "Or" => logic::logic(cx, Logic::Or),
        "Xor" => logic::logic(cx, Logic::Xor),
        "Not" => logic::not(cx),
        "Where" => logic::where_(cx),
        "ReduceMean" => reduce::reduce(cx, Reduction::Mean),
        "ReduceSum" => reduce::reduce(cx, Reduction::Sum),
        "ReduceMax" => reduce::reduce(cx, Reduction::Max),
        "ReduceMin" => reduce::reduce(cx, Reduction::Min),
        "LayerNormalization" => norm::layer_normalization(cx),
        "ConstantOfShape" => generate::constant_of_shape(cx),
        "Range" => generate::range(cx),
        "Pad" => pad::pad(cx),
        "Resize" => resize::resize(cx),
        "DynamicQuantizeLinear" => quant::dynamic_quantize_linear(cx),
        other => Err(Error::Unsupported {
            node: cx.name.to_string(),
            op: other.to_string(),
            domain: String::new(),
        }),
    }
}
