//! The ONNX type and shape rules between a node's inputs that shape inference does not need
//! but onnxruntime enforces: operands of one type, zero points of their data's type and of
//! one element or one per channel, a bias per output channel, pooling pads below the kernel
//! (`ops::pool`).
//! Checked for every node at specialisation, before constant folding, so that a model that
//! breaks one is refused whether or not its values are known.

use super::infer::Facts;
use super::ops::pool;
use super::{Node, Op, ValueId};
use crate::error::{Error, Result};
use crate::tensor::DType;

/// Checks the rules of `node` (its inputs' facts known).
pub(super) fn check(f: &Facts, node: &Node) -> Result<()> {
    if let Op::FusedRelu(op) = &node.op {
        return check(f, &node.with_op((**op).clone()));
    }
    let at = |i: usize| node.inputs.get(i).copied().flatten();
    match &node.op {
        Op::Conv(_) | Op::ConvTranspose(_) => {
            same_type(f, node, &[0, 1, 2], &["X", "W", "B"])?;
            if let (Op::Conv(_), Some(w), Some(b)) = (&node.op, at(1), at(2)) {
                let channels = f.shape(w).first().copied().unwrap_or(0);
                if f.shape(b) != [channels] {
                    return Err(Error::Shape(format!(
                        "bias B {:?} is not one value per output channel ({channels})",
                        f.shape(b)
                    )));
                }
            }
            Ok(())
        }
        Op::MatMul => same_type(f, node, &[0, 1], &["A", "B"]),
        Op::Gemm(_) => same_type(f, node, &[0, 1, 2], &["A", "B", "C"]),
        Op::ConvInteger(_) => {
            let channels = at(1).and_then(|w| f.shape(w).first().copied());
            quantized(f, node, 0, None, 2, "x")?;
            quantized(f, node, 1, None, 3, "w")?;
            per_tensor(f, node, &[2], "x")?;
            per_channel(f, node, &[3], channels, "w", "output channel")
        }
        Op::MatMulInteger => {
            quantized(f, node, 0, None, 2, "a")?;
            quantized(f, node, 1, None, 3, "b")?;
            let (rows, cols) = matrix_dims(f, at(0), at(1));
            per_channel(f, node, &[2], rows, "a", "row")?;
            per_channel(f, node, &[3], cols, "b", "column")
        }
        Op::QLinearConv(..) => {
            let channels = at(3).and_then(|w| f.shape(w).first().copied());
            quantized(f, node, 0, Some(1), 2, "x")?;
            quantized(f, node, 3, Some(4), 5, "w")?;
            per_tensor(f, node, &[1, 2], "x")?;
            per_channel(f, node, &[4, 5], channels, "w", "output channel")?;
            per_tensor(f, node, &[6, 7], "y")?;
            if let Some(b) = at(8) {
                let c = channels.unwrap_or(0);
                if f.dtype(b) != DType::I32 || f.shape(b) != [c] {
                    return Err(Error::Shape(format!(
                        "bias B ({} {:?}) is not one int32 per output channel ({c})",
                        f.dtype(b),
                        f.shape(b)
                    )));
                }
            }
            Ok(())
        }
        Op::QLinearMatMul(_) => {
            quantized(f, node, 0, Some(1), 2, "a")?;
            quantized(f, node, 3, Some(4), 5, "b")?;
            let (rows, cols) = matrix_dims(f, at(0), at(3));
            per_channel(f, node, &[1, 2], rows, "a", "row")?;
            per_channel(f, node, &[4, 5], cols, "b", "column")?;
            per_tensor(f, node, &[6, 7], "y")
        }
        Op::MaxPool(p) | Op::AveragePool(p) => pool::pads_below_kernel(p),
        _ => Ok(()),
    }
}

/// The inputs at `positions` (those given) share one element type.
fn same_type(f: &Facts, node: &Node, positions: &[usize], names: &[&str]) -> Result<()> {
    let given: Vec<(&str, DType)> = positions
        .iter()
        .zip(names)
        .filter_map(|(&i, &n)| Some((n, f.dtype(node.inputs.get(i).copied().flatten()?))))
        .collect();
    match given.iter().find(|(_, d)| *d != given[0].1) {
        Some((name, d)) => Err(Error::DType(format!(
            "{} is {} but {name} is {d}: the operands must have one type",
            given[0].0, given[0].1
        ))),
        None => Ok(()),
    }
}

/// Quantized data at `data` is int8 or uint8, its scale (if any) a float and its zero point
/// (if given) of the data's type.
fn quantized(
    f: &Facts,
    node: &Node,
    data: usize,
    scale: Option<usize>,
    zero_point: usize,
    name: &str,
) -> Result<()> {
    let at = |i: usize| node.inputs.get(i).copied().flatten();
    let Some(x) = at(data) else {
        return Ok(());
    };
    let dt = f.dtype(x);
    if !matches!(dt, DType::I8 | DType::U8) {
        return Err(Error::DType(format!(
            "{name} is {dt}; quantized data must be int8 or uint8"
        )));
    }
    if let Some(s) = scale.and_then(at)
        && !f.dtype(s).is_float()
    {
        return Err(Error::DType(format!(
            "{name}_scale is {}, not a float type",
            f.dtype(s)
        )));
    }
    match at(zero_point) {
        Some(z) if f.dtype(z) != dt => Err(Error::DType(format!(
            "{name}_zero_point is {} but {name} is {dt}: a zero point has its data's type",
            f.dtype(z)
        ))),
        _ => Ok(()),
    }
}

/// The quantization parameters at `positions` (those given) hold one element.
fn per_tensor(f: &Facts, node: &Node, positions: &[usize], name: &str) -> Result<()> {
    per_channel(f, node, positions, None, name, "")
}

/// The quantization parameters at `positions` (those given; scale then zero point) hold one
/// element, or one per `what` (`count` of them, when known) as a vector, and agree in length.
fn per_channel(
    f: &Facts,
    node: &Node,
    positions: &[usize],
    count: Option<usize>,
    name: &str,
    what: &str,
) -> Result<()> {
    let mut lengths = Vec::new();
    for &i in positions {
        let Some(v) = node.inputs.get(i).copied().flatten() else {
            continue;
        };
        let s = f.shape(v);
        let len: usize = s.iter().product();
        let one = len == 1 && s.len() <= 1;
        let vector = count.is_some_and(|c| s == [c]);
        if !one && !vector {
            let param = if i == positions[positions.len() - 1] {
                "zero_point"
            } else {
                "scale"
            };
            let allowed = match count {
                Some(c) => format!("one value or one per {what} ({c})"),
                None => "one value".to_string(),
            };
            return Err(Error::Shape(format!(
                "{name}_{param} has shape {s:?}; it must hold {allowed}"
            )));
        }
        lengths.push(len);
    }
    if lengths.windows(2).any(|w| w[0] != w[1]) {
        return Err(Error::Shape(format!(
            "{name}_scale and {name}_zero_point differ in length: {} and {}",
            lengths[0], lengths[1]
        )));
    }
    Ok(())
}

/// The rows of `a` and the columns of `b` of a matrix product (numpy promotion of 1-D).
fn matrix_dims(
    f: &Facts,
    a: Option<ValueId>,
    b: Option<ValueId>,
) -> (Option<usize>, Option<usize>) {
    let rows = a.map(|a| f.shape(a)).and_then(|s| match s.len() {
        0 => None,
        1 => Some(1),
        n => Some(s[n - 2]),
    });
    let cols = b.map(|b| f.shape(b)).and_then(|s| match s.len() {
        0 => None,
        1 => Some(1),
        n => Some(s[n - 1]),
    });
    (rows, cols)
}
