//! BatchNormalization, LayerNormalization and Softmax: output shapes (their attributes are
//! the op's fields).

use super::{Infer, Typed};
use crate::error::{Error, Result};
use crate::tensor::ops::normalize_axis;

/// LayerNormalization: Y of X's shape, then the mean and inverse standard deviation with
/// every normalised axis (from `axis` on) of size 1.
pub fn layer_normalization(cx: &Infer, axis: i64) -> Result<Typed> {
    let xs = cx.shape(0)?;
    let ax = normalize_axis(axis, xs.len())?;
    if xs[ax..].contains(&0) {
        return Err(Error::Shape(format!(
            "LayerNormalization normalises over nothing: input {xs:?} is empty from axis {ax} on"
        )));
    }
    let mut stats = xs.to_vec();
    stats[ax..].fill(1);
    let dt = cx.dtype(0)?;
    Ok(vec![(dt, xs.to_vec()), (dt, stats.clone()), (dt, stats)])
}
