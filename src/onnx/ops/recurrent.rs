//! Recurrent ops: onnxruntime's `com.microsoft` DynamicQuantizeLSTM.

use super::super::ctx::NodeCtx;
use crate::error::Result;
use crate::ir::{LstmAttrs, LstmDirection, Op};

/// Inputs that must be given: X, W, R and the weights' scales and zero points.
const REQUIRED: [usize; 7] = [0, 1, 2, 8, 9, 10, 11];

/// Inputs the emulator does not implement: sequence_lens and the peephole weights P.
const UNSUPPORTED: [(usize, &str); 2] = [(4, "sequence_lens"), (7, "peephole weights P")];

/// `DynamicQuantizeLSTM` (com.microsoft, version 1) with the default activations: sigmoid
/// gates, tanh cell and hidden transforms, no clipping.
pub(super) fn dynamic_quantize_lstm(cx: &mut NodeCtx) -> Result<Op> {
    if cx.input_count() > 12 {
        return Err(cx.err(format!("expects 12 inputs, has {}", cx.input_count())));
    }
    if let Some(i) = REQUIRED.iter().find(|&&i| !cx.given(i)) {
        return Err(cx.err(format!("required input #{i} is missing")));
    }
    for (i, what) in UNSUPPORTED {
        if cx.given(i) {
            return Err(cx.err(format!("{what} (input #{i}) is not supported")));
        }
    }
    for a in ["activations", "activation_alpha", "activation_beta", "clip"] {
        if cx.has(a) {
            return Err(cx.err(format!(
                "attribute '{a}' is not supported (only the default activations, unclipped)"
            )));
        }
    }
    cx.outputs(1, 3);
    let hidden = cx
        .int("hidden_size")?
        .ok_or_else(|| cx.err("attribute 'hidden_size' is required"))?;
    let hidden = usize::try_from(hidden)
        .ok()
        .filter(|&h| (1..=1 << 20).contains(&h))
        .ok_or_else(|| cx.err(format!("hidden_size {hidden} is outside [1, 2^20]")))?;
    let direction = match cx.string("direction")?.unwrap_or("forward") {
        "forward" => LstmDirection::Forward,
        "reverse" => LstmDirection::Reverse,
        "bidirectional" => LstmDirection::Bidirectional,
        other => return Err(cx.err(format!("unknown direction '{other}'"))),
    };
    let input_forget = cx.bool_or("input_forget", false)?;
    Ok(Op::DynamicQuantizeLstm(LstmAttrs {
        hidden,
        direction,
        input_forget,
    }))
}
