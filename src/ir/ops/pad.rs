//! Pad: the fill modes, the resolved pads and the output shape (negative pads crop); the copy
//! is `array::vector::pad`'s.

use super::{Infer, Typed};
use crate::error::{Error, Result};
pub use crate::kernel::PadMode;
use crate::tensor::ops::normalize_axis;

/// Per-axis `(begin, end)` pads of a tensor of rank `rank`: `pads` holds all begins then all
/// ends for `axes` (every axis when `None`).
pub fn resolve(rank: usize, pads: &[i64], axes: Option<&[i64]>) -> Result<Vec<(i64, i64)>> {
    let axes: Vec<usize> = match axes {
        Some(a) => a
            .iter()
            .map(|&x| normalize_axis(x, rank))
            .collect::<Result<_>>()?,
        None => (0..rank).collect(),
    };
    if pads.len() != 2 * axes.len() {
        return Err(Error::Shape(format!(
            "pad: {} pads for {} axes",
            pads.len(),
            axes.len()
        )));
    }
    let mut out = vec![(0, 0); rank];
    for (i, &a) in axes.iter().enumerate() {
        if out[a] != (0, 0) || axes[..i].contains(&a) {
            return Err(Error::Shape(format!("pad: axis {a} repeated")));
        }
        out[a] = (pads[i], pads[i + axes.len()]);
    }
    Ok(out)
}

/// The largest pad magnitude: a larger one would make a tensor beyond any element limit, and
/// bounding it keeps every index computation of [`pad`] within i64.
const MAX_PAD: u64 = 1 << 40;

/// The padded shape (a negative pad removes elements; nothing may go below zero). Every
/// [`pad`] goes through it, so it also rejects pads too large for the index arithmetic.
pub fn padded_shape(shape: &[usize], pads: &[(i64, i64)]) -> Result<Vec<usize>> {
    shape
        .iter()
        .zip(pads)
        .map(|(&d, &(b, e))| {
            if b.unsigned_abs() > MAX_PAD || e.unsigned_abs() > MAX_PAD {
                return Err(Error::Shape(format!(
                    "pad ({b}, {e}) is larger than {MAX_PAD} in magnitude"
                )));
            }
            i64::try_from(d)
                .ok()
                .and_then(|d| d.checked_add(b)?.checked_add(e))
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| Error::Shape(format!("pad ({b}, {e}) leaves nothing of dim {d}")))
        })
        .collect()
}

/// Edge, reflect and wrap fill from the axis they pad: padding an empty axis in those modes
/// is an error (as onnxruntime: "cannot pad dimension with a value of 0"), whether or not the
/// output is empty along another axis.
pub fn check_fill(shape: &[usize], pads: &[(i64, i64)], mode: PadMode) -> Result<()> {
    if mode == PadMode::Constant {
        return Ok(());
    }
    match shape
        .iter()
        .zip(pads)
        .position(|(&d, &(b, e))| d == 0 && (b > 0 || e > 0))
    {
        Some(ax) => Err(Error::Shape(format!(
            "pad: {mode:?} mode cannot pad axis {ax}, empty in the input {shape:?}"
        ))),
        None => Ok(()),
    }
}

/// Pad: X's type, the padded (or cropped) shape.
pub fn infer(cx: &Infer, mode: PadMode, pads: Option<&[i64]>) -> Result<Typed> {
    let pads = match pads {
        Some(p) => p.to_vec(),
        None => cx
            .const_ints(1, "Pad's pads")?
            .ok_or_else(|| Error::Shape("Pad needs pads".into()))?,
    };
    let axes = cx.const_ints(3, "Pad's axes")?;
    let xs = cx.shape(0)?;
    let resolved = resolve(xs.len(), &pads, axes.as_deref())?;
    check_fill(xs, &resolved, mode)?;
    cx.same(padded_shape(xs, &resolved)?)
}

/// The pads (1) and axes (3) inputs decide the shape unless the attribute gives the pads.
pub fn shape_inputs(pads: Option<&[i64]>) -> &'static [usize] {
    if pads.is_none() { &[1, 3] } else { &[] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_axes_and_over_crops_are_refused() {
        assert!(resolve(2, &[1, 1], Some(&[0, -2])).is_err());
        assert!(padded_shape(&[2], &[(-2, -1)]).is_err());
        assert_eq!(padded_shape(&[3], &[(2, -1)]).unwrap(), vec![4]);
    }
}
