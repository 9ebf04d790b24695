//! QuantizeLinear and DequantizeLinear (per-tensor, per-axis, blocked) and DynamicQuantizeLinear
//! on the vector unit.

use crate::array::output::round_to_int;
use crate::error::{Error, Result};
use crate::numeric::quantize_linear;
use crate::tensor::convert::as_row_major;
use crate::tensor::ops::normalize_axis;
use crate::tensor::{DType, Tensor};
use multiversion::multiversion;
use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;

/// Which scale and zero point each element of a tensor uses.
enum ParamMap {
    /// Element `i` uses parameter `(i / run) % count`: per-tensor (`count` 1) and per-axis
    /// (`run` the product of the dims after the axis), in runs of one parameter.
    Runs { run: usize, count: usize },
    /// Element `i` uses parameter `index[i]`: blocked quantization.
    Each(Vec<usize>),
}

impl ParamMap {
    fn new(shape: &[usize], param_shape: &[usize], axis: i64, block: usize) -> Result<ParamMap> {
        let n: usize = shape.iter().product();
        let plen: usize = param_shape.iter().product();
        if plen == 1 {
            return Ok(ParamMap::Runs {
                run: n.max(1),
                count: 1,
            });
        }
        let ax = normalize_axis(axis, shape.len())?;
        let inner: usize = shape[ax + 1..].iter().product();
        let dim = shape[ax];
        if block == 0 {
            if plen != dim {
                return Err(Error::Shape(format!(
                    "per-axis scale has {plen} elements for axis {ax} of {shape:?}"
                )));
            }
            return Ok(ParamMap::Runs {
                run: inner.max(1),
                count: dim.max(1),
            });
        }
        let blocks = dim.div_ceil(block);
        let mut expect = shape.to_vec();
        expect[ax] = blocks;
        if param_shape != expect.as_slice() {
            return Err(Error::Shape(format!(
                "blocked scale shape {param_shape:?}, expected {expect:?}"
            )));
        }
        Ok(ParamMap::Each(
            (0..n)
                .map(|i| {
                    let (outer, rest) = (i / (dim * inner), i % (dim * inner));
                    let (d, r) = (rest / inner, rest % inner);
                    (outer * blocks + d / block) * inner + r
                })
                .collect(),
        ))
    }

    /// Calls `f(src run, dst run, parameter)` over `src` and `dst` (of equal length) in runs
    /// that share one parameter, on the thread pool when there are many values (each value is
    /// computed alone, so the result does not depend on how they are split).
    fn for_runs<S: Sync, D: Send>(
        &self,
        src: &[S],
        dst: &mut [D],
        f: impl Fn(&[S], &mut [D], usize) + Sync,
    ) {
        /// Values per task: enough to outweigh a task's cost.
        const PIECE: usize = 1 << 15;
        match self {
            ParamMap::Runs { run, count } => {
                let piece = |start: usize, s: &[S], d: &mut [D]| {
                    let mut off = 0;
                    while off < s.len() {
                        let r = (start + off) / run;
                        let end = ((r + 1) * run - start).min(s.len());
                        f(&s[off..end], &mut d[off..end], r % count);
                        off = end;
                    }
                };
                if src.len() <= PIECE {
                    piece(0, src, dst);
                } else {
                    src.par_chunks(PIECE)
                        .zip(dst.par_chunks_mut(PIECE))
                        .enumerate()
                        .for_each(|(i, (s, d))| piece(i * PIECE, s, d));
                }
            }
            ParamMap::Each(index) => {
                for ((s, d), &p) in src.chunks(1).zip(dst.chunks_mut(1)).zip(index) {
                    f(s, d, p);
                }
            }
        }
    }
}

fn range(dt: DType) -> Result<(i32, i32)> {
    match dt {
        DType::U8 => Ok((0, 255)),
        DType::I8 => Ok((-128, 127)),
        d => Err(Error::DType(format!("quantization to {d}"))),
    }
}

/// How each element of a tensor of `shape` finds its scale and zero point, with the scales
/// and the zero points (0 when absent).
fn params(
    shape: &[usize],
    scale: &Tensor,
    zp: Option<&Tensor>,
    axis: i64,
    block: usize,
) -> Result<(ParamMap, Vec<f32>, Vec<i64>)> {
    let map = ParamMap::new(shape, scale.shape(), axis, block)?;
    let s: Vec<f32> = scale.to_f32_vec();
    let z: Vec<i64> = match zp {
        Some(z) => z.to_i64_vec()?,
        None => vec![0; s.len()],
    };
    if z.len() != s.len() {
        return Err(Error::Shape("zero point and scale differ in size".into()));
    }
    Ok((map, s, z))
}

/// [`quantize_linear`] of every value of `xs` into `out` with one scale and zero point.
///
/// With the zero point within ±2^21 the quotient is clamped to one code beyond each end of
/// the range first, which changes no result (a quotient past an end saturates either way)
/// and keeps it within ±2^22, where [`round_to_int`] rounds half to even; a NaN quotient
/// counts as 0, as in [`quantize_linear`]. No branch is left in the loop, so it runs on
/// vector instructions.
#[multiversion(targets = "simd")]
fn quantize_run(xs: &[f32], out: &mut [i32], scale: f32, zp: i32, (qmin, qmax): (i32, i32)) {
    if zp.unsigned_abs() > 1 << 21 {
        for (o, &x) in out.iter_mut().zip(xs) {
            *o = quantize_linear(x, scale, zp, qmin, qmax);
        }
        return;
    }
    let (lo, hi) = ((qmin - zp - 1) as f32, (qmax - zp + 1) as f32);
    for (o, &x) in out.iter_mut().zip(xs) {
        let y = x / scale;
        let y = if y.is_nan() { 0.0 } else { y.max(lo).min(hi) };
        *o = (round_to_int(y) + zp).clamp(qmin, qmax);
    }
}

/// QuantizeLinear: `saturate(round_half_even(x / scale) + zp)`.
pub fn quantize(
    x: &Tensor,
    scale: &Tensor,
    zp: Option<&Tensor>,
    axis: i64,
    block: usize,
    out: Option<DType>,
) -> Result<Tensor> {
    let dt = zp.map(Tensor::dtype).or(out).unwrap_or(DType::U8);
    let bounds = range(dt)?;
    let (map, s, z) = params(x.shape(), scale, zp, axis, block)?;
    let xs = x.f32_values();
    let mut q = vec![0i32; xs.len()];
    map.for_runs(&xs, &mut q, |xs, q, p| {
        quantize_run(xs, q, s[p], z[p] as i32, bounds)
    });
    let a = ArrayD::from_shape_vec(IxDyn(x.shape()), q).map_err(|e| Error::Shape(e.to_string()))?;
    Ok(match dt {
        DType::U8 => Tensor::U8(a.mapv(|v| v as u8)),
        _ => Tensor::I8(a.mapv(|v| v as i8)),
    })
}

/// `(q - zp) · scale` of every code of `qs` into `out` with one scale and zero point: the
/// difference is an exact integer (in i32 for 8-bit codes and a zero point within ±2^24, so
/// the loop runs on vector instructions) converted to f32 once.
#[multiversion(targets = "simd")]
fn dequantize_run<Q: Copy + Into<i64>>(qs: &[Q], out: &mut [f32], scale: f32, zp: i64) {
    match i32::try_from(zp) {
        Ok(z) if z.unsigned_abs() <= 1 << 24 && size_of::<Q>() == 1 => {
            for (o, &q) in out.iter_mut().zip(qs) {
                *o = (q.into() as i32 - z) as f32 * scale;
            }
        }
        _ => {
            for (o, &q) in out.iter_mut().zip(qs) {
                *o = (q.into() - zp) as f32 * scale;
            }
        }
    }
}

/// DequantizeLinear: `(x - zp) · scale`, in the scale's float type.
pub fn dequantize(
    x: &Tensor,
    scale: &Tensor,
    zp: Option<&Tensor>,
    axis: i64,
    block: usize,
) -> Result<Tensor> {
    let (map, s, z) = params(x.shape(), scale, zp, axis, block)?;
    let mut v = vec![0f32; x.len()];
    match x {
        Tensor::U8(a) => map.for_runs(&as_row_major(a), &mut v, |q, o, p| {
            dequantize_run(q, o, s[p], z[p])
        }),
        Tensor::I8(a) => map.for_runs(&as_row_major(a), &mut v, |q, o, p| {
            dequantize_run(q, o, s[p], z[p])
        }),
        Tensor::I32(a) => map.for_runs(&as_row_major(a), &mut v, |q, o, p| {
            dequantize_run(q, o, s[p], z[p])
        }),
        t => return Err(Error::DType(format!("DequantizeLinear of {}", t.dtype()))),
    }
    let a = ArrayD::from_shape_vec(IxDyn(x.shape()), v).map_err(|e| Error::Shape(e.to_string()))?;
    Ok(Tensor::from_f32(a, scale.dtype()))
}

/// DynamicQuantizeLinear: `[y (uint8), scale, zero point (uint8)]` with the ONNX reference's
/// arithmetic: `max = max(0, max(x))`, `min = min(0, min(x))` in f32;
/// `scale = (max − min) / 255` (`1 / 255` when `max = min`); `zp = round_half_even(clamp(0 −
/// min / scale, 0, 255))`; `y = saturate(round_half_even(x / scale) + zp)`.
pub fn dynamic_quantize(x: &Tensor) -> Result<Vec<Tensor>> {
    if x.dtype() != DType::F32 {
        return Err(Error::DType(format!(
            "DynamicQuantizeLinear of {}",
            x.dtype()
        )));
    }
    let a = x.to_f32();
    let max = a.iter().copied().fold(0.0f32, f32::max);
    let min = a.iter().copied().fold(0.0f32, f32::min);
    // An all-zero input gets scale 1 (onnxruntime's choice; the formula would give 0).
    let scale = if max == min { 1.0 } else { (max - min) / 255.0 };
    let zp = (0.0 - min / scale).clamp(0.0, 255.0).round_ties_even() as i32;
    let xs = as_row_major(&a);
    let mut q = vec![0i32; xs.len()];
    quantize_run(&xs, &mut q, scale, zp, (0, 255));
    let y = ArrayD::from_shape_vec(a.raw_dim(), q)
        .map_err(|e| Error::Shape(e.to_string()))?
        .mapv(|v| v as u8);
    let scalar = IxDyn(&[]);
    Ok(vec![
        Tensor::U8(y),
        Tensor::F32(ArrayD::from_elem(scalar.clone(), scale)),
        Tensor::U8(ArrayD::from_elem(scalar, zp as u8)),
    ])
}

/// The element-operations of DynamicQuantizeLinear: min and max over the input, then a
/// division and rounding per element.
pub fn dynamic_work(inputs: u64, outputs: u64) -> u64 {
    inputs.saturating_add(outputs).saturating_mul(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn quantize_runs_equal_quantize_linear(
            xs in prop::collection::vec(prop_oneof![
                any::<f32>(),
                -300f32..300.0,
                (-600i32..600).prop_map(|v| v as f32 * 0.5),
            ], 0..80),
            scale in prop_oneof![any::<f32>(), 1e-3f32..10.0, Just(0.0f32), Just(0.5f32)],
            zp in prop_oneof![-300i32..300, any::<i32>()],
            signed in any::<bool>(),
        ) {
            let bounds = if signed { (-128, 127) } else { (0, 255) };
            let mut q = vec![0i32; xs.len()];
            quantize_run(&xs, &mut q, scale, zp, bounds);
            let one: Vec<i32> =
                xs.iter().map(|&x| quantize_linear(x, scale, zp, bounds.0, bounds.1)).collect();
            prop_assert_eq!(q, one);
        }

        #[test]
        fn dequantize_runs_equal_the_formula(
            qs in prop::collection::vec(any::<u8>(), 0..80),
            scale in any::<f32>(),
            zp in prop_oneof![-300i64..300, any::<i32>().prop_map(i64::from), any::<i64>()],
        ) {
            let mut v = vec![0f32; qs.len()];
            dequantize_run(&qs, &mut v, scale, zp);
            let one: Vec<u32> =
                qs.iter().map(|&q| ((i64::from(q) - zp) as f32 * scale).to_bits()).collect();
            prop_assert_eq!(v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), one);
        }
    }

    #[test]
    fn dynamic_quantization_follows_the_reference() {
        // The ONNX example: scale 0.0196078438, zero point 153.
        let x = Tensor::F32(
            ArrayD::from_shape_vec(IxDyn(&[6]), vec![0.0, 2.0, -3.0, -2.5, 1.34, 0.5]).unwrap(),
        );
        let out = dynamic_quantize(&x).unwrap();
        assert_eq!(out[1].to_f32()[[]], 0.019_607_844);
        assert_eq!(out[2].to_i64_vec().unwrap(), vec![153]);
        assert_eq!(
            out[0].to_i64_vec().unwrap(),
            vec![153, 255, 0, 26, 221, 179]
        );
    }

    #[test]
    fn an_all_zero_input_gets_scale_one() {
        // onnxruntime 1.32 returns scale 1, zero point 0 for [0, 0, 0].
        let out = dynamic_quantize(&Tensor::zeros(DType::F32, &[3])).unwrap();
        assert_eq!(out[1].to_f32()[[]], 1.0);
        assert_eq!(out[2].to_i64_vec().unwrap(), vec![0]);
        assert_eq!(out[0].to_i64_vec().unwrap(), vec![0, 0, 0]);
    }
}
