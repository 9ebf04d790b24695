//! Pad.

use super::super::ctx::NodeCtx;
use crate::error::Result;
use crate::ir::{Op, PadMode};

/// `Pad`: before opset 11 the `pads` (required) and `value` (default 0) attributes; from 11
/// the inputs `(data, pads, [constant_value])`, from 18 also `[axes]`. `mode` is `constant`
/// (default), `reflect`, `edge`, or from opset 19 `wrap`.
pub(super) fn pad(cx: &mut NodeCtx) -> Result<Op> {
    let mode = match cx.string("mode")? {
        None | Some("constant") => PadMode::Constant,
        Some("reflect") => PadMode::Reflect,
        Some("edge") => PadMode::Edge,
        Some("wrap") if cx.opset >= 19 => PadMode::Wrap,
        Some(other) => return Err(cx.err(format!("unknown mode '{other}'"))),
    };
    if cx.opset < 11 {
        cx.inputs(1, 1)?;
        let pads = cx
            .ints("pads")?
            .ok_or_else(|| cx.err("attribute 'pads' is required"))?
            .to_vec();
        let value = cx.float_or("value", 0.0)?;
        return Ok(Op::Pad {
            mode,
            pads: Some(pads),
            value,
        });
    }
    cx.inputs(2, if cx.opset >= 18 { 4 } else { 3 })?;
    Ok(Op::Pad {
        mode,
        pads: None,
        value: 0.0,
    })
}
