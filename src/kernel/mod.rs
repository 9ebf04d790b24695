//! Plain data that flows from `lower` to the arrays: GEMM shapes, tile jobs, vector ops and
//! their resolved attributes, programs.

mod attrs;
mod node;
mod program;
mod resize;
mod vector;
mod window;

pub use attrs::*;
pub use node::*;
pub use program::*;
pub use resize::*;
pub use vector::*;
pub use window::*;

use serde::{Deserialize, Serialize};

/// The dimensions of one GEMM `C[m×n] = A[m×k] · B[k×n]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct GemmShape {
    /// Rows of A and C (output pixels × batch for a convolution).
    pub m: usize,
    /// The reduction length (kh·kw·cin/groups for a convolution).
    pub k: usize,
    /// Columns of B and C (output channels for a convolution).
    pub n: usize,
}

impl GemmShape {
    /// Multiply-accumulates in the GEMM.
    pub fn macs(&self) -> u64 {
        (self.m as u64)
            .saturating_mul(self.k as u64)
            .saturating_mul(self.n as u64)
    }
}

/// A tile job as the schedulers see it: its GEMM shape and the datapath it runs on (operand
/// and partial-sum types; one array runs one datapath at a time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileProfile {
    /// The tile's GEMM: an M-block × an N-block with the node's whole K.
    pub shape: GemmShape,
    /// Its arithmetic.
    pub datapath: Datapath,
}

/// The floating-point operand formats of the array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FloatFormat {
    /// fp32 operands, fused MACs.
    Fp32,
    /// fp16 operands.
    Fp16,
    /// bfloat16 operands.
    Bf16,
}

/// The numeric variant a model runs in. `Fp16`/`Bf16`/`Fp32` run a float model's GEMMs on
/// that datapath (operands rounded at the array boundary, outputs rounded once when written);
/// `Int8` of a float model is a timing-only assumption (one-byte operands), since values need
/// a quantized model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// As the model file is written.
    #[default]
    Native,
    /// 8-bit integer.
    Int8,
    /// IEEE half precision.
    Fp16,
    /// bfloat16.
    Bf16,
    /// IEEE single precision.
    Fp32,
}
