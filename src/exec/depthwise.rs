//! A depthwise convolution (one input and one output channel per group) computed whole across
//! its channels: per image the input turned channels-last, the array's per-channel products
//! taken by [`crate::array::depthwise_int`] / [`crate::array::depthwise_float`], the output
//! turned back to NC[spatial…] and finished per channel as [`super::conv`] finishes it.
//!
//! Each output channel is the `1 × K` by `K × positions` product the convolution path computes
//! per group, with the same operands, bias and padding, so the bits are the same;
//! `tests/lowering.rs` (random depthwise convolutions, every datapath) checks the two paths agree.

use super::conv::group_bias;
use super::gemm::{Epilogue, Values, int_output, prepare, round_to_format};
use super::operands::{PADDING, tap_offsets, transpose, transpose_into};
use crate::array::{ArraySpec, TAP_PADDING, Taps, depthwise_float, depthwise_int, vector};
use crate::error::{Error, Result};
use crate::kernel::{GemmKernel, GemmLayout};
use crate::tensor::{Constant, DType, Tensor};
use ndarray::{ArrayD, IxDyn};

/// Whether [`run`] computes kernel `k`: a convolution, not transposed, with one input and one
/// output channel per group and input planes addressable by 32-bit rows.
pub fn applies(k: &GemmKernel) -> bool {
    match &k.layout {
        GemmLayout::Conv {
            window,
            cin_per_group: 1,
            cout_per_group: 1,
            transposed: false,
            ..
        } => window.input.iter().product::<usize>() < TAP_PADDING as usize,
        _ => false,
    }
}

/// Computes the depthwise convolution lowered to `k` (reading `ins`, with the constant behind
/// each input in `consts`): its output tensor and whether an int32 accumulator wrapped.
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
        groups: channels,
        cin_per_group: 1,
        cout_per_group: 1,
        transposed: false,
    } = &k.layout
    else {
        return Err(Error::Invalid("not a depthwise convolution".into()));
    };
    let (channels, batch) = (*channels, *batch);
    let (plane_in, plane_out) = (window.input.iter().product::<usize>(), window.output_size());
    let taps = window.kernel_size();
    let total: usize = out_shape.iter().product();
    if total != batch * channels * plane_out || k.shape.k != taps {
        return Err(Error::Shape(format!(
            "output {out_shape:?} does not hold {batch}×{channels}×{plane_out} values of {taps} taps"
        )));
    }
    let rows: Vec<u32> = tap_offsets(window, false)
        .into_iter()
        .map(|o| match o {
            PADDING => TAP_PADDING,
            o => o as u32,
        })
        .collect();
    let taps = Taps {
        channels,
        taps,
        rows: &rows,
    };
    let prepared = prepare(k, ins, consts, out_dtype)?;
    // The values of image `b` in the NC[spatial…] input.
    let image = |x_len: usize, b: usize| -> Result<std::ops::Range<usize>> {
        let r = b * channels * plane_in..(b + 1) * channels * plane_in;
        if r.end > x_len {
            return Err(Error::Shape(
                "input shorter than the convolution reads".into(),
            ));
        }
        Ok(r)
    };
    let weights_len = channels * taps.taps;
    match (prepared.values, prepared.epilogue) {
        (Values::Int { x, w, bias, .. }, epilogue) => {
            let w = w
                .shifted
                .get(..weights_len)
                .ok_or_else(|| Error::Shape("weights shorter than the kernel".into()))?;
            let w = transpose(w, channels, taps.taps);
            let bias = group_bias(bias.as_deref(), 0, channels)?;
            let mut out = Vec::with_capacity(total);
            let mut overflow = false;
            for b in 0..batch {
                let x = transpose(&x[image(x.len(), b)?], channels, plane_in);
                let o = depthwise_int(&taps, &w, &x, bias.as_deref());
                overflow |= o.overflow;
                transpose_into(&o.acc, plane_out, channels, &mut out);
            }
            for (c, channel) in out.chunks_mut(plane_out.max(1)).enumerate() {
                if let Some(unit) = epilogue.requant(c % channels)? {
                    unit.apply_all(channel);
                }
            }
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
            let w = w
                .get(..weights_len)
                .ok_or_else(|| Error::Shape("weights shorter than the kernel".into()))?;
            let w = transpose(w, channels, taps.taps);
            let bias = group_bias(bias.as_deref(), 0, channels)?;
            let mut out = Vec::with_capacity(total);
            for b in 0..batch {
                let x = transpose(&x[image(x.len(), b)?], channels, plane_in);
                let o = depthwise_float(spec, fmt, &taps, &w, &x, bias.as_deref());
                transpose_into(&o, plane_out, channels, &mut out);
            }
            // The output is written in the datapath's format, once.
            round_to_format(fmt, &mut out);
            if relu {
                vector::relu_in_place(&mut out);
            }
            let arr = ArrayD::from_shape_vec(IxDyn(out_shape), out)
                .map_err(|e| Error::Shape(e.to_string()))?;
            Ok((Tensor::from_f32(arr, out_dtype), false))
        }
        _ => Err(Error::Invalid(
            "a convolution's output unit adds nothing after the bias".into(),
        )),
    }
}
