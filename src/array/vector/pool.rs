//! Pooling on the vector unit: max and average windows over any number of spatial dims.

use crate::error::{Error, Result};
use crate::kernel::Window;
use crate::tensor::Tensor;
use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;

/// Visits every output position of `win` with, for each kernel tap, the input offset within
/// one plane (or `None` when the tap falls outside the input) and whether it lies inside the
/// padded input.
fn for_each_window(win: &Window, mut f: impl FnMut(usize, &[(Option<usize>, bool)])) {
    let rank = win.input.len();
    let taps = win.kernel_size();
    let mut out_idx = vec![0usize; rank];
    let mut buf = Vec::with_capacity(taps);
    for o in 0..win.output_size() {
        let mut rem = o;
        for d in (0..rank).rev() {
            out_idx[d] = rem % win.output[d];
            rem /= win.output[d];
        }
        buf.clear();
        for t in 0..taps {
            let (mut rem, mut offset, mut inside, mut in_pad) = (t, 0usize, true, true);
            let mut stride = 1usize;
            let mut coords = [0isize; 8];
            for d in (0..rank).rev() {
                let k = rem % win.kernel[d];
                rem /= win.kernel[d];
                coords[d] = (out_idx[d] * win.strides[d]) as isize - win.pad_begin[d] as isize
                    + (k * win.dilations[d]) as isize;
            }
            for d in (0..rank).rev() {
                let c = coords[d];
                if c < 0 || c >= win.input[d] as isize {
                    inside = false;
                }
                if c >= (win.input[d] + win.pad_end[d]) as isize {
                    in_pad = false;
                }
                offset += c.max(0) as usize * stride;
                stride *= win.input[d];
            }
            buf.push((inside.then_some(offset), in_pad));
        }
        f(o, &buf);
    }
}

fn out_shape(x: &Tensor, win: &Window) -> Vec<usize> {
    let mut s = x.shape()[..2].to_vec();
    s.extend(&win.output);
    s
}

/// MaxPool (floats and 8-bit integers).
pub fn max_pool(x: &Tensor, win: &Window) -> Result<Tensor> {
    let shape = out_shape(x, win);
    let plane: usize = win.input.iter().product();
    let oplane = win.output_size();
    macro_rules! pool {
        ($a:expr, $min:expr, $variant:ident) => {{
            let src = crate::tensor::convert::as_row_major($a);
            let mut out = vec![$min; shape.iter().product()];
            // The window of every output position, computed once for all planes.
            let mut taps_of = Vec::with_capacity(oplane);
            for_each_window(win, |_, taps| {
                taps_of.push(taps.iter().filter_map(|&(off, _)| off).collect::<Vec<_>>());
            });
            // Planes in parallel.
            out.par_chunks_mut(oplane.max(1))
                .zip(src.par_chunks(plane.max(1)))
                .for_each(|(dst, planar)| {
                    for (d, offs) in dst.iter_mut().zip(&taps_of) {
                        for &off in offs {
                            let v = planar[off];
                            if v > *d {
                                *d = v;
                            }
                        }
                    }
                });
            Tensor::$variant(
                ArrayD::from_shape_vec(IxDyn(&shape), out)
                    .map_err(|e| Error::Shape(e.to_string()))?,
            )
        }};
    }
    Ok(match x {
        Tensor::U8(a) => pool!(a, u8::MIN, U8),
        Tensor::I8(a) => pool!(a, i8::MIN, I8),
        Tensor::F32(a) => pool!(a, f32::NEG_INFINITY, F32),
        Tensor::F16(a) => pool!(a, half::f16::NEG_INFINITY, F16),
        Tensor::BF16(a) => pool!(a, half::bf16::NEG_INFINITY, BF16),
        t => return Err(Error::DType(format!("MaxPool of {}", t.dtype()))),
    })
}

/// AveragePool (floats), with ONNX's `count_include_pad` divisor.
pub fn average_pool(x: &Tensor, win: &Window, count_include_pad: bool) -> Result<Tensor> {
    if !x.dtype().is_float() {
        return Err(Error::DType(format!("AveragePool of {}", x.dtype())));
    }
    let shape = out_shape(x, win);
    let plane: usize = win.input.iter().product();
    let src: Vec<f32> = x.to_f32_vec();
    let mut out = Vec::with_capacity(shape.iter().product());
    for base in (0..src.len()).step_by(plane.max(1)) {
        let mut vals = vec![0f32; win.output_size()];
        for_each_window(win, |o, taps| {
            let (mut sum, mut n) = (0f32, 0usize);
            for &(off, in_pad) in taps {
                if let Some(off) = off {
                    sum += src[base + off];
                    n += 1;
                } else if count_include_pad && in_pad {
                    n += 1;
                }
            }
            vals[o] = if n == 0 { 0.0 } else { sum / n as f32 };
        });
        out.extend(vals);
    }
    let a = ArrayD::from_shape_vec(IxDyn(&shape), out).map_err(|e| Error::Shape(e.to_string()))?;
    Ok(Tensor::from_f32(a, x.dtype()))
}

/// GlobalAveragePool / GlobalMaxPool.
pub fn global(x: &Tensor, max: bool) -> Result<Tensor> {
    let s = x.shape();
    if s.len() < 3 {
        return Err(Error::Shape(format!(
            "global pooling needs N,C,spatial…, got {s:?}"
        )));
    }
    let plane: usize = s[2..].iter().product();
    let src = x.to_f32();
    let vals: Vec<f32> = src
        .as_slice()
        .map(|v| v.to_vec())
        .unwrap_or_else(|| src.iter().copied().collect())
        .chunks(plane.max(1))
        .map(|c| {
            if max {
                c.iter().copied().fold(f32::NEG_INFINITY, f32::max)
            } else {
                c.iter().sum::<f32>() / plane as f32
            }
        })
        .collect();
    let mut shape = s[..2].to_vec();
    shape.extend(std::iter::repeat_n(1, s.len() - 2));
    let a = ArrayD::from_shape_vec(IxDyn(&shape), vals).map_err(|e| Error::Shape(e.to_string()))?;
    Ok(Tensor::from_f32(a, x.dtype()))
}

/// The element-operations of a windowed pooling: one per window tap of every output.
pub fn window_work(win: &Window, outputs: u64) -> u64 {
    outputs.saturating_mul(super::elements(&win.kernel))
}
