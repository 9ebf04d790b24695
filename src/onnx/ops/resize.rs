//! Resize (opset 11 and later): nearest and linear modes with every coordinate mapping of the
//! specification; cubic interpolation, antialiasing, `exclude_outside` and the opset-11
//! `tf_half_pixel_for_nn` mapping are not supported.

use super::super::ctx::NodeCtx;
use crate::error::Result;
use crate::ir::{AspectPolicy, CoordinateTransform, NearestMode, Op, ResizeAttrs, ResizeMode};

/// `Resize(X, roi, scales, [sizes])`: roi and scales are required inputs (possibly empty)
/// in opsets 11 and 12, optional from 13; `antialias`, `axes` and `keep_aspect_ratio_policy`
/// from 18; `half_pixel_symmetric` from 19.
pub(super) fn resize(cx: &mut NodeCtx) -> Result<Op> {
    cx.since(11)?;
    cx.inputs(if cx.opset < 13 { 3 } else { 1 }, 4)?;
    let nearest = match cx.string("nearest_mode")? {
        None | Some("round_prefer_floor") => NearestMode::RoundPreferFloor,
        Some("round_prefer_ceil") => NearestMode::RoundPreferCeil,
        Some("floor") => NearestMode::Floor,
        Some("ceil") => NearestMode::Ceil,
        Some(other) => return Err(cx.err(format!("unknown nearest_mode '{other}'"))),
    };
    let cubic_a = cx.float_or("cubic_coeff_a", -0.75)?;
    let mode = match cx.string("mode")? {
        None | Some("nearest") => ResizeMode::Nearest(nearest),
        Some("linear") => ResizeMode::Linear,
        Some("cubic") => {
            return Err(cx.err(format!(
                "mode 'cubic' (cubic_coeff_a {cubic_a}) is not supported"
            )));
        }
        Some(other) => return Err(cx.err(format!("unknown mode '{other}'"))),
    };
    let transform = match cx.string("coordinate_transformation_mode")? {
        None | Some("half_pixel") => CoordinateTransform::HalfPixel,
        Some("half_pixel_symmetric") if cx.opset >= 19 => CoordinateTransform::HalfPixelSymmetric,
        Some("pytorch_half_pixel") => CoordinateTransform::PytorchHalfPixel,
        Some("align_corners") => CoordinateTransform::AlignCorners,
        Some("asymmetric") => CoordinateTransform::Asymmetric,
        Some("tf_crop_and_resize") => CoordinateTransform::TfCropAndResize,
        Some("tf_half_pixel_for_nn") if cx.opset < 13 => {
            return Err(
                cx.err("coordinate_transformation_mode 'tf_half_pixel_for_nn' is not supported")
            );
        }
        Some(other) => {
            return Err(cx.err(format!("unknown coordinate_transformation_mode '{other}'")));
        }
    };
    if cx.bool_or("exclude_outside", false)? {
        return Err(cx.err("exclude_outside=1 is not supported"));
    }
    let extrapolation_value = cx.float_or("extrapolation_value", 0.0)?;
    let (mut axes, mut aspect) = (None, AspectPolicy::Stretch);
    if cx.opset >= 18 {
        if cx.bool_or("antialias", false)? {
            return Err(cx.err("antialias=1 is not supported"));
        }
        axes = cx.ints("axes")?.map(<[i64]>::to_vec);
        aspect = match cx.string("keep_aspect_ratio_policy")? {
            None | Some("stretch") => AspectPolicy::Stretch,
            Some("not_larger") => AspectPolicy::NotLarger,
            Some("not_smaller") => AspectPolicy::NotSmaller,
            Some(other) => {
                return Err(cx.err(format!("unknown keep_aspect_ratio_policy '{other}'")));
            }
        };
    }
    Ok(Op::Resize(ResizeAttrs {
        mode,
        transform,
        extrapolation_value,
        axes,
        aspect,
    }))
}
