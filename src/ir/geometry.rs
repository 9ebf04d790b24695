//! Output sizes and effective pads of convolution and pooling windows (ONNX rules).

use super::{AutoPad, ConvAttrs, ConvTransposeAttrs, PoolAttrs};
use crate::error::{Error, Result};
pub use crate::kernel::Window;

fn or_ones(v: &[usize], n: usize, what: &str) -> Result<Vec<usize>> {
    match v.len() {
        0 => Ok(vec![1; n]),
        l if l == n => {
            if v.contains(&0) {
                Err(Error::Shape(format!("{what} must be positive, got {v:?}")))
            } else {
                Ok(v.to_vec())
            }
        }
        l => Err(Error::Shape(format!(
            "{what} has {l} values for {n} spatial dims"
        ))),
    }
}

/// Checks `kernel` against `n` spatial dims and resolves strides and dilations (empty = 1).
fn steps(
    kernel: &[usize],
    strides: &[usize],
    dilations: &[usize],
    n: usize,
) -> Result<(Vec<usize>, Vec<usize>)> {
    if kernel.len() != n || kernel.contains(&0) {
        return Err(Error::Shape(format!(
            "kernel {kernel:?} does not fit {n} spatial dims"
        )));
    }
    Ok((
        or_ones(strides, n, "strides")?,
        or_ones(dilations, n, "dilations")?,
    ))
}

impl Window {
    /// The window of a pooling op with attributes `p` over an input of shape `xs` (N, C, spatial…).
    pub fn of_pool(p: &PoolAttrs, xs: &[usize]) -> Result<Window> {
        Window::new(
            xs.get(2..).unwrap_or(&[]),
            &p.kernel_shape,
            &p.strides,
            &p.dilations,
            &p.pads,
            p.auto_pad,
            p.ceil_mode,
        )
    }

    /// The window of a convolution with attributes `a` over an input of shape `xs`
    /// (N, C, spatial…) with a kernel of spatial size `kernel`.
    pub fn of_conv(a: &ConvAttrs, xs: &[usize], kernel: &[usize]) -> Result<Window> {
        Window::new(
            xs.get(2..).unwrap_or(&[]),
            kernel,
            &a.strides,
            &a.dilations,
            &a.pads,
            a.auto_pad,
            false,
        )
    }

    /// Resolves a window: `input` spatial sizes, kernel, strides/dilations/pads as declared
    /// (empty = defaults), auto_pad and ceil mode.
    pub fn new(
        input: &[usize],
        kernel: &[usize],
        strides: &[usize],
        dilations: &[usize],
        pads: &[usize],
        auto_pad: AutoPad,
        ceil_mode: bool,
    ) -> Result<Window> {
        let n = input.len();
        let (strides, dilations) = steps(kernel, strides, dilations, n)?;
        let (mut pad_begin, mut pad_end) = match pads.len() {
            0 => (vec![0; n], vec![0; n]),
            l if l == 2 * n => (pads[..n].to_vec(), pads[n..].to_vec()),
            l => {
                return Err(Error::Shape(format!(
                    "pads has {l} values for {n} spatial dims"
                )));
            }
        };
        let mut output = Vec::with_capacity(n);
        for i in 0..n {
            let span = dilations[i]
                .checked_mul(kernel[i] - 1)
                .and_then(|v| v.checked_add(1))
                .ok_or_else(|| Error::Shape("kernel span overflows".into()))?;
            let out = match auto_pad {
                AutoPad::SameUpper | AutoPad::SameLower => {
                    let out = input[i].div_ceil(strides[i]);
                    let needed =
                        ((out.saturating_sub(1)) * strides[i] + span).saturating_sub(input[i]);
                    let (small, big) = (needed / 2, needed - needed / 2);
                    (pad_begin[i], pad_end[i]) = if auto_pad == AutoPad::SameUpper {
                        (small, big)
                    } else {
                        (big, small)
                    };
                    out
                }
                AutoPad::Valid | AutoPad::NotSet => {
                    if auto_pad == AutoPad::Valid {
                        pad_begin[i] = 0;
                        pad_end[i] = 0;
                    }
                    let padded = input[i] + pad_begin[i] + pad_end[i];
                    if padded < span {
                        return Err(Error::Shape(format!(
                            "window span {span} exceeds padded input {padded}"
                        )));
                    }
                    let room = padded - span;
                    let mut out = if ceil_mode {
                        room.div_ceil(strides[i]) + 1
                    } else {
                        room / strides[i] + 1
                    };
                    // ONNX: in ceil mode the last window must start inside the input or left padding.
                    if ceil_mode && (out - 1) * strides[i] >= input[i] + pad_begin[i] {
                        out -= 1;
                    }
                    out
                }
            };
            output.push(out);
        }
        Ok(Window {
            kernel: kernel.to_vec(),
            strides,
            dilations,
            pad_begin,
            pad_end,
            input: input.to_vec(),
            output,
        })
    }

    /// Resolves the window of a transposed convolution (ConvTranspose): `input` spatial sizes,
    /// kernel, strides/dilations/pads/output_padding as declared (empty = defaults), the
    /// requested spatial `output_shape` (empty = none) and auto_pad, following the ONNX
    /// reference: input position `i` and tap `k` feed output position
    /// `i·stride + k·dilation − pad_begin`. `output_shape` sets the output size (positions past
    /// the full result are zero); with `SAME_*` it (default `input · stride`) also sets the
    /// pads, SAME_UPPER putting the smaller half first.
    #[allow(clippy::too_many_arguments)]
    pub fn transposed(
        input: &[usize],
        kernel: &[usize],
        strides: &[usize],
        dilations: &[usize],
        pads: &[usize],
        output_padding: &[usize],
        output_shape: &[usize],
        auto_pad: AutoPad,
    ) -> Result<Window> {
        let n = input.len();
        let (strides, dilations) = steps(kernel, strides, dilations, n)?;
        let extra = match output_padding.len() {
            0 => vec![0; n],
            l if l == n => output_padding.to_vec(),
            l => {
                return Err(Error::Shape(format!(
                    "output_padding has {l} values for {n} spatial dims"
                )));
            }
        };
        let requested = match output_shape.len() {
            0 => None,
            l if l == n => Some(output_shape.to_vec()),
            l if l == n + 2 => Some(output_shape[2..].to_vec()),
            l => {
                return Err(Error::Shape(format!(
                    "output_shape has {l} values for {n} spatial dims"
                )));
            }
        };
        let (mut pad_begin, pad_end) = match (pads.len(), auto_pad) {
            (_, AutoPad::Valid) | (0, _) => (vec![0; n], vec![0; n]),
            (l, _) if l == 2 * n => (pads[..n].to_vec(), pads[n..].to_vec()),
            (l, _) => {
                return Err(Error::Shape(format!(
                    "pads has {l} values for {n} spatial dims"
                )));
            }
        };
        // As the ONNX spec and onnxruntime: each output padding below its stride (or
        // dilation), and no transposed convolution of an empty spatial axis.
        if let Some(i) = (0..n).find(|&i| extra[i] >= strides[i] && extra[i] >= dilations[i]) {
            return Err(Error::Shape(format!(
                "output_padding {} of spatial dim {i} is not below its stride {} or dilation {}",
                extra[i], strides[i], dilations[i]
            )));
        }
        if let Some(i) = (0..n).find(|&i| input[i] == 0) {
            return Err(Error::Shape(format!(
                "ConvTranspose of an input {input:?} empty along spatial dim {i}"
            )));
        }
        let mut output = Vec::with_capacity(n);
        for i in 0..n {
            let full = input[i]
                .saturating_sub(1)
                .checked_mul(strides[i])
                .and_then(|v| v.checked_add(extra[i]))
                .and_then(|v| v.checked_add(dilations[i].checked_mul(kernel[i] - 1)? + 1))
                .ok_or_else(|| Error::Shape("transposed window overflows".into()))?;
            let same = matches!(auto_pad, AutoPad::SameUpper | AutoPad::SameLower);
            let out = match requested.as_ref().map(|r| r[i]) {
                None if same => input[i] * strides[i],
                Some(o) => o,
                None => full.checked_sub(pad_begin[i] + pad_end[i]).ok_or_else(|| {
                    Error::Shape(format!(
                        "pads {}+{} exceed the transposed output {full}",
                        pad_begin[i], pad_end[i]
                    ))
                })?,
            };
            if same {
                let total = full as i64 - out as i64;
                let begin = if auto_pad == AutoPad::SameUpper {
                    total.div_euclid(2)
                } else {
                    total - total.div_euclid(2)
                };
                pad_begin[i] = usize::try_from(begin).map_err(|_| {
                    Error::Shape(format!(
                        "output size {out} exceeds the transposed output {full}"
                    ))
                })?;
            }
            if out == 0 {
                return Err(Error::Shape(format!(
                    "ConvTranspose output of spatial dim {i} is empty"
                )));
            }
            output.push(out);
        }
        Ok(Window {
            kernel: kernel.to_vec(),
            strides,
            dilations,
            pad_begin,
            pad_end,
            input: input.to_vec(),
            output,
        })
    }

    /// The window of ConvTranspose of input shape `xs` (N, C, spatial…) and weight shape `ws`
    /// (C, M/group, kernel…), after checking that they fit the attributes.
    pub fn of_conv_transpose(a: &ConvTransposeAttrs, xs: &[usize], ws: &[usize]) -> Result<Window> {
        let c = &a.conv;
        let group = c.group.max(1);
        if xs.len() < 3 || ws.len() != xs.len() {
            return Err(Error::Shape(format!(
                "ConvTranspose input {xs:?} and weight {ws:?} ranks do not fit"
            )));
        }
        if xs[1] != ws[0] || !ws[0].is_multiple_of(group) {
            return Err(Error::Shape(format!(
                "ConvTranspose input channels {} do not match weight {ws:?} with group {group}",
                xs[1]
            )));
        }
        if c.kernel_shape.as_ref().is_some_and(|k| k[..] != ws[2..]) {
            return Err(Error::Shape(format!(
                "kernel_shape {:?} differs from the weight {ws:?}",
                c.kernel_shape
            )));
        }
        Window::transposed(
            &xs[2..],
            &ws[2..],
            &c.strides,
            &c.dilations,
            &c.pads,
            &a.output_padding,
            &a.output_shape,
            c.auto_pad,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_sizes_match_the_onnx_formulas() {
        // 5x5, k3, s2, pad 1: floor((5+2-3)/2)+1 = 3.
        let w = Window::new(
            &[5, 5],
            &[3, 3],
            &[2, 2],
            &[],
            &[1, 1, 1, 1],
            AutoPad::NotSet,
            false,
        )
        .unwrap();
        assert_eq!(w.output, vec![3, 3]);
        // SAME_UPPER 5, s2: ceil(5/2) = 3, needed pad = (3-1)*2+3-5 = 2 → 1/1.
        let w = Window::new(&[5], &[3], &[2], &[], &[], AutoPad::SameUpper, false).unwrap();
        assert_eq!((w.output[0], w.pad_begin[0], w.pad_end[0]), (3, 1, 1));
        // SAME_LOWER 4, k2 s1: out 4, needed 1 → begin 1, end 0.
        let w = Window::new(&[4], &[2], &[1], &[], &[], AutoPad::SameLower, false).unwrap();
        assert_eq!((w.output[0], w.pad_begin[0], w.pad_end[0]), (4, 1, 0));
        // ceil mode: 6, k3, s2 → floor 2, ceil 3 (last window starts at 4 < 6).
        let w = Window::new(&[6], &[3], &[2], &[], &[], AutoPad::NotSet, true).unwrap();
        assert_eq!(w.output, vec![3]);
        // dilation 2, k3 → span 5 over 7: out 3.
        let w = Window::new(&[7], &[3], &[], &[2], &[], AutoPad::NotSet, false).unwrap();
        assert_eq!(w.output, vec![3]);
        assert!(Window::new(&[2], &[3], &[], &[], &[], AutoPad::NotSet, false).is_err());
    }

    #[test]
    fn transposed_sizes_match_the_onnx_reference() {
        let t =
            |input: &[usize], k, s: &[usize], pads: &[usize], op: &[usize], os: &[usize], ap| {
                Window::transposed(input, k, s, &[], pads, op, os, ap).unwrap()
            };
        // Full output: s·(in−1) + k = 3·2 + 3 = 9 and 2·2 + 3 = 7; pads remove, output_padding adds.
        let w = t(&[3, 3], &[3, 3], &[3, 2], &[], &[], &[], AutoPad::NotSet);
        assert_eq!(w.output, vec![9, 7]);
        let w = t(
            &[3, 3],
            &[3, 3],
            &[3, 2],
            &[1, 2, 1, 2],
            &[],
            &[],
            AutoPad::NotSet,
        );
        assert_eq!(w.output, vec![7, 3]);
        let w = t(
            &[3, 3],
            &[3, 3],
            &[3, 2],
            &[],
            &[1, 1],
            &[],
            AutoPad::NotSet,
        );
        assert_eq!(w.output, vec![10, 8]);
        let w = t(
            &[3, 3],
            &[3, 3],
            &[3, 2],
            &[],
            &[],
            &[10, 8],
            AutoPad::NotSet,
        );
        assert_eq!((w.output, w.pad_begin), (vec![10, 8], vec![0, 0]));
        // SAME_UPPER, stride 2: output 6 of the full 7, the extra pad at the end.
        let w = t(&[3], &[3], &[2], &[], &[], &[], AutoPad::SameUpper);
        assert_eq!((w.output[0], w.pad_begin[0]), (6, 0));
        let w = t(&[3], &[3], &[2], &[], &[], &[], AutoPad::SameLower);
        assert_eq!((w.output[0], w.pad_begin[0]), (6, 1));
        assert!(
            Window::transposed(&[3], &[3], &[], &[], &[3, 3], &[], &[], AutoPad::NotSet).is_err()
        );
    }
}
