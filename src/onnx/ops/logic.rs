//! Comparisons (Equal, Less, LessOrEqual, Greater, GreaterOrEqual), logic (And, Or, Xor, Not)
//! and Where.

use super::super::ctx::NodeCtx;
use crate::error::Result;
use crate::ir::{Comparison, Logic, Op};

/// A broadcasting comparison; LessOrEqual and GreaterOrEqual exist from opset 12.
pub(super) fn compare(cx: &mut NodeCtx, c: Comparison) -> Result<Op> {
    if matches!(c, Comparison::LessOrEqual | Comparison::GreaterOrEqual) {
        cx.since(12)?;
    }
    cx.inputs(2, 2)?;
    Ok(Op::Compare(c))
}

/// A broadcasting And, Or or Xor of bools.
pub(super) fn logic(cx: &mut NodeCtx, l: Logic) -> Result<Op> {
    cx.inputs(2, 2)?;
    Ok(Op::Logic(l))
}

/// `Not(X)`.
pub(super) fn not(cx: &mut NodeCtx) -> Result<Op> {
    cx.inputs(1, 1)?;
    Ok(Op::Not)
}

/// `Where(condition, X, Y)` (opset 9).
pub(super) fn where_(cx: &mut NodeCtx) -> Result<Op> {
    cx.since(9)?;
    cx.inputs(3, 3)?;
    Ok(Op::Where)
}
