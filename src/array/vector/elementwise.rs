//! Elementwise vector ops: Relu, Clip, broadcasting float arithmetic, Pow, PRelu, batch norm,
//! softmax. Floats compute in f32 and round once to fp16/bf16; integer arithmetic is exact
//! (`exact`, wrapping like numpy).

use super::exact::zip_broadcast;
use crate::error::{Error, Result};
use crate::kernel::VectorOp;
use crate::tensor::convert::{Half, map};
use crate::tensor::ops::normalize_axis;
use crate::tensor::{DType, Tensor};
use ndarray::{Axis, IxDyn};

/// Applies an f32 function to a float tensor, keeping its type (fp16 and bf16 values widened
/// to f32 and the results rounded once back, a cache-sized chunk at a time).
pub(super) fn map_float(x: &Tensor, f: impl Fn(f32) -> f32 + Sync) -> Result<Tensor> {
    match x {
        Tensor::F32(a) if a.as_slice().is_none() => Ok(Tensor::F32(a.mapv(&f))),
        _ => map_float_slices(x, |src, dst| map_chunk(src, dst, &f)),
    }
}

/// As [`map_float`], with `f` writing the function of a slice of values into another
/// (`dst[i] = f(src[i])`): for a function vectorised on its own, too large for the compiler
/// to inline as a per-value closure.
pub(super) fn map_float_slices(
    x: &Tensor,
    f: impl Fn(&[f32], &mut [f32]) + Sync,
) -> Result<Tensor> {
    Ok(match x {
        Tensor::F32(a) => {
            let src = crate::tensor::convert::as_row_major(a);
            Tensor::F32(
                ndarray::ArrayD::from_shape_vec(a.raw_dim(), map_slice(&src, &f))
                    .expect("one value per element"),
            )
        }
        Tensor::F16(a) => Tensor::F16(map_half(a, &f)),
        Tensor::BF16(a) => Tensor::BF16(map_half(a, &f)),
        t => {
            return Err(Error::DType(format!(
                "{} where a float was expected",
                t.dtype()
            )));
        }
    })
}

/// Slices of at least this many values are mapped on the rayon threads.
const PARALLEL_LEN: usize = 1 << 16;

/// Values a task maps at once: the parallel pieces of a long slice, and the stack buffer a
/// 16-bit slice is widened into.
const PIECE: usize = PARALLEL_LEN / 16;

/// `f` of every value of `s`, in parallel chunks for long slices.
fn map_slice(s: &[f32], f: &(impl Fn(&[f32], &mut [f32]) + Sync)) -> Vec<f32> {
    let mut out = vec![0f32; s.len()];
    if s.len() < PARALLEL_LEN {
        f(s, &mut out);
    } else {
        use rayon::prelude::*;
        out.par_chunks_mut(PIECE)
            .zip(s.par_chunks(PIECE))
            .for_each(|(dst, src)| f(src, dst));
    }
    out
}

/// `f` of every fp16 or bf16 value of `a`, computed in f32 and rounded once back.
fn map_half<H: Half>(
    a: &ndarray::ArrayD<H>,
    f: &(impl Fn(&[f32], &mut [f32]) + Sync),
) -> ndarray::ArrayD<H> {
    use rayon::prelude::*;
    let src = crate::tensor::convert::as_row_major(a);
    let mut out = vec![H::default(); src.len()];
    let piece = |src: &[H], dst: &mut [H]| {
        let (mut wide, mut mapped) = ([0f32; PIECE], [0f32; PIECE]);
        let (wide, mapped) = (&mut wide[..src.len()], &mut mapped[..src.len()]);
        H::widen(src, wide);
        f(wide, mapped);
        H::narrow(mapped, dst);
    };
    if src.len() < PARALLEL_LEN {
        src.chunks(PIECE)
            .zip(out.chunks_mut(PIECE))
            .for_each(|(s, d)| piece(s, d));
    } else {
        src.par_chunks(PIECE)
            .zip(out.par_chunks_mut(PIECE))
            .for_each(|(s, d)| piece(s, d));
    }
    ndarray::ArrayD::from_shape_vec(a.raw_dim(), out).expect("one value per element")
}

/// `dst[i] = f(src[i])`, compiled for the CPU's vector extensions as well (where it has FMA,
/// `f32::mul_add` in the activations' rational approximations is one instruction instead of
/// a library call, with the same bits).
#[multiversion::multiversion(targets = "simd")]
fn map_chunk(src: &[f32], dst: &mut [f32], f: &(impl Fn(f32) -> f32 + Sync)) {
    dst.iter_mut().zip(src).for_each(|(d, &v)| *d = f(v));
}

/// ReLU of one float: negative values become +0; −0 and NaN stay as they are.
pub fn relu_f32(v: f32) -> f32 {
    if v < 0.0 { 0.0 } else { v }
}

/// ReLU of float values in place (a GEMM's output unit, fused).
pub fn relu_in_place(v: &mut [f32]) {
    v.iter_mut().for_each(|x| *x = relu_f32(*x));
}

/// max(x, 0).
pub fn relu(x: &Tensor) -> Result<Tensor> {
    Ok(match x {
        Tensor::I8(a) => Tensor::I8(a.mapv(|v| v.max(0))),
        Tensor::I32(a) => Tensor::I32(a.mapv(|v| v.max(0))),
        Tensor::I64(a) => Tensor::I64(a.mapv(|v| v.max(0))),
        Tensor::U8(_) => x.clone(),
        _ => map_float(x, relu_f32)?,
    })
}

fn scalar_f64(t: Option<&Tensor>) -> Result<Option<f64>> {
    match t {
        None => Ok(None),
        Some(t) if t.len() == 1 => Ok(t.to_f64().iter().next().copied()),
        Some(t) => Err(Error::Shape(format!(
            "expected a scalar, got shape {:?}",
            t.shape()
        ))),
    }
}

/// Clip to [min, max] (inputs, or the opset < 11 attributes).
pub fn clip(
    x: &Tensor,
    min: Option<&Tensor>,
    max: Option<&Tensor>,
    amin: Option<f32>,
    amax: Option<f32>,
) -> Result<Tensor> {
    let lo = scalar_f64(min)?.or(amin.map(f64::from));
    let hi = scalar_f64(max)?.or(amax.map(f64::from));
    macro_rules! int_clip {
        ($a:expr, $t:ty, $variant:ident) => {{
            let lo = lo.map_or(<$t>::MIN, |v| v as $t);
            let hi = hi.map_or(<$t>::MAX, |v| v as $t);
            Tensor::$variant($a.mapv(|v| {
                if v < lo {
                    lo
                } else if v > hi {
                    hi
                } else {
                    v
                }
            }))
        }};
    }
    Ok(match x {
        Tensor::I8(a) => int_clip!(a, i8, I8),
        Tensor::U8(a) => int_clip!(a, u8, U8),
        Tensor::I32(a) => int_clip!(a, i32, I32),
        Tensor::I64(a) => int_clip!(a, i64, I64),
        _ => {
            let (lo, hi) = (lo.map(|v| v as f32), hi.map(|v| v as f32));
            map_float(x, |v| {
                let v = lo.map_or(v, |l| if v < l { l } else { v });
                hi.map_or(v, |h| if v > h { h } else { v })
            })?
        }
    })
}

/// Add, Sub, Mul or Div of two float tensors of one type, with numpy broadcasting (integer
/// operands are `exact`'s).
pub fn binary(op: &VectorOp, x: &Tensor, y: &Tensor) -> Result<Tensor> {
    if x.dtype() != y.dtype() || !x.dtype().is_float() {
        return Err(Error::DType(format!(
            "{op:?} of {} and {}",
            x.dtype(),
            y.dtype()
        )));
    }
    let f = |p: f32, q: f32| match op {
        VectorOp::Add => p + q,
        VectorOp::Sub => p - q,
        VectorOp::Mul => p * q,
        _ => p / q,
    };
    // fp16 and bf16 operands are computed in f32 and rounded once on the way back.
    fn wide(t: &Tensor) -> std::borrow::Cow<'_, ndarray::ArrayD<f32>> {
        match t {
            Tensor::F32(a) => std::borrow::Cow::Borrowed(a),
            t => std::borrow::Cow::Owned(t.to_f32()),
        }
    }
    let (a, b) = (wide(x), wide(y));
    // One monomorphic loop per operator, so that it vectorises; when the first operand is
    // the one broadcast, the same loop over the swapped pair (each value is still `f(p, q)`).
    let fast =
        match op {
            VectorOp::Add => binary_f32_fast(&a, &b, |p, q| p + q)
                .or_else(|| binary_f32_fast(&b, &a, |q, p| p + q)),
            VectorOp::Sub => binary_f32_fast(&a, &b, |p, q| p - q)
                .or_else(|| binary_f32_fast(&b, &a, |q, p| p - q)),
            VectorOp::Mul => binary_f32_fast(&a, &b, |p, q| p * q)
                .or_else(|| binary_f32_fast(&b, &a, |q, p| p * q)),
            _ => binary_f32_fast(&a, &b, |p, q| p / q)
                .or_else(|| binary_f32_fast(&b, &a, |q, p| p / q)),
        };
    let out = match fast {
        Some(out) => out,
        None => zip_broadcast(&a, &b, f)?,
    };
    Ok(Tensor::from_f32(out, x.dtype()))
}

/// How `b` broadcasts to `a_shape` along one run of consecutive axes (its other dims are 1):
/// `(mid, inner)`, the run's length and the values after it per run value; `None` for any
/// other layout. The same shape is `(len, 1)`, a single value `(1, len)`, one value per
/// channel of axis 1 of NCHW `(C, H·W)`.
fn broadcast_run(a_shape: &[usize], b: &ndarray::ArrayD<f32>) -> Option<(usize, usize)> {
    if b.ndim() > a_shape.len() || b.is_empty() {
        return None;
    }
    // b's shape left-padded with ones to a's rank.
    let pad = a_shape.len() - b.ndim();
    let bs: Vec<usize> = std::iter::repeat_n(1, pad)
        .chain(b.shape().iter().copied())
        .collect();
    // A single value is a run of no axes before all of them: (1, len).
    let first = bs.iter().position(|&d| d != 1).unwrap_or(0);
    let last = bs.iter().rposition(|&d| d != 1).map_or(first, |l| l + 1);
    if bs[first..last] != a_shape[first..last] {
        return None;
    }
    let mid: usize = a_shape[first..last].iter().product();
    let inner: usize = a_shape[last..].iter().product();
    Some((mid, inner))
}

/// `f(a, b)` over contiguous f32 arrays where `b` broadcasts to `a`'s shape along one run of
/// consecutive axes ([`broadcast_run`]); `None` for any other layout (the general broadcast
/// handles it). The same operations on the same pairs as the general path, without its
/// per-element indexing.
fn binary_f32_fast(
    a: &ndarray::ArrayD<f32>,
    b: &ndarray::ArrayD<f32>,
    f: impl Fn(f32, f32) -> f32,
) -> Option<ndarray::ArrayD<f32>> {
    let (xs, ys) = (a.as_slice()?, b.as_slice()?);
    let (mid, inner) = broadcast_run(a.shape(), b)?;
    let mut out = Vec::with_capacity(xs.len());
    for outer in xs.chunks((mid * inner).max(1)) {
        if inner == 1 {
            // b runs along the last axes: one pass over matching slices.
            out.extend(outer.iter().zip(ys).map(|(&p, &q)| f(p, q)));
        } else {
            for (chunk, &q) in outer.chunks(inner).zip(ys) {
                out.extend(chunk.iter().map(|&p| f(p, q)));
            }
        }
    }
    ndarray::ArrayD::from_shape_vec(a.raw_dim(), out).ok()
}

/// Add, Sub, Mul or Div of two f32 tensors computed into `own`, one of the operands (the
/// first when `own_first`), whose buffer the caller gives up: `own = f(own, other)` or
/// `f(other, own)` value by value, the bits of [`binary`]. Returns `own` back unchanged
/// (`Err`) when it is not the output's shape and layout or `other` does not broadcast to it
/// along one run of axes.
pub fn binary_in_place(
    op: &VectorOp,
    own: Tensor,
    other: &Tensor,
    own_first: bool,
) -> std::result::Result<Tensor, Tensor> {
    let Tensor::F32(b) = other else {
        return Err(own);
    };
    let Tensor::F32(mut a) = own else {
        return Err(own);
    };
    let Some(ys) = b.as_slice() else {
        return Err(Tensor::F32(a));
    };
    let Some((mid, inner)) = broadcast_run(a.shape(), b) else {
        return Err(Tensor::F32(a));
    };
    let Some(xs) = a.as_slice_mut() else {
        return Err(Tensor::F32(a));
    };
    // One monomorphic loop per operator and operand order, so that it vectorises.
    macro_rules! apply {
        ($f:expr) => {{
            let f = $f;
            for outer in xs.chunks_mut((mid * inner).max(1)) {
                if inner == 1 {
                    outer.iter_mut().zip(ys).for_each(|(p, &q)| *p = f(*p, q));
                } else {
                    for (chunk, &q) in outer.chunks_mut(inner).zip(ys) {
                        chunk.iter_mut().for_each(|p| *p = f(*p, q));
                    }
                }
            }
        }};
    }
    match (op, own_first) {
        (VectorOp::Add, true) => apply!(|p: f32, q: f32| p + q),
        (VectorOp::Add, false) => apply!(|p: f32, q: f32| q + p),
        (VectorOp::Sub, true) => apply!(|p: f32, q: f32| p - q),
        (VectorOp::Sub, false) => apply!(|p: f32, q: f32| q - p),
        (VectorOp::Mul, true) => apply!(|p: f32, q: f32| p * q),
        (VectorOp::Mul, false) => apply!(|p: f32, q: f32| q * p),
        (VectorOp::Div, true) => apply!(|p: f32, q: f32| p / q),
        (VectorOp::Div, false) => apply!(|p: f32, q: f32| q / p),
        _ => return Err(Tensor::F32(a)),
    }
    Ok(Tensor::F32(a))
}

/// Pow(X, Y) with broadcasting, in X's type: computed in f64 from the exact operands and
/// rounded once (float X) or truncated toward zero (integer X, as numpy's cast does).
pub fn pow(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    if let Some(t) = small_power(x, y) {
        return Ok(t);
    }
    let (xv, yv) = (x.to_f64(), y.to_f64());
    let out = match (xv.as_slice(), yv.as_slice()) {
        // One exponent for every value: the same powf over the slice, without the general
        // broadcast's per-element indexing.
        (Some(values), Some(&[e])) if yv.ndim() <= xv.ndim() => ndarray::ArrayD::from_shape_vec(
            xv.raw_dim(),
            values.iter().map(|&v| v.powf(e)).collect(),
        )
        .map_err(|e| Error::Shape(format!("Pow: {e}")))?,
        _ => zip_broadcast(&xv, &yv, f64::powf)?,
    };
    Ok(match x.dtype() {
        DType::F16 => Tensor::F16(out.mapv(crate::numeric::round_f64_to_f16)),
        DType::BF16 => Tensor::BF16(out.mapv(crate::numeric::round_f64_to_bf16)),
        DType::F32 => Tensor::F32(out.mapv(|v| v as f32)),
        DType::I32 => Tensor::I32(out.mapv(|v| v as i32)),
        DType::I64 => Tensor::I64(out.mapv(|v| v as i64)),
        d => return Err(Error::DType(format!("Pow of {d}"))),
    })
}

/// Pow of float X by one exponent 2 or 3 for every value (RMSNorm's x², GELU's x³) as
/// products in f64, with no f64 copy of X: `None` for any other case.
///
/// The bits are [`pow`]'s. A square of a value of at most 24 significant bits is exact in f64,
/// as powf returns an exact result. A cube's f64 product is correctly rounded (`x·x` is exact)
/// where glibc's pow may be half an ulp off; rounded to f32 the two agree on every finite f32
/// (checked exhaustively), and an fp16 or bf16 value's cube is exact in f64.
fn small_power(x: &Tensor, y: &Tensor) -> Option<Tensor> {
    let e = match y.to_f64().as_slice() {
        Some(&[e]) if y.shape().len() <= x.shape().len() => e,
        _ => return None,
    };
    let power = |v: f64| if e == 2.0 { v * v } else { v * v * v };
    if e != 2.0 && e != 3.0 {
        return None;
    }
    Some(match x {
        Tensor::F32(a) => Tensor::F32(map(a, |v| power(f64::from(v)) as f32)),
        Tensor::F16(a) => Tensor::F16(map(a, |v| {
            crate::numeric::round_f64_to_f16(power(v.to_f64()))
        })),
        Tensor::BF16(a) => Tensor::BF16(map(a, |v| {
            crate::numeric::round_f64_to_bf16(power(v.to_f64()))
        })),
        _ => return None,
    })
}

/// PRelu(X, slope): `x` where `x ≥ 0`, else `slope·x`, slope broadcast to X (floats).
pub fn prelu(x: &Tensor, slope: &Tensor) -> Result<Tensor> {
    if x.dtype() != slope.dtype() || !x.dtype().is_float() {
        return Err(Error::DType(format!(
            "PRelu of {} with slope {}",
            x.dtype(),
            slope.dtype()
        )));
    }
    let out = zip_broadcast(&x.to_f32(), &slope.to_f32(), |v, a| {
        if v < 0.0 { a * v } else { v }
    })?;
    if out.shape() != x.shape() {
        return Err(Error::Shape(format!(
            "PRelu slope {:?} does not broadcast to {:?}",
            slope.shape(),
            x.shape()
        )));
    }
    Ok(Tensor::from_f32(out, x.dtype()))
}

/// Inference-mode batch normalization over axis 1.
pub fn batch_norm(
    x: &Tensor,
    scale: &Tensor,
    bias: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    eps: f32,
) -> Result<Tensor> {
    let xa = x.to_f32();
    let c = *xa
        .shape()
        .get(1)
        .ok_or_else(|| Error::Shape("BatchNormalization needs rank ≥ 2".into()))?;
    let p: Vec<Vec<f32>> = [scale, bias, mean, var]
        .iter()
        .map(|t| t.to_f32_vec())
        .collect();
    if p.iter().any(|v| v.len() != c) {
        return Err(Error::Shape(format!(
            "BatchNormalization parameters must have {c} elements"
        )));
    }
    let mut out = xa;
    for (ch, mut lane) in out.axis_iter_mut(Axis(1)).enumerate() {
        let inv = (p[3][ch] + eps).sqrt();
        lane.mapv_inplace(|v| (v - p[2][ch]) / inv * p[0][ch] + p[1][ch]);
    }
    Ok(Tensor::from_f32(out, x.dtype()))
}

/// Softmax along `axis` (over the flattened tail when `coerce_2d`, as opsets < 13 define it).
pub fn softmax(x: &Tensor, axis: i64, coerce_2d: bool) -> Result<Tensor> {
    let shape = x.shape().to_vec();
    let ax = normalize_axis(axis, shape.len())?;
    let a = x.to_f32();
    let (view_shape, red) = if coerce_2d {
        let inner: usize = shape[ax..].iter().product();
        (vec![shape[..ax].iter().product::<usize>(), inner], 1)
    } else {
        (shape.clone(), ax)
    };
    let mut v = a
        .into_shape_with_order(IxDyn(&view_shape))
        .map_err(|e| Error::Shape(e.to_string()))?;
    for mut lane in v.lanes_mut(Axis(red)) {
        let m = lane.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        lane.mapv_inplace(|e| (e - m).exp());
        let s: f32 = lane.iter().sum();
        lane.mapv_inplace(|e| e / s);
    }
    let out = v
        .into_shape_with_order(IxDyn(&shape))
        .map_err(|e| Error::Shape(e.to_string()))?;
    Ok(Tensor::from_f32(out, x.dtype()))
}

/// The element-operations of an elementwise op over `outputs` elements: a product of
/// logarithm and exponential per element for Pow, a max, exponential and division pass for
/// Softmax, a multiply-add pair for BatchNormalization, one operation for the rest.
pub fn work(op: &VectorOp, outputs: u64) -> u64 {
    let per_element = match op {
        VectorOp::Pow => 16,
        VectorOp::Softmax { .. } => 3,
        VectorOp::BatchNormalization { .. } => 2,
        _ => 1,
    };
    outputs.saturating_mul(per_element)
}

#[cfg(test)]
mod tests {
    use super::{binary, binary_in_place, broadcast_run, pow, zip_broadcast};
    use crate::kernel::VectorOp;
    use crate::tensor::Tensor;
    use half::{bf16, f16};
    use ndarray::{ArrayD, IxDyn};

    /// Awkward values: signed zeros, subnormals, huge and tiny magnitudes, infinities, NaN,
    /// and a spread of ordinary ones.
    fn values() -> Vec<f32> {
        let mut v = vec![
            0.0,
            -0.0,
            f32::from_bits(1),
            -f32::from_bits(0x7f_ffff),
            f32::MIN_POSITIVE,
            1e-13,
            3.0e12,
            f32::MAX,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ];
        v.extend((0..2000).map(|i| (i as f32 - 1000.0) * 0.012_345_679 + 1e-3));
        v
    }

    fn tensor(v: Vec<f32>, as_type: &str) -> Tensor {
        let a = ArrayD::from_shape_vec(IxDyn(&[v.len()]), v).unwrap();
        match as_type {
            "f16" => Tensor::F16(a.mapv(f16::from_f32)),
            "bf16" => Tensor::BF16(a.mapv(bf16::from_f32)),
            _ => Tensor::F32(a),
        }
    }

    fn bits(t: &Tensor) -> Vec<u32> {
        match t {
            Tensor::F32(a) => a.iter().map(|v| v.to_bits()).collect(),
            Tensor::F16(a) => a.iter().map(|v| u32::from(v.to_bits())).collect(),
            Tensor::BF16(a) => a.iter().map(|v| u32::from(v.to_bits())).collect(),
            t => panic!("{}", t.dtype()),
        }
    }

    /// A square and a cube by one exponent for every value give the bits of the general
    /// path's powf (the same exponent given once per value, so no shortcut applies).
    #[test]
    fn squares_and_cubes_by_products_equal_powf() {
        let v = values();
        for as_type in ["f32", "f16", "bf16"] {
            let x = tensor(v.clone(), as_type);
            for e in [2.0f32, 3.0] {
                let one = tensor(vec![e], as_type);
                let each = tensor(vec![e; v.len()], as_type);
                let (fast, general) = (pow(&x, &one).unwrap(), pow(&x, &each).unwrap());
                assert_eq!(bits(&fast), bits(&general), "{as_type} x^{e}");
            }
        }
    }

    /// The runs of consecutive axes along which a tensor broadcasts, worked by hand for an
    /// output of shape [2, 3, 4].
    #[test]
    fn broadcast_runs_by_hand() {
        let run = |b: &[usize]| broadcast_run(&[2, 3, 4], &ArrayD::zeros(IxDyn(b)));
        assert_eq!(run(&[]), Some((1, 24)));
        assert_eq!(run(&[1]), Some((1, 24)));
        assert_eq!(run(&[1, 1, 1]), Some((1, 24)));
        assert_eq!(run(&[4]), Some((4, 1)));
        assert_eq!(run(&[3, 1]), Some((3, 4)));
        assert_eq!(run(&[1, 3, 1]), Some((3, 4)));
        assert_eq!(run(&[2, 3, 4]), Some((24, 1)));
        assert_eq!(run(&[2, 1, 4]), None);
        assert_eq!(run(&[1, 1, 1, 1]), None);
    }

    /// Every operator and operand order, with every way a tensor broadcasts to [2, 3, 4],
    /// gives the bits of the general broadcast (ndarray's), new or computed into an operand.
    #[test]
    fn broadcast_arithmetic_equals_the_general_broadcast() {
        let v = values();
        let a = ArrayD::from_shape_vec(IxDyn(&[2, 3, 4]), v[..24].to_vec()).unwrap();
        for shape in [
            &[][..],
            &[1],
            &[1, 1, 1],
            &[4],
            &[3, 1],
            &[1, 3, 1],
            &[2, 3, 4],
        ] {
            let len = shape.iter().product::<usize>();
            let b = ArrayD::from_shape_vec(IxDyn(shape), v[30..30 + len].to_vec()).unwrap();
            type Arithmetic = fn(f32, f32) -> f32;
            let ops: [(VectorOp, Arithmetic); 4] = [
                (VectorOp::Add, |p, q| p + q),
                (VectorOp::Sub, |p, q| p - q),
                (VectorOp::Mul, |p, q| p * q),
                (VectorOp::Div, |p, q| p / q),
            ];
            for (op, f) in ops {
                let general = zip_broadcast(&a, &b, f).unwrap();
                let swapped = zip_broadcast(&b, &a, f).unwrap();
                let (x, y) = (Tensor::F32(a.clone()), Tensor::F32(b.clone()));
                let want = bits(&Tensor::F32(general));
                let want_swapped = bits(&Tensor::F32(swapped));
                assert_eq!(
                    bits(&binary(&op, &x, &y).unwrap()),
                    want,
                    "{op:?} {shape:?}"
                );
                assert_eq!(
                    bits(&binary(&op, &y, &x).unwrap()),
                    want_swapped,
                    "{op:?} {shape:?}"
                );
                let into = binary_in_place(&op, x.clone(), &y, true).unwrap();
                assert_eq!(bits(&into), want, "{op:?} {shape:?} in place");
                let into = binary_in_place(&op, x, &y, false).unwrap();
                assert_eq!(
                    bits(&into),
                    want_swapped,
                    "{op:?} {shape:?} in place, swapped"
                );
            }
        }
    }
}
