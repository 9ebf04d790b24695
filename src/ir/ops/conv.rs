//! Conv, ConvInteger, QLinearConv and ConvTranspose: attributes and output shape.

use super::{Infer, Typed};
use crate::error::{Error, Result};
use crate::ir::Op;
use crate::ir::geometry::Window;
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

/// Conv, ConvInteger and QLinearConv: `[N, Cout, spatial…]` of the convolution's window; f32
/// for Conv, int32 for ConvInteger, the output zero point's type for QLinearConv.
pub fn conv(cx: &Infer, a: &ConvAttrs) -> Result<Typed> {
    let xs = cx.shape(0)?;
    let ws = cx.shape(cx.node.op.weight_input())?;
    if xs.len() < 3 || ws.len() != xs.len() {
        return Err(Error::Shape(format!(
            "conv input {xs:?} and weight {ws:?} ranks do not fit"
        )));
    }
    let group = a.group.max(1);
    if ws[1].checked_mul(group) != Some(xs[1]) || !ws[0].is_multiple_of(group) {
        return Err(Error::Shape(format!(
            "conv input channels {} do not match weight {ws:?} with group {group}",
            xs[1]
        )));
    }
    let kernel = a.kernel_shape.clone().unwrap_or_else(|| ws[2..].to_vec());
    if kernel != ws[2..] {
        return Err(Error::Shape(format!(
            "kernel_shape {kernel:?} differs from the weight {ws:?}"
        )));
    }
    let win = Window::of_conv(a, xs, &kernel)?;
    let mut out = vec![xs[0], ws[0]];
    out.extend(win.output);
    let dt = match cx.node.op {
        Op::Conv(_) => cx.dtype(0)?,
        Op::ConvInteger(_) => DType::I32,
        _ => cx.optional(7).map_or(DType::U8, |v| cx.f.dtype(v)),
    };
    Ok(vec![(dt, out)])
}

/// ConvTranspose: `[N, Cout, spatial…]` of the transposed window.
pub fn conv_transpose(cx: &Infer, a: &ConvTransposeAttrs) -> Result<Typed> {
    let (xs, ws) = (cx.shape(0)?, cx.shape(1)?);
    let win = Window::of_conv_transpose(a, xs, ws)?;
    let channels = ws[1].checked_mul(a.conv.group).ok_or_else(|| {
        Error::Shape(format!(
            "{} output channels per group × group {} overflows",
            ws[1], a.conv.group
        ))
    })?;
    let mut out = vec![xs[0], channels];
    out.extend(win.output);
    if let Some(b) = cx.optional(2)
        && cx.f.shape(b) != [out[1]]
    {
        return Err(Error::Shape(format!(
            "bias {:?} does not fit {} output channels",
            cx.f.shape(b),
            out[1]
        )));
    }
    cx.same(out)
}
