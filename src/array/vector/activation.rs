//! Elementwise activations and math functions of one float tensor, computed in f32 and
//! rounded once to the tensor's type. (Neg and Abs, exact in every type, normally run through
//! `ir::exact`; they are here for completeness of the float path.)

use super::elementwise::map_float;
use crate::error::Result;
use crate::ir::Unary;
use crate::tensor::Tensor;

/// erf in f32, correctly rounded: the double-precision erf rounded once to f32.
fn erf(x: f32) -> f32 {
    libm::erf(f64::from(x)) as f32
}

/// `1 / (1 + e⁻ˣ)`, in the overflow-free form of the ONNX reference.
fn sigmoid(x: f32) -> f32 {
    if x > 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + eˣ)` without overflow for large `x`.
fn softplus(x: f32) -> f32 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// `max(0, min(1, alpha·x + beta))`.
fn hard_sigmoid(x: f32, alpha: f32, beta: f32) -> f32 {
    (alpha * x + beta).clamp(0.0, 1.0)
}

/// GELU: `x/2 · (1 + erf(x/√2))`, or with `tanh`, `x/2 · (1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
fn gelu(x: f32, tanh: bool) -> f32 {
    let inner = if tanh {
        (std::f32::consts::FRAC_2_SQRT_PI
            * std::f32::consts::FRAC_1_SQRT_2
            * (x + 0.044715 * x * x * x))
            .tanh()
    } else {
        erf(x * std::f32::consts::FRAC_1_SQRT_2)
    };
    0.5 * x * (1.0 + inner)
}

/// Applies a float activation to `x`.
pub fn unary(u: Unary, x: &Tensor) -> Result<Tensor> {
    map_float(x, |v| match u {
        Unary::Reciprocal => 1.0 / v,
        Unary::Sqrt => v.sqrt(),
        Unary::Exp => v.exp(),
        Unary::Log => v.ln(),
        Unary::Sigmoid => sigmoid(v),
        Unary::Tanh => v.tanh(),
        Unary::Erf => erf(v),
        Unary::Softplus => softplus(v),
        Unary::HardSwish => v * hard_sigmoid(v, 1.0 / 6.0, 0.5),
        Unary::HardSigmoid { alpha, beta } => hard_sigmoid(v, alpha, beta),
        Unary::LeakyRelu { alpha } => {
            if v < 0.0 {
                alpha * v
            } else {
                v
            }
        }
        Unary::Gelu { tanh } => gelu(v, tanh),
        Unary::Neg => -v,
        Unary::Abs => v.abs(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_match_their_definitions() {
        assert_eq!(erf(0.5), 0.520_499_9);
        assert_eq!(sigmoid(0.0), 0.5);
        assert!((sigmoid(-100.0)).abs() < 1e-30);
        assert_eq!(softplus(100.0), 100.0);
        assert!((softplus(0.0) - std::f32::consts::LN_2).abs() < 1e-7);
        assert_eq!(hard_sigmoid(10.0, 0.2, 0.5), 1.0);
        assert!((gelu(1.0, false) - 0.841_344_7).abs() < 1e-6);
        assert!((gelu(1.0, true) - 0.841_192).abs() < 1e-6);
    }
}
