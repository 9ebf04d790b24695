//! Temporary stand-in for the array datapath (replaced by the PE-level model and fast path).
use crate::config::{AcceleratorConfig, Dataflow, PsumType, TimingMode};
use crate::kernel::{FloatFormat, GemmShape};
use crate::units::Cycles;

pub mod output;
pub mod vector;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArraySpec {
    pub rows: usize,
    pub cols: usize,
    pub dataflow: Dataflow,
    pub timing: TimingMode,
    pub psum: PsumType,
}
impl ArraySpec {
    pub fn from_config(c: &AcceleratorConfig) -> ArraySpec {
        ArraySpec {
            rows: c.rows,
            cols: c.cols,
            dataflow: c.dataflow,
            timing: c.timing,
            psum: c.psum,
        }
    }
}
pub struct IntGemmOut {
    pub acc: Vec<i32>,
    pub overflow: bool,
}
pub fn gemm_int(
    _spec: &ArraySpec,
    s: GemmShape,
    a: &[i16],
    b: &[i16],
    bias: Option<&[i32]>,
) -> IntGemmOut {
    let mut acc = vec![0i32; s.m * s.n];
    for i in 0..s.m {
        for j in 0..s.n {
            let mut v = bias.map_or(0, |b| b[j]);
            for k in 0..s.k {
                v = v.wrapping_add(a[i * s.k + k] as i32 * b[k * s.n + j] as i32);
            }
            acc[i * s.n + j] = v;
        }
    }
    IntGemmOut {
        acc,
        overflow: false,
    }
}
pub fn gemm_float(
    spec: &ArraySpec,
    _fmt: FloatFormat,
    s: GemmShape,
    a: &[f32],
    b: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let mut out = vec![0f32; s.m * s.n];
    for i in 0..s.m {
        for j in 0..s.n {
            let mut acc = bias.map_or(0.0, |b| b[j]);
            for k0 in (0..s.k).step_by(spec.rows) {
                let mut t = 0f32;
                for k in k0..(k0 + spec.rows).min(s.k) {
                    t = a[i * s.k + k].mul_add(b[k * s.n + j], t);
                }
                acc += t;
            }
            out[i * s.n + j] = acc;
        }
    }
    out
}
pub fn tile_cycles(spec: &ArraySpec, s: GemmShape) -> Cycles {
    let (r, c) = (spec.rows as u64, spec.cols as u64);
    let f = (s.k as u64).div_ceil(r);
    Cycles(f * (2 * r + c + s.m as u64 - 2))
}
