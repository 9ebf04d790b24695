//! Recurrent ops: ONNX LSTM, GRU and RNN, and onnxruntime's `com.microsoft`
//! DynamicQuantizeLSTM.

use super::super::ctx::NodeCtx;
use crate::error::Result;
use crate::ir::{Activation, Cell, Op, RecurrentAttrs, RecurrentDirection, Unary};

/// LSTM (opset 7, 14), GRU (7, 14) or RNN (7, 14): every attribute and input of the
/// specification.
pub(super) fn recurrent(cx: &mut NodeCtx, kind: CellKind) -> Result<Op> {
    let gates = match kind {
        CellKind::Lstm => 8,
        CellKind::Gru | CellKind::Rnn => 6,
    };
    cx.inputs(3, gates)?;
    let cell = match kind {
        CellKind::Lstm => Cell::Lstm {
            input_forget: cx.bool_or("input_forget", false)?,
        },
        CellKind::Gru => Cell::Gru {
            linear_before_reset: cx.bool_or("linear_before_reset", false)?,
        },
        CellKind::Rnn => Cell::Rnn,
    };
    cx.outputs(0, cell.outputs());
    let batch_first = cx.bool_or("layout", false)?;
    let clip = match cx.float("clip")? {
        Some(c) if c > 0.0 && c.is_finite() => Some(c),
        Some(c) => return Err(cx.err(format!("clip {c} is not a positive finite threshold"))),
        None => None,
    };
    Ok(Op::Recurrent(attrs(cx, cell, batch_first, clip)?))
}

/// The three cells, as the decoder names them before reading their attributes.
#[derive(Debug, Clone, Copy)]
pub(super) enum CellKind {
    Lstm,
    Gru,
    Rnn,
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
