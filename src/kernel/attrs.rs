//! The attributes of the vector unit's ops: which function, comparison, logic, reduction or
//! fill each one computes.

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
