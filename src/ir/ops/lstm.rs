//! onnxruntime's DynamicQuantizeLSTM: attributes and output shapes (the op is unrolled over
//! time before lowering by [`crate::ir::recurrent`]).

use super::{Infer, Typed};
use crate::error::{Error, Result};
use crate::tensor::DType;

/// Which way an LSTM runs over the sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LstmDirection {
    /// First step to last.
    Forward,
    /// Last step to first.
    Reverse,
    /// Both, outputs stacked forward then reverse.
    Bidirectional,
}

impl LstmDirection {
    /// The number of directions computed.
    pub fn count(self) -> usize {
        if self == LstmDirection::Bidirectional {
            2
        } else {
            1
        }
    }
}

/// Attributes of an LSTM (the default activations: sigmoid gates, tanh cell and output).
#[derive(Debug, Clone, PartialEq)]
pub struct LstmAttrs {
    /// Hidden size.
    pub hidden: usize,
    /// Direction.
    pub direction: LstmDirection,
    /// The forget gate is `1 − input gate`.
    pub input_forget: bool,
}

/// DynamicQuantizeLSTM: Y `[seq, directions, batch, hidden]`, Y_h and Y_c
/// `[directions, batch, hidden]`, all f32.
pub fn dynamic_quantize_lstm(cx: &Infer, a: &LstmAttrs) -> Result<Typed> {
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
