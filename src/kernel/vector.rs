//! `VectorOp`: one op of the vector unit (or its copy engine) with its attributes resolved
//! against the node's input shapes: axes normalised, output shapes, windows, pads, slices and
//! resize geometry computed. Inputs stay positional as in ONNX; only the operands the unit
//! reads at run time are taken from them.

use super::{Comparison, Logic, PadMode, Reduction, ResizeMode, ResizePlan, SliceAxis, Unary};
use super::{CoordinateTransform, Window};
use crate::tensor::{DType, Tensor};

/// An op on the vector unit.
#[derive(Debug, Clone, PartialEq)]
pub enum VectorOp {
    /// A change of metadata only (Identity, Reshape, Flatten, Squeeze, Unsqueeze): X's
    /// elements in order, under this shape.
    Reshape {
        /// The output shape.
        shape: Vec<usize>,
    },
    /// Transpose(X) by `perm`.
    Transpose {
        /// The permutation.
        perm: Vec<usize>,
    },
    /// Concat of every input along `axis`.
    Concat {
        /// The axis.
        axis: usize,
    },
    /// Gather(X, indices) along `axis`.
    Gather {
        /// The axis.
        axis: usize,
    },
    /// Slice(X) along the resolved axes.
    Slice {
        /// Start, end and step per sliced axis.
        axes: Vec<SliceAxis>,
    },
    /// Shape(X): these dims, as int64.
    Shape {
        /// The selected dims.
        dims: Vec<i64>,
    },
    /// Cast(X) to `to`.
    Cast {
        /// Target type.
        to: DType,
    },
    /// Expand(X): X broadcast to `shape`.
    Expand {
        /// The output shape.
        shape: Vec<usize>,
    },
    /// Split(X) along `axis` into parts of these lengths.
    Split {
        /// The axis.
        axis: usize,
        /// Part lengths.
        lengths: Vec<usize>,
    },
    /// Pad(X, …, [constant_value]): the fill is input 2 when given, else `value`.
    Pad {
        /// The fill.
        mode: PadMode,
        /// `(begin, end)` per axis; negative crops.
        pads: Vec<(i64, i64)>,
        /// The output shape.
        shape: Vec<usize>,
        /// The constant fill without input 2.
        value: f32,
    },
    /// A tensor of `shape` filled with `value`.
    ConstantOfShape {
        /// The output shape.
        shape: Vec<usize>,
        /// The fill value (one element; its type is the output type).
        value: Tensor,
    },
    /// Range(start, limit, delta) of `len` elements.
    Range {
        /// The number of elements.
        len: usize,
    },
    /// Elementwise comparison → bool.
    Compare(Comparison),
    /// Binary logic on bools.
    Logic(Logic),
    /// Logical not.
    Not,
    /// Where(condition, X, Y).
    Where,
    /// Elementwise minimum of every input.
    Min,
    /// Elementwise maximum of every input.
    Max,
    /// Elementwise add.
    Add,
    /// Elementwise subtract.
    Sub,
    /// Elementwise multiply.
    Mul,
    /// Elementwise divide (integers truncate).
    Div,
    /// max(x, 0).
    Relu,
    /// Clip(X, [min], [max]), with the opset < 11 attribute bounds.
    Clip {
        /// Lower bound attribute.
        min: Option<f32>,
        /// Upper bound attribute.
        max: Option<f32>,
    },
    /// Pow(X, Y).
    Pow,
    /// PRelu(X, slope).
    PRelu,
    /// An elementwise function.
    Unary(Unary),
    /// BatchNormalization(X, scale, B, mean, var), inference mode.
    BatchNormalization {
        /// Added to the variance.
        epsilon: f32,
    },
    /// Softmax along `axis`.
    Softmax {
        /// The axis (negative counts from the end).
        axis: i64,
        /// The input is coerced to 2-D at `axis` (opset < 13).
        coerce_2d: bool,
    },
    /// LayerNormalization(X, scale, [B]).
    LayerNormalization {
        /// First normalized axis.
        axis: i64,
        /// Added to the variance.
        epsilon: f32,
    },
    /// A reduction of X over `axes` (none: X passes through).
    Reduce {
        /// What is computed.
        kind: Reduction,
        /// The reduced axes, ascending.
        axes: Vec<usize>,
        /// The output shape.
        shape: Vec<usize>,
    },
    /// Resize(X) by a resolved plan.
    Resize {
        /// Interpolation.
        mode: ResizeMode,
        /// Coordinate mapping.
        transform: CoordinateTransform,
        /// Value of output pixels outside the input.
        extrapolation_value: f32,
        /// The resampled axes and the output shape.
        plan: ResizePlan,
    },
    /// MaxPool over a resolved window.
    MaxPool(Window),
    /// AveragePool over a resolved window.
    AveragePool {
        /// The window.
        window: Window,
        /// Pad positions count in the divisor.
        count_include_pad: bool,
    },
    /// Mean over all spatial dims.
    GlobalAveragePool,
    /// Max over all spatial dims.
    GlobalMaxPool,
    /// QuantizeLinear(X, scale, [zp]).
    QuantizeLinear {
        /// Axis of per-axis scales.
        axis: i64,
        /// Block size (0 = none).
        block_size: usize,
        /// Output type when no zero point gives it.
        output_dtype: Option<DType>,
    },
    /// DequantizeLinear(X, scale, [zp]).
    DequantizeLinear {
        /// Axis of per-axis scales.
        axis: i64,
        /// Block size (0 = none).
        block_size: usize,
    },
    /// DynamicQuantizeLinear(X) → (Y, scale, zero point).
    DynamicQuantizeLinear,
}
