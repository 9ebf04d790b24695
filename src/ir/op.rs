//! The closed set of operators the IR knows, with their typed attributes.

use crate::tensor::DType;

/// How a convolution or pooling window pads its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutoPad {
    /// Explicit `pads`.
    #[default]
    NotSet,
    /// No padding.
    Valid,
    /// Output = ceil(input / stride); extra padding at the end.
    SameUpper,
    /// Output = ceil(input / stride); extra padding at the beginning.
    SameLower,
}

/// Attributes of Conv, ConvInteger and QLinearConv (2-D and 1-D; spatial dims = `kernel_shape.len()`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConvAttrs {
    /// Spatial kernel size; `None` means "take it from the weight tensor".
    pub kernel_shape: Option<Vec<usize>>,
    /// Strides per spatial dim (empty = all 1).
    pub strides: Vec<usize>,
    /// Pads: all begins then all ends (empty = all 0).
    pub pads: Vec<usize>,
    /// Dilations per spatial dim (empty = all 1).
    pub dilations: Vec<usize>,
    /// Number of groups.
    pub group: usize,
    /// Auto padding mode.
    pub auto_pad: AutoPad,
}

/// Attributes of MaxPool and AveragePool.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PoolAttrs {
    /// Window size per spatial dim.
    pub kernel_shape: Vec<usize>,
    /// Strides per spatial dim (empty = all 1).
    pub strides: Vec<usize>,
    /// Pads: all begins then all ends (empty = all 0).
    pub pads: Vec<usize>,
    /// Dilations per spatial dim (empty = all 1).
    pub dilations: Vec<usize>,
    /// Output size rounds up instead of down.
    pub ceil_mode: bool,
    /// AveragePool: padded cells count in the divisor.
    pub count_include_pad: bool,
    /// Auto padding mode.
    pub auto_pad: AutoPad,
}

/// Attributes of Gemm: `Y = alpha · op(A) · op(B) + beta · C`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GemmAttrs {
    /// Scale of the product.
    pub alpha: f32,
    /// Scale of C.
    pub beta: f32,
    /// A is transposed.
    pub trans_a: bool,
    /// B is transposed.
    pub trans_b: bool,
}

/// An activation fused into the output unit of a quantized GEMM (clamps the integer output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FusedAct {
    /// None.
    #[default]
    None,
    /// ReLU: the output's lower bound becomes the zero point.
    Relu,
}

/// One operator with its attributes. Inputs are positional as in ONNX.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Conv(X, W, [B]).
    Conv(ConvAttrs),
    /// ConvInteger(X, W, [x_zp], [w_zp]) → int32.
    ConvInteger(ConvAttrs),
    /// QLinearConv(X, xs, xzp, W, ws, wzp, ys, yzp, [B]); `act` comes from QDQ fusion.
    QLinearConv(ConvAttrs, FusedAct),
    /// Gemm(A, B, [C]).
    Gemm(GemmAttrs),
    /// MatMul(A, B) with numpy broadcasting.
    MatMul,
    /// MatMulInteger(A, B, [a_zp], [b_zp]) → int32.
    MatMulInteger,
    /// QLinearMatMul(A, as, azp, B, bs, bzp, ys, yzp, [bias]); the int32 bias (input 8) and
    /// `act` come from QDQ fusion of Gemm/MatMul.
    QLinearMatMul(FusedAct),
    /// max(x, 0).
    Relu,
    /// Clip(X, [min], [max]); `min`/`max` hold the attribute values of opset < 11.
    Clip {
        /// Lower bound (opset < 11 attribute).
        min: Option<f32>,
        /// Upper bound (opset < 11 attribute).
        max: Option<f32>,
    },
    /// Elementwise add with broadcasting.
    Add,
    /// Elementwise subtract with broadcasting.
    Sub,
    /// Elementwise multiply with broadcasting.
    Mul,
    /// Elementwise divide with broadcasting (integer division truncates).
    Div,
    /// BatchNormalization(X, scale, B, mean, var), inference mode.
    BatchNormalization {
        /// Added to the variance.
        epsilon: f32,
    },
    /// MaxPool.
    MaxPool(PoolAttrs),
    /// AveragePool.
    AveragePool(PoolAttrs),
    /// Mean over all spatial dims.
    GlobalAveragePool,
    /// Max over all spatial dims.
    GlobalMaxPool,
    /// Flatten to 2-D at `axis`.
    Flatten {
        /// Dims before it become the rows.
        axis: i64,
    },
    /// Reshape(X, shape).
    Reshape {
        /// A 0 in `shape` means 0, not "copy".
        allowzero: bool,
    },
    /// Transpose.
    Transpose {
        /// The permutation; `None` reverses the dims.
        perm: Option<Vec<usize>>,
    },
    /// Concat along `axis`.
    Concat {
        /// The axis (negative counts from the end).
        axis: i64,
    },
    /// Softmax.
    Softmax {
        /// The axis (negative counts from the end).
        axis: i64,
        /// Opset < 13: the input is coerced to 2-D at `axis` and the softmax taken over the flattened tail.
        coerce_2d: bool,
    },
    /// QuantizeLinear(X, scale, [zp]).
    QuantizeLinear {
        /// Axis of per-axis scales.
        axis: i64,
        /// Block size for blocked quantization (0 = none).
        block_size: usize,
        /// Output type when no zero point gives it (opset 21 `output_dtype`); default uint8.
        output_dtype: Option<DType>,
    },
    /// DequantizeLinear(X, scale, [zp]).
    DequantizeLinear {
        /// Axis of per-axis scales.
        axis: i64,
        /// Block size for blocked quantization (0 = none).
        block_size: usize,
    },
    /// Identity.
    Identity,
    /// Shape(X) → int64 dims in [start, end).
    Shape {
        /// First dim.
        start: i64,
        /// One past the last dim (`None` = rank).
        end: Option<i64>,
    },
    /// Gather(X, indices) along `axis`.
    Gather {
        /// The axis.
        axis: i64,
    },
    /// Unsqueeze(X, [axes]); `axes` holds the opset < 13 attribute.
    Unsqueeze {
        /// Axes attribute (opset < 13).
        axes: Option<Vec<i64>>,
    },
    /// Squeeze(X, [axes]); `axes` holds the opset < 13 attribute.
    Squeeze {
        /// Axes attribute (opset < 13).
        axes: Option<Vec<i64>>,
    },
    /// Cast to `to`.
    Cast {
        /// Target type.
        to: DType,
    },
    /// Slice(X, starts, ends, [axes], [steps]).
    Slice,
}

impl Op {
    /// The ONNX op type name.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Conv(_) => "Conv",
            Op::ConvInteger(_) => "ConvInteger",
            Op::QLinearConv(..) => "QLinearConv",
            Op::Gemm(_) => "Gemm",
            Op::MatMul => "MatMul",
            Op::MatMulInteger => "MatMulInteger",
            Op::QLinearMatMul(_) => "QLinearMatMul",
            Op::Relu => "Relu",
            Op::Clip { .. } => "Clip",
            Op::Add => "Add",
            Op::Sub => "Sub",
            Op::Mul => "Mul",
            Op::Div => "Div",
            Op::BatchNormalization { .. } => "BatchNormalization",
            Op::MaxPool(_) => "MaxPool",
            Op::AveragePool(_) => "AveragePool",
            Op::GlobalAveragePool => "GlobalAveragePool",
            Op::GlobalMaxPool => "GlobalMaxPool",
            Op::Flatten { .. } => "Flatten",
            Op::Reshape { .. } => "Reshape",
            Op::Transpose { .. } => "Transpose",
            Op::Concat { .. } => "Concat",
            Op::Softmax { .. } => "Softmax",
            Op::QuantizeLinear { .. } => "QuantizeLinear",
            Op::DequantizeLinear { .. } => "DequantizeLinear",
            Op::Identity => "Identity",
            Op::Shape { .. } => "Shape",
            Op::Gather { .. } => "Gather",
            Op::Unsqueeze { .. } => "Unsqueeze",
            Op::Squeeze { .. } => "Squeeze",
            Op::Cast { .. } => "Cast",
            Op::Slice => "Slice",
        }
    }

    /// True for ops that run on the systolic arrays (GEMM-class).
    pub fn is_gemm_class(&self) -> bool {
        matches!(
            self,
            Op::Conv(_)
                | Op::ConvInteger(_)
                | Op::QLinearConv(..)
                | Op::Gemm(_)
                | Op::MatMul
                | Op::MatMulInteger
                | Op::QLinearMatMul(_)
        )
    }
}
