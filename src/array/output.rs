//! The output unit after the array: requantization, activation clamp, float rounding on write.

#[cfg(doc)]
use crate::numeric::round_half_even;
use crate::numeric::{requant_scale, requantize};
use multiversion::multiversion;

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

    /// [`Requant::apply`] to every accumulator of `accs`, in place.
    ///
    /// With a finite scale and output bounds within ±2^22 (every 8-bit output), the clamped
    /// product `x` lies within ±2^22, the result inside the bounds, and no saturation remains
    /// to do: [`round_to_int`] rounds it half to even without a branch, so the loop runs on
    /// vector instructions. Otherwise each value takes [`Requant::apply`].
    pub fn apply_all(&self, accs: &mut [i32]) {
        const EXACT: i64 = 1 << 22;
        let lo = i64::from(self.qmin) - i64::from(self.zero_point);
        let hi = i64::from(self.qmax) - i64::from(self.zero_point);
        if !self.scale.is_finite() || lo < -EXACT || hi > EXACT || lo > hi {
            accs.iter_mut().for_each(|v| *v = self.apply(*v));
            return;
        }
        requantize_small(accs, self.scale, (lo as f32, hi as f32), self.zero_point);
    }
}

/// The loop of [`Requant::apply_all`] for bounds `lo..=hi` (the output range shifted by the
/// zero point) within ±2^22.
#[multiversion(targets = "simd")]
fn requantize_small(accs: &mut [i32], scale: f32, (lo, hi): (f32, f32), zp: i32) {
    for v in accs {
        *v = round_to_int((*v as f32 * scale).max(lo).min(hi)) + zp;
    }
}

/// `x` (within ±2^22) rounded to the nearest integer, ties to even, as an i32: the value of
/// [`round_half_even`]`(x) as i32`, in operations that vectorise.
///
/// `x + 1.5·2^23` lies in `[2^23, 2^24]`, where floats are the integers, so the addition
/// rounds `x` half to even; the sum's bits, minus those of `1.5·2^23`, are that integer.
#[inline]
pub fn round_to_int(x: f32) -> i32 {
    const MAGIC: f32 = 12_582_912.0;
    (x + MAGIC).to_bits() as i32 - MAGIC.to_bits() as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn apply_all_equals_apply(
            accs in prop::collection::vec(any::<i32>(), 0..64),
            scale in prop_oneof![
                any::<f32>(),
                (-30i32..30).prop_map(|e| 2f32.powi(e)),
                Just(f32::NAN),
                Just(f32::INFINITY),
                Just(0.0f32),
            ],
            zero_point in prop_oneof![-300i32..300, any::<i32>()],
            range in prop_oneof![
                Just((0, 255)),
                Just((-128, 127)),
                Just((i32::MIN, i32::MAX)),
                (any::<i32>(), any::<i32>()),
            ],
            relu in any::<bool>(),
        ) {
            let unit = Requant::new(1.0, scale, 1.0, zero_point, range, relu);
            prop_assume!(unit.qmin <= unit.qmax);
            let mut all = accs.clone();
            unit.apply_all(&mut all);
            let one: Vec<i32> = accs.iter().map(|&a| unit.apply(a)).collect();
            prop_assert_eq!(all, one);
        }

        #[test]
        fn round_to_int_is_round_half_even(
            x in prop_oneof![
                -4_194_304f32..=4_194_304.0,
                (-8_388_608i32..=8_388_608).prop_map(|h| h as f32 * 0.5),
                Just(4_194_304f32),
                Just(-4_194_304f32),
            ],
        ) {
            prop_assert_eq!(round_to_int(x), crate::numeric::round_half_even(x) as i32);
        }
    }
}
