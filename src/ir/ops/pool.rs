//! MaxPool, AveragePool, GlobalAveragePool and GlobalMaxPool: attributes, the rule on their
//! pads and the output shape.

use super::{AutoPad, Infer, Typed};
use crate::error::{Error, Result};
use crate::ir::geometry::Window;

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

/// MaxPool and AveragePool: `[N, C, spatial…]` of the pooling window.
pub fn pool(cx: &Infer, p: &PoolAttrs) -> Result<Typed> {
    let xs = cx.shape(0)?;
    if xs.len() < 3 {
        return Err(Error::Shape(format!(
            "pooling needs N,C,spatial… input, got {xs:?}"
        )));
    }
    only_batch_empty(xs)?;
    let win = Window::of_pool(p, xs)?;
    let mut out = xs[..2].to_vec();
    out.extend(win.output);
    cx.same(out)
}

/// GlobalAveragePool and GlobalMaxPool: `[N, C, 1, …]`.
pub fn global(cx: &Infer) -> Result<Typed> {
    let xs = cx.shape(0)?;
    if xs.len() < 3 {
        return Err(Error::Shape(format!(
            "global pooling needs N,C,spatial… input, got {xs:?}"
        )));
    }
    only_batch_empty(xs)?;
    let mut out = xs[..2].to_vec();
    out.extend(std::iter::repeat_n(1, xs.len() - 2));
    cx.same(out)
}

/// Explicit pooling pads each below the kernel along their dim (onnxruntime: "Pad should be
/// smaller than kernel").
pub fn pads_below_kernel(p: &PoolAttrs) -> Result<()> {
    let n = p.kernel_shape.len();
    if p.auto_pad != AutoPad::NotSet || p.pads.len() != 2 * n {
        return Ok(());
    }
    match (0..2 * n).find(|&i| p.pads[i] >= p.kernel_shape[i % n]) {
        Some(i) => Err(Error::Shape(format!(
            "pads {:?}: pad {} of spatial dim {} is not smaller than the kernel {:?}",
            p.pads,
            p.pads[i],
            i % n,
            p.kernel_shape
        ))),
        None => Ok(()),
    }
}

/// Pooling of an empty channel or spatial axis is refused (as onnxruntime does); an empty
/// batch gives an empty output.
fn only_batch_empty(xs: &[usize]) -> Result<()> {
    match xs.iter().skip(1).position(|&d| d == 0) {
        Some(d) => Err(Error::Shape(format!(
            "pooling input {xs:?} is empty along dim {}: only the batch may be empty",
            d + 1
        ))),
        None => Ok(()),
    }
}
