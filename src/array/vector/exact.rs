//! Ops whose results need no rounding in any element type: comparisons, logic, selection
//! (Where, Min, Max), Neg and Abs, and integer arithmetic. Constant folding and the vector
//! unit share this one implementation, so a folded shape computation and a run-time one agree
//! bit for bit.

use crate::error::{Error, Result};
use crate::kernel::{Comparison, Logic, Unary, VectorOp};
use crate::tensor::Tensor;
use crate::tensor::ops::{broadcast_all, broadcast_shapes};
use ndarray::{ArrayD, IxDyn, Zip};

/// `f` applied elementwise to two arrays broadcast to their common shape.
pub fn zip_broadcast<T: Clone, U: Clone, V>(
    a: &ArrayD<T>,
    b: &ArrayD<U>,
    f: impl Fn(T, U) -> V,
) -> Result<ArrayD<V>> {
    let shape = IxDyn(&broadcast_shapes(a.shape(), b.shape())?);
    let err = || {
        Error::Shape(format!(
            "{:?} and {:?} do not broadcast",
            a.shape(),
            b.shape()
        ))
    };
    let av = a.broadcast(shape.clone()).ok_or_else(err)?;
    let bv = b.broadcast(shape).ok_or_else(err)?;
    Ok(Zip::from(&av)
        .and(&bv)
        .map_collect(|x, y| f(x.clone(), y.clone())))
}

/// Matches two tensors of the same element type, binding their arrays to `$x`, `$y` and the
/// variant's constructor to `$wrap`; other pairs are a [`Error::DType`] naming `$what`.
macro_rules! same_type {
    ($a:expr, $b:expr, $what:expr, |$x:ident, $y:ident, $wrap:ident| $body:expr) => {
        match ($a, $b) {
            (Tensor::F32($x), Tensor::F32($y)) => {
                let $wrap = Tensor::F32;
                $body
            }
            (Tensor::F16($x), Tensor::F16($y)) => {
                let $wrap = Tensor::F16;
                $body
            }
            (Tensor::BF16($x), Tensor::BF16($y)) => {
                let $wrap = Tensor::BF16;
                $body
            }
            (Tensor::I8($x), Tensor::I8($y)) => {
                let $wrap = Tensor::I8;
                $body
            }
            (Tensor::U8($x), Tensor::U8($y)) => {
                let $wrap = Tensor::U8;
                $body
            }
            (Tensor::I32($x), Tensor::I32($y)) => {
                let $wrap = Tensor::I32;
                $body
            }
            (Tensor::I64($x), Tensor::I64($y)) => {
                let $wrap = Tensor::I64;
                $body
            }
            (Tensor::Bool($x), Tensor::Bool($y)) => {
                let $wrap = Tensor::Bool;
                $body
            }
            (p, q) => Err(Error::DType(format!(
                "{} of {} and {}",
                $what,
                p.dtype(),
                q.dtype()
            ))),
        }
    };
}

fn order<T: PartialOrd>(c: Comparison, a: T, b: T) -> bool {
    match c {
        Comparison::Equal => a == b,
        Comparison::Less => a < b,
        Comparison::LessOrEqual => a <= b,
        Comparison::Greater => a > b,
        Comparison::GreaterOrEqual => a >= b,
    }
}

/// An elementwise comparison of two tensors of one type, with broadcasting (NaN compares false).
pub fn compare(c: Comparison, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    same_type!(a, b, "comparison", |x, y, _wrap| Ok(Tensor::Bool(
        zip_broadcast(x, y, |p, q| order(c, p, q))?
    )))
}

/// And, Or or Xor of two bool tensors, with broadcasting.
pub fn logic(l: Logic, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    match (a, b) {
        (Tensor::Bool(x), Tensor::Bool(y)) => {
            Ok(Tensor::Bool(zip_broadcast(x, y, |p, q| match l {
                Logic::And => p && q,
                Logic::Or => p || q,
                Logic::Xor => p != q,
            })?))
        }
        _ => Err(Error::DType(format!(
            "logic of {} and {} (bool expected)",
            a.dtype(),
            b.dtype()
        ))),
    }
}

/// Logical not of a bool tensor.
pub fn not(x: &Tensor) -> Result<Tensor> {
    match x {
        Tensor::Bool(a) => Ok(Tensor::Bool(a.mapv(|v| !v))),
        t => Err(Error::DType(format!(
            "Not of {} (bool expected)",
            t.dtype()
        ))),
    }
}

/// Neg or Abs: exact in every signed type (integers wrap, as numpy does for the minimum).
pub fn neg_abs(u: Unary, x: &Tensor) -> Result<Tensor> {
    let abs = u == Unary::Abs;
    macro_rules! signed {
        ($a:expr, $variant:ident) => {
            Tensor::$variant($a.mapv(|v| {
                if !abs || v < <_>::default() {
                    v.wrapping_neg()
                } else {
                    v
                }
            }))
        };
    }
    macro_rules! float {
        ($a:expr, $variant:ident) => {
            Tensor::$variant($a.mapv(|v| if abs { v.abs() } else { -v }))
        };
    }
    Ok(match x {
        Tensor::F32(a) => float!(a, F32),
        Tensor::F16(a) => Tensor::F16(a.mapv(|v| {
            if abs {
                half::f16::from_bits(v.to_bits() & 0x7fff)
            } else {
                -v
            }
        })),
        Tensor::BF16(a) => Tensor::BF16(a.mapv(|v| {
            if abs {
                half::bf16::from_bits(v.to_bits() & 0x7fff)
            } else {
                -v
            }
        })),
        Tensor::I8(a) => signed!(a, I8),
        Tensor::I32(a) => signed!(a, I32),
        Tensor::I64(a) => signed!(a, I64),
        Tensor::U8(a) if abs => Tensor::U8(a.clone()),
        t => {
            return Err(Error::DType(format!(
                "{} of {}",
                u.kind().name(),
                t.dtype()
            )));
        }
    })
}

/// Where(condition, x, y): `x` where the condition holds, else `y`, all three broadcast.
pub fn select(cond: &Tensor, x: &Tensor, y: &Tensor) -> Result<Tensor> {
    let Tensor::Bool(c) = cond else {
        return Err(Error::DType(format!(
            "Where condition of {} (bool expected)",
            cond.dtype()
        )));
    };
    let shape = broadcast_all(&[c.shape(), x.shape(), y.shape()])?;
    let cv = c
        .broadcast(IxDyn(&shape))
        .ok_or_else(|| Error::Shape(format!("condition {:?} does not broadcast", c.shape())))?;
    same_type!(x, y, "Where", |a, b, wrap| {
        let err = || {
            Error::Shape(format!(
                "{:?} and {:?} do not broadcast",
                a.shape(),
                b.shape()
            ))
        };
        let av = a.broadcast(IxDyn(&shape)).ok_or_else(err)?;
        let bv = b.broadcast(IxDyn(&shape)).ok_or_else(err)?;
        Ok(wrap(
            Zip::from(&cv)
                .and(&av)
                .and(&bv)
                .map_collect(|&k, p, q| if k { *p } else { *q }),
        ))
    })
}

/// The larger (`max`) or smaller of two values; a NaN operand wins, as in numpy.
fn pick<T: PartialOrd>(max: bool, a: T, b: T) -> T {
    #[allow(clippy::eq_op)]
    let b_nan = b != b;
    let b_wins = if max { b > a } else { b < a };
    if b_wins || b_nan { b } else { a }
}

/// Elementwise Min or Max of one or more tensors of one type, with broadcasting.
pub fn extremum(max: bool, inputs: &[&Tensor]) -> Result<Tensor> {
    let (first, rest) = inputs
        .split_first()
        .ok_or_else(|| Error::Shape("Min/Max of no input".into()))?;
    let what = if max { "Max" } else { "Min" };
    rest.iter().try_fold((*first).clone(), |acc, t| {
        same_type!(&acc, *t, what, |x, y, wrap| Ok(wrap(zip_broadcast(
            x,
            y,
            |p, q| pick(max, p, q)
        )?)))
    })
}

/// The element-operations of a variadic Min or Max of `operands` inputs: one comparison per
/// extra operand for every output element.
pub fn extremum_work(operands: usize, outputs: u64) -> u64 {
    outputs.saturating_mul(operands.saturating_sub(1).max(1) as u64)
}

/// Add, Sub, Mul or Div of two integer tensors of one type, wrapping as numpy does (division
/// truncates toward zero); `None` for float operands.
pub fn int_arith(op: &VectorOp, a: &Tensor, b: &Tensor) -> Result<Option<Tensor>> {
    macro_rules! arith {
        ($x:expr, $y:expr, $variant:ident) => {{
            if matches!(op, VectorOp::Div) && $y.iter().any(|v| *v == 0) {
                return Err(Error::Invalid("integer division by zero".into()));
            }
            Tensor::$variant(zip_broadcast($x, $y, |p, q| match op {
                VectorOp::Add => p.wrapping_add(q),
                VectorOp::Sub => p.wrapping_sub(q),
                VectorOp::Mul => p.wrapping_mul(q),
                _ => p.wrapping_div(q),
            })?)
        }};
    }
    Ok(Some(match (a, b) {
        (Tensor::I8(x), Tensor::I8(y)) => arith!(x, y, I8),
        (Tensor::U8(x), Tensor::U8(y)) => arith!(x, y, U8),
        (Tensor::I32(x), Tensor::I32(y)) => arith!(x, y, I32),
        (Tensor::I64(x), Tensor::I64(y)) => arith!(x, y, I64),
        _ if a.dtype() == b.dtype() && a.dtype().is_float() => return Ok(None),
        _ => {
            return Err(Error::DType(format!(
                "{op:?} of {} and {}",
                a.dtype(),
                b.dtype()
            )));
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i64s(shape: &[usize], v: Vec<i64>) -> Tensor {
        Tensor::I64(ArrayD::from_shape_vec(IxDyn(shape), v).unwrap())
    }

    #[test]
    fn selection_and_comparison_broadcast() {
        let a = i64s(&[2, 2], vec![1, 5, 3, 7]);
        let b = i64s(&[2], vec![4, 5]);
        assert_eq!(
            compare(Comparison::Less, &a, &b).unwrap(),
            Tensor::Bool(
                ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![true, false, true, false]).unwrap()
            )
        );
        assert_eq!(
            extremum(true, &[&a, &b]).unwrap(),
            i64s(&[2, 2], vec![4, 5, 4, 7])
        );
        let c = compare(Comparison::Equal, &a, &b).unwrap();
        assert_eq!(select(&c, &a, &b).unwrap(), i64s(&[2, 2], vec![4, 5, 4, 5]));
        let nan = Tensor::F32(ArrayD::from_elem(IxDyn(&[1]), f32::NAN));
        let one = Tensor::F32(ArrayD::from_elem(IxDyn(&[1]), 1.0));
        assert!(extremum(false, &[&one, &nan]).unwrap().to_f32()[[0]].is_nan());
        assert!(compare(Comparison::Equal, &a, &one).is_err());
    }

    #[test]
    fn integer_arithmetic_wraps_and_truncates() {
        let a = i64s(&[2], vec![i64::MAX, -7]);
        let b = i64s(&[2], vec![1, 2]);
        assert_eq!(
            int_arith(&VectorOp::Add, &a, &b).unwrap(),
            Some(i64s(&[2], vec![i64::MIN, -5]))
        );
        assert_eq!(
            int_arith(&VectorOp::Div, &a, &b).unwrap(),
            Some(i64s(&[2], vec![i64::MAX, -3]))
        );
        assert!(int_arith(&VectorOp::Div, &b, &i64s(&[1], vec![0])).is_err());
    }
}
