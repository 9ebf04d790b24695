//! ONNX import: decodes a `ModelProto` into an [`ir::Graph`](crate::ir::Graph).
//!
//! Supported: the default domain (`""`/`"ai.onnx"`) at opsets 7 to 25, the ops of
//! [`ir::Op`](crate::ir::Op) with their attributes validated against the ONNX specification
//! at the model's opset, tensors of the [`DType`](crate::tensor::DType)s with inline or
//! external data. Initializers (also when listed as graph inputs) and `Constant` nodes become
//! constant values; the remaining graph inputs are the runtime inputs. Nodes are put in
//! topological order. Everything else — other domains, unknown ops, subgraphs, sparse
//! tensors, non-tensor values, training-mode nodes — is a clear error, never a panic.

mod constant;
mod ctx;
mod graph;
mod ops;
mod opset;
mod topo;
mod types;

pub use opset::{MAX_OPSET, MIN_OPSET};

use crate::error::{Error, Result};
use crate::ir::Graph;
use crate::limits::Limits;
use crate::proto::ModelProto;
use crate::tensor::Constant;
use bytes::Bytes;
use prost::Message;
use std::collections::HashMap;
use std::path::Path;

/// What errors about the model's structure call it.
const WHAT: &str = "ONNX model";

/// Reads and imports an `.onnx` file within the default [`Limits`]; external data is read
/// relative to its directory. Errors name the file.
pub fn load_model(path: &Path) -> Result<Graph> {
    load_model_within(path, &Limits::default())
}

/// [`load_model`] within `limits`: a file larger than [`Limits::max_bytes`] is refused before
/// it is read.
pub fn load_model_within(path: &Path, limits: &Limits) -> Result<Graph> {
    // The tensors' data stay slices of the mapped file until read: a timing-mode run never
    // pages the weights in.
    let bytes = crate::files::map(path, limits.max_bytes, "--max-bytes")?;
    decode_shared(bytes, path.parent(), limits).map_err(|e| e.in_file(path))
}

/// Imports a serialized `ModelProto` within the default [`Limits`]; external tensor data is
/// read relative to `base_dir` (without it, external data is an error).
pub fn decode_model(bytes: &[u8], base_dir: Option<&Path>) -> Result<Graph> {
    decode_model_within(bytes, base_dir, &Limits::default())
}

/// Imports model bytes from anywhere (no external data) within `limits`: the entry point of
/// the fuzz targets. Any input gives a graph or an error, never a panic, and allocates within
/// `limits`.
pub fn load_model_bytes(bytes: &[u8], limits: &Limits) -> Result<Graph> {
    decode_model_within(bytes, None, limits)
}

/// [`decode_model`] within `limits`; the graph keeps them for specialisation.
pub fn decode_model_within(
    bytes: &[u8],
    base_dir: Option<&Path>,
    limits: &Limits,
) -> Result<Graph> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(too_large(bytes.len(), limits));
    }
    decode_shared(Bytes::copy_from_slice(bytes), base_dir, limits)
}

fn too_large(len: usize, limits: &Limits) -> Error {
    Error::Limit(format!(
        "the model has {len} bytes, more than the limit of {} (--max-bytes)",
        limits.max_bytes
    ))
}

/// Decodes model bytes held in a shared buffer: the initializers' `raw_data` are slices of
/// it, checked now and decoded when first read.
fn decode_shared(bytes: Bytes, base_dir: Option<&Path>, limits: &Limits) -> Result<Graph> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(too_large(bytes.len(), limits));
    }
    let model = ModelProto::decode(bytes).map_err(|e| Error::malformed(WHAT, e.to_string()))?;
    import(&model, base_dir, limits, &HashMap::new())
}

/// Imports a decoded model whose initializers declared without data take their values from
/// `supplied` (by name; type and shape must agree): models built in memory with weights that
/// are made only when read. Nothing else differs from decoding the model's bytes.
pub fn import_with(
    model: &ModelProto,
    supplied: &HashMap<String, Constant>,
    limits: &Limits,
) -> Result<Graph> {
    import(model, None, limits, supplied)
}

fn import(
    model: &ModelProto,
    base_dir: Option<&Path>,
    limits: &Limits,
    supplied: &HashMap<String, Constant>,
) -> Result<Graph> {
    let opset = opset::default_opset(&model.opset_import)?;
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| Error::malformed(WHAT, "the model has no graph"))?;
    graph::build(graph, opset, base_dir, limits, supplied)
}
