//! A naive interpreter of the GEMM-class IR ops, straight from the ONNX definitions with
//! direct loops: the oracle that lowering (im2col, packing, tiling, requantization) is tested
//! against. Floats accumulate in f64; integers exactly in i64. Never uses `lower` or `array`.

use crate::error::{Error, Result};
use crate::ir::geometry::Window;
use crate::ir::{ConvAttrs, EpilogueAct, Op, matmul_shape};
use crate::tensor::{DType, Tensor};
use ndarray::{ArrayD, IxDyn};

/// The result of a reference op: exact integers, or floats accumulated in f64.
#[derive(Debug, Clone, PartialEq)]
pub enum RefOutput {
    /// Integer outputs (ConvInteger, MatMulInteger, QLinear* codes).
    Int(ArrayD<i64>),
    /// Float outputs before rounding to the output type.
    Float(ArrayD<f64>),
}

fn get<'a>(ins: &[Option<&'a Tensor>], i: usize) -> Result<&'a Tensor> {
    ins.get(i)
        .copied()
        .flatten()
        .ok_or_else(|| Error::Shape(format!("input {i} missing")))
}

fn opt_i64(ins: &[Option<&Tensor>], i: usize) -> Result<Vec<i64>> {
    ins.get(i)
        .copied()
        .flatten()
        .map_or(Ok(vec![0]), Tensor::to_i64_vec)
}

/// Direct convolution: `y[b, co, o] = Σ_{ci, tap} x[b, g·cin + ci, o·s − p + tap·d] · w[co, ci, tap]`.
fn conv(x: &ArrayD<f64>, w: &ArrayD<f64>, a: &ConvAttrs) -> Result<ArrayD<f64>> {
    let (xs, ws) = (x.shape(), w.shape());
    let win = Window::of_conv(a, xs, &ws[2..])?;
    let g = a.group.max(1);
    let (cin, cout_g) = (ws[1], ws[0] / g);
    let mut shape = vec![xs[0], ws[0]];
    shape.extend(&win.output);
    let mut y = ArrayD::<f64>::zeros(IxDyn(&shape));
    let rank = win.input.len();
    let mut out_pos = vec![0usize; rank];
    for (idx, v) in y.indexed_iter_mut() {
        let (b, co) = (idx[0], idx[1]);
        for d in 0..rank {
            out_pos[d] = idx[2 + d];
        }
        let grp = co / cout_g;
        let mut acc = 0.0;
        for ci in 0..cin {
            for t in 0..win.kernel_size() {
                let (mut rem, mut xi, mut wi, mut inside) =
                    (t, vec![b, grp * cin + ci], vec![co, ci], true);
                let mut taps = vec![0usize; rank];
                for d in (0..rank).rev() {
                    taps[d] = rem % win.kernel[d];
                    rem /= win.kernel[d];
                }
                for d in 0..rank {
                    let c = (out_pos[d] * win.strides[d] + taps[d] * win.dilations[d]) as isize
                        - win.pad_begin[d] as isize;
                    inside &= c >= 0 && (c as usize) < win.input[d];
                    xi.push(c.max(0) as usize);
                    wi.push(taps[d]);
                }
                if inside {
                    acc += x[IxDyn(&xi)] * w[IxDyn(&wi)];
                }
            }
        }
        *v = acc;
    }
    Ok(y)
}

/// numpy `matmul` in f64.
fn matmul(a: &ArrayD<f64>, b: &ArrayD<f64>) -> Result<ArrayD<f64>> {
    let out = matmul_shape(a.shape(), b.shape())?;
    let a2 = if a.ndim() == 1 {
        a.clone().insert_axis(ndarray::Axis(0))
    } else {
        a.clone()
    };
    let b2 = if b.ndim() == 1 {
        b.clone().insert_axis(ndarray::Axis(1))
    } else {
        b.clone()
    };
    let (m, k, n) = (
        a2.shape()[a2.ndim() - 2],
        a2.shape()[a2.ndim() - 1],
        b2.shape()[b2.ndim() - 1],
    );
    let batch = crate::tensor::ops::broadcast_shapes(
        &a2.shape()[..a2.ndim() - 2],
        &b2.shape()[..b2.ndim() - 2],
    )?;
    let mut full_a = batch.clone();
    full_a.extend([m, k]);
    let mut full_b = batch.clone();
    full_b.extend([k, n]);
    let av = a2
        .broadcast(IxDyn(&full_a))
        .ok_or_else(|| Error::Shape("matmul broadcast".into()))?;
    let bv = b2
        .broadcast(IxDyn(&full_b))
        .ok_or_else(|| Error::Shape("matmul broadcast".into()))?;
    let count: usize = batch.iter().product();
    let (av, bv) = (av.as_standard_layout(), bv.as_standard_layout());
    let (ad, bd) = (av.as_slice().unwrap_or(&[]), bv.as_slice().unwrap_or(&[]));
    let mut y = Vec::with_capacity(count * m * n);
    for p in 0..count {
        for i in 0..m {
            for j in 0..n {
                y.push(
                    (0..k)
                        .map(|kk| ad[(p * m + i) * k + kk] * bd[(p * k + kk) * n + j])
                        .sum(),
                );
            }
        }
    }
    ArrayD::from_shape_vec(IxDyn(&out), y).map_err(|e| Error::Shape(e.to_string()))
}

/// Shifts a quantized tensor by a per-tensor or per-axis zero point along `axis`.
fn shifted(t: &Tensor, zp: &[i64], axis: usize) -> Result<ArrayD<f64>> {
    let mut a = t.to_i64()?.mapv(|v| v as f64);
    if zp.len() == 1 {
        a.mapv_inplace(|v| v - zp[0] as f64);
    } else {
        for (c, mut lane) in a.axis_iter_mut(ndarray::Axis(axis)).enumerate() {
            lane.mapv_inplace(|v| v - zp[c] as f64);
        }
    }
    Ok(a)
}

/// Adds `bias[c]` along `axis` (per output channel).
fn add_per_channel(acc: &mut ArrayD<f64>, bias: &[f64], axis: usize) {
    for (c, mut lane) in acc.axis_iter_mut(ndarray::Axis(axis)).enumerate() {
        lane.mapv_inplace(|v| v + bias[c]);
    }
}

/// The optional bias input `i` as f64 values.
fn bias(ins: &[Option<&Tensor>], i: usize) -> Option<Vec<f64>> {
    ins.get(i)
        .copied()
        .flatten()
        .map(|b| b.to_f64().iter().copied().collect())
}

/// ONNX's QLinear output (scales at inputs 1, 4, 6 and the output zero point at 7, for both
/// QLinearConv and QLinearMatMul): `saturate(round_half_even(acc · xs·ws[c] / ys) + yzp)`,
/// in f64 from the exact accumulator. MLAS rounds the scale product in f32, so the emulator
/// may differ by one step in rare near-ties; the tests allow that step.
fn qlinear_output(
    acc: &ArrayD<f64>,
    ins: &[Option<&Tensor>],
    axis: usize,
    act: EpilogueAct,
) -> Result<ArrayD<i64>> {
    let first = |i: usize| -> Result<f64> {
        get(ins, i)?
            .to_f64()
            .iter()
            .copied()
            .next()
            .ok_or_else(|| Error::Shape(format!("input {i} is empty")))
    };
    let (xs, ys) = (first(1)?, first(6)?);
    let ws: Vec<f64> = get(ins, 4)?.to_f64().iter().copied().collect();
    let y_zp = ins.get(7).copied().flatten();
    let yzp = opt_i64(ins, 7)?[0];
    let (qmin, qmax) = match y_zp.map(Tensor::dtype) {
        Some(DType::I8) => (-128, 127),
        _ => (0, 255),
    };
    let lo = if act == EpilogueAct::Relu {
        qmin.max(yzp)
    } else {
        qmin
    };
    let mut out = ArrayD::<i64>::zeros(acc.raw_dim());
    for (idx, v) in out.indexed_iter_mut() {
        let c = if ws.len() == 1 { 0 } else { idx[axis] };
        let q = (acc[&idx] * xs * ws[c] / ys).round_ties_even() as i64 + yzp;
        *v = q.clamp(lo, qmax);
    }
    Ok(out)
}

/// Evaluates a GEMM-class op naively.
pub fn gemm(op: &Op, ins: &[Option<&Tensor>]) -> Result<RefOutput> {
    let f64s = |t: &Tensor| t.to_f64();
    match op {
        Op::Conv(a) => {
            let mut y = conv(&f64s(get(ins, 0)?), &f64s(get(ins, 1)?), a)?;
            if let Some(b) = bias(ins, 2) {
                add_per_channel(&mut y, &b, 1);
            }
            Ok(RefOutput::Float(y))
        }
        Op::ConvInteger(a) => {
            let x = shifted(get(ins, 0)?, &opt_i64(ins, 2)?, 1)?;
            let w = shifted(get(ins, 1)?, &opt_i64(ins, 3)?, 0)?;
            Ok(RefOutput::Int(conv(&x, &w, a)?.mapv(|v| v as i64)))
        }
        Op::QLinearConv(a, act) => {
            let x = shifted(get(ins, 0)?, &opt_i64(ins, 2)?, 1)?;
            let w = shifted(get(ins, 3)?, &opt_i64(ins, 5)?, 0)?;
            let mut acc = conv(&x, &w, a)?;
            if let Some(b) = bias(ins, 8) {
                add_per_channel(&mut acc, &b, 1);
            }
            Ok(RefOutput::Int(qlinear_output(&acc, ins, 1, *act)?))
        }
        Op::MatMul => Ok(RefOutput::Float(matmul(
            &f64s(get(ins, 0)?),
            &f64s(get(ins, 1)?),
        )?)),
        Op::Gemm(a) => {
            let (mut x, mut w) = (f64s(get(ins, 0)?), f64s(get(ins, 1)?));
            if a.trans_a {
                x = x.reversed_axes();
            }
            if a.trans_b {
                w = w.reversed_axes();
            }
            let mut y = matmul(&x, &w)?.mapv(|v| v * f64::from(a.alpha));
            if let Some(c) = ins.get(2).copied().flatten() {
                let c = c.to_f64();
                let cb = c
                    .broadcast(y.raw_dim())
                    .ok_or_else(|| Error::Shape("Gemm C broadcast".into()))?;
                ndarray::Zip::from(&mut y)
                    .and(&cb)
                    .for_each(|v, &c| *v += f64::from(a.beta) * c);
            }
            Ok(RefOutput::Float(y))
        }
        Op::MatMulInteger => {
            let a = shifted(get(ins, 0)?, &opt_i64(ins, 2)?, 0)?;
            let b_t = get(ins, 1)?;
            let b = shifted(b_t, &opt_i64(ins, 3)?, b_t.shape().len().saturating_sub(1))?;
            Ok(RefOutput::Int(matmul(&a, &b)?.mapv(|v| v as i64)))
        }
        Op::QLinearMatMul(act) => {
            let a = shifted(get(ins, 0)?, &opt_i64(ins, 2)?, 0)?;
            let b_t = get(ins, 3)?;
            let b = shifted(b_t, &opt_i64(ins, 5)?, b_t.shape().len().saturating_sub(1))?;
            let mut acc = matmul(&a, &b)?;
            let last = acc.ndim() - 1;
            if let Some(b) = bias(ins, 8) {
                add_per_channel(&mut acc, &b, last);
            }
            Ok(RefOutput::Int(qlinear_output(&acc, ins, last, *act)?))
        }
        other => Err(Error::Invalid(format!(
            "the reference covers GEMM-class ops, not {}",
            other.name()
        ))),
    }
}
