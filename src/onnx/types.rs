//! Declared element types and shapes of values (`ValueInfoProto`) in IR terms.

use crate::error::{Error, Result};
use crate::ir::Dim;
use crate::limits::Limits;
use crate::proto::ValueInfoProto;
use crate::proto::tensor_shape_proto::dimension::Value as DimValue;
use crate::proto::type_proto::Value as TypeValue;
use crate::tensor::DType;

/// What a `ValueInfoProto` declares: element type and shape, each `None` when not given.
pub(super) type Declared = (Option<DType>, Option<Vec<Dim>>);

/// Reads the declared type of a value. Non-tensor types (sequence, map, optional, sparse,
/// opaque), unsupported element types and negative dimensions are errors; a dimension without
/// a size or with an empty name is [`Dim::Symbolic`]`("?")`. A declared shape whose fixed dims
/// alone hold more than [`Limits::max_tensor_elements`] elements is an [`Error::Limit`].
pub(super) fn declared(info: &ValueInfoProto, limits: &Limits) -> Result<Declared> {
    let name = &info.name;
    let kind = match info.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        None => return Ok((None, None)),
        Some(TypeValue::TensorType(t)) => t,
        Some(TypeValue::SequenceType(_)) => return Err(not_tensor(name, "a sequence")),
        Some(TypeValue::MapType(_)) => return Err(not_tensor(name, "a map")),
        Some(TypeValue::OptionalType(_)) => return Err(not_tensor(name, "an optional")),
        Some(TypeValue::SparseTensorType(_)) => return Err(not_tensor(name, "a sparse tensor")),
        Some(TypeValue::OpaqueType(_)) => return Err(not_tensor(name, "an opaque value")),
    };
    let dtype = match kind.elem_type {
        0 => None,
        code => Some(DType::from_onnx_code(code).ok_or_else(|| {
            Error::DType(format!(
                "value '{name}' has element type {} (code {code})",
                DType::onnx_code_name(code)
            ))
        })?),
    };
    let shape = kind.shape.as_ref().map(|s| {
        s.dim
            .iter()
            .map(|d| match &d.value {
                Some(DimValue::DimValue(v)) => {
                    usize::try_from(*v).ok().map(Dim::Fixed).ok_or_else(|| {
                        Error::malformed(
                            "ONNX model",
                            format!("value '{name}' is declared with dimension {v}"),
                        )
                    })
                }
                Some(DimValue::DimParam(p)) if !p.is_empty() => Ok(Dim::Symbolic(p.clone())),
                _ => Ok(Dim::Symbolic("?".into())),
            })
            .collect::<Result<Vec<_>>>()
    });
    let shape = shape.transpose()?;
    if let Some(dims) = &shape {
        let fixed: Vec<usize> = dims
            .iter()
            .filter_map(|d| match d {
                Dim::Fixed(n) => Some(*n),
                Dim::Symbolic(_) => None,
            })
            .collect();
        limits.elements(&fixed, &format!("value '{name}' (declared)"))?;
    }
    Ok((dtype, shape))
}

fn not_tensor(name: &str, what: &str) -> Error {
    Error::DType(format!(
        "value '{name}' is {what}; only tensors are supported"
    ))
}
