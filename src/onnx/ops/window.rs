//! The window attributes shared by convolution and pooling: `kernel_shape`, `strides`,
//! `pads`, `dilations` and `auto_pad`.

use super::super::ctx::NodeCtx;
use crate::error::Result;
use crate::ir::AutoPad;

/// Validated window attributes (absent lists are empty).
pub(super) struct WindowAttrs {
    /// WindowAttrs size per spatial dim, when given.
    pub kernel_shape: Option<Vec<usize>>,
    /// Strides (each ≥ 1).
    pub strides: Vec<usize>,
    /// Pads, all begins then all ends (each ≥ 0).
    pub pads: Vec<usize>,
    /// Dilations (each ≥ 1).
    pub dilations: Vec<usize>,
    /// Auto padding mode.
    pub auto_pad: AutoPad,
}

/// Reads the window attributes (`dilations` only when the op has it at the model's opset)
/// and checks that the lists agree on the number of spatial dims and that explicit pads
/// are not combined with `auto_pad`.
pub(super) fn window_attrs(cx: &mut NodeCtx, with_dilations: bool) -> Result<WindowAttrs> {
    let kernel_shape = cx.sizes("kernel_shape", 1)?;
    let strides = cx.sizes("strides", 1)?.unwrap_or_default();
    let pads = cx.sizes("pads", 0)?.unwrap_or_default();
    let dilations = if with_dilations {
        cx.sizes("dilations", 1)?.unwrap_or_default()
    } else {
        Vec::new()
    };
    let auto_pad = match cx.string("auto_pad")? {
        None | Some("NOTSET") => AutoPad::NotSet,
        Some("VALID") => AutoPad::Valid,
        Some("SAME_UPPER") => AutoPad::SameUpper,
        Some("SAME_LOWER") => AutoPad::SameLower,
        Some(other) => return Err(cx.err(format!("unknown auto_pad '{other}'"))),
    };
    if kernel_shape.as_ref().is_some_and(Vec::is_empty) {
        return Err(cx.err("kernel_shape is empty"));
    }
    if pads.len() % 2 != 0 {
        return Err(cx.err(format!(
            "pads has {} values; it needs two per spatial dim",
            pads.len()
        )));
    }
    let kernel_rank = kernel_shape.as_ref().map_or(0, Vec::len);
    let ranks = [kernel_rank, strides.len(), pads.len() / 2, dilations.len()];
    let mut given = ranks.iter().filter(|&&r| r > 0);
    if let Some(first) = given.next()
        && given.any(|r| r != first)
    {
        return Err(cx.err(format!(
            "kernel_shape, strides, pads and dilations disagree on the number of spatial dims \
             ({kernel_rank}, {}, {}/2, {})",
            strides.len(),
            pads.len(),
            dilations.len()
        )));
    }
    if auto_pad != AutoPad::NotSet && pads.iter().any(|&p| p != 0) {
        return Err(cx.err(format!(
            "explicit pads cannot be combined with auto_pad {auto_pad:?}"
        )));
    }
    Ok(WindowAttrs {
        kernel_shape,
        strides,
        pads,
        dilations,
        auto_pad,
    })
}
