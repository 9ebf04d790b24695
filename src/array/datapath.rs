//! The arithmetic of one PE (multiply-accumulate into a partial sum) and of the output
//! accumulator (start from the bias, add K-tile sums), per datapath.
//!
//! The PE-level model and the fast datapath are both written against [`Datapath`], so the
//! only thing that can differ between them is the order of operations, which the tests fix.

use crate::config::PsumType;
use crate::kernel::FloatFormat;
use crate::numeric::{round_f64_to_bf16, round_f64_to_f16, round_sum_to_bf16, round_sum_to_f16};

/// What a PE and an output accumulator compute.
pub(crate) trait Datapath: Copy + Send + Sync {
    /// An activation or weight; `Default` is the zero that idle rows and unused PEs hold.
    type Operand: Copy + Default + Send + Sync;
    /// A bias value; `Default` is the value used without bias.
    type Bias: Copy + Default + Send + Sync;
    /// A partial sum, and an output accumulator.
    type Sum: Copy + Send + Sync;

    /// The partial sum a K-tile starts from.
    fn zero(self) -> Self::Sum;
    /// One PE step: `a·w + s`.
    fn mac(self, a: Self::Operand, w: Self::Operand, s: Self::Sum) -> Self::Sum;
    /// The output accumulator before the first K-tile.
    fn start(self, bias: Self::Bias) -> Self::Sum;
    /// Adds one K-tile's partial sum into the output accumulator.
    fn merge(self, acc: Self::Sum, s: Self::Sum) -> Self::Sum;
}

/// Integer MACs. Sums are kept exact in i64 and wrapped to 32 bits where they leave the array
/// ([`super::IntGemmOut`]); since wrapping addition is addition modulo 2^32 this gives the
/// bits of 32-bit wrapping registers, and shows whether the true value fitted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IntMac;

impl Datapath for IntMac {
    type Operand = i16;
    type Bias = i32;
    type Sum = i64;

    fn zero(self) -> i64 {
        0
    }
    fn mac(self, a: i16, w: i16, s: i64) -> i64 {
        s + i64::from(i32::from(a) * i32::from(w))
    }
    fn start(self, bias: i32) -> i64 {
        i64::from(bias)
    }
    fn merge(self, acc: i64, s: i64) -> i64 {
        acc + s
    }
}

/// f32 partial sums with fused multiply-adds (one rounding per MAC).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FusedF32;

impl Datapath for FusedF32 {
    type Operand = f32;
    type Bias = f32;
    type Sum = f32;

    fn zero(self) -> f32 {
        0.0
    }
    fn mac(self, a: f32, w: f32, s: f32) -> f32 {
        a.mul_add(w, s)
    }
    fn start(self, bias: f32) -> f32 {
        bias
    }
    fn merge(self, acc: f32, s: f32) -> f32 {
        acc + s
    }
}

/// f32 partial sums computed as a multiply then an add: the same bits as [`FusedF32`] whenever
/// every product is exact in f32, which holds for fp16 operands (11-bit significands give at
/// most 22 bits, and products lie between 2^-48 and 2^32, inside f32's normal range). Not for
/// bf16 operands, whose products can underflow or overflow f32.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExactProductF32;

impl Datapath for ExactProductF32 {
    type Operand = f32;
    type Bias = f32;
    type Sum = f32;

    fn zero(self) -> f32 {
        0.0
    }
    fn mac(self, a: f32, w: f32, s: f32) -> f32 {
        a * w + s
    }
    fn start(self, bias: f32) -> f32 {
        bias
    }
    fn merge(self, acc: f32, s: f32) -> f32 {
        acc + s
    }
}

/// The 16-bit partial-sum formats.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Half {
    F16,
    Bf16,
}

/// 16-bit partial sums: every MAC and every accumulator addition is computed exactly and
/// rounded once to the operand's 16-bit format (values are carried as f32).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Psum16(pub(crate) Half);

impl Psum16 {
    fn round_sum(self, x: f64, y: f64) -> f32 {
        match self.0 {
            Half::F16 => round_sum_to_f16(x, y).to_f32(),
            Half::Bf16 => round_sum_to_bf16(x, y).to_f32(),
        }
    }
}

impl Datapath for Psum16 {
    type Operand = f32;
    type Bias = f32;
    type Sum = f32;

    fn zero(self) -> f32 {
        0.0
    }
    fn mac(self, a: f32, w: f32, s: f32) -> f32 {
        // Exact: two 16-bit significands give at most 22 bits, well inside f64's range.
        let product = f64::from(a) * f64::from(w);
        self.round_sum(product, f64::from(s))
    }
    fn start(self, bias: f32) -> f32 {
        let bias = f64::from(bias);
        match self.0 {
            Half::F16 => round_f64_to_f16(bias).to_f32(),
            Half::Bf16 => round_f64_to_bf16(bias).to_f32(),
        }
    }
    fn merge(self, acc: f32, s: f32) -> f32 {
        self.round_sum(f64::from(acc), f64::from(s))
    }
}

/// Which float arithmetic an operand format and partial-sum type select.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FloatRule {
    /// f32 partial sums, fused MACs.
    Fused,
    /// 16-bit partial sums in the given format.
    Psum16(Half),
}

impl FloatRule {
    /// The rule for `fmt` operands: fp32 operands always use f32 partial sums.
    pub(crate) fn new(fmt: FloatFormat, psum: PsumType) -> FloatRule {
        match (fmt, psum) {
            (FloatFormat::Fp32, _) | (_, PsumType::Fp32) => FloatRule::Fused,
            (FloatFormat::Fp16, PsumType::Fp16) => FloatRule::Psum16(Half::F16),
            (FloatFormat::Bf16, PsumType::Fp16) => FloatRule::Psum16(Half::Bf16),
        }
    }
}
