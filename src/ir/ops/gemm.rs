//! Gemm, MatMul, MatMulInteger and QLinearMatMul: attributes, the positions of every
//! GEMM-class op's operands, and numpy `matmul` shapes.

use super::{Infer, Typed};
use crate::error::{Error, Result};
use crate::ir::Op;
pub use crate::kernel::GemmInputs;
use crate::tensor::DType;
use crate::tensor::ops::broadcast_shapes;

/// Attributes of Gemm: `Y = alpha · op(A) · op(B) + beta · C`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GemmAttrs {
    /// Scale of the product.
    pub alpha: f32,
    /// Scale of C.
    pub beta: f32,
    /// A is transposed.
    pub trans_a: bool,
    /// B is transposed.
    pub trans_b: bool,
}

/// The activation a quantized GEMM applies in its epilogue, the output unit (clamps the integer
/// output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EpilogueAct {
    /// None.
    #[default]
    None,
    /// ReLU: the output's lower bound becomes the zero point.
    Relu,
}

/// The pattern of every GEMM-class [`Op`] (those that run on the systolic arrays), for
/// `match` arms, which stay exhaustive.
macro_rules! gemm_class {
    () => {
        $crate::ir::Op::Conv(_)
            | $crate::ir::Op::ConvTranspose(_)
            | $crate::ir::Op::ConvInteger(_)
            | $crate::ir::Op::QLinearConv(..)
            | $crate::ir::Op::Gemm(_)
            | $crate::ir::Op::MatMul
            | $crate::ir::Op::MatMulInteger
            | $crate::ir::Op::QLinearMatMul(_)
    };
}
pub(crate) use gemm_class;

impl Op {
    /// Where a GEMM-class op's operands are: QLinearConv and QLinearMatMul put A's scale and
    /// zero point before B; ConvInteger and MatMulInteger have zero points and no bias.
    pub fn gemm_inputs(&self) -> GemmInputs {
        match self {
            Op::QLinearConv(..) | Op::QLinearMatMul(_) => GemmInputs {
                x: 0,
                w: 3,
                x_zp: Some(2),
                w_zp: Some(5),
                bias: Some(8),
                qlinear: Some([1, 4, 6, 7]),
            },
            Op::ConvInteger(_) | Op::MatMulInteger => GemmInputs {
                x: 0,
                w: 1,
                x_zp: Some(2),
                w_zp: Some(3),
                bias: None,
                qlinear: None,
            },
            _ => GemmInputs {
                x: 0,
                w: 1,
                x_zp: None,
                w_zp: None,
                bias: Some(2),
                qlinear: None,
            },
        }
    }

    /// Position of a GEMM-class op's weight (B) input.
    pub fn weight_input(&self) -> usize {
        self.gemm_inputs().w
    }
}

/// Gemm: `[M, N]` of `op(A) · op(B)`, C broadcast to it.
pub fn gemm(cx: &Infer, a: &GemmAttrs) -> Result<Typed> {
    let (sa, sb) = (cx.shape(0)?, cx.shape(1)?);
    if sa.len() != 2 || sb.len() != 2 {
        return Err(Error::Shape(format!(
            "Gemm needs 2-D operands, got {sa:?} and {sb:?}"
        )));
    }
    let (m, ka) = if a.trans_a {
        (sa[1], sa[0])
    } else {
        (sa[0], sa[1])
    };
    let (kb, n) = if a.trans_b {
        (sb[1], sb[0])
    } else {
        (sb[0], sb[1])
    };
    if ka != kb {
        return Err(Error::Shape(format!(
            "Gemm inner dims differ: {sa:?} · {sb:?}"
        )));
    }
    if let Some(c) = cx.optional(2) {
        broadcast_shapes(cx.f.shape(c), &[m, n])?;
    }
    cx.same(vec![m, n])
}

/// MatMul, MatMulInteger and QLinearMatMul: numpy `matmul`'s shape; A's type for MatMul,
/// int32 for MatMulInteger, the output zero point's type for QLinearMatMul.
pub fn matmul(cx: &Infer) -> Result<Typed> {
    let shape = matmul_shape(cx.shape(0)?, cx.shape(cx.node.op.weight_input())?)?;
    let dt = match cx.node.op {
        Op::MatMul => cx.dtype(0)?,
        Op::MatMulInteger => DType::I32,
        _ => cx.optional(7).map_or(DType::U8, |v| cx.f.dtype(v)),
    };
    Ok(vec![(dt, shape)])
}

/// numpy `matmul`'s promotion of 1-D operands: `a` becomes a row `[1, k]`, `b` a column `[k, 1]`.
pub fn promote_matmul(a: &[usize], b: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let a2 = if a.len() == 1 {
        vec![1, a[0]]
    } else {
        a.to_vec()
    };
    let b2 = if b.len() == 1 {
        vec![b[0], 1]
    } else {
        b.to_vec()
    };
    (a2, b2)
}

/// numpy `matmul` output shape (1-D operands promoted and the added dim removed).
pub fn matmul_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    if a.is_empty() || b.is_empty() {
        return Err(Error::Shape("MatMul of a scalar".into()));
    }
    let (a2, b2) = promote_matmul(a, b);
    let (m, k) = (a2[a2.len() - 2], a2[a2.len() - 1]);
    let (kb, n) = (b2[b2.len() - 2], b2[b2.len() - 1]);
    if k != kb {
        return Err(Error::Shape(format!(
            "MatMul inner dims differ: {a:?} · {b:?}"
        )));
    }
    let mut out = broadcast_shapes(&a2[..a2.len() - 2], &b2[..b2.len() - 2])?;
    if a.len() > 1 {
        out.push(m);
    }
    if b.len() > 1 {
        out.push(n);
    }
    Ok(out)
}
