//! ONNX `TensorProto` ↔ [`Tensor`], and `.pb` tensor files (the ONNX backend-test layout).
//!
//! Decoding follows `onnx.proto`: data comes from `raw_data` (fixed-width little-endian), or
//! from the typed field of the element type (`float_data`; `int32_data`, which also carries
//! int8/uint8/bool values and float16/bfloat16 bit patterns; `int64_data`), or, when
//! `data_location` is `EXTERNAL`, from the file named by `external_data`, relative to the
//! model's directory. Every size is checked before anything is allocated: hostile input gives
//! an error, never a panic or an allocation larger than [`MAX_TENSOR_ELEMENTS`] elements.

use super::{Constant, DType, Tensor};
use crate::error::{Error, Result, write_file};
use crate::limits::Limits;
use crate::map_tensor;
use crate::proto::TensorProto;
use crate::proto::tensor_proto::DataLocation;
use half::{bf16, f16};
use ndarray::{ArrayD, IxDyn};
use prost::Message;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path};

/// The largest number of elements a decoded tensor may have (2^31); larger tensors are
/// rejected before any allocation.
pub const MAX_TENSOR_ELEMENTS: usize = 1 << 31;

const WHAT: &str = "TensorProto";

/// Decodes a `TensorProto`. `base_dir` is the directory external data is relative to
/// (the model's directory); without it, a tensor with external data is an error.
pub fn tensor_from_proto(t: &TensorProto, base_dir: Option<&Path>) -> Result<Tensor> {
    let limits = Limits {
        max_tensor_elements: MAX_TENSOR_ELEMENTS,
        ..Limits::default()
    };
    tensor_from_proto_within(t, base_dir, &limits)
}

/// [`tensor_from_proto`] within `limits`: a tensor with more than
/// [`Limits::max_tensor_elements`] elements (capped at [`MAX_TENSOR_ELEMENTS`]) is an
/// [`Error::Limit`], found before anything is allocated.
pub fn tensor_from_proto_within(
    t: &TensorProto,
    base_dir: Option<&Path>,
    limits: &Limits,
) -> Result<Tensor> {
    constant_from_proto_within(t, base_dir, limits).map(Constant::into_tensor)
}

/// [`tensor_from_proto_within`] as a [`Constant`]: `raw_data` and external data are checked
/// now (with the same errors) and decoded when first read; `raw_data` is shared with the
/// message, not copied.
pub fn constant_from_proto_within(
    t: &TensorProto,
    base_dir: Option<&Path>,
    limits: &Limits,
) -> Result<Constant> {
    let bad = |msg: String| Error::malformed(WHAT, format!("tensor '{}': {msg}", t.name));
    let dtype = DType::from_onnx_code(t.data_type).ok_or_else(|| {
        Error::DType(format!(
            "tensor '{}' has element type {} (code {})",
            t.name,
            DType::onnx_code_name(t.data_type),
            t.data_type
        ))
    })?;
    let shape = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| bad(format!("negative dimension {d}"))))
        .collect::<Result<Vec<_>>>()?;
    limits.elements(&shape, &format!("tensor '{}'", t.name))?;
    let count = element_count(&shape).map_err(bad)?;
    let has_typed =
        !(t.float_data.is_empty() && t.int32_data.is_empty() && t.int64_data.is_empty());
    match DataLocation::try_from(t.data_location) {
        Ok(DataLocation::External) => {
            if has_typed || !t.raw_data.is_empty() {
                return Err(bad("external data and inline data both present".into()));
            }
            let dir = base_dir.ok_or_else(|| {
                bad("has external data but the model's directory is unknown".into())
            })?;
            let bytes = read_external(t, dir, count * dtype.size_bytes())?;
            Constant::from_le_bytes(dtype, &shape, bytes.into()).map_err(bad)
        }
        Ok(DataLocation::Default) if !t.raw_data.is_empty() => {
            if has_typed {
                return Err(bad("raw_data and a typed data field both present".into()));
            }
            Constant::from_le_bytes(dtype, &shape, t.raw_data.clone()).map_err(bad)
        }
        Ok(DataLocation::Default) => from_typed_fields(t, dtype, &shape, count)
            .map(Constant::from)
            .map_err(bad),
        Err(_) => Err(bad(format!("unknown data_location {}", t.data_location))),
    }
}

/// Encodes a tensor as a `TensorProto` with `raw_data` (little-endian, row-major).
pub fn tensor_to_proto(t: &Tensor, name: &str) -> TensorProto {
    TensorProto {
        dims: t.shape().iter().map(|&d| d as i64).collect(),
        data_type: t.dtype().onnx_code(),
        raw_data: tensor_to_le_bytes(t).into(),
        name: name.to_string(),
        ..TensorProto::default()
    }
}

/// Reads a `.pb` file holding one serialized `TensorProto` (external data is resolved
/// relative to the file's directory), of at most the default [`Limits::max_bytes`].
pub fn read_pb(path: &Path) -> Result<Tensor> {
    read_pb_within(path, Limits::default().max_bytes)
}

/// [`read_pb`] of a file of at most `max_bytes`, refused before it is read.
pub fn read_pb_within(path: &Path, max_bytes: u64) -> Result<Tensor> {
    let bytes = crate::files::read(path, max_bytes, "--max-bytes")?;
    decode(&bytes, path.parent()).map_err(|e| e.in_file(path))
}

/// Decodes the bytes of a `.pb` file (one serialized `TensorProto`); a tensor with
/// external data is an error, as there is no directory to resolve it in.
pub fn decode_pb(bytes: &[u8]) -> Result<Tensor> {
    decode(bytes, None)
}

fn decode(bytes: &[u8], base_dir: Option<&Path>) -> Result<Tensor> {
    let t = TensorProto::decode(bytes).map_err(|e| Error::malformed(WHAT, e.to_string()))?;
    tensor_from_proto(&t, base_dir)
}

/// Writes a tensor as a `.pb` file holding one unnamed `TensorProto` with `raw_data`.
pub fn write_pb(path: &Path, t: &Tensor) -> Result<()> {
    write_file(path, &tensor_to_proto(t, "").encode_to_vec())
}

/// The number of elements of `shape`, or why it is too large. Zero-sized dimensions do not
/// lift the bound from the others: the product of the non-zero dimensions must stay within
/// [`MAX_TENSOR_ELEMENTS`] too, so that no dimension of an empty tensor is absurd.
pub(crate) fn element_count(shape: &[usize]) -> Result<usize, String> {
    let nonzero = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d.max(1)));
    match nonzero {
        Some(n) if n <= MAX_TENSOR_ELEMENTS => Ok(shape.iter().product()),
        _ => Err(format!(
            "shape {shape:?} has more than {MAX_TENSOR_ELEMENTS} elements (the limit)"
        )),
    }
}

/// Checks that `len` bytes are exactly the elements of `shape` × the size of `dtype`.
pub(crate) fn check_le_bytes(dtype: DType, shape: &[usize], len: usize) -> Result<(), String> {
    let count = element_count(shape)?;
    let expected = count * dtype.size_bytes();
    if len != expected {
        return Err(format!(
            "{len} data bytes, expected {expected} ({count} × {dtype})"
        ));
    }
    Ok(())
}

/// Builds a tensor from fixed-width little-endian bytes (bool: one byte, 0 or 1); the
/// length must be exactly elements × element size.
pub(crate) fn tensor_from_le_bytes(
    dtype: DType,
    shape: &[usize],
    bytes: &[u8],
) -> Result<Tensor, String> {
    check_le_bytes(dtype, shape, bytes.len())?;
    Ok(match dtype {
        DType::F32 => Tensor::F32(array(shape, le(bytes, f32::from_le_bytes))?),
        DType::F16 => Tensor::F16(array(shape, le(bytes, f16::from_le_bytes))?),
        DType::BF16 => Tensor::BF16(array(shape, le(bytes, bf16::from_le_bytes))?),
        DType::I8 => Tensor::I8(array(shape, le(bytes, i8::from_le_bytes))?),
        DType::U8 => Tensor::U8(array(shape, bytes.to_vec())?),
        DType::I32 => Tensor::I32(array(shape, le(bytes, i32::from_le_bytes))?),
        DType::I64 => Tensor::I64(array(shape, le(bytes, i64::from_le_bytes))?),
        DType::Bool => {
            let values = bytes
                .iter()
                .map(|&b| match b {
                    0 => Ok(false),
                    1 => Ok(true),
                    _ => Err(format!("bool byte {b} is neither 0 nor 1")),
                })
                .collect::<Result<Vec<_>, String>>()?;
            Tensor::Bool(array(shape, values)?)
        }
    })
}

/// The elements of a tensor as fixed-width little-endian bytes in row-major order
/// (bool as one byte, 0 or 1).
pub(crate) fn tensor_to_le_bytes(t: &Tensor) -> Vec<u8> {
    let mut out = Vec::with_capacity(t.len() * t.dtype().size_bytes());
    map_tensor!(t, a => a.iter().for_each(|v| out.extend_from_slice(&v.le_bytes())));
    out
}

/// Little-endian encoding of one element.
trait LeBytes {
    type Bytes: AsRef<[u8]>;
    fn le_bytes(&self) -> Self::Bytes;
}

macro_rules! le_bytes_via_to_le {
    ($($t:ty => $n:literal),*) => {$(
        impl LeBytes for $t {
            type Bytes = [u8; $n];
            fn le_bytes(&self) -> [u8; $n] {
                self.to_le_bytes()
            }
        }
    )*};
}
le_bytes_via_to_le!(f32 => 4, f16 => 2, bf16 => 2, i8 => 1, u8 => 1, i32 => 4, i64 => 8);

impl LeBytes for bool {
    type Bytes = [u8; 1];
    fn le_bytes(&self) -> [u8; 1] {
        [u8::from(*self)]
    }
}

/// Decodes `bytes` (a multiple of `N` long) as little-endian elements.
fn le<T, const N: usize>(bytes: &[u8], from: fn([u8; N]) -> T) -> Vec<T> {
    bytes.as_chunks::<N>().0.iter().map(|c| from(*c)).collect()
}

/// A row-major array of `shape` holding `values` (whose length was checked).
fn array<T>(shape: &[usize], values: Vec<T>) -> Result<ArrayD<T>, String> {
    ArrayD::from_shape_vec(IxDyn(shape), values).map_err(|e| e.to_string())
}

/// Decodes the typed data field that `onnx.proto` assigns to `dtype`.
fn from_typed_fields(
    t: &TensorProto,
    dtype: DType,
    shape: &[usize],
    count: usize,
) -> Result<Tensor, String> {
    let (field, len) = match dtype {
        DType::F32 => ("float_data", t.float_data.len()),
        DType::I64 => ("int64_data", t.int64_data.len()),
        _ => ("int32_data", t.int32_data.len()),
    };
    let others = t.float_data.len() + t.int32_data.len() + t.int64_data.len() - len;
    if others != 0 {
        return Err(format!("{dtype} data must be in raw_data or {field} only"));
    }
    if len != count {
        return Err(format!("{len} values in {field}, expected {count}"));
    }
    let ints = &t.int32_data;
    Ok(match dtype {
        DType::F32 => Tensor::F32(array(shape, t.float_data.clone())?),
        DType::I64 => Tensor::I64(array(shape, t.int64_data.clone())?),
        DType::I32 => Tensor::I32(array(shape, ints.clone())?),
        DType::I8 => Tensor::I8(array(
            shape,
            narrow(ints, dtype, |v| i8::try_from(v).ok())?,
        )?),
        DType::U8 => Tensor::U8(array(
            shape,
            narrow(ints, dtype, |v| u8::try_from(v).ok())?,
        )?),
        DType::Bool => Tensor::Bool(array(
            shape,
            narrow(ints, dtype, |v| match v {
                0 => Some(false),
                1 => Some(true),
                _ => None,
            })?,
        )?),
        DType::F16 => Tensor::F16(array(
            shape,
            narrow(ints, dtype, |v| u16::try_from(v).ok().map(f16::from_bits))?,
        )?),
        DType::BF16 => Tensor::BF16(array(
            shape,
            narrow(ints, dtype, |v| u16::try_from(v).ok().map(bf16::from_bits))?,
        )?),
    })
}

/// Converts `int32_data` entries to a narrower type, rejecting out-of-range entries.
fn narrow<T>(
    ints: &[i32],
    dtype: DType,
    conv: impl Fn(i32) -> Option<T>,
) -> Result<Vec<T>, String> {
    ints.iter()
        .map(|&v| conv(v).ok_or_else(|| format!("int32_data value {v} is not a valid {dtype}")))
        .collect()
}

/// Reads exactly `expected` bytes of external data for `t` from below `dir`.
fn read_external(t: &TensorProto, dir: &Path, expected: usize) -> Result<Vec<u8>> {
    let bad = |msg: String| Error::malformed(WHAT, format!("tensor '{}': {msg}", t.name));
    let mut location = None;
    let mut offset = 0u64;
    let mut length = None;
    for entry in &t.external_data {
        let number = || {
            entry.value.parse::<u64>().map_err(|_| {
                bad(format!(
                    "external data {} '{}' is not a number",
                    entry.key, entry.value
                ))
            })
        };
        match entry.key.as_str() {
            "location" => location = Some(entry.value.as_str()),
            "offset" => offset = number()?,
            "length" => length = Some(number()?),
            _ => {}
        }
    }
    let location = location.ok_or_else(|| bad("external data without a location".into()))?;
    let relative = Path::new(location);
    let inside = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if location.is_empty() || !inside {
        return Err(bad(format!(
            "external data location '{location}' is not a relative path inside the model's directory"
        )));
    }
    if length.is_some_and(|l| l != expected as u64) {
        return Err(bad(format!(
            "external data length {} does not match the {expected} bytes of its shape",
            length.unwrap_or_default()
        )));
    }
    // The directory of a model named without one ("model.onnx") is the current one.
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let path = dir.join(relative);
    // I/O errors name the data file here and the model where the error is reported.
    let io = |source| bad(format!("external data file {}: {source}", path.display()));
    // A symbolic link could still lead outside: compare the resolved paths.
    let resolved_dir = std::fs::canonicalize(dir)
        .map_err(|source| bad(format!("model directory {}: {source}", dir.display())))?;
    if !std::fs::canonicalize(&path)
        .map_err(io)?
        .starts_with(&resolved_dir)
    {
        return Err(bad(format!(
            "external data location '{location}' resolves outside the model's directory"
        )));
    }
    let (mut file, size) =
        crate::files::open_regular(&path).map_err(|e| bad(format!("external data file {e}")))?;
    let end = offset.checked_add(expected as u64);
    if end.is_none_or(|end| end > size) {
        return Err(bad(format!(
            "external data needs {expected} bytes at offset {offset} of '{location}', which has {size}"
        )));
    }
    file.seek(SeekFrom::Start(offset)).map_err(io)?;
    let mut bytes = vec![0; expected];
    file.read_exact(&mut bytes).map_err(io)?;
    Ok(bytes)
}
