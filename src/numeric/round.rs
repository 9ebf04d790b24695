//! Correctly rounded conversions from f64 to fp16 and bf16 (round to nearest, ties to even).
//!
//! `half::f16::from_f64` rounds through f32 first and can double-round; these functions round
//! once, straight from the f64 bits. Subnormals are produced (no flush to zero), values past the
//! largest finite number round to ±infinity, and NaN maps to a quiet NaN of the same sign.

use half::{bf16, f16};

/// A binary floating-point format with `man` stored mantissa bits and `exp` exponent bits.
#[derive(Debug, Clone, Copy)]
struct Format {
    man: u32,
    exp: u32,
}

const F16: Format = Format { man: 10, exp: 5 };
const BF16: Format = Format { man: 7, exp: 8 };

impl Format {
    fn bias(self) -> i64 {
        (1 << (self.exp - 1)) - 1
    }

    fn inf_bits(self) -> u64 {
        ((1 << self.exp) - 1) << self.man
    }

    fn sign_bit(self) -> u64 {
        1 << (self.man + self.exp)
    }

    /// Rounds `hi + lo` once to this format and returns its bit pattern.
    ///
    /// `lo` is the exact error of an f64 operation that produced `hi` (as from [`two_sum`]):
    /// zero, or at most half an f64 ulp of `hi`, and zero when `hi` is zero. It only matters
    /// when `hi` lies exactly halfway between two neighbours of the format.
    fn round(self, hi: f64, lo: f64) -> u64 {
        let sign = if hi.is_sign_negative() {
            self.sign_bit()
        } else {
            0
        };
        if hi.is_nan() {
            return sign | self.inf_bits() | 1 << (self.man - 1);
        }
        if hi.is_infinite() {
            return sign | self.inf_bits();
        }
        let bits = hi.to_bits() & !(1 << 63);
        let biased = (bits >> 52) as i64;
        let frac = bits & ((1 << 52) - 1);
        // |hi| = sig · 2^e2 with sig an integer.
        let (sig, e2) = if biased == 0 {
            (frac, -1074)
        } else {
            (frac | 1 << 52, biased - 1075)
        };
        if sig == 0 {
            return sign;
        }
        let top = e2 + i64::from(63 - sig.leading_zeros());
        let emin = 1 - self.bias();
        let e = top.max(emin);
        // The result is n · 2^(e - man); `shift` drops the bits of sig below that quantum.
        let shift = e - i64::from(self.man) - e2;
        let n = if shift >= 64 {
            // |hi| < 2^(e2 + 53), far below half a quantum, 2^(e2 + shift - 1).
            0
        } else {
            let shift = shift as u32;
            let n = sig >> shift;
            let rem = sig & ((1 << shift) - 1);
            let half = 1 << (shift - 1);
            let tail_up = lo != 0.0 && lo.is_sign_negative() == hi.is_sign_negative();
            let tail_down = lo != 0.0 && !tail_up;
            let up = rem > half || (rem == half && (tail_up || (!tail_down && n & 1 == 1)));
            n + u64::from(up)
        };
        // A carry out of the mantissa bumps the exponent field, which is what the encoding needs.
        let magnitude = (((e + self.bias() - 1) as u64) << self.man) + n;
        sign | magnitude.min(self.inf_bits())
    }
}

/// `(s, err)` with `s = fl(x + y)` and `s + err = x + y` exactly (Knuth's TwoSum; exact unless
/// `s` overflows).
fn two_sum(x: f64, y: f64) -> (f64, f64) {
    let s = x + y;
    let y_part = s - x;
    let x_part = s - y_part;
    (s, (x - x_part) + (y - y_part))
}

/// Rounds `x + y`, computed exactly, once to the format.
fn round_sum(format: Format, x: f64, y: f64) -> u64 {
    let (s, err) = two_sum(x, y);
    if s.is_finite() {
        format.round(s, err)
    } else {
        format.round(s, 0.0)
    }
}

/// `x` rounded to the nearest fp16 value, ties to even (subnormals kept, overflow to ±inf).
pub fn round_f64_to_f16(x: f64) -> f16 {
    f16::from_bits(F16.round(x, 0.0) as u16)
}

/// `x` rounded to the nearest bf16 value, ties to even (subnormals kept, overflow to ±inf).
pub fn round_f64_to_bf16(x: f64) -> bf16 {
    bf16::from_bits(BF16.round(x, 0.0) as u16)
}

/// The exact sum `x + y`, rounded once to fp16 (ties to even).
///
/// Unlike `round_f64_to_f16(x + y)` this is right even when the f64 addition itself rounds
/// (operands more than 53 bits apart), which matters for a tie in the target format.
pub fn round_sum_to_f16(x: f64, y: f64) -> f16 {
    f16::from_bits(round_sum(F16, x, y) as u16)
}

/// The exact sum `x + y`, rounded once to bf16 (ties to even).
///
/// bf16 spans f32's exponent range, so the f64 sum of a bf16 product and a bf16 partial sum
/// can be inexact; the error term still decides ties correctly here.
pub fn round_sum_to_bf16(x: f64, y: f64) -> bf16 {
    bf16::from_bits(round_sum(BF16, x, y) as u16)
}
