//! Data-movement ops: Identity, Reshape, Flatten, Transpose, Concat, Shape, Gather,
//! Unsqueeze, Squeeze, Cast, Slice, Split and Expand.

use super::super::ctx::NodeCtx;
use crate::error::Result;
use crate::ir::Op;
use crate::tensor::DType;

/// `Identity(X)`.
pub(super) fn identity(cx: &mut NodeCtx) -> Result<Op> {
    cx.inputs(1, 1)?;
    Ok(Op::Identity)
}

/// `Reshape(X, shape)`; `allowzero` from opset 14.
pub(super) fn reshape(cx: &mut NodeCtx) -> Result<Op> {
    cx.inputs(2, 2)?;
    let allowzero = cx.opset >= 14 && cx.bool_or("allowzero", false)?;
    Ok(Op::Reshape { allowzero })
}

/// `Flatten(X)` at `axis` (default 1).
pub(super) fn flatten(cx: &mut NodeCtx) -> Result<Op> {
    cx.inputs(1, 1)?;
    Ok(Op::Flatten {
        axis: cx.int_or("axis", 1)?,
    })
}

/// `Transpose(X)`; `perm`, when given, must be a permutation of `0..rank`.
pub(super) fn transpose(cx: &mut NodeCtx) -> Result<Op> {
    cx.inputs(1, 1)?;
    let perm = cx.sizes("perm", 0)?;
    if let Some(p) = &perm {
        let mut seen = vec![false; p.len()];
        for &axis in p {
            match seen.get_mut(axis) {
                Some(s) if !*s => *s = true,
                _ => return Err(cx.err(format!("perm {p:?} is not a permutation"))),
            }
        }
    }
    Ok(Op::Transpose { perm })
}

/// `Concat(X...)` along the required `axis`.
pub(super) fn concat(cx: &mut NodeCtx) -> Result<Op> {
    cx.inputs(1, usize::MAX)?;
    let axis = cx
        .int("axis")?
        .ok_or_else(|| cx.err("attribute 'axis' is required"))?;
    Ok(Op::Concat { axis })
}

/// `Shape(X)`; `start`/`end` from opset 15.
pub(super) fn shape(cx: &mut NodeCtx) -> Result<Op> {
    cx.inputs(1, 1)?;
    if cx.opset < 15 {
        return Ok(Op::Shape {
            start: 0,
            end: None,
        });
    }
    Ok(Op::Shape {
        start: cx.int_or("start", 0)?,
        end: cx.int("end")?,
    })
}

/// `Gather(X, indices)` along `axis` (default 0).
pub(super) fn gather(cx: &mut NodeCtx) -> Result<Op> {
    cx.inputs(2, 2)?;
    Ok(Op::Gather {
        axis: cx.int_or("axis", 0)?,
    })
}

/// `Unsqueeze`: the required `axes` attribute before opset 13, the `axes` input after.
pub(super) fn unsqueeze(cx: &mut NodeCtx) -> Result<Op> {
    if cx.opset >= 13 {
        cx.inputs(2, 2)?;
        return Ok(Op::Unsqueeze { axes: None });
    }
    cx.inputs(1, 1)?;
    let axes = cx
        .ints("axes")?
        .ok_or_else(|| cx.err("attribute 'axes' is required"))?;
    Ok(Op::Unsqueeze {
        axes: Some(axes.to_vec()),
    })
}

/// `Squeeze`: an optional `axes` attribute before opset 13, an optional `axes` input after.
pub(super) fn squeeze(cx: &mut NodeCtx) -> Result<Op> {
    if cx.opset >= 13 {
        cx.inputs(1, 2)?;
        return Ok(Op::Squeeze { axes: None });
    }
    cx.inputs(1, 1)?;
    Ok(Op::Squeeze {
        axes: cx.ints("axes")?.map(<[i64]>::to_vec),
    })
}

/// `Cast(X)` to the required `to`; `saturate` (opset 19) and `round_mode` (opset 24) only
/// concern float8 targets and are validated and otherwise ignored.
pub(super) fn cast(cx: &mut NodeCtx) -> Result<Op> {
    cx.inputs(1, 1)?;
    let to = cx
        .int("to")?
        .ok_or_else(|| cx.err("attribute 'to' is required"))?;
    let code = i32::try_from(to).unwrap_or(-1);
    let to = DType::from_onnx_code(code).ok_or_else(|| {
        cx.err(format!(
            "cast to {} (code {to}) is not supported",
            DType::onnx_code_name(code)
        ))
    })?;
    if cx.opset >= 19 {
        cx.bool_or("saturate", true)?;
    }
    if cx.opset >= 24 {
        match cx.string("round_mode")? {
            None | Some("up" | "down" | "nearest") => {}
            Some(other) => return Err(cx.err(format!("unknown round_mode '{other}'"))),
        }
    }
    Ok(Op::Cast { to })
}

/// `Slice(X, starts, ends, [axes], [steps])` (opset 10; the attribute form of opsets
/// 7–9 is not supported).
pub(super) fn slice(cx: &mut NodeCtx) -> Result<Op> {
    if cx.opset < 10 {
        return Err(cx.err("Slice with starts/ends attributes (before opset 10) is not supported"));
    }
    cx.inputs(3, 5)?;
    Ok(Op::Slice)
}

/// `Split(X, [split])` into one output per part along `axis` (default 0): part lengths from the
/// `split` attribute (before opset 13) or input (from 13), else equal parts; from opset 18
/// without lengths `num_outputs` is required, must equal the number of outputs, and the last
/// part may be shorter.
pub(super) fn split(cx: &mut NodeCtx) -> Result<Op> {
    let parts = cx.output_count();
    cx.outputs(parts, parts);
    let axis = cx.int_or("axis", 0)?;
    if cx.opset < 13 {
        cx.inputs(1, 1)?;
        let split = cx.ints("split")?.map(<[i64]>::to_vec);
        return Ok(Op::Split {
            axis,
            split,
            parts,
            uneven: false,
        });
    }
    cx.inputs(1, 2)?;
    let num_outputs = if cx.opset >= 18 {
        cx.int("num_outputs")?
    } else {
        None
    };
    let has_lengths = cx.input_count() == 2;
    let uneven = match (cx.opset >= 18, has_lengths, num_outputs) {
        (true, true, Some(_)) => {
            return Err(cx.err("num_outputs cannot be combined with the split input"));
        }
        (true, false, None) => {
            return Err(cx.err("needs the split input or the num_outputs attribute"));
        }
        (_, _, Some(n)) if usize::try_from(n) != Ok(parts) => {
            return Err(cx.err(format!(
                "num_outputs is {n}, but the node has {parts} outputs"
            )));
        }
        (uneven, has, _) => uneven && !has,
    };
    Ok(Op::Split {
        axis,
        split: None,
        parts,
        uneven,
    })
}

/// `Expand(X, shape)` (opset 8).
pub(super) fn expand(cx: &mut NodeCtx) -> Result<Op> {
    cx.since(8)?;
    cx.inputs(2, 2)?;
    Ok(Op::Expand)
}
