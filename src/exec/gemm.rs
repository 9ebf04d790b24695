//! Runs one GEMM-class node on the arrays: operands in the datapath's domain, every tile
//! job on the array datapath, then the output unit.

use super::operands::{channel, columns, lhs, out_index, rhs};
use crate::array::output::Requant;
use crate::array::{ArraySpec, gemm_float, gemm_int};
use crate::error::{Error, Result};
use crate::ir::{FusedAct, Node, Op};
use crate::kernel::{Datapath, GemmKernel, GemmShape, TileJob};
use crate::tensor::{DType, Tensor};
use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;

/// Inputs of a GEMM-class node by role.
struct Roles<'a> {
    x: &'a Tensor,
    w: &'a Tensor,
    x_zp: Option<&'a Tensor>,
    w_zp: Option<&'a Tensor>,
    bias: Option<&'a Tensor>,
    /// (x_scale, w_scale, y_scale, y_zp) of the QLinear ops.
    qlinear: Option<[Option<&'a Tensor>; 4]>,
}

fn roles<'a>(op: &Op, ins: &[Option<&'a Tensor>]) -> Result<Roles<'a>> {
    let get = |i: usize| ins.get(i).copied().flatten();
    let need =
        |i: usize| get(i).ok_or_else(|| Error::Shape(format!("required input {i} is missing")));
    Ok(match op {
        Op::QLinearConv(..) | Op::QLinearMatMul(_) => Roles {
            x: need(0)?,
            w: need(3)?,
            x_zp: get(2),
            w_zp: get(5),
            bias: get(8),
            qlinear: Some([Some(need(1)?), Some(need(4)?), Some(need(6)?), get(7)]),
        },
        Op::ConvInteger(_) | Op::MatMulInteger => Roles {
            x: need(0)?,
            w: need(1)?,
            x_zp: get(2),
            w_zp: get(3),
            bias: None,
            qlinear: None,
        },
        _ => Roles {
            x: need(0)?,
            w: need(1)?,
            x_zp: None,
            w_zp: None,
            bias: get(2),
            qlinear: None,
        },
    })
}

fn values_i64(t: Option<&Tensor>) -> Result<Vec<i64>> {
    t.map_or(Ok(vec![0]), Tensor::to_i64_vec)
}

fn values_f32(t: &Tensor) -> Vec<f32> {
    t.to_f32().iter().copied().collect()
}

/// Per-channel parameter `c` of a vector that is either per-tensor (one value) or per-channel.
fn per_channel<T: Copy>(v: &[T], c: usize, what: &str) -> Result<T> {
    match v.len() {
        1 => Ok(v[0]),
        _ => v.get(c).copied().ok_or_else(|| {
            Error::Shape(format!(
                "{what} has {} values, channel {c} needs more",
                v.len()
            ))
        }),
    }
}

/// The weight tensor shifted by its (per-tensor or per-channel) zero point, as i16.
fn shifted_weights(k: &GemmKernel, w: &Tensor, zp: &[i64]) -> Result<Vec<i16>> {
    let raw = w.to_i64()?;
    let raw = raw.as_standard_layout();
    let vals = raw
        .as_slice()
        .ok_or_else(|| Error::Shape("weights not contiguous".into()))?;
    let n = k.shape.n;
    let per_out = match &k.layout {
        crate::kernel::GemmLayout::Conv { .. } => Some(k.shape.k),
        crate::kernel::GemmLayout::MatMul { .. } => None,
    };
    vals.iter()
        .enumerate()
        .map(|(i, &v)| {
            // Conv weights are [cout, k]; MatMul B is [.., k, n] (or [n, k] transposed).
            let c = match (per_out, &k.layout) {
                (Some(kk), _) => i / kk,
                (None, crate::kernel::GemmLayout::MatMul { trans_b: true, .. }) => {
                    (i / k.shape.k) % n
                }
                _ => i % n,
            };
            Ok((v - per_channel(zp, c, "weight zero point")?) as i16)
        })
        .collect()
}

/// Computes every tile job of one problem and returns its `m × n` results.
fn run_tiles<T, A>(
    k: &GemmKernel,
    p: usize,
    a: &[T],
    b: &[T],
    bias: Option<&[A]>,
    f: impl Fn(GemmShape, &[T], &[T], Option<&[A]>) -> Vec<A> + Sync,
) -> Vec<A>
where
    T: Copy + Send + Sync,
    A: Copy + Default + Send + Sync,
{
    let (kk, n) = (k.shape.k, k.shape.n);
    let jobs: Vec<&TileJob> = k.tiles.iter().filter(|t| t.problem == p).collect();
    let done: Vec<(&TileJob, Vec<A>)> = jobs
        .par_iter()
        .map(|t| {
            let at = &a[t.m0 * kk..(t.m0 + t.m) * kk];
            let bt = columns(b, n, t.n0, t.n);
            let bias_t = bias.map(|v| &v[t.n0..t.n0 + t.n]);
            (
                *t,
                f(
                    GemmShape {
                        m: t.m,
                        k: kk,
                        n: t.n,
                    },
                    at,
                    &bt,
                    bias_t,
                ),
            )
        })
        .collect();
    let mut c = vec![A::default(); k.shape.m * n];
    for (t, vals) in done {
        for i in 0..t.m {
            c[(t.m0 + i) * n + t.n0..(t.m0 + i) * n + t.n0 + t.n]
                .copy_from_slice(&vals[i * t.n..(i + 1) * t.n]);
        }
    }
    c
}

/// Runs a GEMM-class node; returns its output and whether an i32 accumulator overflowed.
pub fn run(
    node: &Node,
    k: &GemmKernel,
    ins: &[Option<&Tensor>],
    out_dtype: DType,
    out_shape: &[usize],
    spec: &ArraySpec,
) -> Result<(Tensor, bool)> {
    let r = roles(&node.op, ins)?;
    let total: usize = out_shape.iter().product();
    match k.datapath {
        Datapath::Int8 => {
            let x_zp = values_i64(r.x_zp)?;
            if x_zp.len() != 1 {
                return Err(Error::Shape(
                    "per-row input zero points are not supported".into(),
                ));
            }
            let xa = r.x.to_i64()?;
            let x: Vec<i16> = xa.iter().map(|&v| (v - x_zp[0]) as i16).collect();
            let w = shifted_weights(k, r.w, &values_i64(r.w_zp)?)?;
            let bias: Option<Vec<i32>> = r
                .bias
                .map(|b| {
                    b.to_i64_vec()
                        .map(|v| v.into_iter().map(|x| x as i32).collect())
                })
                .transpose()?;
            let requant = match r.qlinear {
                None => None,
                Some([xs, ws, ys, yzp]) => {
                    let (xs, ws, ys) = (
                        values_f32(xs.expect("role")),
                        values_f32(ws.expect("role")),
                        values_f32(ys.expect("role")),
                    );
                    let yzp = values_i64(yzp)?;
                    let range = match out_dtype {
                        DType::U8 => (0, 255),
                        DType::I8 => (-128, 127),
                        d => return Err(Error::DType(format!("QLinear output {d}"))),
                    };
                    let relu = matches!(
                        node.op,
                        Op::QLinearConv(_, FusedAct::Relu) | Op::QLinearMatMul(FusedAct::Relu)
                    );
                    if xs.len() != 1 || ys.len() != 1 || yzp.len() != 1 {
                        return Err(Error::Shape(
                            "input and output scales must be per-tensor".into(),
                        ));
                    }
                    Some((xs[0], ws, ys[0], yzp[0] as i32, range, relu))
                }
            };
            let mut out = vec![0i32; total];
            let mut overflow = false;
            for p in 0..k.problems {
                let a = lhs(k, &x, r.x.shape(), p, 0);
                let b = rhs(k, &w, p);
                let bias_p = bias
                    .as_ref()
                    .map(|v| {
                        (0..k.shape.n)
                            .map(|j| per_channel(v, channel(k, p, j), "bias"))
                            .collect::<Result<Vec<_>>>()
                    })
                    .transpose()?;
                let flag = std::sync::atomic::AtomicBool::new(false);
                let acc = run_tiles(k, p, &a, &b, bias_p.as_deref(), |s, a, b, bias| {
                    let o = gemm_int(spec, s, a, b, bias);
                    if o.overflow {
                        flag.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    o.acc
                });
                overflow |= flag.into_inner();
                for i in 0..k.shape.m {
                    for j in 0..k.shape.n {
                        let v = acc[i * k.shape.n + j];
                        out[out_index(k, p, i, j)] = match &requant {
                            None => v,
                            Some((xs, ws, ys, yzp, range, relu)) => {
                                let wsc = per_channel(ws, channel(k, p, j), "weight scale")?;
                                Requant::new(*xs, wsc, *ys, *yzp, *range, *relu).apply(v)
                            }
                        };
                    }
                }
            }
            let arr = ArrayD::from_shape_vec(IxDyn(out_shape), out)
                .map_err(|e| Error::Shape(e.to_string()))?;
            let t = match out_dtype {
                DType::U8 => Tensor::U8(arr.mapv(|v| v as u8)),
                DType::I8 => Tensor::I8(arr.mapv(|v| v as i8)),
                _ => Tensor::I32(arr),
            };
            Ok((t, overflow))
        }
        Datapath::Float(fmt) => {
            let x: Vec<f32> = r.x.to_f32().iter().copied().collect();
            let w: Vec<f32> = r.w.to_f32().iter().copied().collect();
            let (alpha, beta) = match node.op {
                Op::Gemm(a) => (a.alpha, a.beta),
                _ => (1.0, 1.0),
            };
            // A per-column bias preloads the accumulators; anything else is added after.
            let c_full = r.bias.map(|c| c.to_f32());
            let as_bias = match (&node.op, &c_full) {
                (Op::Conv(_), Some(_)) => true,
                (Op::Gemm(_), Some(c)) => {
                    alpha == 1.0
                        && beta == 1.0
                        && c.len() == k.shape.n
                        && c.shape().last() == Some(&k.shape.n)
                }
                _ => false,
            };
            let bias: Option<Vec<f32>> = if as_bias {
                c_full.as_ref().map(|c| c.iter().copied().collect())
            } else {
                None
            };
            let mut out = vec![0f32; total];
            for p in 0..k.problems {
                let a = lhs(k, &x, r.x.shape(), p, 0.0);
                let b = rhs(k, &w, p);
                let bias_p = bias
                    .as_ref()
                    .map(|v| {
                        (0..k.shape.n)
                            .map(|j| per_channel(v, channel(k, p, j), "bias"))
                            .collect::<Result<Vec<_>>>()
                    })
                    .transpose()?;
                let acc = run_tiles(k, p, &a, &b, bias_p.as_deref(), |s, a, b, bias| {
                    gemm_float(spec, fmt, s, a, b, bias)
                });
                for i in 0..k.shape.m {
                    for j in 0..k.shape.n {
                        out[out_index(k, p, i, j)] = acc[i * k.shape.n + j];
                    }
                }
            }
            let mut arr = ArrayD::from_shape_vec(IxDyn(out_shape), out)
                .map_err(|e| Error::Shape(e.to_string()))?;
            if !as_bias && (alpha != 1.0 || c_full.is_some()) {
                arr.mapv_inplace(|v| alpha * v);
                if let Some(c) = c_full {
                    let cb = c.broadcast(IxDyn(out_shape)).ok_or_else(|| {
                        Error::Shape(format!(
                            "C {:?} does not broadcast to {out_shape:?}",
                            c.shape()
                        ))
                    })?;
                    ndarray::Zip::from(&mut arr)
                        .and(&cb)
                        .for_each(|y, &c| *y += beta * c);
                }
            }
            Ok((Tensor::from_f32(arr, out_dtype), false))
        }
    }
}
