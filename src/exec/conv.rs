//! A convolution computed whole in the weights' own layout: per image (or several small images
//! side by side), group and block of output rows, `Yᵀ = W · im2colᵀ` with the bias per row,
//! written into the NC[spatial…] output.
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
use super::operands::{im2col_t, im2col_t_into, is_pointwise, output_rows};
use crate::array::{
    ArraySpec, Bias, gemm_float, gemm_int, gemm_int_packed_a, gemm_int_packed_a_within, vector,
};
use crate::error::{Error, Result};
use crate::kernel::{GemmKernel, GemmLayout, GemmShape, Window};
use crate::tensor::{Constant, DType, Tensor};
use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;
use std::borrow::Cow;

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
    let width = window.output.last().copied().unwrap_or(1).max(1);
    let blocks = Block::plan(window, *batch, *groups, shape.k);
    let cpg_shape = |blk: &Block| GemmShape {
        n: blk.columns(width),
        ..shape
    };
    let operand = Operand {
        window,
        channels,
        cin,
        k: shape.k,
    };
    match (prepared.values, prepared.epilogue) {
        (Values::Int { x, x_lo, w, bias }, epilogue) => {
            let packed_a = w.conv_groups(*groups, cpg, shape.k);
            let (out, overflow) = assemble(&blocks, (*groups, cpg, plane, width), total, |blk| {
                let g = blk.group;
                let cols = operand.columns(&x, blk, 0);
                let row_bias = group_bias(bias.as_deref(), g, cpg)?;
                let bshape = cpg_shape(blk);
                let group_w = &w.shifted[weights(w.shifted.len(), g)?];
                let row_bias = row_bias.as_deref().map_or(Bias::None, Bias::Rows);
                // The output unit of each row (an output channel of the group).
                let units = epilogue.requant_units(g * cpg, cpg)?;
                let finish = |rows: std::ops::Range<usize>, values: &mut [i32]| {
                    for (unit, row) in units[rows].iter().zip(values.chunks_mut(bshape.n.max(1))) {
                        if let Some(unit) = unit {
                            unit.apply_all(row);
                        }
                    }
                };
                let o = match (packed_a.get(g), x_lo) {
                    // The columns are x's values and its zero padding: within x's range.
                    (Some(a), Some(lo)) => gemm_int_packed_a_within(
                        spec,
                        bshape,
                        (group_w, a),
                        (&cols, lo),
                        row_bias,
                        &finish,
                    ),
                    (Some(a), None) => {
                        gemm_int_packed_a(spec, bshape, (group_w, a), &cols, row_bias, &finish)
                    }
                    (None, _) => {
                        let mut o = gemm_int(spec, bshape, group_w, &cols, row_bias);
                        finish(0..cpg, &mut o.acc);
                        o
                    }
                };
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
            let (out, _) = assemble(&blocks, (*groups, cpg, plane, width), total, |blk| {
                let g = blk.group;
                let cols = operand.columns(&x, blk, 0.0);
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

/// Where a convolution's columns come from: `channels` input channels per image, `cin` of
/// them per group, `k` values of a column.
struct Operand<'w> {
    window: &'w Window,
    channels: usize,
    cin: usize,
    k: usize,
}

impl Operand<'_> {
    /// Block `blk`'s columns (`k × columns`): its images' im2col side by side, padding read as
    /// `pad` (one image's: borrowed for a 1×1 convolution).
    fn columns<'x, T: Copy>(&self, x: &'x [T], blk: &Block, pad: T) -> Cow<'x, [T]> {
        let (win, c) = (self.window, (blk.group * self.cin, self.cin));
        if blk.images.len() == 1 {
            let b = blk.images.start;
            return im2col_t(x, self.channels, b, win, c.0, c.1, pad, blk.rows.clone());
        }
        let width = win.output.last().copied().unwrap_or(1).max(1);
        let mut cols = vec![pad; self.k * blk.columns(width)];
        let (images, rows) = (blk.images.clone(), blk.rows.clone());
        im2col_t_into(x, self.channels, images, win, c, rows, &mut cols);
        Cow::Owned(cols)
    }
}

/// im2col values per column block: 64 Ki values (256 KiB of f32) keep a block's columns and
/// their packing for the microkernel within a core's L2 cache, where a whole layer's
/// columns (up to hundreds of MiB at high resolution) would stream from memory twice.
const BLOCK_VALUES: usize = 1 << 16;

/// A column block of group `group`: output rows `rows` (of the last spatial dim) of each of
/// images `images`. Several images share a block only when it holds their whole planes.
struct Block {
    group: usize,
    images: std::ops::Range<usize>,
    rows: std::ops::Range<usize>,
}

impl Block {
    /// The block's columns: output positions of its images, `width` to an output row.
    fn columns(&self, width: usize) -> usize {
        self.images.len() * self.rows.len() * width
    }

    /// Cuts each image and group of `win` into blocks of whole output rows whose im2col holds
    /// about [`BLOCK_VALUES`] values for a reduction of `k`. Images whose im2col fills less
    /// than a block share one, as many as fit (and at most a quarter of the images per thread,
    /// to keep the threads busy), so that a batch of small images makes few products rather
    /// than one each. Otherwise a 1×1 convolution keeps one block per image and group: its
    /// columns are then the input planes themselves (borrowed, not copied).
    fn plan(win: &Window, batch: usize, groups: usize, k: usize) -> Vec<Block> {
        let rows = output_rows(win);
        let width = win.output.last().copied().unwrap_or(1).max(1);
        let image_values = k.max(1) * rows.max(1) * width;
        let per_block = if is_pointwise(win) {
            rows.max(1)
        } else {
            (BLOCK_VALUES / image_values.div_ceil(rows.max(1))).clamp(1, rows.max(1))
        };
        let threads = rayon::current_num_threads();
        let images_per_block = (BLOCK_VALUES / image_values)
            .min(batch.div_ceil(4 * threads))
            .max(1);
        if images_per_block > 1 {
            return (0..groups)
                .flat_map(|group| {
                    (0..batch).step_by(images_per_block).map(move |b0| Block {
                        group,
                        images: b0..(b0 + images_per_block).min(batch),
                        rows: 0..rows,
                    })
                })
                .collect();
        }
        (0..batch * groups)
            .flat_map(|problem| {
                (0..rows.max(1)).step_by(per_block).map(move |r0| Block {
                    group: problem % groups,
                    images: problem / groups..problem / groups + 1,
                    rows: r0..(r0 + per_block).min(rows),
                })
            })
            .collect()
    }
}

/// Computes every block in parallel with `compute` (its `cpg × columns` output values and
/// whether an accumulator wrapped) and writes them into the `total`-value NC[spatial…] output
/// whose images hold `groups · cpg` planes of `plane` positions, `width` to an output row.
fn assemble<T: Copy + Default + Send>(
    blocks: &[Block],
    (groups, cpg, plane, width): (usize, usize, usize, usize),
    total: usize,
    compute: impl Fn(&Block) -> Result<(Vec<T>, bool)> + Sync,
) -> Result<(Vec<T>, bool)> {
    let done = match blocks {
        [blk] if groups == 1 && blk.images.len() == 1 && blk.rows.len() * width == plane => {
            // One image's whole output: the block's rows are its channels' planes, in order.
            let (values, wrapped) = compute(blk)?;
            if values.len() == total {
                return Ok((values, wrapped));
            }
            vec![(values, wrapped)]
        }
        _ => blocks
            .par_iter()
            .map(&compute)
            .collect::<Result<Vec<_>>>()?,
    };
    let mut out = vec![T::default(); total];
    let mut overflow = false;
    for (blk, (values, wrapped)) in blocks.iter().zip(done) {
        overflow |= wrapped;
        let (n, columns) = (blk.rows.len() * width, blk.columns(width));
        if n == 0 {
            continue;
        }
        for (i, b) in blk.images.clone().enumerate() {
            let first = ((b * groups + blk.group) * cpg) * plane + blk.rows.start * width;
            for (j, row) in values.chunks(columns).take(cpg).enumerate() {
                out[first + j * plane..][..n].copy_from_slice(&row[i * n..(i + 1) * n]);
            }
        }
    }
    Ok((out, overflow))
}

/// Group `g`'s bias, one value per output channel of the group (`bias` per tensor or per
/// channel).
pub(super) fn group_bias<T: Copy>(
    bias: Option<&[T]>,
    g: usize,
    cpg: usize,
) -> Result<Option<Vec<T>>> {
    bias.map(|v| {
        (0..cpg)
            .map(|j| per_channel(v, g * cpg + j, "bias"))
            .collect()
    })
    .transpose()
}
