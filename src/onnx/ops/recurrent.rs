//! Recurrent ops: ONNX LSTM, GRU and RNN, and onnxruntime's `com.microsoft`
//! DynamicQuantizeLSTM.

use super::super::ctx::NodeCtx;
use crate::error::Result;
use crate::ir::{Activation, Cell, Op, RecurrentAttrs, RecurrentDirection, Unary};

/// LSTM (opsets 7 and 14) with its `input_forget`.
pub(super) fn lstm(cx: &mut NodeCtx) -> Result<Op> {
    let input_forget = cx.bool_or("input_forget", false)?;
    recurrent(cx, Cell::Lstm { input_forget })
}

/// GRU (opsets 7 and 14) with its `linear_before_reset`.
pub(super) fn gru(cx: &mut NodeCtx) -> Result<Op> {
    let linear_before_reset = cx.bool_or("linear_before_reset", false)?;
    recurrent(
        cx,
        Cell::Gru {
            linear_before_reset,
        },
    )
}

/// RNN (opsets 7 and 14).
pub(super) fn rnn(cx: &mut NodeCtx) -> Result<Op> {
    recurrent(cx, Cell::Rnn)
}

/// The inputs and attributes the three recurrent ops share: X, W, R, B, sequence_lens,
/// initial_h (and an LSTM's initial_c and peepholes P), layout and clip.
fn recurrent(cx: &mut NodeCtx, cell: Cell) -> Result<Op> {
    let most_inputs = if matches!(cell, Cell::Lstm { .. }) {
        8
    } else {
        6
    };
    cx.inputs(3, most_inputs)?;
    cx.outputs(0, cell.outputs());
    let batch_first = cx.bool_or("layout", false)?;
    let clip = match cx.float("clip")? {
        Some(c) if c > 0.0 && c.is_finite() => Some(c),
        Some(c) => return Err(cx.err(format!("clip {c} is not a positive finite threshold"))),
        None => None,
    };
    Ok(Op::Recurrent(attrs(cx, cell, batch_first, clip)?))
}

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
    let cell = Cell::Lstm {
        input_forget: cx.bool_or("input_forget", false)?,
    };
    Ok(Op::DynamicQuantizeLstm(attrs(cx, cell, false, None)?))
}

/// The attributes every recurrent op shares: hidden size, direction and activations.
fn attrs(
    cx: &mut NodeCtx,
    cell: Cell,
    batch_first: bool,
    clip: Option<f32>,
) -> Result<RecurrentAttrs> {
    let hidden = cx
        .int("hidden_size")?
        .ok_or_else(|| cx.err("attribute 'hidden_size' is required"))?;
    let hidden = usize::try_from(hidden)
        .ok()
        .filter(|&h| (1..=1 << 20).contains(&h))
        .ok_or_else(|| cx.err(format!("hidden_size {hidden} is outside [1, 2^20]")))?;
    let direction = match cx.string("direction")?.unwrap_or("forward") {
        "forward" => RecurrentDirection::Forward,
        "reverse" => RecurrentDirection::Reverse,
        "bidirectional" => RecurrentDirection::Bidirectional,
        other => return Err(cx.err(format!("unknown direction '{other}'"))),
    };
    let activations = activations(cx, cell, direction.count())?;
    Ok(RecurrentAttrs {
        cell,
        hidden,
        direction,
        batch_first,
        activations,
        clip,
    })
}

/// The `activations` attribute (the defaults when absent), with the functions' parameters
/// taken in order from `activation_alpha` and `activation_beta` by the functions that have
/// them, as onnxruntime reads them; a list too short leaves a function its own default.
fn activations(cx: &mut NodeCtx, cell: Cell, dirs: usize) -> Result<Vec<Activation>> {
    let defaults = cell.default_activations();
    let alphas = cx.floats("activation_alpha")?.unwrap_or_default();
    let betas = cx.floats("activation_beta")?.unwrap_or_default();
    let Some(names) = cx.strings("activations")? else {
        return Ok(defaults.repeat(dirs));
    };
    let want = defaults.len() * dirs;
    if names.len() != want {
        return Err(cx.err(format!(
            "attribute 'activations' lists {} functions; {dirs} direction(s) need {want}",
            names.len()
        )));
    }
    let (mut alphas, mut betas) = (alphas.iter().copied(), betas.iter().copied());
    names
        .iter()
        .map(|name| {
            Ok(match name.to_ascii_lowercase().as_str() {
                "sigmoid" => Activation::Unary(Unary::Sigmoid),
                "tanh" => Activation::Unary(Unary::Tanh),
                "relu" => Activation::Relu,
                "softplus" => Activation::Unary(Unary::Softplus),
                "leakyrelu" => Activation::Unary(Unary::LeakyRelu {
                    alpha: alphas.next().unwrap_or(0.01),
                }),
                "hardsigmoid" => Activation::Unary(Unary::HardSigmoid {
                    alpha: alphas.next().unwrap_or(0.2),
                    beta: betas.next().unwrap_or(0.5),
                }),
                _ => {
                    return Err(cx.err(format!(
                        "activation '{name}' is not supported (Sigmoid, Tanh, Relu, Softplus, \
                         LeakyRelu and HardSigmoid are)"
                    )));
                }
            })
        })
        .collect()
}
