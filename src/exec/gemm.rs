//! One GEMM-class node on the arrays, tile job by tile job: operands prepared once in the
//! datapath's domain, each tile computed on the array datapath whenever it is scheduled and
//! added into the output accumulators, then the output unit.

use super::operands::{channel, columns, lhs_all, rhs_all, scatter};
use crate::array::output::Requant;
use crate::array::{
    ArraySpec, PackedF32B, PackedIntA, PackedIntB, gemm_float, gemm_float_packed, gemm_int,
    gemm_int_packed, vector,
};
use crate::error::{Error, Result};
use crate::kernel::{
    Datapath, GemmEpilogue, GemmInputs, GemmKernel, GemmLayout, GemmShape, TileJob,
};
use crate::tensor::{Constant, DType, Tensor};
use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

/// Inputs of a GEMM-class node by role.
struct Roles<'a> {
    x: &'a Tensor,
    w: &'a Tensor,
    x_zp: Option<&'a Tensor>,
    w_zp: Option<&'a Tensor>,
    bias: Option<&'a Tensor>,
    /// (x_scale, w_scale, y_scale, y_zp) of the QLinear ops.
    qlinear: Option<[Option<&'a Tensor>; 4]>,
}

fn roles<'a>(at: GemmInputs, ins: &[Option<&'a Tensor>]) -> Result<Roles<'a>> {
    let get = |i: usize| ins.get(i).copied().flatten();
    let need =
        |i: usize| get(i).ok_or_else(|| Error::Shape(format!("required input {i} is missing")));
    Ok(Roles {
        x: need(at.x)?,
        w: need(at.w)?,
        x_zp: at.x_zp.and_then(get),
        w_zp: at.w_zp.and_then(get),
        bias: at.bias.and_then(get),
        qlinear: match at.qlinear {
            Some([xs, ws, ys, yzp]) => {
                Some([Some(need(xs)?), Some(need(ws)?), Some(need(ys)?), get(yzp)])
            }
            None => None,
        },
    })
}

fn values_i64(t: Option<&Tensor>) -> Result<Vec<i64>> {
    t.map_or(Ok(vec![0]), Tensor::to_i64_vec)
}

/// Per-channel parameter `c` of a vector that is either per-tensor (one value) or per-channel.
pub(super) fn per_channel<T: Copy>(v: &[T], c: usize, what: &str) -> Result<T> {
    match v.len() {
        1 => Ok(v[0]),
        _ => v.get(c).copied().ok_or_else(|| {
            Error::Shape(format!(
                "{what} has {} values, channel {c} needs more",
                v.len()
            ))
        }),
    }
}

/// The weight tensor shifted by its (per-tensor or per-channel) zero point, as i16.
fn shifted_weights(k: &GemmKernel, w: &Tensor, zp: &[i64]) -> Result<Vec<i16>> {
    let (kk, n) = (k.shape.k, k.shape.n);
    // Conv weights are [cout, k] (a channel per row of k); MatMul B is [.., k, n] (a channel
    // per column) or [.., n, k] when transposed (a channel per row of k).
    let (run, channels) = match &k.layout {
        crate::kernel::GemmLayout::Conv { .. } => (Some(kk), w.len() / kk.max(1)),
        crate::kernel::GemmLayout::MatMul { trans_b: true, .. } => (Some(kk), n),
        crate::kernel::GemmLayout::MatMul { .. } => (None, n),
    };
    if zp.len() != 1 && channels > zp.len() {
        per_channel(zp, zp.len(), "weight zero point")?;
    }
    let shift = Shift {
        zp,
        run,
        channels,
        n,
    };
    // 8-bit weights are shifted straight from their slice, without widening them first.
    macro_rules! shifted {
        ($a:expr) => {
            match $a.as_slice() {
                Some(s) => shift.apply(s),
                None => shift.apply(&$a.iter().copied().collect::<Vec<_>>()),
            }
        };
    }
    Ok(match w {
        Tensor::I8(a) => shifted!(a),
        Tensor::U8(a) => shifted!(a),
        _ => shift.apply(&w.to_i64_vec()?),
    })
}

/// A node's integer weights in the datapath's domain: shifted by their zero points once, and
/// cut into each problem's B and packed for the vector kernels when a product first needs
/// them. A constant weight keeps them ([`Constant::derived`]), so every later run of the
/// model reuses them, as onnxruntime prepacks a session's weights once.
pub(super) struct IntWeights {
    /// The weights shifted by their zero points, in their stored layout.
    pub(super) shifted: Vec<i16>,
    /// Each problem's B (`k × n`) and its packing.
    b_matrices: OnceLock<(Vec<Vec<i16>>, Vec<PackedIntB>)>,
    /// Each group's weights (`cout/groups × k`) prepared as the A of a convolution taken in
    /// the weights' layout.
    conv_groups: OnceLock<Vec<PackedIntA>>,
}

/// What a node's prepared weights depend on besides the weight values: the kernel's
/// layout, shape and problems, and `extra` (the zero points, or the operand format).
#[derive(PartialEq)]
struct WeightsKey<E> {
    layout: GemmLayout,
    shape: GemmShape,
    problems: usize,
    extra: E,
}

impl<E> WeightsKey<E> {
    fn new(k: &GemmKernel, extra: E) -> Self {
        WeightsKey {
            layout: k.layout.clone(),
            shape: k.shape,
            problems: k.problems,
            extra,
        }
    }
}

impl IntWeights {
    /// The weights `w` of kernel `k` shifted by `zp`, kept with `constant` when they are one.
    fn of(
        k: &GemmKernel,
        w: &Tensor,
        zp: Vec<i64>,
        constant: Option<&Constant>,
    ) -> Result<Arc<IntWeights>> {
        let make = |w: &Tensor| -> Result<IntWeights> {
            Ok(IntWeights {
                shifted: shifted_weights(k, w, &zp)?,
                b_matrices: OnceLock::new(),
                conv_groups: OnceLock::new(),
            })
        };
        match constant {
            Some(c) => c.derived(WeightsKey::new(k, zp.clone()), make),
            None => make(w).map(Arc::new),
        }
    }

    /// Each problem's B and its packing for the vector kernels.
    fn b_matrices(&self, k: &GemmKernel) -> &(Vec<Vec<i16>>, Vec<PackedIntB>) {
        self.b_matrices.get_or_init(|| {
            let b = rhs_all(k, Cow::Borrowed(&self.shifted[..]));
            let packed = b
                .iter()
                .map(|b| PackedIntB::new(b, k.shape.k, k.shape.n))
                .collect();
            (b, packed)
        })
    }

    /// Each of `groups` groups' `rows × k` weights, prepared as a GEMM's A (rows past the
    /// shifted weights are not prepared: the product reading them reports the shortfall).
    pub(super) fn conv_groups(&self, groups: usize, rows: usize, k: usize) -> &[PackedIntA] {
        self.conv_groups.get_or_init(|| {
            self.shifted
                .chunks_exact((rows * k).max(1))
                .take(groups)
                .map(|a| PackedIntA::new(a, rows, k))
                .collect()
        })
    }
}

/// A node's float weights in the operand format, cut into each problem's B, each with its
/// packing for the vector kernels (made when a product first needs it); a constant weight
/// keeps them, as [`IntWeights`].
struct FloatWeights {
    b: Vec<Vec<f32>>,
    packed: Vec<PackedF32B>,
}

impl FloatWeights {
    /// Kernel `k`'s B matrices from `w` (the weights in format `fmt`), kept with `constant`
    /// when they are one.
    fn of(
        k: &GemmKernel,
        fmt: crate::kernel::FloatFormat,
        w: Cow<'_, [f32]>,
        constant: Option<&Constant>,
    ) -> Arc<FloatWeights> {
        let make = |w: Cow<'_, [f32]>| {
            let b = rhs_all(k, w);
            let packed = b
                .iter()
                .map(|_| PackedF32B::new(k.shape.k, k.shape.n))
                .collect();
            FloatWeights { b, packed }
        };
        match constant {
            Some(c) => {
                let key = WeightsKey::new(k, fmt);
                let Ok(made) = c.derived::<_, _, std::convert::Infallible>(key, |_| Ok(make(w)));
                made
            }
            None => Arc::new(make(w)),
        }
    }
}

/// The constant among `consts` (one per input of `ins`) that holds the tensor `t`, if any.
pub(super) fn constant_of<'c>(
    ins: &[Option<&Tensor>],
    consts: &[Option<&'c Constant>],
    t: &Tensor,
) -> Option<&'c Constant> {
    ins.iter()
        .zip(consts)
        .find(|(i, _)| i.is_some_and(|i| std::ptr::eq(i, t)))
        .and_then(|(_, c)| *c)
}

/// How [`shifted_weights`] maps each weight to its channel's zero point.
struct Shift<'z> {
    zp: &'z [i64],
    /// Values per channel run (a row of k), or `None` for a zero point per column of `n`.
    run: Option<usize>,
    channels: usize,
    n: usize,
}

impl Shift<'_> {
    fn apply<T: Copy>(&self, raw: &[T]) -> Vec<i16>
    where
        i64: From<T>,
    {
        let sub = |v: T, z: i64| (i64::from(v) - z) as i16;
        // Row by row into a buffer sized once: each row's loop has an exact length.
        let mut out = Vec::with_capacity(raw.len());
        match (self.zp, self.run) {
            ([z], _) => out.extend(raw.iter().map(|&v| sub(v, *z))),
            (zp, None) => {
                for row in raw.chunks(self.n.max(1)) {
                    out.extend(row.iter().zip(zp).map(|(&v, &z)| sub(v, z)));
                }
            }
            (zp, Some(run)) => {
                for (r, vals) in raw.chunks(run.max(1)).enumerate() {
                    let z = zp[r % self.channels.max(1)];
                    out.extend(vals.iter().map(|&v| sub(v, z)));
                }
            }
        }
        out
    }
}

/// A per-channel vector (bias) cut into each problem's `n` columns.
fn per_problem<T: Copy>(k: &GemmKernel, v: &[T]) -> Result<Vec<Vec<T>>> {
    (0..k.problems)
        .map(|p| {
            (0..k.shape.n)
                .map(|j| per_channel(v, channel(k, p, j), "bias"))
                .collect()
        })
        .collect()
}

/// A fault injected on purpose, to prove the isolation check catches wrong schedules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The first two K-tiles of the tile are streamed in swapped order.
    SwapKTiles,
    /// The tile's results are added into the accumulators twice.
    DuplicateTile,
}

/// The values one tile job produced.
#[derive(Debug, Clone, PartialEq)]
pub enum TileValues {
    /// int32 accumulators (m × n) and whether any wrapped.
    Int(Vec<i32>, bool),
    /// f32 accumulators (m × n).
    Float(Vec<f32>),
}

impl TileValues {
    /// Whether `other` holds the same bits (a NaN equals the same NaN, −0 differs from +0).
    pub fn bit_identical(&self, other: &TileValues) -> bool {
        match (self, other) {
            (TileValues::Float(a), TileValues::Float(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
            }
            _ => self == other,
        }
    }
}

enum Operands {
    Int {
        a: Vec<Vec<i16>>,
        b: Arc<IntWeights>,
        bias: Option<Vec<Vec<i32>>>,
    },
    Float {
        fmt: crate::kernel::FloatFormat,
        a: Vec<Vec<f32>>,
        b: Arc<FloatWeights>,
        bias: Option<Vec<Vec<f32>>>,
    },
}

pub(super) enum Epilogue {
    Int32,
    Requant {
        x_scale: f32,
        w_scales: Vec<f32>,
        y_scale: f32,
        y_zp: i32,
        range: (i32, i32),
        relu: bool,
    },
    Float {
        fmt: crate::kernel::FloatFormat,
        alpha: f32,
        beta: f32,
        c: Option<ArrayD<f32>>,
        /// ReLU after the rounding to `fmt` (a fused ReLU node).
        relu: bool,
    },
}

impl Epilogue {
    /// The output unit of output channel `c` when the node requantizes its int32 accumulators
    /// (`None`: they are the output).
    pub(super) fn requant(&self, c: usize) -> Result<Option<Requant>> {
        match self {
            Epilogue::Requant {
                x_scale,
                w_scales,
                y_scale,
                y_zp,
                range,
                relu,
            } => {
                let ws = per_channel(w_scales, c, "weight scale")?;
                Ok(Some(Requant::new(
                    *x_scale, ws, *y_scale, *y_zp, *range, *relu,
                )))
            }
            _ => Ok(None),
        }
    }

    /// The output units of output channels `first..first + count`, if the node requantizes.
    pub(super) fn requant_units(&self, first: usize, count: usize) -> Result<Vec<Option<Requant>>> {
        (first..first + count).map(|c| self.requant(c)).collect()
    }
}

/// An integer node's output tensor of `dtype` (u8/i8 codes, else int32) from its values.
pub(super) fn int_output(values: Vec<i32>, shape: &[usize], dtype: DType) -> Result<Tensor> {
    use crate::tensor::convert;
    // Narrowed as a slice (vectorised), not through ndarray's element iterator.
    fn shaped<T>(shape: &[usize], v: Vec<T>) -> Result<ArrayD<T>> {
        ArrayD::from_shape_vec(IxDyn(shape), v).map_err(|e| Error::Shape(e.to_string()))
    }
    Ok(match dtype {
        DType::U8 => Tensor::U8(shaped(shape, convert::i32_to_u8(&values))?),
        DType::I8 => Tensor::I8(shaped(shape, convert::i32_to_i8(&values))?),
        _ => Tensor::I32(shaped(shape, values)?),
    })
}

/// The least value of an 8-bit `t` shifted by a zero point `zp` of its type, whose values
/// (and the shifted zero point, 0) then span at most 256 integers; `None` for other tensors.
fn shifted_range(t: &Tensor, zp: i64) -> Option<i32> {
    let (lo, hi) = match t {
        Tensor::U8(_) => (0, 255),
        Tensor::I8(_) => (-128, 127),
        _ => return None,
    };
    (lo..=hi).contains(&zp).then(|| (lo - zp) as i32)
}

/// An integer tensor's values minus the zero point `zp`, row-major, as the array's 16-bit
/// operands (in `[-255, 255]` for 8-bit values and an 8-bit zero point).
fn shifted(t: &Tensor, zp: i64) -> Result<Vec<i16>> {
    // `v − zp` wrapped to 16 bits, computed in 16 bits: the same value modulo 2^16 as in 64
    // bits, in vector lanes.
    use crate::tensor::convert::{as_row_major, i8_minus, u8_minus};
    Ok(match t {
        Tensor::U8(a) => u8_minus(&as_row_major(a), zp as i16),
        Tensor::I8(a) => i8_minus(&as_row_major(a), zp as i16),
        t => t.to_i64_vec()?.iter().map(|&v| (v - zp) as i16).collect(),
    })
}

/// `v` rounded to the array's operand format in place (the identity for fp32 and for values
/// that already are fp16/bf16): what the array boundary does to a wider tensor.
pub(super) fn round_to_format(fmt: crate::kernel::FloatFormat, v: &mut [f32]) {
    use crate::tensor::convert;
    match fmt {
        crate::kernel::FloatFormat::Fp32 => {}
        crate::kernel::FloatFormat::Fp16 => convert::round_through_f16(v),
        crate::kernel::FloatFormat::Bf16 => convert::round_through_bf16(v),
    }
}

/// A tensor's values in the array's operand format, row-major: borrowed when it already is a
/// contiguous f32 tensor on the fp32 datapath, else converted.
fn in_format(fmt: crate::kernel::FloatFormat, t: &Tensor) -> Cow<'_, [f32]> {
    if fmt == crate::kernel::FloatFormat::Fp32 {
        return t.f32_values();
    }
    let mut v = t.to_f32_vec();
    let exact = matches!(
        (fmt, t),
        (crate::kernel::FloatFormat::Fp16, Tensor::F16(_))
            | (crate::kernel::FloatFormat::Bf16, Tensor::BF16(_))
    );
    if !exact {
        round_to_format(fmt, &mut v);
    }
    Cow::Owned(v)
}

/// What float weights in an operand format depend on besides their values.
#[derive(PartialEq)]
struct FormatKey(crate::kernel::FloatFormat);

/// A float operand in the datapath's format: this run's (borrowed from the tensor or
/// converted), or a constant's converted once and kept with it.
pub(super) enum FloatOperand<'a> {
    Run(Cow<'a, [f32]>),
    Kept(Arc<Vec<f32>>),
}

impl std::ops::Deref for FloatOperand<'_> {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        match self {
            FloatOperand::Run(v) => v,
            FloatOperand::Kept(v) => v,
        }
    }
}

enum Accumulators {
    Int(Vec<Vec<i32>>),
    Float(Vec<Vec<f32>>),
}

/// A GEMM-class node in progress: prepared operands and the output accumulators.
pub struct GemmRun<'k> {
    kernel: &'k GemmKernel,
    operands: Operands,
    epilogue: Epilogue,
    acc: Accumulators,
    overflow: bool,
    out_dtype: DType,
    out_shape: Vec<usize>,
}

/// `v` reordered so that K-tiles 0 and 1 (of `r` rows) swap places, for a row-major matrix
/// whose K index is the column (`by_col`) or the row.
fn swap_k_tiles<T: Copy>(v: &[T], rows: usize, cols: usize, r: usize, by_col: bool) -> Vec<T> {
    let k = if by_col { cols } else { rows };
    if k <= r {
        return v.to_vec();
    }
    let second = (2 * r).min(k) - r;
    // New order: K-tile 1 (length `second`), then K-tile 0 (length r), then the rest.
    let order: Vec<usize> = (r..r + second).chain(0..r).chain(r + second..k).collect();
    if by_col {
        (0..rows)
            .flat_map(|i| order.iter().map(move |&kk| v[i * cols + kk]))
            .collect()
    } else {
        order
            .iter()
            .flat_map(|&kk| v[kk * cols..(kk + 1) * cols].iter().copied())
            .collect()
    }
}

/// A node's operands in the datapath's domain, in their stored layouts (activations NC…,
/// weights as the node holds them), with the per-channel bias and the output unit.
pub(super) struct Prepared<'a> {
    pub(super) values: Values<'a>,
    pub(super) epilogue: Epilogue,
}

/// The operand values of [`Prepared`].
pub(super) enum Values<'a> {
    /// Zero-point-shifted integers.
    Int {
        x: Vec<i16>,
        /// Every value of `x`, and the zero it is padded with, lies within
        /// `[x_lo, x_lo + 255]`: `x` is an 8-bit tensor shifted by a zero point of its type.
        x_lo: Option<i32>,
        w: Arc<IntWeights>,
        bias: Option<Vec<i32>>,
    },
    /// Floats in the operand format (borrowed when the tensor already is contiguous fp32 on the
    /// fp32 datapath).
    Float {
        fmt: crate::kernel::FloatFormat,
        x: Cow<'a, [f32]>,
        w: FloatOperand<'a>,
        /// The bias that preloads the accumulators (per output channel).
        bias: Option<Vec<f32>>,
    },
}

/// Reads the inputs of the node `k` runs into the datapath's domain (zero-point shift, format rounding) and
/// resolves its bias and output unit. `consts` holds the constant behind each input, if any:
/// a constant's integer weights are prepared once and kept with it.
pub(super) fn prepare<'a>(
    k: &GemmKernel,
    ins: &[Option<&'a Tensor>],
    consts: &[Option<&Constant>],
    out_dtype: DType,
) -> Result<Prepared<'a>> {
    let r = roles(k.inputs, ins)?;
    if k.timing_only {
        return Err(Error::Invalid("int8 precision of a float model is timing-only: values need a quantized model (QDQ or QOperator)".into()));
    }
    Ok(match k.datapath {
        Datapath::Int8 => {
            let x_zp = values_i64(r.x_zp)?;
            if x_zp.len() != 1 {
                return Err(Error::Shape(
                    "per-row input zero points are not supported".into(),
                ));
            }
            let x_lo = shifted_range(r.x, x_zp[0]);
            let x = shifted(r.x, x_zp[0])?;
            let w = IntWeights::of(k, r.w, values_i64(r.w_zp)?, constant_of(ins, consts, r.w))?;
            let bias: Option<Vec<i32>> = r
                .bias
                .map(|b| {
                    b.to_i64_vec()
                        .map(|v| v.into_iter().map(|x| x as i32).collect())
                })
                .transpose()?;
            let epilogue = match r.qlinear {
                None => Epilogue::Int32,
                Some([xs, ws, ys, yzp]) => {
                    let scale = |t: Option<&Tensor>| {
                        t.map(Tensor::to_f32_vec)
                            .ok_or_else(|| Error::Shape("missing scale".into()))
                    };
                    let (xs, ws, ys) = (scale(xs)?, scale(ws)?, scale(ys)?);
                    let yzp = values_i64(yzp)?;
                    if xs.len() != 1 || ys.len() != 1 || yzp.len() != 1 {
                        return Err(Error::Shape(
                            "input and output scales must be per-tensor".into(),
                        ));
                    }
                    let range = match out_dtype {
                        DType::U8 => (0, 255),
                        DType::I8 => (-128, 127),
                        d => return Err(Error::DType(format!("QLinear output {d}"))),
                    };
                    let relu = k.epilogue.relu;
                    Epilogue::Requant {
                        x_scale: xs[0],
                        w_scales: ws,
                        y_scale: ys[0],
                        y_zp: yzp[0] as i32,
                        range,
                        relu,
                    }
                }
            };
            Prepared {
                values: Values::Int { x, x_lo, w, bias },
                epilogue,
            }
        }
        Datapath::Float(fmt) => {
            // A wider tensor (an fp32 model on the fp16/bf16 datapath) is rounded at the array boundary.
            let x = in_format(fmt, r.x);
            let w = match constant_of(ins, consts, r.w) {
                // Constant weights in another format are converted once and kept.
                Some(c) if fmt != crate::kernel::FloatFormat::Fp32 || r.w.dtype() != DType::F32 => {
                    let Ok(kept) = c
                        .derived::<_, _, std::convert::Infallible>(FormatKey(fmt), |t| {
                            Ok(in_format(fmt, t).into_owned())
                        });
                    FloatOperand::Kept(kept)
                }
                _ => FloatOperand::Run(in_format(fmt, r.w)),
            };
            let GemmEpilogue {
                alpha, beta, relu, ..
            } = k.epilogue;
            // A per-column bias preloads the accumulators; anything else is added after.
            let c_full = r.bias.map(|c| c.to_f32());
            let as_bias = c_full.is_some() && k.epilogue.preload_bias;
            let bias: Option<Vec<f32>> = if as_bias {
                c_full.as_ref().map(|c| c.iter().copied().collect())
            } else {
                None
            };
            Prepared {
                values: Values::Float { fmt, x, w, bias },
                epilogue: Epilogue::Float {
                    fmt,
                    alpha,
                    beta,
                    c: if as_bias { None } else { c_full },
                    relu,
                },
            }
        }
    })
}

impl<'k> GemmRun<'k> {
    /// Prepares the operands of every problem of `kernel` (im2col, zero-point shift, packing).
    pub fn new(
        kernel: &'k GemmKernel,
        ins: &[Option<&Tensor>],
        consts: &[Option<&Constant>],
        out_dtype: DType,
        out_shape: &[usize],
    ) -> Result<GemmRun<'k>> {
        let k = kernel;
        let r = roles(k.inputs, ins)?;
        let x_shape = r.x.shape().to_vec();
        let w_constant = constant_of(ins, consts, r.w);
        let Prepared { values, epilogue } = prepare(k, ins, consts, out_dtype)?;
        let operands = match values {
            Values::Int { x, w, bias, .. } => Operands::Int {
                a: lhs_all(k, Cow::Owned(x), &x_shape, 0),
                b: w,
                bias: bias.as_deref().map(|v| per_problem(k, v)).transpose()?,
            },
            Values::Float { fmt, x, w, bias } => Operands::Float {
                fmt,
                a: lhs_all(k, x, &x_shape, 0.0),
                b: match w {
                    FloatOperand::Run(w) => FloatWeights::of(k, fmt, w, w_constant),
                    FloatOperand::Kept(w) => {
                        FloatWeights::of(k, fmt, Cow::Borrowed(&w), w_constant)
                    }
                },
                bias: bias.as_deref().map(|v| per_problem(k, v)).transpose()?,
            },
        };
        let size = k.shape.m * k.shape.n;
        // Accumulators start at zero; -0.0 is the float zero that leaves every sum's bits unchanged.
        let acc = match operands {
            Operands::Int { .. } => Accumulators::Int(vec![vec![0; size]; k.problems]),
            Operands::Float { .. } => Accumulators::Float(vec![vec![-0.0; size]; k.problems]),
        };
        Ok(GemmRun {
            kernel,
            operands,
            epilogue,
            acc,
            overflow: false,
            out_dtype,
            out_shape: out_shape.to_vec(),
        })
    }

    /// Computes tile job `index` on the array datapath (a pure function of the operands): the
    /// values of each problem it packs, in order, each computed alone (block-diagonal packing
    /// leaves the off-diagonal PEs unloaded, so no problem sees another's operands).
    pub fn compute_tile(&self, spec: &ArraySpec, index: usize, fault: Option<Fault>) -> TileValues {
        let t: &TileJob = &self.kernel.tiles[index];
        // Every tile job packs at least its first problem.
        let mut values = self.compute_block(spec, t, t.problem, fault);
        for p in t.problem + 1..t.problem + t.packed {
            let part = self.compute_block(spec, t, p, fault);
            match (&mut values, part) {
                (TileValues::Int(v, o), TileValues::Int(w, p)) => {
                    v.extend(w);
                    *o |= p;
                }
                (TileValues::Float(v), TileValues::Float(w)) => v.extend(w),
                _ => unreachable!("one datapath per kernel"),
            }
        }
        values
    }

    /// Computes tile job `t`'s block of `problem`.
    fn compute_block(
        &self,
        spec: &ArraySpec,
        t: &TileJob,
        problem: usize,
        fault: Option<Fault>,
    ) -> TileValues {
        let k = self.kernel;
        let (kk, n) = (k.shape.k, k.shape.n);
        let shape = GemmShape {
            m: t.m,
            k: kk,
            n: t.n,
        };
        let swap = fault == Some(Fault::SwapKTiles);
        macro_rules! slices {
            ($a:expr, $b:expr) => {{
                let at = &$a[problem][t.m0 * kk..(t.m0 + t.m) * kk];
                let bt = columns(&$b[problem], n, t.n0, t.n);
                if swap {
                    (
                        swap_k_tiles(at, t.m, kk, spec.rows, true),
                        swap_k_tiles(&bt, kk, t.n, spec.rows, false),
                    )
                } else {
                    (at.to_vec(), bt)
                }
            }};
        }
        match &self.operands {
            Operands::Int { a, b, bias } => {
                let (at, bt) = slices!(a, b.b_matrices(k).0);
                let bias = bias.as_ref().map(|v| &v[problem][t.n0..t.n0 + t.n]);
                let o = gemm_int(spec, shape, &at, &bt, bias.into());
                TileValues::Int(o.acc, o.overflow)
            }
            Operands::Float { fmt, a, b, bias } => {
                let (at, bt) = slices!(a, b.b);
                let bias = bias.as_ref().map(|v| &v[problem][t.n0..t.n0 + t.n]);
                TileValues::Float(gemm_float(spec, *fmt, shape, &at, &bt, bias.into()))
            }
        }
    }

    /// Computes every tile job at once, straight into the accumulators: one fast-datapath
    /// GEMM per problem, problems in parallel. The tile jobs of a problem partition its
    /// outputs, each output's arithmetic (all of its K-tiles, in order) does not depend on
    /// the block it belongs to, and adding a tile into a fresh accumulator leaves the tile's
    /// value; so this gives the bits of computing and accepting every tile in turn.
    pub fn compute_all(&mut self, spec: &ArraySpec) {
        let k = self.kernel;
        let shape = k.shape;
        match (&self.operands, &mut self.acc) {
            (Operands::Int { a, b, bias }, Accumulators::Int(acc)) => {
                let (b, packed) = b.b_matrices(k);
                let overflow = acc
                    .par_iter_mut()
                    .enumerate()
                    .map(|(p, acc)| {
                        let bias = bias.as_ref().map(|v| &v[p][..]);
                        let o = gemm_int_packed(spec, shape, &a[p], &b[p], &packed[p], bias.into());
                        *acc = o.acc;
                        o.overflow
                    })
                    .reduce(|| false, |x, y| x | y);
                self.overflow |= overflow;
            }
            (Operands::Float { fmt, a, b, bias }, Accumulators::Float(acc)) => {
                acc.par_iter_mut().enumerate().for_each(|(p, acc)| {
                    let bias = bias.as_ref().map(|v| &v[p][..]);
                    let (bp, packed) = (&b.b[p], &b.packed[p]);
                    *acc = gemm_float_packed(spec, *fmt, shape, &a[p], bp, packed, bias.into());
                });
            }
            _ => unreachable!("accumulators match the datapath"),
        }
    }

    /// Adds a computed tile into the output accumulators (twice under [`Fault::DuplicateTile`]).
    pub fn accumulate(&mut self, index: usize, values: &TileValues, fault: Option<Fault>) {
        let t = self.kernel.tiles[index];
        let n = self.kernel.shape.n;
        let times = if fault == Some(Fault::DuplicateTile) {
            2
        } else {
            1
        };
        for _ in 0..times {
            match (&mut self.acc, values) {
                (Accumulators::Int(acc), TileValues::Int(v, overflow)) => {
                    self.overflow |= *overflow;
                    for (p, v) in v.chunks(t.m * t.n).enumerate() {
                        for i in 0..t.m {
                            let row = &mut acc[t.problem + p][(t.m0 + i) * n + t.n0..][..t.n];
                            row.iter_mut()
                                .zip(&v[i * t.n..(i + 1) * t.n])
                                .for_each(|(a, &x)| *a = a.wrapping_add(x));
                        }
                    }
                }
                (Accumulators::Float(acc), TileValues::Float(v)) => {
                    for (p, v) in v.chunks(t.m * t.n).enumerate() {
                        for i in 0..t.m {
                            let row = &mut acc[t.problem + p][(t.m0 + i) * n + t.n0..][..t.n];
                            row.iter_mut()
                                .zip(&v[i * t.n..(i + 1) * t.n])
                                .for_each(|(a, &x)| *a += x);
                        }
                    }
                }
                _ => unreachable!("tile values match the datapath"),
            }
        }
    }

    /// The output unit over every accumulator: the node's output tensor, and whether an
    /// int32 accumulator wrapped.
    pub fn finish(self) -> Result<(Tensor, bool)> {
        let k = self.kernel;
        let total: usize = self.out_shape.iter().product();
        let shape = IxDyn(&self.out_shape);
        match (self.acc, self.epilogue) {
            (Accumulators::Int(acc), epilogue) => {
                let mut out = vec![0i32; total];
                for (p, acc) in acc.iter().enumerate() {
                    if k.shape.m == 0 {
                        continue;
                    }
                    // One output unit per column, when the node requantizes.
                    let units = (0..k.shape.n)
                        .map(|j| epilogue.requant(channel(k, p, j)))
                        .collect::<Result<Option<Vec<_>>>>()?;
                    let mut vals = acc.clone();
                    match units {
                        // One unit for every column (per-tensor scales): one pass.
                        Some(units) if units.windows(2).all(|w| w[0] == w[1]) => {
                            if let Some(unit) = units.first() {
                                unit.apply_all(&mut vals);
                            }
                        }
                        Some(units) => {
                            for row in vals.chunks_mut(k.shape.n.max(1)) {
                                row.iter_mut()
                                    .zip(&units)
                                    .for_each(|(v, u)| *v = u.apply(*v));
                            }
                        }
                        None => {}
                    }
                    scatter(k, p, &vals, &mut out);
                }
                Ok((
                    int_output(out, &self.out_shape, self.out_dtype)?,
                    self.overflow,
                ))
            }
            (Accumulators::Float(acc), epilogue) => {
                let mut out = vec![0f32; total];
                for (p, acc) in acc.iter().enumerate() {
                    scatter(k, p, acc, &mut out);
                }
                let Epilogue::Float {
                    fmt,
                    alpha,
                    beta,
                    c,
                    relu,
                } = epilogue
                else {
                    unreachable!("float accumulators have a float epilogue")
                };
                if alpha != 1.0 || c.is_some() {
                    let mut arr = ndarray::ArrayViewMutD::from_shape(shape.clone(), &mut out)
                        .map_err(|e| Error::Shape(e.to_string()))?;
                    arr.mapv_inplace(|v| alpha * v);
                    if let Some(c) = c {
                        let cb = c.broadcast(arr.raw_dim()).ok_or_else(|| {
                            Error::Shape(format!(
                                "C {:?} does not broadcast to {:?}",
                                c.shape(),
                                self.out_shape
                            ))
                        })?;
                        ndarray::Zip::from(&mut arr)
                            .and(&cb)
                            .for_each(|y, &c| *y += beta * c);
                    }
                }
                // The output is written in the datapath's format, once.
                round_to_format(fmt, &mut out);
                if relu {
                    vector::relu_in_place(&mut out);
                }
                let arr =
                    ArrayD::from_shape_vec(shape, out).map_err(|e| Error::Shape(e.to_string()))?;
                Ok((Tensor::from_f32(arr, self.out_dtype), false))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Tensor, TileValues, shifted};

    #[test]
    fn tile_bit_identity_tells_nans_alike_and_zeros_apart() {
        let f = |v: &[f32]| TileValues::Float(v.to_vec());
        assert!(f(&[f32::NAN]).bit_identical(&f(&[f32::NAN])));
        assert!(!f(&[-0.0]).bit_identical(&f(&[0.0])));
        assert!(TileValues::Int(vec![3], false).bit_identical(&TileValues::Int(vec![3], false)));
        assert!(!TileValues::Int(vec![3], false).bit_identical(&TileValues::Int(vec![3], true)));
    }

    proptest::proptest! {
        /// The 16-bit shift gives the 64-bit difference wrapped to 16 bits, for any zero point.
        #[test]
        fn shifted_values_wrap_as_the_64_bit_difference(
            values in proptest::collection::vec(proptest::num::u8::ANY, 0..40),
            signed in proptest::collection::vec(proptest::num::i8::ANY, 0..40),
            zp in proptest::prop_oneof![-300i64..300, proptest::num::i64::ANY],
        ) {
            let u = Tensor::U8(ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[values.len()]), values.clone()).unwrap());
            let want: Vec<i16> = values.iter().map(|&v| (i64::from(v) - zp) as i16).collect();
            proptest::prop_assert_eq!(shifted(&u, zp).unwrap(), want);
            let i = Tensor::I8(ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[signed.len()]), signed.clone()).unwrap());
            let want: Vec<i16> = signed.iter().map(|&v| (i64::from(v) - zp) as i16).collect();
            proptest::prop_assert_eq!(shifted(&i, zp).unwrap(), want);
        }
    }
}
