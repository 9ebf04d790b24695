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

/// Attributes of ConvTranspose (any number of spatial dims).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConvTransposeAttrs {
    /// Strides, pads, dilations, group and auto_pad, as for Conv; `pads` are removed from the
    /// full output (all begins then all ends).
    pub conv: ConvAttrs,
    /// Extra size added at the end of each spatial output dim (empty = all 0).
    pub output_padding: Vec<usize>,
    /// Requested spatial output size (empty = computed from the pads); pads are then derived.
    pub output_shape: Vec<usize>,
}

/// An elementwise function of one tensor: the output has the input's shape and type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unary {
    /// `-x`.
    Neg,
    /// `|x|`.
    Abs,
    /// `1 / x`.
    Reciprocal,
    /// `√x`.
    Sqrt,
    /// `eˣ`.
    Exp,
    /// `ln x`.
    Log,
    /// `1 / (1 + e⁻ˣ)`.
    Sigmoid,
    /// `tanh x`.
    Tanh,
    /// The error function.
    Erf,
    /// `⌊x⌋`.
    Floor,
    /// `⌈x⌉`.
    Ceil,
    /// `x` rounded to the nearest integer, ties to even.
    Round,
    /// `ln(1 + eˣ)`.
    Softplus,
    /// `x · max(0, min(1, x/6 + 1/2))`.
    HardSwish,
    /// `max(0, min(1, alpha·x + beta))`.
    HardSigmoid {
        /// Slope.
        alpha: f32,
        /// Offset.
        beta: f32,
    },
    /// `x` for `x ≥ 0`, else `alpha·x`.
    LeakyRelu {
        /// Slope of the negative part.
        alpha: f32,
    },
    /// `x · Φ(x)`, exactly (with erf) or by the tanh approximation.
    Gelu {
        /// The tanh approximation.
        tanh: bool,
    },
}

impl Unary {
    /// The ONNX op type name.
    pub fn name(&self) -> &'static str {
        match self {
            Unary::Neg => "Neg",
            Unary::Abs => "Abs",
            Unary::Reciprocal => "Reciprocal",
            Unary::Sqrt => "Sqrt",
            Unary::Exp => "Exp",
            Unary::Log => "Log",
            Unary::Sigmoid => "Sigmoid",
            Unary::Tanh => "Tanh",
            Unary::Erf => "Erf",
            Unary::Floor => "Floor",
            Unary::Ceil => "Ceil",
            Unary::Round => "Round",
            Unary::Softplus => "Softplus",
            Unary::HardSwish => "HardSwish",
            Unary::HardSigmoid { .. } => "HardSigmoid",
            Unary::LeakyRelu { .. } => "LeakyRelu",
            Unary::Gelu { .. } => "Gelu",
        }
    }
}

/// An elementwise comparison with broadcasting; the output is bool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `a == b`.
    Equal,
    /// `a < b`.
    Less,
    /// `a <= b`.
    LessOrEqual,
    /// `a > b`.
    Greater,
    /// `a >= b`.
    GreaterOrEqual,
}

/// A binary logical op on bool tensors, with broadcasting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logic {
    /// `a ∧ b`.
    And,
    /// `a ∨ b`.
    Or,
    /// `a ⊕ b`.
    Xor,
}

/// What a reduction computes over its axes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    /// Arithmetic mean.
    Mean,
    /// Sum.
    Sum,
    /// Maximum.
    Max,
    /// Minimum.
    Min,
}

/// Attributes of ReduceMean, ReduceSum, ReduceMax and ReduceMin.
#[derive(Debug, Clone, PartialEq)]
pub struct ReduceAttrs {
    /// What is computed.
    pub kind: Reduction,
    /// The `axes` attribute (opsets before axes became an input); `None` = the input, if any.
    pub axes: Option<Vec<i64>>,
    /// Keep the reduced dims as size 1.
    pub keepdims: bool,
    /// With no axes, pass the input through instead of reducing every axis.
    pub noop_with_empty_axes: bool,
}

/// How Pad fills the border.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PadMode {
    /// A constant value.
    Constant,
    /// Mirror without repeating the edge.
    Reflect,
    /// Repeat the edge.
    Edge,
    /// Wrap around (cyclic).
    Wrap,
}

/// How Resize picks or blends input pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResizeMode {
    /// The nearest input pixel, rounded by the nearest mode.
    Nearest(NearestMode),
    /// (Multi-)linear interpolation.
    Linear,
}

/// How Resize's nearest mode rounds a source coordinate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NearestMode {
    /// Round half down.
    RoundPreferFloor,
    /// Round half up.
    RoundPreferCeil,
    /// Floor.
    Floor,
    /// Ceil.
    Ceil,
}

/// How Resize maps an output coordinate to an input coordinate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoordinateTransform {
    /// `(x + 0.5) / scale − 0.5`.
    HalfPixel,
    /// Half pixel, centred on the output canvas when the output size was rounded.
    HalfPixelSymmetric,
    /// Half pixel, but `−0.5` for an output of length 1.
    PytorchHalfPixel,
    /// `x · (in − 1) / (out − 1)`.
    AlignCorners,
    /// `x / scale`.
    Asymmetric,
    /// The roi's window of the input, corners aligned; outside the input gives
    /// `extrapolation_value`.
    TfCropAndResize,
}

/// How Resize fits `sizes` when only some axes may keep their aspect ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AspectPolicy {
    /// Every axis takes its own size.
    Stretch,
    /// One scale, the smallest: the output fits inside `sizes`.
    NotLarger,
    /// One scale, the largest: the output covers `sizes`.
    NotSmaller,
}

/// Attributes of Resize (opset 11 and later).
#[derive(Debug, Clone, PartialEq)]
pub struct ResizeAttrs {
    /// Interpolation.
    pub mode: ResizeMode,
    /// Coordinate mapping.
    pub transform: CoordinateTransform,
    /// Value of output pixels outside the input (tf_crop_and_resize).
    pub extrapolation_value: f32,
    /// Axes that `roi`, `scales` and `sizes` refer to (opset 18); `None` = every axis.
    pub axes: Option<Vec<i64>>,
    /// How `sizes` are fitted.
    pub aspect: AspectPolicy,
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
    /// ConvTranspose(X, W, [B]).
    ConvTranspose(ConvTransposeAttrs),
    /// An elementwise function of one tensor.
    Unary(Unary),
    /// Pow(X, Y) with broadcasting; the output has X's type.
    Pow,
    /// PRelu(X, slope): `x` for `x ≥ 0`, else `slope·x` (slope broadcast to X).
    PRelu,
    /// Elementwise comparison → bool.
    Compare(Comparison),
    /// Binary logic on bools.
    Logic(Logic),
    /// Logical not of a bool tensor.
    Not,
    /// Where(condition, X, Y) with broadcasting.
    Where,
    /// Elementwise minimum of any number of inputs, with broadcasting.
    Min,
    /// Elementwise maximum of any number of inputs, with broadcasting.
    Max,
    /// ReduceMean / ReduceSum / ReduceMax / ReduceMin(X, [axes]).
    Reduce(ReduceAttrs),
    /// LayerNormalization(X, scale, [B]) → Y, [mean], [inverse standard deviation].
    LayerNormalization {
        /// First normalized axis; the statistics are over it and every later axis.
        axis: i64,
        /// Added to the variance.
        epsilon: f32,
    },
    /// Split(X, [split]) along `axis` into one output per part.
    Split {
        /// The axis.
        axis: i64,
        /// Part lengths from the attribute (opset < 13); `None` = the input, or equal parts.
        split: Option<Vec<i64>>,
        /// Number of parts (outputs).
        parts: usize,
        /// Without lengths, the last part may be shorter (opset 18 `num_outputs`); before,
        /// the parts must be equal.
        uneven: bool,
    },
    /// Expand(X, shape): broadcast X to `shape` (bidirectionally).
    Expand,
    /// ConstantOfShape(shape): a tensor of that shape filled with `value`.
    ConstantOfShape {
        /// The fill value (one element; its type is the output type).
        value: crate::tensor::Tensor,
    },
    /// Range(start, limit, delta).
    Range,
    /// Pad(X, [pads], [constant_value], [axes]).
    Pad {
        /// The fill.
        mode: PadMode,
        /// Pads attribute (opset < 11): all begins then all ends, negative crops.
        pads: Option<Vec<i64>>,
        /// Constant fill attribute (opset < 11).
        value: f32,
    },
    /// Resize(X, [roi], [scales], [sizes]).
    Resize(ResizeAttrs),
    /// DynamicQuantizeLinear(X) → (Y uint8, scale, zero point).
    DynamicQuantizeLinear,
    /// onnxruntime's `com.microsoft` DynamicQuantizeLSTM(X, W, R, [B], [sequence_lens],
    /// [initial_h], [initial_c], [P], W_scale, W_zero_point, R_scale, R_zero_point) →
    /// (Y, Y_h, Y_c): an LSTM whose weights are int8 and whose inputs and hidden states are
    /// quantized dynamically at every product. Unrolled over time before lowering
    /// (`ir::recurrent`).
    DynamicQuantizeLstm(LstmAttrs),
}

/// Which way an LSTM runs over the sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LstmDirection {
    /// First step to last.
    Forward,
    /// Last step to first.
    Reverse,
    /// Both, outputs stacked forward then reverse.
    Bidirectional,
}

impl LstmDirection {
    /// The number of directions computed.
    pub fn count(self) -> usize {
        if self == LstmDirection::Bidirectional {
            2
        } else {
            1
        }
    }
}

/// Attributes of an LSTM (the default activations: sigmoid gates, tanh cell and output).
#[derive(Debug, Clone, PartialEq)]
pub struct LstmAttrs {
    /// Hidden size.
    pub hidden: usize,
    /// Direction.
    pub direction: LstmDirection,
    /// The forget gate is `1 − input gate`.
    pub input_forget: bool,
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
            Op::ConvTranspose(_) => "ConvTranspose",
            Op::Unary(u) => u.name(),
            Op::Pow => "Pow",
            Op::PRelu => "PRelu",
            Op::Compare(c) => match c {
                Comparison::Equal => "Equal",
                Comparison::Less => "Less",
                Comparison::LessOrEqual => "LessOrEqual",
                Comparison::Greater => "Greater",
                Comparison::GreaterOrEqual => "GreaterOrEqual",
            },
            Op::Logic(l) => match l {
                Logic::And => "And",
                Logic::Or => "Or",
                Logic::Xor => "Xor",
            },
            Op::Not => "Not",
            Op::Where => "Where",
            Op::Min => "Min",
            Op::Max => "Max",
            Op::Reduce(r) => match r.kind {
                Reduction::Mean => "ReduceMean",
                Reduction::Sum => "ReduceSum",
                Reduction::Max => "ReduceMax",
                Reduction::Min => "ReduceMin",
            },
            Op::LayerNormalization { .. } => "LayerNormalization",
            Op::Split { .. } => "Split",
            Op::Expand => "Expand",
            Op::ConstantOfShape { .. } => "ConstantOfShape",
            Op::Range => "Range",
            Op::Pad { .. } => "Pad",
            Op::Resize(_) => "Resize",
            Op::DynamicQuantizeLinear => "DynamicQuantizeLinear",
            Op::DynamicQuantizeLstm(_) => "DynamicQuantizeLSTM",
        }
    }

    /// True for ops that run on the systolic arrays (GEMM-class).
    pub fn is_gemm_class(&self) -> bool {
        matches!(
            self,
            Op::Conv(_)
                | Op::ConvTranspose(_)
                | Op::ConvInteger(_)
                | Op::QLinearConv(..)
                | Op::Gemm(_)
                | Op::MatMul
                | Op::MatMulInteger
                | Op::QLinearMatMul(_)
        )
    }

    /// Positions of the inputs whose values (not only their shapes) decide the output shape:
    /// they must be constants, or runtime inputs the program is specialised to.
    pub fn shape_inputs(&self) -> &'static [usize] {
        match self {
            Op::Reshape { .. } | Op::Expand | Op::Split { split: None, .. } => &[1],
            Op::Unsqueeze { axes: None } | Op::Squeeze { axes: None } => &[1],
            Op::Reduce(ReduceAttrs { axes: None, .. }) => &[1],
            Op::Slice => &[1, 2, 3, 4],
            Op::ConstantOfShape { .. } => &[0],
            Op::Range => &[0, 1, 2],
            Op::Pad { pads: None, .. } => &[1, 3],
            Op::Resize(_) => &[1, 2, 3],
            _ => &[],
        }
    }
}
