//! A depthwise convolution (one input and one output channel per group) computed whole across
//! its channels, per image: for a 1-D or 2-D window with output rows of at least
//! [`PLANE_ROW`] values, over the NC[H, W] planes as they are
//! ([`crate::array::depthwise_int_planes`] / [`crate::array::depthwise_float_planes`]), each
//! channel finished by the output unit while in cache; otherwise with the input turned
//! channels-last ([`crate::array::depthwise_int`] / [`crate::array::depthwise_float`]) and the
//! output turned back, then finished per channel.
//!
//! Each output channel is the `1 × K` by `K × positions` product the convolution path computes
//! per group, with the same operands, bias and padding, so the bits are the same;
//! `tests/lowering.rs` (random depthwise convolutions, every datapath) checks the two paths agree.

use super::conv::group_bias;
use super::gemm::{Epilogue, Values, int_output, prepare, round_to_format};
use super::operands::{PADDING, Tiled, tap_offsets, transpose};
use crate::array::{
    ArraySpec, Isa, PlaneWindow, TAP_PADDING, Taps, depthwise_float, depthwise_float_planes,
    depthwise_int, depthwise_int_planes, vector,
};
use crate::error::{Error, Result};
use crate::kernel::{GemmKernel, GemmLayout, Window};
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
    let prepared = prepare(k, ins, consts, out_dtype)?;
    let layout = Layout::of(window, channels);
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
    let weights_len = channels * taps;
    match (prepared.values, prepared.epilogue) {
        (Values::Int { x, w, bias, .. }, epilogue) => {
            let w = w
                .shifted
                .get(..weights_len)
                .ok_or_else(|| Error::Shape("weights shorter than the kernel".into()))?;
            let bias = group_bias(bias.as_deref(), 0, channels)?;
            let units = epilogue.requant_units(0, channels)?;
            let finish = |c: usize, plane: &mut [i32]| {
                if let Some(unit) = &units[c] {
                    unit.apply_all(plane);
                }
            };
            let w_last = layout.channels_last(w, channels, taps);
            let mut out = Vec::with_capacity(total);
            let mut overflow = false;
            for b in 0..batch {
                let x = &x[image(x.len(), b)?];
                let o = match &layout {
                    Layout::Planes(win) => {
                        depthwise_int_planes(Isa::detected(), win, w, x, bias.as_deref(), &finish)
                    }
                    Layout::Rows(rows) => {
                        let (taps, x) = channels_last(rows, x, channels, taps);
                        let mut o = depthwise_int(&taps, &w_last, &x, bias.as_deref());
                        o.acc = transpose(&o.acc, plane_out, channels);
                        for (c, plane) in o.acc.chunks_mut(plane_out.max(1)).enumerate() {
                            finish(c, plane);
                        }
                        o
                    }
                };
                overflow |= o.overflow;
                append(&mut out, o.acc);
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
            let bias = group_bias(bias.as_deref(), 0, channels)?;
            // The output is written in the datapath's format, once.
            let finish = |_: usize, plane: &mut [f32]| {
                round_to_format(fmt, plane);
                if relu {
                    vector::relu_in_place(plane);
                }
            };
            let w_last = layout.channels_last(w, channels, taps);
            let mut out = Vec::with_capacity(total);
            for b in 0..batch {
                let x = &x[image(x.len(), b)?];
                let o = match &layout {
                    Layout::Planes(win) => {
                        let isa = Isa::detected();
                        depthwise_float_planes(
                            isa,
                            (spec, fmt),
                            win,
                            w,
                            x,
                            bias.as_deref(),
                            &finish,
                        )
                    }
                    Layout::Rows(rows) => {
                        let (taps, x) = channels_last(rows, x, channels, taps);
                        let o = depthwise_float(spec, fmt, &taps, &w_last, &x, bias.as_deref());
                        let mut o = transpose(&o, plane_out, channels);
                        finish(0, &mut o);
                        o
                    }
                };
                append(&mut out, o);
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

/// How the channels' products are taken.
enum Layout {
    /// Over whole planes, the tensors in their own layout.
    Planes(PlaneWindow),
    /// Channels-last, a vector's lanes being channels, by the input row each tap of each
    /// output position reads: windows of three or more dims, and output rows shorter than
    /// [`PLANE_ROW`].
    Rows(Vec<u32>),
}

/// The shortest output row computed over planes: shorter rows leave most of a vector's lanes
/// idle there, and channels-last fills them.
const PLANE_ROW: usize = 8;

impl Layout {
    /// Weights `channels × taps` as this layout reads them: taps × channels for rows, none
    /// for planes (which read them as they are).
    fn channels_last<T: Tiled>(&self, w: &[T], channels: usize, taps: usize) -> Vec<T> {
        match self {
            Layout::Rows(_) => transpose(w, channels, taps),
            Layout::Planes(_) => Vec::new(),
        }
    }

    fn of(win: &Window, channels: usize) -> Layout {
        match PlaneWindow::of(win, channels) {
            Some(p) if p.output[1] >= PLANE_ROW => Layout::Planes(p),
            _ => Layout::Rows(
                tap_offsets(win, false)
                    .into_iter()
                    .map(|o| match o {
                        PADDING => TAP_PADDING,
                        o => o as u32,
                    })
                    .collect(),
            ),
        }
    }
}

/// One image's input `x` (NC[spatial…]) turned channels-last, and the taps reading it by
/// `rows` (the [`Layout::Rows`] tables).
fn channels_last<'r, T: Tiled>(
    rows: &'r [u32],
    x: &[T],
    channels: usize,
    taps: usize,
) -> (Taps<'r>, Vec<T>) {
    let plane_in = x.len() / channels.max(1);
    let taps = Taps {
        channels,
        taps,
        rows,
    };
    (taps, transpose(x, channels, plane_in))
}

/// Appends an image's output to the batch's, taking it whole when it is the first.
fn append<T: Copy>(out: &mut Vec<T>, image: Vec<T>) {
    if out.is_empty() {
        *out = image;
    } else {
        out.extend_from_slice(&image);
    }
}
