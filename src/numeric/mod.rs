//! Scalar numerics shared by the datapaths and the checkers: correctly rounded 16-bit float
//! conversions, ULP distances, and the integer requantization of onnxruntime's MLAS.
//!
//! Nothing here knows tensors: every function maps scalars to scalars.

mod quant;
mod round;
mod ulp;

pub use quant::{quantize_linear, requant_scale, requantize, round_half_even};
pub use round::{round_f64_to_bf16, round_f64_to_f16, round_sum_to_bf16, round_sum_to_f16};
pub use ulp::{ulp_distance_bf16, ulp_distance_f16, ulp_distance_f32};
