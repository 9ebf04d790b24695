//! [`OpKind`]: every ONNX op type the IR has, each named here and nowhere else. The ONNX
//! decoder finds a node's kind by its name; [`Op::name`](super::Op::name) is its kind's name.

/// Defines [`OpKind`] from `Variant => (domain, "OpType")` pairs.
macro_rules! op_kinds {
    ($($kind:ident => ($domain:expr, $name:literal),)*) => {
        /// An ONNX op type the IR has; an [`Op`](super::Op) of that type has it as its
        /// [`kind`](super::Op::kind).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum OpKind {
            $(
                #[doc = concat!("`", $name, "`.")]
                $kind,
            )*
        }

        impl OpKind {
            /// Every kind, in declaration order.
            pub const ALL: &[OpKind] = &[$(OpKind::$kind),*];

            /// The ONNX op type name.
            pub fn name(self) -> &'static str {
                match self {
                    $(OpKind::$kind => $name,)*
                }
            }

            /// The ONNX domain: `""` for the default one, else onnxruntime's contrib domain.
            pub fn domain(self) -> &'static str {
                match self {
                    $(OpKind::$kind => $domain,)*
                }
            }
        }
    };
}

/// onnxruntime's contrib-op domain.
pub const CONTRIB_DOMAIN: &str = "com.microsoft";

op_kinds! {
    Conv => ("", "Conv"),
    ConvInteger => ("", "ConvInteger"),
    QLinearConv => ("", "QLinearConv"),
    ConvTranspose => ("", "ConvTranspose"),
    Gemm => ("", "Gemm"),
    MatMul => ("", "MatMul"),
    MatMulInteger => ("", "MatMulInteger"),
    QLinearMatMul => ("", "QLinearMatMul"),
    Relu => ("", "Relu"),
    Clip => ("", "Clip"),
    Add => ("", "Add"),
    Sub => ("", "Sub"),
    Mul => ("", "Mul"),
    Div => ("", "Div"),
    Pow => ("", "Pow"),
    PRelu => ("", "PRelu"),
    Min => ("", "Min"),
    Max => ("", "Max"),
    Neg => ("", "Neg"),
    Abs => ("", "Abs"),
    Reciprocal => ("", "Reciprocal"),
    Sqrt => ("", "Sqrt"),
    Exp => ("", "Exp"),
    Log => ("", "Log"),
    Sigmoid => ("", "Sigmoid"),
    Tanh => ("", "Tanh"),
    Erf => ("", "Erf"),
    Floor => ("", "Floor"),
    Ceil => ("", "Ceil"),
    Round => ("", "Round"),
    Softplus => ("", "Softplus"),
    HardSwish => ("", "HardSwish"),
    HardSigmoid => ("", "HardSigmoid"),
    LeakyRelu => ("", "LeakyRelu"),
    Gelu => ("", "Gelu"),
    Equal => ("", "Equal"),
    Less => ("", "Less"),
    LessOrEqual => ("", "LessOrEqual"),
    Greater => ("", "Greater"),
    GreaterOrEqual => ("", "GreaterOrEqual"),
    And => ("", "And"),
    Or => ("", "Or"),
    Xor => ("", "Xor"),
    Not => ("", "Not"),
    Where => ("", "Where"),
    BatchNormalization => ("", "BatchNormalization"),
    LayerNormalization => ("", "LayerNormalization"),
    Softmax => ("", "Softmax"),
    MaxPool => ("", "MaxPool"),
    AveragePool => ("", "AveragePool"),
    GlobalAveragePool => ("", "GlobalAveragePool"),
    GlobalMaxPool => ("", "GlobalMaxPool"),
    ReduceMean => ("", "ReduceMean"),
    ReduceSum => ("", "ReduceSum"),
    ReduceMax => ("", "ReduceMax"),
    ReduceMin => ("", "ReduceMin"),
    Identity => ("", "Identity"),
    Reshape => ("", "Reshape"),
    Flatten => ("", "Flatten"),
    Transpose => ("", "Transpose"),
    Concat => ("", "Concat"),
    Shape => ("", "Shape"),
    Gather => ("", "Gather"),
    Unsqueeze => ("", "Unsqueeze"),
    Squeeze => ("", "Squeeze"),
    Cast => ("", "Cast"),
    Slice => ("", "Slice"),
    Split => ("", "Split"),
    Expand => ("", "Expand"),
    ConstantOfShape => ("", "ConstantOfShape"),
    Range => ("", "Range"),
    Pad => ("", "Pad"),
    Resize => ("", "Resize"),
    QuantizeLinear => ("", "QuantizeLinear"),
    DequantizeLinear => ("", "DequantizeLinear"),
    DynamicQuantizeLinear => ("", "DynamicQuantizeLinear"),
    Lstm => ("", "LSTM"),
    Gru => ("", "GRU"),
    Rnn => ("", "RNN"),
    DynamicQuantizeLstm => (CONTRIB_DOMAIN, "DynamicQuantizeLSTM"),
}

impl OpKind {
    /// The kind named `name` in `domain` (`""` for the default domain), if the IR has it.
    pub fn from_name(domain: &str, name: &str) -> Option<OpKind> {
        OpKind::ALL
            .iter()
            .copied()
            .find(|k| k.domain() == domain && k.name() == name)
    }
}
