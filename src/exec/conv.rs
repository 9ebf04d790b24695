//! A convolution computed whole in the weights' own layout: per image, group and block of
//! output rows, `Yᵀ = W · im2colᵀ` with the bias per row, written into the NC[spatial…]
//! output.
//!
//! The array computes `Y = im2col · Wᵀ` with the bias per column; every output's arithmetic
//! is symmetric in its two operands (see [`crate::array::Bias`]), so the transposed product
//! gives the same bits while reading the weights as stored, the input planes of a 1×1
//! convolution as they are, and producing output channels as rows: no weight transpose and
//! no activation transpose. Blocks of output positions keep each block's im2col in cache and
//! leave every output's reduction whole. The tile-by-tile path (`record`, the simulator)
//! keeps the array's orientation; `tests/lowering.rs` (random convolutions, every datapath)
//! and `tests/exec_parallel.rs` (the digits models) check the two agree bit for bit.

use super::gemm::{Epilogue, Values, int_output, per_channel, prepare, round_to_format};
use super::operands::{im2col_t, is_pointwise, output_rows};
use crate::array::{ArraySpec, Bias, gemm_float, gemm_int, gemm_int_packed_a, vector};
use crate::error::{Error, Result};
use crate::kernel::{GemmKernel, GemmLayout, GemmShape, Window};
use crate::tensor::{Constant, DType, Tensor};
use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;

/// Whether [`run`] computes kernel `k`: a (not transposed) convolution.
pub fn applies(k: &GemmKernel) -> bool {
    matches!(
        k.layout,
        GemmLayout::Conv {
            transposed: false,
            ..
        }
    )
}

/// Computes the convolution lowered to `k` (reading `ins`, with the constant behind each
/// input in `consts`): its output tensor and whether an int32 accumulator wrapped.
pub fn run(
    k: &GemmKernel,
    ins: &[Option<&Tensor>],
    consts: &[Option<&Constant>],
    spec: &ArraySpec,
    out_dtype: DType,
    out_shape: &[usize],
) -> Result<(Tensor, bool)> {
    let GemmLayout::Conv {
        window,
        batch,
        cin_per_group,
        cout_per_group,
        groups,
        transposed: false,
    } = &k.layout
    else {
        return Err(Error::Invalid(
            "not a convolution in the weights' layout".into(),
        ));
    };
    let (cpg, cin, plane) = (*cout_per_group, *cin_per_group, window.output_size());
    let x_shape = ins
        .first()
        .copied()
        .flatten()
        .ok_or_else(|| Error::Shape("required input 0 is missing".into()))?
        .shape();
    let channels = x_shape.get(1).copied().unwrap_or(0);
    let prepared = prepare(k, ins, consts, out_dtype)?;
    let total: usize = out_shape.iter().product();
    if total != batch * groups * cpg * plane {
        return Err(Error::Shape(format!(
            "output {out_shape:?} does not hold {batch}×{groups}×{cpg}×{plane} values"
        )));
    }
    // Problem (b, g): `cpg × K` weights times `K × plane` columns into `cpg` output planes.
    let shape = GemmShape {
        m: cpg,
        k: k.shape.k,
        n: plane,
    };
    let weights = |w_len: usize, g: usize| -> Result<std::ops::Range<usize>> {
        let r = g * cpg * shape.k..(g + 1) * cpg * shape.k;
        if r.end > w_len {
            return Err(Error::Shape("weights shorter than the kernel".into()));
        }
        Ok(r)
    };
    let shape_dyn = IxDyn(out_shape);
    let blocks = Block::plan(window, batch * groups, shape.k);
    let cpg_shape = |blk: &Block| GemmShape {
        n: blk.positions.len(),
        ..shape
    };
    match (prepared.values, prepared.epilogue) {
        (Values::Int { x, w, bias }, epilogue) => {
            let prepared = w.conv_groups(*groups, cpg, shape.k);
            let (out, overflow) = assemble(&blocks, cpg, plane, total, |blk| {
                let (b, g) = (blk.problem / groups, blk.problem % groups);
                let cols = im2col_t(&x, channels, b, window, g * cin, cin, 0, blk.rows.clone());
                let row_bias = group_bias(bias.as_deref(), g, cpg)?;
                let bshape = cpg_shape(blk);
                let group_w = &w.shifted[weights(w.shifted.len(), g)?];
                let row_bias = row_bias.as_deref().map_or(Bias::None, Bias::Rows);
                let mut o = match prepared.get(g) {
                    Some(a) => gemm_int_packed_a(spec, bshape, group_w, &cols, a, row_bias),
                    None => gemm_int(spec, bshape, group_w, &cols, row_bias),
                };
                for (j, channel) in o.acc.chunks_mut(bshape.n.max(1)).enumerate() {
                    if let Some(unit) = epilogue.requant(g * cpg + j)? {
                        unit.apply_all(channel);
                    }
                }
                Ok((o.acc, o.overflow))
            })?;
            Ok((int_output(out, out_shape, out_dtype)?, overflow))
        }
        (
            Values::Float { fmt, x, w, bias },
            Epilogue::Float {
                alpha: 1.0,
                c: None,
                relu,
                ..
            },
        ) => {
            let (out, _) = assemble(&blocks, cpg, plane, total, |blk| {
                let (b, g) = (blk.problem / groups, blk.problem % groups);
                let cols = im2col_t(&x, channels, b, window, g * cin, cin, 0.0, blk.rows.clone());
                let row_bias = group_bias(bias.as_deref(), g, cpg)?;
                let mut o = gemm_float(
                    spec,
                    fmt,
                    cpg_shape(blk),
                    &w[weights(w.len(), g)?],
                    &cols,
                    row_bias.as_deref().map_or(Bias::None, Bias::Rows),
                );
                // The output is written in the datapath's format, once.
                round_to_format(fmt, &mut o);
                if relu {
                    vector::relu_in_place(&mut o);
                }
                Ok((o, false))
            })?;
            let arr =
                ArrayD::from_shape_vec(shape_dyn, out).map_err(|e| Error::Shape(e.to_string()))?;
            Ok((Tensor::from_f32(arr, out_dtype), false))
        }
        _ => Err(Error::Invalid(
            "a convolution's output unit adds nothing after the bias".into(),
        )),
    }
}

/// im2col values per column block: 64 Ki values (256 KiB of f32) keep a block's columns and
/// their packing for the microkernel within a core's L2 cache, where a whole layer's
/// columns (up to hundreds of MiB at high resolution) would stream from memory twice.
const BLOCK_VALUES: usize = 1 << 16;

/// A column block: output rows `rows` (of the last spatial dim) of problem `problem`
/// (image-major, then group), which are output positions `positions` of its planes.
struct Block {
    problem: usize,
    rows: std::ops::Range<usize>,
    positions: std::ops::Range<usize>,
}

impl Block {
    /// Cuts each of `problems` into blocks of whole output rows whose im2col holds about
    /// [`BLOCK_VALUES`] values for a reduction of `k`. A 1×1 convolution's columns are the
    /// input planes themselves (borrowed, not copied), so it keeps one block per problem.
    fn plan(win: &Window, problems: usize, k: usize) -> Vec<Block> {
        let rows = output_rows(win);
        let width = win.output.last().copied().unwrap_or(1).max(1);
        let per_block = if is_pointwise(win) {
            rows.max(1)
        } else {
            (BLOCK_VALUES / (k.max(1) * width)).clamp(1, rows.max(1))
        };
        (0..problems)
            .flat_map(|problem| {
                (0..rows.max(1)).step_by(per_block).map(move |r0| {
                    let r1 = (r0 + per_block).min(rows);
                    Block {
                        problem,
                        rows: r0..r1,
                        positions: r0 * width..r1 * width,
                    }
                })
            })
            .collect()
    }
}

/// Computes every block in parallel with `compute` (its `cpg × positions` output values and
/// whether an accumulator wrapped) and writes them into the `total`-value NC[spatial…] output
/// whose problems hold `cpg` planes of `plane` positions.
fn assemble<T: Copy + Default + Send>(
    blocks: &[Block],
    cpg: usize,
    plane: usize,
    total: usize,
    compute: impl Fn(&Block) -> Result<(Vec<T>, bool)> + Sync,
) -> Result<(Vec<T>, bool)> {
    let done = blocks
        .par_iter()
        .map(&compute)
        .collect::<Result<Vec<_>>>()?;
    let mut out = vec![T::default(); total];
    let mut overflow = false;
    for (blk, (values, wrapped)) in blocks.iter().zip(done) {
        overflow |= wrapped;
        let n = blk.positions.len();
        if n == 0 {
            continue;
        }
        let first = blk.problem * cpg * plane + blk.positions.start;
        for (j, row) in values.chunks(n).take(cpg).enumerate() {
            out[first + j * plane..][..n].copy_from_slice(row);
        }
    }
    Ok((out, overflow))
}

/// Group `g`'s bias, one value per output channel of the group (`bias` per tensor or per
/// channel).
fn group_bias<T: Copy>(bias: Option<&[T]>, g: usize, cpg: usize) -> Result<Option<Vec<T>>> {
    bias.map(|v| {
        (0..cpg)
            .map(|j| per_channel(v, g * cpg + j, "bias"))
            .collect()
    })
    .transpose()
}
