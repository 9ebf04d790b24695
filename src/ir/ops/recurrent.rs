//! LSTM, GRU and RNN (ONNX) and onnxruntime's DynamicQuantizeLSTM: attributes and output
//! shapes (the ops are unrolled over time before lowering by [`crate::ir::recurrent`]).

use super::{Infer, Typed, Unary};
use crate::error::{Error, Result};
use crate::ir::{Op, OpKind};
use crate::tensor::DType;

/// The inputs whose values decide a recurrence's steps: sequence_lens (bound when given, so
/// that its lengths are checked and its masks made once; a computed one masks every step at
/// run time).
pub const SHAPE_INPUTS: &[usize] = &[4];

/// Which way a recurrence runs over the sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecurrentDirection {
    /// First step to last.
    Forward,
    /// Last step to first.
    Reverse,
    /// Both, outputs stacked forward then reverse.
    Bidirectional,
}

impl RecurrentDirection {
    /// The number of directions computed.
    pub fn count(self) -> usize {
        if self == RecurrentDirection::Bidirectional {
            2
        } else {
            1
        }
    }
}

/// The cell a recurrence applies at every step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// Long short-term memory: gates i, o, f and cell c, in that order in W, R and B.
    Lstm {
        /// The forget gate is `1 − input gate`.
        input_forget: bool,
    },
    /// Gated recurrent unit: gates z, r and hidden h, in that order.
    Gru {
        /// The reset gate applies after the recurrent product (`r ⊙ (H·Rₕᵀ + Rbₕ)`), not
        /// before it (`(r ⊙ H)·Rₕᵀ + Rbₕ`).
        linear_before_reset: bool,
    },
    /// The plain recurrence `H = f(X·Wᵀ + H·Rᵀ + Wb + Rb)`.
    Rnn,
}

impl Cell {
    /// The number of gate blocks of `hidden` rows in W and R.
    pub fn gates(self) -> usize {
        match self {
            Cell::Lstm { .. } => 4,
            Cell::Gru { .. } => 3,
            Cell::Rnn => 1,
        }
    }

    /// The ONNX defaults for one direction's activation functions (f, g and h in the
    /// specification's formulas; LSTM has three, GRU two, RNN one).
    pub fn default_activations(self) -> &'static [Activation] {
        const SIGMOID: Activation = Activation::Unary(Unary::Sigmoid);
        const TANH: Activation = Activation::Unary(Unary::Tanh);
        match self {
            Cell::Lstm { .. } => &[SIGMOID, TANH, TANH],
            Cell::Gru { .. } => &[SIGMOID, TANH],
            Cell::Rnn => &[TANH],
        }
    }

    /// The ONNX op of this cell.
    pub fn kind(self) -> OpKind {
        match self {
            Cell::Lstm { .. } => OpKind::Lstm,
            Cell::Gru { .. } => OpKind::Gru,
            Cell::Rnn => OpKind::Rnn,
        }
    }

    /// The number of outputs: Y and Y_h, and Y_c for an LSTM.
    pub fn outputs(self) -> usize {
        if matches!(self, Cell::Lstm { .. }) {
            3
        } else {
            2
        }
    }
}

/// An activation function of a recurrent cell, as the vector unit runs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    /// `max(0, x)`.
    Relu,
    /// An elementwise function.
    Unary(Unary),
}

impl Activation {
    /// The op that applies it.
    pub fn op(self) -> Op {
        match self {
            Activation::Relu => Op::Relu,
            Activation::Unary(u) => Op::Unary(u),
        }
    }
}

/// Attributes of a recurrent op.
#[derive(Debug, Clone, PartialEq)]
pub struct RecurrentAttrs {
    /// The cell.
    pub cell: Cell,
    /// Hidden size.
    pub hidden: usize,
    /// Direction.
    pub direction: RecurrentDirection,
    /// X, Y and the states are batch-major (`layout = 1`): X `[batch, seq, input]`.
    pub batch_first: bool,
    /// Each direction's activation functions (as many as
    /// [`Cell::default_activations`]), the forward direction's first.
    pub activations: Vec<Activation>,
    /// Gate pre-activations are clipped to `[−clip, clip]`.
    pub clip: Option<f32>,
}

impl RecurrentAttrs {
    /// Direction `d`'s activation functions.
    pub fn activations_of(&self, d: usize) -> &[Activation] {
        let n = self.cell.default_activations().len();
        &self.activations[d * n..(d + 1) * n]
    }
}

/// LSTM, GRU or RNN: Y `[seq, directions, batch, hidden]` (`[batch, seq, directions,
/// hidden]` batch-first), Y_h (and Y_c) `[directions, batch, hidden]` (`[batch, directions,
/// hidden]`), of X's type.
pub fn recurrent(cx: &Infer, a: &RecurrentAttrs) -> Result<Typed> {
    let xs = cx.shape(0)?;
    let dt = cx.dtype(0)?;
    if xs.len() != 3 || !dt.is_float() {
        return Err(Error::Shape(format!(
            "X must be a 3-D float tensor, found {dt} {xs:?}"
        )));
    }
    let (seq, batch, input) = if a.batch_first {
        (xs[1], xs[0], xs[2])
    } else {
        (xs[0], xs[1], xs[2])
    };
    let (dirs, h) = (a.direction.count(), a.hidden);
    let rows = a.cell.gates() * h;
    let state: Vec<usize> = if a.batch_first {
        vec![batch, dirs, h]
    } else {
        vec![dirs, batch, h]
    };
    let peephole = [dirs, 3 * h];
    let expected: [(usize, &str, &[usize]); 7] = [
        (1, "W", &[dirs, rows, input]),
        (2, "R", &[dirs, rows, h]),
        (3, "B", &[dirs, 2 * rows]),
        (4, "sequence_lens", &[batch]),
        (5, "initial_h", &state),
        (6, "initial_c", &state),
        (7, "P", &peephole),
    ];
    for (i, what, shape) in expected {
        let Some(v) = cx.optional(i) else { continue };
        let want = if i == 4 { DType::I32 } else { dt };
        if cx.f.shape(v) != shape || cx.f.dtype(v) != want {
            return Err(Error::Shape(format!(
                "{what} is {} {:?}, expected {want} {shape:?} for {dirs} direction(s) of \
                 hidden size {h} over X {xs:?}",
                cx.f.dtype(v),
                cx.f.shape(v)
            )));
        }
    }
    let y = if a.batch_first {
        vec![batch, seq, dirs, h]
    } else {
        vec![seq, dirs, batch, h]
    };
    let mut out = vec![(dt, y), (dt, state.clone())];
    if a.cell.outputs() == 3 {
        out.push((dt, state));
    }
    Ok(out)
}

/// DynamicQuantizeLSTM: Y `[seq, directions, batch, hidden]`, Y_h and Y_c
/// `[directions, batch, hidden]`, all f32. Its W and R are stored transposed: `[directions,
/// input, 4·hidden]` and `[directions, hidden, 4·hidden]`.
pub fn dynamic_quantize_lstm(cx: &Infer, a: &RecurrentAttrs) -> Result<Typed> {
    let (xs, ws, rs) = (cx.shape(0)?, cx.shape(1)?, cx.shape(2)?);
    let (dirs, h) = (a.direction.count(), a.hidden);
    let fits = xs.len() == 3
        && ws.len() == 3
        && rs.len() == 3
        && ws == [dirs, xs[2], 4 * h]
        && rs == [dirs, h, 4 * h];
    if !fits || cx.dtype(0)? != DType::F32 {
        return Err(Error::Shape(format!(
            "X {xs:?} (f32, [seq, batch, input]), W {ws:?} and R {rs:?} do not fit \
             {dirs} direction(s) of hidden size {h}"
        )));
    }
    let state = vec![dirs, xs[1], h];
    Ok(vec![
        (DType::F32, vec![xs[0], dirs, xs[1], h]),
        (DType::F32, state.clone()),
        (DType::F32, state),
    ])
}
