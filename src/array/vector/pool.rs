//! Pooling on the vector unit: max and average windows over any number of spatial dims.

use crate::array::PlaneWindow;
use crate::error::{Error, Result};
use crate::kernel::Window;
use crate::tensor::Tensor;
use crate::tensor::convert::Half;
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

/// MaxPool (floats and 8-bit integers). A window's maximum is its first value greater than
/// every value before it (`>`, so NaNs never win and the first of equal values does), −∞ or
/// the type's least value when none is. 16-bit floats are compared widened to f32, which is
/// exact and keeps their order; the winning input's own bits are the output.
pub fn max_pool(x: &Tensor, win: &Window) -> Result<Tensor> {
    let shape = out_shape(x, win);
    let plane: usize = win.input.iter().product();
    let oplane = win.output_size();
    let rows = Rows::of(win);
    // The window of every output position, computed once for all planes, unless the values are
    // compared as they are along rows.
    let mut taps_of = Vec::new();
    if rows.is_none() || matches!(x, Tensor::F16(_) | Tensor::BF16(_)) {
        taps_of.reserve(oplane);
        for_each_window(win, |_, taps| {
            taps_of.push(taps.iter().filter_map(|&(off, _)| off).collect::<Vec<_>>());
        });
    }
    let pool = Pool {
        plane,
        oplane,
        taps_of: &taps_of,
        rows,
    };
    macro_rules! pool {
        ($a:expr, $min:expr, $variant:ident, $run:ident) => {{
            let src = crate::tensor::convert::as_row_major($a);
            let mut out = vec![$min; shape.iter().product()];
            pool.$run(&src, &mut out);
            Tensor::$variant(
                ArrayD::from_shape_vec(IxDyn(&shape), out)
                    .map_err(|e| Error::Shape(e.to_string()))?,
            )
        }};
    }
    Ok(match x {
        Tensor::U8(a) => pool!(a, u8::MIN, U8, direct),
        Tensor::I8(a) => pool!(a, i8::MIN, I8, direct),
        Tensor::F32(a) => pool!(a, f32::NEG_INFINITY, F32, direct),
        Tensor::F16(a) => pool!(a, half::f16::NEG_INFINITY, F16, widened),
        Tensor::BF16(a) => pool!(a, half::bf16::NEG_INFINITY, BF16, widened),
        t => return Err(Error::DType(format!("MaxPool of {}", t.dtype()))),
    })
}

/// A max pooling's planes and windows.
struct Pool<'w> {
    plane: usize,
    oplane: usize,
    /// Per output position, the in-input offsets of its window's taps.
    taps_of: &'w [Vec<usize>],
    /// The window as rows, when it has one or two dims.
    rows: Option<Rows>,
}

/// `d = v` when `v > d`: a NaN never wins, and of equal values the first stays. Written as a
/// select, not a branch, so that it compiles to a max instruction (`maxss v, d` is exactly
/// `v > d ? v : d`) instead of a jump mispredicted on half of all values.
#[inline]
fn keep_greater<T: Copy + PartialOrd>(d: &mut T, v: T) {
    *d = if v > *d { v } else { *d };
}

/// A window of one or two spatial dims as a 2-D one (a 1-D window is one row), pooled tap by
/// tap along whole output rows, the taps of each output still visited in order (row-major over
/// the kernel), so each output sees the same comparisons as tap by tap. Contiguous input rows
/// for unit strides, which the compiler turns into vector compares and selects.
struct Rows(PlaneWindow);

impl Rows {
    fn of(win: &Window) -> Option<Rows> {
        PlaneWindow::of(win, 1).map(Rows)
    }

    /// `dst[o] = x[t]` for each tap `t` of output `o`'s window inside the input, in tap order,
    /// when `x[t] > dst[o]`.
    fn max_pool<T: Copy + PartialOrd>(&self, x: &[T], dst: &mut [T]) {
        let p = &self.0;
        let ([h, w], [oh, ow]) = (p.input, p.output);
        let ([sh, sw], [dh, dw]) = (p.strides, p.dilations);
        for r in 0..oh {
            let out = &mut dst[r * ow..(r + 1) * ow];
            for th in 0..p.kernel[0] {
                let Some(ih) = (r * sh + th * dh).checked_sub(p.pad_begin[0]) else {
                    continue;
                };
                if ih >= h {
                    continue;
                }
                let row = &x[ih * w..(ih + 1) * w];
                for tw in 0..p.kernel[1] {
                    // Output column o reads input column o·sw + off: inside for o in lo..hi.
                    let off = (tw * dw) as isize - p.pad_begin[1] as isize;
                    let lo = usize::try_from(-off).map_or(0, |n| n.div_ceil(sw)).min(ow);
                    let hi = usize::try_from(w as isize - off)
                        .map_or(0, |n| n.div_ceil(sw))
                        .min(ow);
                    if lo >= hi {
                        continue;
                    }
                    let src = &row[((lo * sw) as isize + off) as usize..];
                    let out = &mut out[lo..hi];
                    if sw == 1 {
                        out.iter_mut()
                            .zip(src)
                            .for_each(|(d, &v)| keep_greater(d, v));
                    } else {
                        let src = src.iter().step_by(sw);
                        out.iter_mut()
                            .zip(src)
                            .for_each(|(d, &v)| keep_greater(d, v));
                    }
                }
            }
        }
    }
}

impl Pool<'_> {
    /// Pools every plane of `src` into `out` (holding the type's least value), comparing the
    /// values themselves. Planes run in parallel; a window of one or two dims runs along whole
    /// output rows (see [`Rows`]).
    fn direct<T: Copy + PartialOrd + Send + Sync>(&self, src: &[T], out: &mut [T]) {
        out.par_chunks_mut(self.oplane.max(1))
            .zip(src.par_chunks(self.plane.max(1)))
            .for_each(|(dst, planar)| match &self.rows {
                Some(rows) => rows.max_pool(planar, dst),
                None => {
                    for (d, offs) in dst.iter_mut().zip(self.taps_of) {
                        for &off in offs {
                            keep_greater(d, planar[off]);
                        }
                    }
                }
            });
    }

    /// [`Pool::direct`] for 16-bit floats: each plane widened once to f32 (exact, order and
    /// NaN kept) and compared there, the winner's own value written.
    fn widened<T: Half>(&self, src: &[T], out: &mut [T]) {
        out.par_chunks_mut(self.oplane.max(1))
            .zip(src.par_chunks(self.plane.max(1)))
            .for_each_init(Vec::new, |wide, (dst, planar)| {
                wide.resize(planar.len(), 0.0);
                T::widen(planar, wide);
                for (d, offs) in dst.iter_mut().zip(self.taps_of) {
                    let mut best = (f32::NEG_INFINITY, None);
                    for &off in offs {
                        if wide[off] > best.0 {
                            best = (wide[off], Some(off));
                        }
                    }
                    if let (_, Some(off)) = best {
                        *d = planar[off];
                    }
                }
            });
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use half::f16;
    use proptest::prelude::*;

    /// A 2-D window over an `h × w` plane: kernel, stride, dilation and padding per dim.
    fn window((h, w): (usize, usize), k: usize, s: usize, d: usize, p: usize) -> Option<Window> {
        let span = (k - 1) * d + 1;
        let out = |i: usize| (i + 2 * p).checked_sub(span).map(|r| r / s + 1);
        Some(Window {
            kernel: vec![k, k],
            strides: vec![s, s],
            dilations: vec![d, d],
            pad_begin: vec![p, p],
            pad_end: vec![p, p],
            input: vec![h, w],
            output: vec![out(h)?, out(w)?],
        })
    }

    /// MaxPool of one plane worked tap by tap with the type's own `>`: the first value greater
    /// than all before it, `least` when none is.
    fn naive<T: Copy + PartialOrd>(x: &[T], win: &Window, least: T) -> Vec<T> {
        let (ow, iw) = (win.output[1], win.input[1]);
        let mut out = Vec::new();
        for oy in 0..win.output[0] {
            for ox in 0..ow {
                let mut best = least;
                for ky in 0..win.kernel[0] {
                    for kx in 0..win.kernel[1] {
                        let at = |o: usize, k: usize, dim: usize| {
                            (o * win.strides[dim] + k * win.dilations[dim])
                                .checked_sub(win.pad_begin[dim])
                                .filter(|&c| c < win.input[dim])
                        };
                        if let (Some(iy), Some(ix)) = (at(oy, ky, 0), at(ox, kx, 1)) {
                            let v = x[iy * iw + ix];
                            if v > best {
                                best = v;
                            }
                        }
                    }
                }
                out.push(best);
            }
        }
        out
    }

    /// f16 values of every class: any bit pattern, and ties of ±0, ±∞ and NaN.
    fn value() -> impl Strategy<Value = f16> {
        prop_oneof![
            3 => any::<u16>().prop_map(f16::from_bits),
            1 => prop_oneof![
                Just(f16::ZERO), Just(f16::NEG_ZERO), Just(f16::INFINITY),
                Just(f16::NEG_INFINITY), Just(f16::NAN), Just(f16::from_bits(0xFE01)),
            ],
        ]
    }

    proptest! {
        /// f32 (along rows) and u8 max pooling against the tap-by-tap definition, bit for bit:
        /// ±0 ties, infinities and NaNs among the values, strides, dilations and padding.
        #[test]
        fn max_pool_along_rows_keeps_the_bits_of_the_first_greatest_value(
            (hw, k, s, d, p) in ((1usize..=9, 1usize..=9), 1usize..=3, 1usize..=3, 1usize..=2, 0usize..=1),
            values in prop::collection::vec(value(), 81),
        ) {
            let Some(win) = window(hw, k, s, d, p) else { return Ok(()) };
            let x: Vec<f32> = values[..hw.0 * hw.1].iter().map(|v| v.to_f32()).collect();
            let shape = IxDyn(&[1, 1, hw.0, hw.1]);
            let t = Tensor::F32(ArrayD::from_shape_vec(shape.clone(), x.clone()).unwrap());
            let Tensor::F32(got) = max_pool(&t, &win).unwrap() else { panic!("not f32") };
            let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(got.as_slice().unwrap()), bits(&naive(&x, &win, f32::NEG_INFINITY)));
            let q: Vec<u8> = values[..hw.0 * hw.1].iter().map(|v| v.to_bits() as u8).collect();
            let t = Tensor::U8(ArrayD::from_shape_vec(shape, q.clone()).unwrap());
            let Tensor::U8(got) = max_pool(&t, &win).unwrap() else { panic!("not u8") };
            prop_assert_eq!(got.as_slice().unwrap(), &naive(&q, &win, u8::MIN)[..]);
        }

        #[test]
        fn half_max_pool_keeps_the_bits_of_the_first_greatest_value(
            (hw, k, s, d, p) in ((1usize..=7, 1usize..=7), 1usize..=3, 1usize..=2, 1usize..=2, 0usize..=1),
            values in prop::collection::vec(value(), 49),
        ) {
            let Some(win) = window(hw, k, s, d, p) else { return Ok(()) };
            let x = &values[..hw.0 * hw.1];
            let t = Tensor::F16(ArrayD::from_shape_vec(IxDyn(&[1, 1, hw.0, hw.1]), x.to_vec()).unwrap());
            let Tensor::F16(got) = max_pool(&t, &win).unwrap() else { panic!("not f16") };
            let bits = |v: &[f16]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(got.as_slice().unwrap()), bits(&naive(x, &win, f16::NEG_INFINITY)));
        }
    }
}
