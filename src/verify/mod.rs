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
    /// Parses `exact`, `ulp:N`, `close:RTOL,ATOL` or `norm:REL`; every bound must be a finite,
    /// non-negative number (see [`Tolerance::check`]).
    pub fn parse(s: &str) -> Result<Tolerance> {
        let bad = || Error::Config {
            field: "tolerance".into(),
            msg: format!("'{s}' is not exact, ulp:N, close:RTOL,ATOL or norm:REL"),
        };
        let tol = if s == "exact" {
            Tolerance::Exact
        } else if let Some(n) = s.strip_prefix("ulp:") {
            Tolerance::Ulp {
                max: n.parse().map_err(|_| bad())?,
            }
        } else if let Some(v) = s.strip_prefix("norm:") {
            Tolerance::Norm {
                rel: v.parse().map_err(|_| bad())?,
            }
        } else if let Some(v) = s.strip_prefix("close:") {
            let (r, a) = v.split_once(',').ok_or_else(bad)?;
            let (rtol, atol) = (r.parse().map_err(|_| bad())?, a.parse().map_err(|_| bad())?);
            Tolerance::Close { rtol, atol }
        } else {
            return Err(bad());
        };
        tol.check().map_err(|why| Error::Config {
            field: "tolerance".into(),
            msg: format!("'{s}': {why}"),
        })?;
        Ok(tol)
    }

    /// Checks that every bound is a finite, non-negative number: a negative or NaN bound
    /// would fail every element (even a bit-exact one) and an infinite one would pass any.
    pub fn check(&self) -> Result<(), String> {
        let bounds: &[(&str, f64)] = match self {
            Tolerance::Exact | Tolerance::Ulp { .. } => &[],
            Tolerance::Close { rtol, atol } => &[("rtol", *rtol), ("atol", *atol)],
            Tolerance::Norm { rel } => &[("rel", *rel)],
        };
        match bounds.iter().find(|(_, v)| !(v.is_finite() && *v >= 0.0)) {
            Some((name, v)) => Err(format!("{name} = {v} is not a finite, non-negative number")),
            None => Ok(()),
        }
    }
}

/// Whether `x` and `y` differ in class: one is NaN and the other not, or either is infinite
/// and they are not the same infinity. Such an element fails under every tolerance, since no
/// distance to an infinity or a NaN is meaningful (`|x − ∞| ≤ atol + rtol·∞` would hold for
/// every finite `x`).
fn class_differs(x: f64, y: f64) -> bool {
    if x.is_nan() || y.is_nan() {
        return x.is_nan() != y.is_nan();
    }
    (x.is_infinite() || y.is_infinite()) && x != y
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
    tol.check().map_err(|msg| Error::Config {
        field: "tolerance".into(),
        msg,
    })?;
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
    let mut classes_agree = true;
    for (&x, &y) in a.iter().zip(&b) {
        if class_differs(x, y) {
            classes_agree = false;
            max_abs = f64::INFINITY;
            continue;
        }
        // Here both are finite, or both the same infinity, or both NaN.
        let d = if !y.is_finite() || x == y {
            0.0
        } else {
            (x - y).abs()
        };
        max_abs = max_abs.max(d);
        if let Tolerance::Close { rtol, atol } = tol
            && d > atol + rtol * y.abs()
        {
            close = false;
        }
    }
    let max_ulp = ulps.iter().copied().max().unwrap_or(0);
    let mismatches = ulps.iter().filter(|&&u| u != 0).count();
    let pass = classes_agree
        && match tol {
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

    #[test]
    fn non_finite_references_match_only_their_own_class() {
        let tols = [
            Tolerance::Exact,
            Tolerance::Ulp { max: u64::MAX - 1 },
            Tolerance::Close {
                rtol: 1e-3,
                atol: 1e-7,
            },
            Tolerance::Norm { rel: 1e-2 },
        ];
        let (inf, nan) = (f32::INFINITY, f32::NAN);
        // (computed, reference, pass): an infinity equals only the same infinity, a NaN only
        // a NaN, and a finite value neither (f32::MAX is one ULP from +inf).
        let cases = [
            (1.0, inf, false),
            (f32::MAX, inf, false),
            (-inf, inf, false),
            (inf, inf, true),
            (-inf, -inf, true),
            (1.0, nan, false),
            (inf, nan, false),
            (nan, nan, true),
            (nan, 1.0, false),
            (inf, f32::MAX, false),
        ];
        for tol in tols {
            for (x, y, pass) in cases {
                let c = compare("y", &f32t(vec![x, 2.0]), &f32t(vec![y, 2.0]), tol).unwrap();
                assert_eq!(c.pass, pass, "{x} against {y} under {tol:?}");
            }
        }
    }

    #[test]
    fn tolerances_must_be_finite_and_non_negative() {
        for bad in [
            "close:-1,-1",
            "close:nan,nan",
            "close:1e309,0",
            "close:0,inf",
            "norm:-1",
            "norm:nan",
            "norm:inf",
            "ulp:-1",
            "close:1",
            "loose",
        ] {
            let err = Tolerance::parse(bad).unwrap_err().to_string();
            assert!(err.starts_with("invalid tolerance: '"), "{bad}: {err}");
        }
        assert_eq!(
            Tolerance::parse("close:0,0").unwrap(),
            Tolerance::Close {
                rtol: 0.0,
                atol: 0.0
            }
        );
        assert_eq!(
            Tolerance::parse("norm:0.5").unwrap(),
            Tolerance::Norm { rel: 0.5 }
        );
        let t = f32t(vec![1.0]);
        assert!(compare("y", &t, &t, Tolerance::Norm { rel: f64::NAN }).is_err());
    }
}
