//! The closed set of operators the IR knows; each op's attributes live in its home in
//! [`super::ops`].

use super::OpKind;
use super::ops::*;
use crate::tensor::DType;

/// One operator with its attributes. Inputs are positional as in ONNX.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Conv(X, W, [B]).
    Conv(ConvAttrs),
    /// ConvInteger(X, W, [x_zp], [w_zp]) → int32.
    ConvInteger(ConvAttrs),
    /// QLinearConv(X, xs, xzp, W, ws, wzp, ys, yzp, [B]); `act` comes from the QDQ rewrite.
    QLinearConv(ConvAttrs, EpilogueAct),
    /// Gemm(A, B, [C]).
    Gemm(GemmAttrs),
    /// MatMul(A, B) with numpy broadcasting.
    MatMul,
    /// MatMulInteger(A, B, [a_zp], [b_zp]) → int32.
    MatMulInteger,
    /// QLinearMatMul(A, as, azp, B, bs, bzp, ys, yzp, [bias]); the int32 bias (input 8) and
    /// `act` come from the QDQ rewrite of Gemm/MatMul.
    QLinearMatMul(EpilogueAct),
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
    /// LSTM, GRU or RNN(X, W, R, [B], [sequence_lens], [initial_h], [initial_c], [P]) →
    /// ([Y], [Y_h], [Y_c]), the op named by its [`Cell`](super::Cell). Unrolled over time
    /// before lowering (`ir::recurrent`).
    Recurrent(RecurrentAttrs),
    /// onnxruntime's `com.microsoft` DynamicQuantizeLSTM(X, W, R, [B], [sequence_lens],
    /// [initial_h], [initial_c], [P], W_scale, W_zero_point, R_scale, R_zero_point) →
    /// (Y, Y_h, Y_c): an LSTM whose weights are int8 and whose inputs and hidden states are
    /// quantized dynamically at every product. Unrolled over time before lowering
    /// (`ir::recurrent`).
    DynamicQuantizeLstm(RecurrentAttrs),
    /// A float Conv, ConvTranspose, Gemm or MatMul whose output passes through ReLU in the
    /// arrays' output unit, the ReLU node it replaced gone (the `fuse_relu` rewrite).
    FusedRelu(Box<Op>),
}

impl Op {
    /// The ONNX op type name.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// The ONNX op type.
    pub fn kind(&self) -> OpKind {
        match self {
            Op::Conv(_) => OpKind::Conv,
            Op::ConvInteger(_) => OpKind::ConvInteger,
            Op::QLinearConv(..) => OpKind::QLinearConv,
            Op::Gemm(_) => OpKind::Gemm,
            Op::MatMul => OpKind::MatMul,
            Op::MatMulInteger => OpKind::MatMulInteger,
            Op::QLinearMatMul(_) => OpKind::QLinearMatMul,
            Op::Relu => OpKind::Relu,
            Op::Clip { .. } => OpKind::Clip,
            Op::Add => OpKind::Add,
            Op::Sub => OpKind::Sub,
            Op::Mul => OpKind::Mul,
            Op::Div => OpKind::Div,
            Op::BatchNormalization { .. } => OpKind::BatchNormalization,
            Op::MaxPool(_) => OpKind::MaxPool,
            Op::AveragePool(_) => OpKind::AveragePool,
            Op::GlobalAveragePool => OpKind::GlobalAveragePool,
            Op::GlobalMaxPool => OpKind::GlobalMaxPool,
            Op::Flatten { .. } => OpKind::Flatten,
            Op::Reshape { .. } => OpKind::Reshape,
            Op::Transpose { .. } => OpKind::Transpose,
            Op::Concat { .. } => OpKind::Concat,
            Op::Softmax { .. } => OpKind::Softmax,
            Op::QuantizeLinear { .. } => OpKind::QuantizeLinear,
            Op::DequantizeLinear { .. } => OpKind::DequantizeLinear,
            Op::Identity => OpKind::Identity,
            Op::Shape { .. } => OpKind::Shape,
            Op::Gather { .. } => OpKind::Gather,
            Op::Unsqueeze { .. } => OpKind::Unsqueeze,
            Op::Squeeze { .. } => OpKind::Squeeze,
            Op::Cast { .. } => OpKind::Cast,
            Op::Slice => OpKind::Slice,
            Op::ConvTranspose(_) => OpKind::ConvTranspose,
            Op::Unary(u) => u.kind(),
            Op::Pow => OpKind::Pow,
            Op::PRelu => OpKind::PRelu,
            Op::Compare(c) => match c {
                Comparison::Equal => OpKind::Equal,
                Comparison::Less => OpKind::Less,
                Comparison::LessOrEqual => OpKind::LessOrEqual,
                Comparison::Greater => OpKind::Greater,
                Comparison::GreaterOrEqual => OpKind::GreaterOrEqual,
            },
            Op::Logic(l) => match l {
                Logic::And => OpKind::And,
                Logic::Or => OpKind::Or,
                Logic::Xor => OpKind::Xor,
            },
            Op::Not => OpKind::Not,
            Op::Where => OpKind::Where,
            Op::Min => OpKind::Min,
            Op::Max => OpKind::Max,
            Op::Reduce(r) => match r.kind {
                Reduction::Mean => OpKind::ReduceMean,
                Reduction::Sum => OpKind::ReduceSum,
                Reduction::Max => OpKind::ReduceMax,
                Reduction::Min => OpKind::ReduceMin,
            },
            Op::LayerNormalization { .. } => OpKind::LayerNormalization,
            Op::Split { .. } => OpKind::Split,
            Op::Expand => OpKind::Expand,
            Op::ConstantOfShape { .. } => OpKind::ConstantOfShape,
            Op::Range => OpKind::Range,
            Op::Pad { .. } => OpKind::Pad,
            Op::Resize(_) => OpKind::Resize,
            Op::DynamicQuantizeLinear => OpKind::DynamicQuantizeLinear,
            Op::Recurrent(a) => a.cell.kind(),
            Op::DynamicQuantizeLstm(_) => OpKind::DynamicQuantizeLstm,
            Op::FusedRelu(op) => op.kind(),
        }
    }

    /// True for ops that run on the systolic arrays (GEMM-class).
    pub fn is_gemm_class(&self) -> bool {
        match self {
            Op::FusedRelu(op) => op.is_gemm_class(),
            op => matches!(op, gemm::gemm_class!()),
        }
    }

    /// The op itself, and whether a ReLU was fused into its output ([`Op::FusedRelu`]).
    pub fn unfused(&self) -> (&Op, bool) {
        match self {
            Op::FusedRelu(op) => (op, true),
            op => (op, false),
        }
    }

    /// Positions of the inputs whose values (not only their shapes) decide the output shape,
    /// or a recurrence's steps: they must be constants, or runtime inputs the program is
    /// specialised to.
    pub fn shape_inputs(&self) -> &'static [usize] {
        match self {
            Op::Reduce(r) => reduce::shape_inputs(r),
            Op::ConstantOfShape { .. } | Op::Range => generate::shape_inputs(self),
            Op::Pad { pads, .. } => pad::shape_inputs(pads.as_deref()),
            Op::Resize(_) => resize::SHAPE_INPUTS,
            Op::Recurrent(_) => recurrent::SHAPE_INPUTS,
            movement::data_movement!() => movement::shape_inputs(self),
            _ => &[],
        }
    }
}
