//! What a node runs as: a tiled GEMM on the arrays or an op on the vector unit.

use super::{FloatFormat, GemmShape};
use super::{VectorOp, Window};
use serde::Serialize;

/// One tile job: an M-block × N-block of one GEMM problem with all its K-tiles, or of
/// `packed` consecutive problems placed block-diagonally on one array (problem `i`'s weights
/// in rows `i·K..(i+1)·K` and columns `i·n..(i+1)·n`, the off-diagonal PEs unloaded), each of
/// which then computes its outputs alone. It leaves no partial sum behind, so a task can be
/// preempted between tile jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TileJob {
    /// Which GEMM problem of the kernel (batch × group), the first of the packed ones.
    pub problem: usize,
    /// How many consecutive problems the job packs (1 when the problems fill the array).
    pub packed: usize,
    /// First row of the block.
    pub m0: usize,
    /// Rows in the block.
    pub m: usize,
    /// First column of the block.
    pub n0: usize,
    /// Columns in the block.
    pub n: usize,
}

/// The arithmetic of a GEMM kernel on the array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Datapath {
    /// 8-bit integers with zero points, i32 accumulation.
    Int8,
    /// Floating point of the given operand format.
    Float(FloatFormat),
}

/// How the operands of each GEMM problem are cut out of the node's input tensors.
#[derive(Debug, Clone, PartialEq)]
pub enum GemmLayout {
    /// A convolution by im2col: problem `g` is group `g`; rows are (batch, output position),
    /// columns of A are (input channel in group, kernel tap), B is the group's weights transposed.
    Conv {
        /// The resolved sliding window.
        window: Window,
        /// A transposed convolution (ConvTranspose) as a convolution over the zero-inserted
        /// input: row (batch, output position `o`), column (input channel, tap `k`) reads input
        /// position `(o + pad − k·dilation) / stride` when that divides exactly and lies inside,
        /// else 0; weights are `[cin, cout/groups, taps…]`.
        transposed: bool,
        /// Groups.
        groups: usize,
        /// Batch size.
        batch: usize,
        /// Input channels per group.
        cin_per_group: usize,
        /// Output channels per group.
        cout_per_group: usize,
    },
    /// A (batched) matrix product: problem `p` multiplies A batch `a_batch[p]` by B batch `b_batch[p]`.
    MatMul {
        /// A is stored transposed (Gemm's transA).
        trans_a: bool,
        /// B is stored transposed (Gemm's transB).
        trans_b: bool,
        /// For each problem, the index of its A matrix among A's stacked matrices.
        a_batch: Vec<usize>,
        /// For each problem, the index of its B matrix among B's stacked matrices.
        b_batch: Vec<usize>,
    },
}

/// Positions of a GEMM-class op's inputs by role (ONNX order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GemmInputs {
    /// The data (A).
    pub x: usize,
    /// The weights (B).
    pub w: usize,
    /// The data's zero point, for the integer ops.
    pub x_zp: Option<usize>,
    /// The weights' zero point, for the integer ops.
    pub w_zp: Option<usize>,
    /// The bias (C).
    pub bias: Option<usize>,
    /// The QLinear ops' data scale, weight scale, output scale and output zero point.
    pub qlinear: Option<[usize; 4]>,
}

/// What a GEMM kernel's output unit applies besides the product, from its op.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GemmEpilogue {
    /// Gemm's scale of the product.
    pub alpha: f32,
    /// Gemm's scale of C.
    pub beta: f32,
    /// The bias preloads the accumulators, one value per output column (a convolution's bias,
    /// or Gemm's C of `n` values at unit scales); otherwise C is added after the product.
    pub preload_bias: bool,
    /// A quantized GEMM clamps its output at the zero point (ReLU in the epilogue).
    pub relu: bool,
}

/// A GEMM-class node lowered to the arrays: `problems` independent GEMMs of one shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GemmKernel {
    /// Where the operands come from.
    #[serde(skip)]
    pub layout: GemmLayout,
    /// The node's inputs by role.
    #[serde(skip)]
    pub inputs: GemmInputs,
    /// The output unit.
    #[serde(skip)]
    pub epilogue: GemmEpilogue,
    /// Shape of each problem.
    pub shape: GemmShape,
    /// Number of independent problems (batch × groups).
    pub problems: usize,
    /// Datapath.
    pub datapath: Datapath,
    /// The tile jobs, in issue order.
    pub tiles: Vec<TileJob>,
    /// Bytes per element of A, B and C as moved to and from DRAM.
    pub elem_bytes: [u64; 3],
    /// Where the operands live: which of them each tile job moves over the DRAM.
    pub traffic: Traffic,
    /// Costed only: a float GEMM assumed on the int8 datapath has no values to compute.
    pub timing_only: bool,
}

/// Which operands of a GEMM kernel cross the DRAM interface. Activations stay in the
/// scratchpads when the layer's inputs and outputs fit; constant weights always come from
/// DRAM (an array fetches the B block of a tile job it runs unless its scratchpad holds it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Traffic {
    /// A rows and C blocks are read from and written to DRAM.
    pub activations: bool,
    /// The B block is read from DRAM.
    pub weights: bool,
}

impl GemmKernel {
    /// Total multiply-accumulates.
    pub fn macs(&self) -> u64 {
        self.shape.macs().saturating_mul(self.problems as u64)
    }
}

/// A node lowered to the vector unit: its op and `work` element-operations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VectorKernel {
    /// The op, attributes resolved.
    #[serde(skip)]
    pub op: VectorOp,
    /// Element-operations (0 for pure metadata changes such as Reshape).
    pub work: u64,
    /// DRAM bytes it reads (its non-constant inputs, when they do not stay on chip).
    pub reads: u64,
    /// DRAM bytes it writes (its outputs, when they do not stay on chip).
    pub writes: u64,
}

/// What one node runs as.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Kernel {
    /// On the systolic arrays.
    Gemm(Box<GemmKernel>),
    /// On the vector unit.
    Vector(VectorKernel),
}
