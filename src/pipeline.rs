//! The pipeline from a model to what the accelerator runs, in its named stages:
//!
//! 1. **load**: an ONNX file, a zoo network (`zoo:NAME`) or serialized bytes → [`Model`]
//!    (the IR graph and the name its errors carry);
//! 2. **specialise**: the inputs' types and shapes bound ([`Model::declared_inputs`], or
//!    [`InputBinding::of`] given tensors);
//! 3. **rewrite** and 4. **lower**: [`Model::lower`] rewrites the specialised graph
//!    (BatchNormalization folded into convolutions, QDQ patterns absorbed into integer
//!    GEMMs, recurrent ops unrolled) and maps every node to tiled GEMMs on the arrays or to
//!    the vector unit, giving a [`Program`];
//! 5. **jobs**: the program's tile and vector kernels, cut into the jobs the simulator
//!    dispatches when it sets up a tenant.
//!
//! Commands and the simulator go through these stages rather than calling the decoder or
//! the lowering themselves; every stage's error names the model.

use crate::config::AcceleratorConfig;
use crate::error::Result;
use crate::ir::{Graph, InputBinding};
use crate::kernel::{Precision, Program};
use crate::limits::Limits;
use crate::lower::lower_at;
use crate::onnx::decode_model_within;
use crate::zoo::{self, ModelSource};
use std::path::{Path, PathBuf};

/// A loaded model: the pipeline's first stage.
#[derive(Debug)]
pub struct Model {
    /// The decoded graph.
    pub graph: Graph,
    /// The file (or `zoo:NAME`, or a stand-in such as `<embedded>`) its errors name.
    pub label: PathBuf,
}

impl Model {
    /// Loads a model file, or the zoo network `zoo:NAME`, within `limits`.
    pub fn load(path: &Path, limits: &Limits) -> Result<Model> {
        let source = match path.to_str().filter(|s| s.starts_with(zoo::PREFIX)) {
            Some(spec) => ModelSource::parse(spec, Path::new(""))?,
            None => ModelSource::File(path.to_path_buf()),
        };
        Model::from_source(&source, limits).map_err(|e| e.in_file(path))
    }

    /// Loads a workload tenant's model within `limits`.
    pub fn from_source(source: &ModelSource, limits: &Limits) -> Result<Model> {
        Ok(Model {
            graph: source.load(limits)?,
            label: source.label(),
        })
    }

    /// Decodes a serialized model (without external data) within `limits`; errors name it
    /// `label`.
    pub fn decode(bytes: &[u8], label: &Path, limits: &Limits) -> Result<Model> {
        Ok(Model {
            graph: decode_model_within(bytes, None, limits).map_err(|e| e.in_file(label))?,
            label: label.to_path_buf(),
        })
    }

    /// Specialise: the graph's runtime inputs as declared, symbolic dims bound to `batch`.
    pub fn declared_inputs(&self, batch: usize) -> Result<Vec<InputBinding>> {
        self.declared_inputs_with(batch, &[])
    }

    /// [`Model::declared_inputs`] with the symbolic dims `named` bound to their sizes (a
    /// decoder's `past` and `seq`, say).
    pub fn declared_inputs_with(
        &self,
        batch: usize,
        named: &[(String, usize)],
    ) -> Result<Vec<InputBinding>> {
        self.graph
            .declared_inputs_with(batch, named)
            .map_err(|e| e.in_file(&self.label))
    }

    /// Rewrite and lower: the program for inputs `bindings` on `cfg`, the float GEMMs on the
    /// datapath `precision` names.
    pub fn lower(
        &self,
        bindings: &[InputBinding],
        cfg: &AcceleratorConfig,
        precision: Precision,
    ) -> Result<Program> {
        lower_at(&self.graph, bindings, cfg, precision).map_err(|e| e.in_file(&self.label))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stage_names_the_model_in_its_errors() {
        let limits = Limits::default();
        let zoo = Model::load(Path::new("zoo:gpt_block"), &limits).unwrap();
        assert_eq!(zoo.label, Path::new("zoo:gpt_block"));
        let err = Model::load(Path::new("zoo:alexnet"), &limits)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("no zoo model 'alexnet'"), "{err}");
        let err = Model::decode(b"\xff\xff", Path::new("<bytes>"), &limits)
            .err()
            .unwrap()
            .to_string();
        assert!(err.starts_with("<bytes>: malformed ONNX model"), "{err}");
        let cfg = AcceleratorConfig::preset("tiny").unwrap();
        let err = zoo
            .lower(&[], &cfg, Precision::Native)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("zoo:gpt_block: "), "{err}");
    }
}
