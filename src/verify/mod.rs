//! Compares computed tensors with references: exactness, ULP distance, absolute error, verdict.

pub mod hostile;
mod run;

pub use run::{RunReport, RunRequest, default_tolerance, verified_run};

use crate::error::{Error, Result};
use crate::numeric::{ulp_distance_bf16, ulp_distance_f16, ulp_distance_f32};
use crate::tensor::Tensor;
use ndarray::ArrayD;
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
    // One pass over the pairs, without widening copies of either tensor.
    let mut tally = Tally::new(tol);
    match (got, want) {
        (Tensor::F32(a), Tensor::F32(b)) => each_pair(a, b, |x, y| {
            let ulp = if x.is_nan() && y.is_nan() {
                0
            } else {
                ulp_distance_f32(x, y)
            };
            tally.add(ulp, f64::from(x), f64::from(y));
        }),
        (Tensor::F16(a), Tensor::F16(b)) => each_pair(a, b, |x, y| {
            let ulp = if x.is_nan() && y.is_nan() {
                0
            } else {
                ulp_distance_f16(x, y)
            };
            tally.add(ulp, x.to_f64(), y.to_f64());
        }),
        (Tensor::BF16(a), Tensor::BF16(b)) => each_pair(a, b, |x, y| {
            let ulp = if x.is_nan() && y.is_nan() {
                0
            } else {
                ulp_distance_bf16(x, y)
            };
            tally.add(ulp, x.to_f64(), y.to_f64());
        }),
        _ => {
            let (a, b) = (got.to_i64()?, want.to_i64()?);
            each_pair(&a, &b, |x, y| tally.add(x.abs_diff(y), x as f64, y as f64));
        }
    }
    let Tally {
        max_ulp,
        mismatches,
        max_abs,
        ref_scale,
        close,
        classes_agree,
        ..
    } = tally;
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

/// `f(x, y)` for every element pair of two arrays of one shape, in logical order.
fn each_pair<T: Copy>(a: &ArrayD<T>, b: &ArrayD<T>, mut f: impl FnMut(T, T)) {
    match (a.as_slice(), b.as_slice()) {
        (Some(a), Some(b)) => a.iter().zip(b).for_each(|(&x, &y)| f(x, y)),
        _ => a.iter().zip(b).for_each(|(&x, &y)| f(x, y)),
    }
}

/// What [`compare`] gathers over the element pairs.
struct Tally {
    tol: Tolerance,
    max_ulp: u64,
    mismatches: usize,
    max_abs: f64,
    /// The reference's largest finite magnitude.
    ref_scale: f64,
    close: bool,
    classes_agree: bool,
}

impl Tally {
    fn new(tol: Tolerance) -> Tally {
        Tally {
            tol,
            max_ulp: 0,
            mismatches: 0,
            max_abs: 0.0,
            ref_scale: 0.0,
            close: true,
            classes_agree: true,
        }
    }

    /// Adds a computed value `x` and its reference `y`, `ulp` apart.
    fn add(&mut self, ulp: u64, x: f64, y: f64) {
        self.max_ulp = self.max_ulp.max(ulp);
        self.mismatches += usize::from(ulp != 0);
        if y.is_finite() {
            self.ref_scale = self.ref_scale.max(y.abs());
        }
        if class_differs(x, y) {
            self.classes_agree = false;
            self.max_abs = f64::INFINITY;
            return;
        }
        // Here both are finite, or both the same infinity, or both NaN.
        let d = if !y.is_finite() || x == y {
            0.0
        } else {
            (x - y).abs()
        };
        self.max_abs = self.max_abs.max(d);
        if let Tolerance::Close { rtol, atol } = self.tol
            && d > atol + rtol * y.abs()
        {
            self.close = false;
        }
    }
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
