//! A convolution computed whole in the weights' own layout: per image and group,
//! `Yᵀ = W · im2colᵀ` with the bias per row, written straight into the NC[spatial…] output.
//!
//! The array computes `Y = im2col · Wᵀ` with the bias per column; every output's arithmetic
//! is symmetric in its two operands (see [`crate::array::Bias`]), so the transposed product
//! gives the same bits while reading the weights as stored, the input planes of a 1×1
//! convolution as they are, and writing output channels as planes: no weight transpose, no
//! activation transpose and no scatter. The tile-by-tile path (`record`, the simulator) keeps
//! the array's orientation; `tests/lowering.rs` (random convolutions, every datapath) and
//! `tests/exec_parallel.rs` (the digits models) check the two agree bit for bit.

use super::gemm::{Epilogue, Values, int_output, per_channel, prepare, round_to_format};
use super::operands::im2col_t;
use crate::array::{ArraySpec, Bias, gemm_float, gemm_int};
use crate::error::{Error, Result};
use crate::kernel::{GemmKernel, GemmLayout, GemmShape};
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
    let block = (cpg * plane).max(1);
    let shape_dyn = IxDyn(out_shape);
    match (prepared.values, prepared.epilogue) {
        (Values::Int { x, w, bias }, epilogue) => {
            let mut out = vec![0i32; total];
            let overflow = out
                .par_chunks_mut(block)
                .enumerate()
                .map(|(i, dst)| -> Result<bool> {
                    let (b, g) = (i / groups, i % groups);
                    let cols = im2col_t(&x, channels, b, window, g * cin, cin, 0);
                    let row_bias = group_bias(bias.as_deref(), g, cpg)?;
                    let o = gemm_int(
                        spec,
                        shape,
                        &w.shifted[weights(w.shifted.len(), g)?],
                        &cols,
                        row_bias.as_deref().map_or(Bias::None, Bias::Rows),
                    );
                    dst.copy_from_slice(&o.acc);
                    for (j, channel) in dst.chunks_mut(plane.max(1)).enumerate() {
                        if let Some(unit) = epilogue.requant(g * cpg + j)? {
                            unit.apply_all(channel);
                        }
                    }
                    Ok(o.overflow)
                })
                .try_reduce(|| false, |x, y| Ok(x | y))?;
            Ok((int_output(out, out_shape, out_dtype)?, overflow))
        }
        (
            Values::Float { fmt, x, w, bias },
            Epilogue::Float {
                alpha: 1.0,
                c: None,
                ..
            },
        ) => {
            let mut out = vec![0f32; total];
            out.par_chunks_mut(block)
                .enumerate()
                .try_for_each(|(i, dst)| -> Result<()> {
                    let (b, g) = (i / groups, i % groups);
                    let cols = im2col_t(&x, channels, b, window, g * cin, cin, 0.0);
                    let row_bias = group_bias(bias.as_deref(), g, cpg)?;
                    let o = gemm_float(
                        spec,
                        fmt,
                        shape,
                        &w[weights(w.len(), g)?],
                        &cols,
                        row_bias.as_deref().map_or(Bias::None, Bias::Rows),
                    );
                    // The output is written in the datapath's format, once.
                    dst.copy_from_slice(&o);
                    round_to_format(fmt, dst);
                    Ok(())
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
