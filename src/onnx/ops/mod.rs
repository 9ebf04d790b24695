//! NodeProto → [`Op`]: one parser per op family, reading the attributes with the defaults
//! and the opset-dependent meaning of the ONNX specification and checking the node's arity.

mod conv;
mod elementwise;
mod gemm;
mod norm;
mod pool;
mod quant;
mod shape;
mod window;

use super::ctx::NodeCtx;
use crate::error::{Error, Result};
use crate::ir::Op;

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
        other => Err(Error::Unsupported {
            node: cx.name.to_string(),
            op: other.to_string(),
            domain: String::new(),
        }),
    }
}
