//! The timing model zoo: nine published networks built in memory as ONNX models with their
//! real layer shapes and seeded synthetic weights, for cycles, tiles, MACs and scheduling.
//!
//! | name | network | input |
//! |---|---|---|
//! | `resnet50` | ResNet-50 v1.5 (torchvision) | `input [N,3,224,224]` |
//! | `mobilenet_v2` | MobileNetV2 1.0 (torchvision), ReLU6 as `Clip(0, 6)` | `input [N,3,224,224]` |
//! | `googlenet` | GoogLeNet / Inception v1 (torchvision, no auxiliary heads) | `input [N,3,224,224]` |
//! | `vgg16` | VGG-16, configuration D (torchvision) | `input [N,3,224,224]` |
//! | `ssd_resnet34` | SSD-ResNet34 1200×1200 (MLPerf Inference) | `input [N,3,1200,1200]` |
//! | `bert_base` | BERT-base encoder, sequence 128 | `embeddings [N,128,768]` |
//! | `gpt_block` | one GPT-2-small decoder block and `ln_f`, sequence 128 | `hidden_states [N,128,768]` |
//! | `gpt2_small` | GPT-2 small with a KV cache and LM head | `hidden_states [N,seq,768]`, cache `[N,12,past,64]` |
//! | `opt_1_3b` | OPT-1.3B with a KV cache and LM head | `hidden_states [N,seq,2048]`, cache `[N,32,past,64]` |
//!
//! A workload names one as `model = "zoo:resnet50"`; `cdmsa zoo --out DIR` writes them as
//! `.onnx` files. In memory the weights are declared with their types and shapes and made
//! (normal values from a ChaCha8 stream per weight, He-scaled) only when something reads
//! them, so a timing run never holds the zoo's 1.1 GB of weights. `models/zoo/README.md`
//! gives the layer-shape sources and the published MAC counts they are checked against.

mod cnn;
mod decoder;
mod net;
mod transformer;
mod weights;

pub use net::ZooModel;

use crate::error::{Error, Result};
use crate::ir::Graph;
use crate::limits::Limits;
use crate::onnx::{import_with, load_model_within};
use crate::tensor::pb::tensor_to_le_bytes;
use prost::Message;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The zoo's models by name, in the order `cdmsa zoo` lists them.
pub const NAMES: [&str; 9] = [
    "resnet50",
    "mobilenet_v2",
    "googlenet",
    "vgg16",
    "ssd_resnet34",
    "bert_base",
    "gpt_block",
    "gpt2_small",
    "opt_1_3b",
];

/// The zoo's decoders with a KV cache, the last of [`NAMES`]: a request of theirs is a token
/// loop (a workload tenant's `decode`), specialised by the dims `seq`, `past` and `total`.
pub const DECODERS: [&str; 2] = ["gpt2_small", "opt_1_3b"];

/// The prefix that names a zoo model where a model file is expected.
pub const PREFIX: &str = "zoo:";

/// Builds the zoo model `name` (one of [`NAMES`]).
pub fn build(name: &str) -> Result<ZooModel> {
    Ok(match name {
        "resnet50" => cnn::resnet50(),
        "mobilenet_v2" => cnn::mobilenet_v2(),
        "googlenet" => cnn::googlenet(),
        "vgg16" => cnn::vgg16(),
        "ssd_resnet34" => cnn::ssd_resnet34(),
        "bert_base" => transformer::bert_base(),
        "gpt_block" => transformer::gpt_block(),
        "gpt2_small" => decoder::gpt2_small(),
        "opt_1_3b" => decoder::opt_1_3b(),
        _ => return Err(unknown(name)),
    })
}

fn unknown(name: &str) -> Error {
    Error::Invalid(format!(
        "no zoo model '{name}' (the zoo has {})",
        NAMES.join(", ")
    ))
}

impl ZooModel {
    /// The model's name.
    pub fn name(&self) -> &str {
        self.proto.graph.as_ref().map_or("", |g| g.name.as_str())
    }

    /// The IR graph, imported as from the model's file; the weights are made when read.
    pub fn graph(&self, limits: &Limits) -> Result<Graph> {
        let supplied: HashMap<String, _> = self
            .weights
            .iter()
            .map(|w| (w.name.clone(), w.constant()))
            .collect();
        import_with(&self.proto, &supplied, limits)
    }

    /// The model as `.onnx` bytes, every weight written out.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut proto = self.proto.clone();
        let graph = proto.graph.as_mut().expect("zoo models have a graph");
        for w in &self.weights {
            let t = graph
                .initializer
                .iter_mut()
                .find(|t| t.name == w.name)
                .expect("every synthetic weight is declared as an initializer");
            t.raw_data = tensor_to_le_bytes(&w.tensor()).into();
        }
        proto.encode_to_vec()
    }

    /// Writes the model to `dir/NAME.onnx` and returns the path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        let path = dir.join(format!("{}.onnx", self.name()));
        std::fs::write(&path, self.to_bytes()).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }
}

/// Where a tenant's model comes from: an `.onnx` file or the zoo.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSource {
    /// An ONNX file.
    File(PathBuf),
    /// A zoo model, by name (one of [`NAMES`]).
    Zoo(&'static str),
}

impl ModelSource {
    /// `zoo:NAME` names a zoo model (an unknown name is an error); anything else is a file
    /// path, relative to `base_dir`.
    pub fn parse(spec: &str, base_dir: &Path) -> Result<ModelSource> {
        match spec.strip_prefix(PREFIX) {
            Some(name) => NAMES
                .iter()
                .find(|n| **n == name)
                .map(|n| ModelSource::Zoo(n))
                .ok_or_else(|| unknown(name)),
            None => Ok(ModelSource::File(base_dir.join(spec))),
        }
    }

    /// The file, or `zoo:NAME`: what errors about the model name.
    pub fn label(&self) -> PathBuf {
        match self {
            ModelSource::File(p) => p.clone(),
            ModelSource::Zoo(name) => PathBuf::from(format!("{PREFIX}{name}")),
        }
    }

    /// The model's graph, loaded within `limits`; errors name the file or zoo model.
    pub fn load(&self, limits: &Limits) -> Result<Graph> {
        match self {
            ModelSource::File(path) => load_model_within(path, limits),
            ModelSource::Zoo(name) => build(name)?
                .graph(limits)
                .map_err(|e| e.in_file(self.label())),
        }
    }
}

impl fmt::Display for ModelSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.label().display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_zoo_names_and_paths() {
        let base = Path::new("/w");
        assert_eq!(
            ModelSource::parse("zoo:gpt_block", base).unwrap(),
            ModelSource::Zoo("gpt_block")
        );
        assert_eq!(
            ModelSource::parse("m/a.onnx", base).unwrap(),
            ModelSource::File(PathBuf::from("/w/m/a.onnx"))
        );
        let err = ModelSource::parse("zoo:alexnet", base)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no zoo model 'alexnet'"), "{err}");
        assert_eq!(ModelSource::Zoo("vgg16").to_string(), "zoo:vgg16");
    }

    #[test]
    fn every_name_builds_a_model_of_that_name() {
        for name in NAMES {
            assert_eq!(build(name).unwrap().name(), name);
        }
        assert!(build("alexnet").is_err());
        assert_eq!(NAMES[NAMES.len() - DECODERS.len()..], DECODERS);
    }
}
