//! IR op → `kernel::VectorOp`: each op's attributes resolved against its input shapes and the
//! inputs whose values decide them (constants once the graph is specialised), by the op's
//! own rules in `ir::ops`.

use crate::error::{Error, Result};
use crate::ir::geometry::Window;
use crate::ir::ops::gemm::gemm_class;
use crate::ir::ops::movement::{
    data_movement, expand_shape, flatten_shape, reshape_shape, shape_slice, slice_axes,
    split_lengths, squeeze_shape, transpose_perm, unsqueeze_shape,
};
use crate::ir::ops::{generate, pad, reduce, resize};
use crate::ir::{Op, PoolAttrs};
use crate::kernel::VectorOp;
use crate::tensor::Tensor;
use crate::tensor::ops::normalize_axis;

/// What resolving an op reads of its inputs (positional, `None` when omitted): every shape,
/// and the values of those known.
pub struct Operands<'a> {
    /// Shape of each input.
    pub shapes: Vec<Option<&'a [usize]>>,
    /// Value of each input, when known.
    pub values: Vec<Option<&'a Tensor>>,
}

impl<'a> Operands<'a> {
    /// The operands of concrete tensors.
    pub fn of_values(inputs: &[Option<&'a Tensor>]) -> Operands<'a> {
        Operands {
            shapes: inputs.iter().map(|t| t.map(Tensor::shape)).collect(),
            values: inputs.to_vec(),
        }
    }

    fn shape(&self, i: usize) -> Result<&'a [usize]> {
        self.shapes
            .get(i)
            .copied()
            .flatten()
            .ok_or_else(|| Error::Shape(format!("input {i} is missing")))
    }

    /// The value of input `i` (`None` when omitted); a computed one is an error naming `what`.
    fn value(&self, i: usize, what: &str) -> Result<Option<&'a Tensor>> {
        match self.shapes.get(i).copied().flatten() {
            None => Ok(None),
            Some(_) => self
                .values
                .get(i)
                .copied()
                .flatten()
                .map(Some)
                .ok_or_else(|| Error::Shape(format!("{what} must be a constant"))),
        }
    }

    fn ints(&self, i: usize, what: &str) -> Result<Option<Vec<i64>>> {
        self.value(i, what)?
            .map(|t| {
                t.to_i64_vec()
                    .map_err(|e| Error::Shape(format!("{what}: {e}")))
            })
            .transpose()
    }

    fn required_ints(&self, i: usize, what: &str) -> Result<Vec<i64>> {
        self.ints(i, what)?
            .ok_or_else(|| Error::Shape(format!("no {what}")))
    }

    fn floats(&self, i: usize, what: &str) -> Result<Option<Vec<f64>>> {
        Ok(self
            .value(i, what)?
            .map(|t| t.to_f64().iter().copied().collect()))
    }

    fn required(&self, i: usize, what: &str) -> Result<&'a Tensor> {
        self.value(i, what)?
            .ok_or_else(|| Error::Shape(format!("no {what}")))
    }
}

/// The vector-unit op that computes `op` on inputs described by `x`.
pub fn vector_op(op: &Op, x: &Operands) -> Result<VectorOp> {
    let rank = || x.shape(0).map(<[usize]>::len);
    Ok(match op {
        Op::Identity => VectorOp::Reshape {
            shape: x.shape(0)?.to_vec(),
        },
        Op::Reshape { allowzero } => VectorOp::Reshape {
            shape: reshape_shape(
                x.shape(0)?,
                &x.required_ints(1, "reshape shape")?,
                *allowzero,
            )?,
        },
        Op::Flatten { axis } => VectorOp::Reshape {
            shape: flatten_shape(x.shape(0)?, *axis)?,
        },
        Op::Unsqueeze { axes } => {
            let axes = match axes {
                Some(a) => a.clone(),
                None => x.required_ints(1, "unsqueeze axes")?,
            };
            VectorOp::Reshape {
                shape: unsqueeze_shape(x.shape(0)?, &axes)?,
            }
        }
        Op::Squeeze { axes } => {
            let axes = match axes {
                Some(a) => Some(a.clone()),
                None => x.ints(1, "squeeze axes")?,
            };
            VectorOp::Reshape {
                shape: squeeze_shape(x.shape(0)?, axes.as_deref())?,
            }
        }
        Op::Transpose { perm } => VectorOp::Transpose {
            perm: transpose_perm(rank()?, perm.as_deref()),
        },
        Op::Concat { axis } => VectorOp::Concat {
            axis: normalize_axis(
                *axis,
                x.shapes.first().copied().flatten().map_or(0, |s| s.len()),
            )?,
        },
        Op::Gather { axis } => VectorOp::Gather {
            axis: normalize_axis(*axis, rank()?)?,
        },
        Op::Slice => {
            let starts = x.required_ints(1, "slice starts")?;
            let ends = x.required_ints(2, "slice ends")?;
            let axes = x.ints(3, "slice axes")?;
            let steps = x.ints(4, "slice steps")?;
            VectorOp::Slice {
                axes: slice_axes(
                    x.shape(0)?,
                    &starts,
                    &ends,
                    axes.as_deref(),
                    steps.as_deref(),
                )?,
            }
        }
        Op::Shape { start, end } => VectorOp::Shape {
            dims: shape_slice(x.shape(0)?, *start, *end),
        },
        Op::Cast { to } => VectorOp::Cast { to: *to },
        Op::Expand => VectorOp::Expand {
            shape: expand_shape(x.shape(0)?, &x.required_ints(1, "expand shape")?)?,
        },
        Op::Split {
            axis,
            split,
            parts,
            uneven,
        } => {
            let xs = x.shape(0)?;
            let axis = normalize_axis(*axis, xs.len())?;
            let lengths = match split {
                Some(s) => Some(s.clone()),
                None => x.ints(1, "split lengths")?,
            };
            VectorOp::Split {
                axis,
                lengths: split_lengths(xs[axis], lengths.as_deref(), *parts, *uneven)?,
            }
        }
        Op::Pad { mode, pads, value } => {
            let pads = match pads {
                Some(p) => p.clone(),
                None => x.required_ints(1, "pads")?,
            };
            let axes = x.ints(3, "pad axes")?;
            let xs = x.shape(0)?;
            let pads = pad::resolve(xs.len(), &pads, axes.as_deref())?;
            let shape = pad::padded_shape(xs, &pads)?;
            pad::check_fill(xs, &pads, *mode)?;
            VectorOp::Pad {
                mode: *mode,
                pads,
                shape,
                value: *value,
            }
        }
        Op::ConstantOfShape { value } => VectorOp::ConstantOfShape {
            shape: generate::dims(x.required(0, "ConstantOfShape's shape")?)?,
            value: value.clone(),
        },
        Op::Range => {
            let arg = |i, what| x.required(i, what);
            VectorOp::Range {
                len: generate::range_len(
                    arg(0, "Range's start")?,
                    arg(1, "Range's limit")?,
                    arg(2, "Range's delta")?,
                )?,
            }
        }
        Op::Compare(c) => VectorOp::Compare(*c),
        Op::Logic(l) => VectorOp::Logic(*l),
        Op::Not => VectorOp::Not,
        Op::Where => VectorOp::Where,
        Op::Min => VectorOp::Min,
        Op::Max => VectorOp::Max,
        Op::Add => VectorOp::Add,
        Op::Sub => VectorOp::Sub,
        Op::Mul => VectorOp::Mul,
        Op::Div => VectorOp::Div,
        Op::Relu => VectorOp::Relu,
        Op::Clip { min, max } => VectorOp::Clip {
            min: *min,
            max: *max,
        },
        Op::Pow => VectorOp::Pow,
        Op::PRelu => VectorOp::PRelu,
        Op::Unary(u) => VectorOp::Unary(*u),
        Op::BatchNormalization { epsilon } => VectorOp::BatchNormalization { epsilon: *epsilon },
        Op::Softmax { axis, coerce_2d } => VectorOp::Softmax {
            axis: *axis,
            coerce_2d: *coerce_2d,
        },
        Op::LayerNormalization { axis, epsilon } => VectorOp::LayerNormalization {
            axis: *axis,
            epsilon: *epsilon,
        },
        Op::Reduce(r) => {
            let axes = match &r.axes {
                Some(a) => Some(a.clone()),
                None => x.ints(1, "reduction axes")?,
            };
            let xs = x.shape(0)?;
            let axes = reduce::reduce_axes(xs.len(), axes.as_deref(), r.noop_with_empty_axes)?;
            VectorOp::Reduce {
                kind: r.kind,
                shape: reduce::reduced_shape(xs, &axes, r.keepdims),
                axes,
            }
        }
        Op::Resize(a) => {
            let sizes = x.ints(3, "Resize's sizes")?;
            VectorOp::Resize {
                mode: a.mode,
                transform: a.transform,
                extrapolation_value: a.extrapolation_value,
                plan: resize::plan(
                    a,
                    x.shape(0)?,
                    x.floats(1, "Resize's roi")?.as_deref(),
                    x.floats(2, "Resize's scales")?.as_deref(),
                    sizes.as_deref(),
                )?,
            }
        }
        Op::MaxPool(p) => VectorOp::MaxPool(pool_window(p, x.shape(0)?)?),
        Op::AveragePool(p) => VectorOp::AveragePool {
            window: pool_window(p, x.shape(0)?)?,
            count_include_pad: p.count_include_pad,
        },
        Op::GlobalAveragePool => VectorOp::GlobalAveragePool,
        Op::GlobalMaxPool => VectorOp::GlobalMaxPool,
        Op::QuantizeLinear {
            axis,
            block_size,
            output_dtype,
        } => VectorOp::QuantizeLinear {
            axis: *axis,
            block_size: *block_size,
            output_dtype: *output_dtype,
        },
        Op::DequantizeLinear { axis, block_size } => VectorOp::DequantizeLinear {
            axis: *axis,
            block_size: *block_size,
        },
        Op::DynamicQuantizeLinear => VectorOp::DynamicQuantizeLinear,
        gemm_class!() | Op::Recurrent(_) | Op::DynamicQuantizeLstm(_) | Op::FusedRelu(_) => {
            return Err(Error::Invalid(format!(
                "{} is not a vector-unit op",
                op.name()
            )));
        }
    })
}

/// The window of a pooling op over an input of shape `xs` (N, C and 1 to 8 spatial dims).
fn pool_window(p: &PoolAttrs, xs: &[usize]) -> Result<Window> {
    if xs.len() < 3 || xs.len() > 10 {
        return Err(Error::Shape(format!(
            "pooling needs N,C and 1 to 8 spatial dims, got {xs:?}"
        )));
    }
    Window::of_pool(p, xs)
}

/// Whether `op` is foldable: its result needs no floating-point rounding for these inputs
/// (comparisons, logic, selection, Neg and Abs, integer arithmetic, data movement, Pad and
/// the generators).
fn exact(op: &Op, inputs: &[Option<&Tensor>]) -> bool {
    let arg = |i: usize| inputs.get(i).copied().flatten();
    match op {
        Op::Add | Op::Sub | Op::Mul | Op::Div => !matches!(
            (arg(0), arg(1)),
            (Some(a), Some(b)) if a.dtype() == b.dtype() && a.dtype().is_float()
        ),
        Op::Unary(u) => matches!(u, crate::ir::Unary::Neg | crate::ir::Unary::Abs),
        Op::Compare(_)
        | Op::Logic(_)
        | Op::Not
        | Op::Where
        | Op::Min
        | Op::Max
        | Op::Pad { .. }
        | Op::ConstantOfShape { .. }
        | Op::Range => true,
        op => matches!(op, data_movement!()),
    }
}

/// The constant-folding evaluator ([`crate::ir::Evaluator`]): an op whose result needs no
/// floating-point rounding is computed by the vector unit itself, so a folded value and a
/// run-time one agree bit for bit; `Ok(None)` for any other op.
pub fn fold(op: &Op, inputs: &[Option<&Tensor>]) -> Result<Option<Vec<Tensor>>> {
    if !exact(op, inputs) {
        return Ok(None);
    }
    let v = vector_op(op, &Operands::of_values(inputs))?;
    crate::array::vector::eval(&v, inputs).map(Some)
}
