//! The output unit after the array: requantization, activation clamp, float rounding on write.

use crate::numeric::{requant_scale, requantize};

/// Requantization of one output column: MLAS `MlasRequantizeOutput` semantics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Requant {
    /// `(x_scale · w_scale) / y_scale` in f32.
    pub scale: f32,
    /// Output zero point.
    pub zero_point: i32,
    /// Lowest output code (raised to the zero point by a fused ReLU).
    pub qmin: i32,
    /// Highest output code.
    pub qmax: i32,
}

impl Requant {
    /// Builds the column's parameters from the three scales, the zero point, the output range
    /// and whether a ReLU is fused (ReLU then quantize == clamp at the zero point).
    pub fn new(
        x_scale: f32,
        w_scale: f32,
        y_scale: f32,
        zero_point: i32,
        range: (i32, i32),
        relu: bool,
    ) -> Requant {
        let qmin = if relu {
            range.0.max(zero_point)
        } else {
            range.0
        };
        Requant {
            scale: requant_scale(x_scale, w_scale, y_scale),
            zero_point,
            qmin,
            qmax: range.1,
        }
    }

    /// The output code of one accumulator.
    pub fn apply(&self, acc: i32) -> i32 {
        requantize(acc, self.scale, self.zero_point, self.qmin, self.qmax)
    }
}
