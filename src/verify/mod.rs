//! Compares computed tensors with references: exactness, ULP distance, absolute error, verdict.

pub mod hostile;
mod run;

pub use run::{RunReport, RunRequest, default_tolerance, verified_run};

use crate::error::{Error, Result};
use crate::numeric::{ulp_distance_bf16, ulp_distance_f16, ulp_distance_f32};
use crate::tensor::Tensor;
use serde::Serialize;

/// How close an output must be to its reference to pass.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Tolerance {
    /// Every bit equal.
    Exact,
    /// At most `max` units in the last place (floats), or an integer difference of `max`.
    Ulp {
        /// Largest allowed distance.
        max: u64,
    },
    /// `|a − r| ≤ atol + rtol·|r|` for every element (numpy's `allclose`).
    Close {
        /// Relative tolerance.
        rtol: f64,
        /// Absolute tolerance.
        atol: f64,
    },
    /// Normwise: `max |a − r| ≤ rel · max |r|` (whole-model error of reduced-precision runs).
    Norm {
        /// Relative to the reference's largest magnitude.
        rel: f64,
    },
}

impl Tolerance {
    /// Parses `exact`, `ulp:N`, `close:RTOL,ATOL` or `norm:REL`.
    pub fn parse(s: &str) -> Result<Tolerance> {
        let bad = || Error::Config {
            field: "tolerance".into(),
            msg: format!("'{s}' is not exact, ulp:N or close:RTOL,ATOL"),
        };
        if s == "exact" {
            return Ok(Tolerance::Exact);
        }
        if let Some(n) = s.strip_prefix("ulp:") {
            return Ok(Tolerance::Ulp {
                max: n.parse().map_err(|_| bad())?,
            });
        }
        if let Some(v) = s.strip_prefix("norm:") {
            return Ok(Tolerance::Norm {
                rel: v.parse().map_err(|_| bad())?,
            });
        }
        if let Some(v) = s.strip_prefix("close:") {
            let (r, a) = v.split_once(',').ok_or_else(bad)?;
            let (rtol, atol) = (r.parse().map_err(|_| bad())?, a.parse().map_err(|_| bad())?);
            return Ok(Tolerance::Close { rtol, atol });
        }
        Err(bad())
    }
}

/// The comparison of one output with its reference.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Output name.
    pub name: String,
    /// Every element bit-identical.
    pub exact: bool,
    /// Largest absolute difference.
    pub max_abs_error: f64,
    /// Largest distance in units in the last place (integer difference for integer types).
    pub max_ulp: u64,
    /// Elements that are not bit-identical.
    pub mismatches: usize,
    /// Within the tolerance.
    pub pass: bool,
    /// The tolerance applied.
    pub tolerance: Tolerance,
}

/// Compares `got` with `want` under `tol`; a type or shape difference is an error.
pub fn compare(name: &str, got: &Tensor, want: &Tensor, tol: Tolerance) -> Result<Comparison> {
    if got.dtype() != want.dtype() || got.shape() != want.shape() {
        return Err(Error::Shape(format!(
            "output '{name}': computed {} {:?}, reference {} {:?}",
            got.dtype(),
            got.shape(),
            want.dtype(),
            want.shape()
        )));
    }
    let ulps: Vec<u64> = match (got, want) {
        (Tensor::F32(a), Tensor::F32(b)) => a
            .iter()
            .zip(b)
            .map(|(&x, &y)| {
                if x.is_nan() && y.is_nan() {
                    0
                } else {
                    ulp_distance_f32(x, y)
                }
            })
            .collect(),
        (Tensor::F16(a), Tensor::F16(b)) => a
            .iter()
            .zip(b)
            .map(|(&x, &y)| {
                if x.is_nan() && y.is_nan() {
                    0
                } else {
                    ulp_distance_f16(x, y)
                }
            })
            .collect(),
        (Tensor::BF16(a), Tensor::BF16(b)) => a
            .iter()
            .zip(b)
            .map(|(&x, &y)| {
                if x.is_nan() && y.is_nan() {
                    0
                } else {
                    ulp_distance_bf16(x, y)
                }
            })
            .collect(),
        _ => {
            let (a, b) = (got.to_i64()?, want.to_i64()?);
            a.iter().zip(&b).map(|(&x, &y)| x.abs_diff(y)).collect()
        }
    };
    let (a, b) = (got.to_f64(), want.to_f64());
    let mut max_abs: f64 = 0.0;
    let ref_scale = b.iter().fold(
        0.0f64,
        |m, &y| if y.is_finite() { m.max(y.abs()) } else { m },
    );
    let mut close = true;
    for (&x, &y) in a.iter().zip(&b) {
        let both_nan = x.is_nan() && y.is_nan();
        let d = if both_nan || x == y {
            0.0
        } else {
            (x - y).abs()
        };
        max_abs = max_abs.max(if d.is_nan() { f64::INFINITY } else { d });
        // `d <= bound` is false for a NaN difference, which must fail.
        let within = |rtol: f64, atol: f64| d <= atol + rtol * y.abs();
        if let Tolerance::Close { rtol, atol } = tol
            && !both_nan
            && x != y
            && !within(rtol, atol)
        {
            close = false;
        }
    }
    let max_ulp = ulps.iter().copied().max().unwrap_or(0);
    let mismatches = ulps.iter().filter(|&&u| u != 0).count();
    let pass = match tol {
        Tolerance::Exact => mismatches == 0,
        Tolerance::Ulp { max } => max_ulp <= max,
        Tolerance::Close { .. } => close,
        Tolerance::Norm { rel } => max_abs <= rel * ref_scale,
    };
    Ok(Comparison {
        name: name.to_string(),
        exact: mismatches == 0,
        max_abs_error: max_abs,
        max_ulp,
        mismatches,
        pass,
        tolerance: tol,
    })
}

/// Index of the largest element of each row of a `[rows, classes]` tensor.
pub fn argmax_rows(t: &Tensor) -> Result<Vec<usize>> {
    let a = t.to_f64();
    let s = a.shape();
    if s.len() != 2 {
        return Err(Error::Shape(format!("expected [rows, classes], got {s:?}")));
    }
    Ok(a.rows()
        .into_iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &v)| {
                    if v > bv { (i, v) } else { (bi, bv) }
                })
                .0
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    fn f32t(v: Vec<f32>) -> Tensor {
        Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[v.len()]), v).unwrap())
    }

    #[test]
    fn one_ulp_off_is_not_exact_but_within_ulp_1() {
        let a = f32t(vec![1.0, 2.0]);
        let b = f32t(vec![1.0, f32::from_bits(2.0f32.to_bits() + 1)]);
        let c = compare("y", &a, &b, Tolerance::Ulp { max: 1 }).unwrap();
        assert!(!c.exact && c.pass && c.max_ulp == 1 && c.mismatches == 1);
        assert!(!compare("y", &a, &b, Tolerance::Exact).unwrap().pass);
    }

    #[test]
    fn close_uses_the_reference_magnitude() {
        let c = compare(
            "y",
            &f32t(vec![100.5]),
            &f32t(vec![100.0]),
            Tolerance::Close {
                rtol: 1e-2,
                atol: 0.0,
            },
        )
        .unwrap();
        assert!(c.pass);
        let c = compare(
            "y",
            &f32t(vec![100.5]),
            &f32t(vec![100.0]),
            Tolerance::Close {
                rtol: 1e-3,
                atol: 0.0,
            },
        )
        .unwrap();
        assert!(!c.pass);
        assert!(Tolerance::parse("close:1e-3,1e-7").is_ok() && Tolerance::parse("ulp:x").is_err());
    }

    #[test]
    fn norm_compares_with_the_largest_reference_magnitude() {
        // max |d| = 0.3, max |r| = 40: 0.3 ≤ 0.01·40 = 0.4 passes, 0.3 > 0.005·40 = 0.2 fails.
        let got = f32t(vec![0.3, 40.0]);
        let want = f32t(vec![0.0, 40.0]);
        assert!(
            compare("y", &got, &want, Tolerance::Norm { rel: 1e-2 })
                .unwrap()
                .pass
        );
        assert!(
            !compare("y", &got, &want, Tolerance::Norm { rel: 5e-3 })
                .unwrap()
                .pass
        );
    }
}
