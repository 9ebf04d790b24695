//! Finding and reading what a command runs on: input and reference tensors, onnx
//! backend-test directories, and the embedded default.

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::pipeline::Model;
use crate::tensor::Tensor;
use crate::tensor::npy::read_npy_within;
use crate::tensor::pb::{decode_pb, read_pb_within};
use std::path::{Path, PathBuf};

/// The embedded default: the int8 digits CNN, 16 held-out images, onnxruntime's output, labels.
pub mod embedded {
    /// The int8 (QOperator) digits model.
    pub const MODEL: &[u8] = include_bytes!("../../models/digits/default/model.onnx");
    /// 16 held-out test images.
    pub const INPUT: &[u8] = include_bytes!("../../models/digits/default/input_0.pb");
    /// onnxruntime's logits for them.
    pub const OUTPUT: &[u8] = include_bytes!("../../models/digits/default/output_0.pb");
    /// Their labels.
    pub const LABELS: &[u8] = include_bytes!("../../models/digits/default/labels.pb");
    /// How the default is named in reports.
    pub const NAME: &str = "embedded default: digits CNN, int8 QOperator (models/digits/default)";
}

/// Reads a tensor from a `.pb` (TensorProto) or `.npy` file of at most
/// [`Limits::max_bytes`].
pub fn read_tensor(path: &Path, limits: &Limits) -> Result<Tensor> {
    let t = match path.extension().and_then(|e| e.to_str()) {
        Some("npy") => read_npy_within(path, limits.max_bytes),
        _ => read_pb_within(path, limits.max_bytes),
    };
    t.map_err(|e| e.in_file(path))
}

/// One test data set of a backend-test directory.
pub struct DataSet {
    /// The directory.
    pub dir: PathBuf,
    /// `input_*.pb`, in numeric order.
    pub inputs: Vec<Tensor>,
    /// `output_*.pb`, in numeric order.
    pub outputs: Vec<Tensor>,
}

fn numbered(dir: &Path, prefix: &str) -> Result<Vec<PathBuf>> {
    let mut files: Vec<(usize, PathBuf)> = std::fs::read_dir(dir)
        .map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| {
            let stem = p
                .file_name()?
                .to_str()?
                .strip_prefix(prefix)?
                .strip_suffix(".pb")?
                .parse()
                .ok()?;
            Some((stem, p))
        })
        .collect();
    files.sort();
    Ok(files.into_iter().map(|(_, p)| p).collect())
}

/// Every `test_data_set_*` under a backend-test directory, sorted; each file within `limits`.
pub fn data_sets(dir: &Path, limits: &Limits) -> Result<Vec<DataSet>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("test_data_set_"))
        })
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|d| {
            let inputs = numbered(&d, "input_")?
                .iter()
                .map(|p| read_tensor(p, limits))
                .collect::<Result<_>>()?;
            let outputs = numbered(&d, "output_")?
                .iter()
                .map(|p| read_tensor(p, limits))
                .collect::<Result<_>>()?;
            Ok(DataSet {
                dir: d,
                inputs,
                outputs,
            })
        })
        .collect()
}

/// The embedded default model (loaded within `limits`), input, reference and labels.
pub fn embedded_default(limits: &Limits) -> Result<(Model, Tensor, Tensor, Tensor)> {
    Ok((
        Model::decode(embedded::MODEL, Path::new("<embedded>"), limits)?,
        decode_pb(embedded::INPUT)?,
        decode_pb(embedded::OUTPUT)?,
        decode_pb(embedded::LABELS)?,
    ))
}
