//! onnxruntime `com.microsoft` ops against onnxruntime's own outputs
//! (models/contrib-tests, made by models/make_contrib_tests.py): DynamicQuantizeLSTM in every
//! direction, with and without bias and initial states, input_forget, int8 and uint8
//! weights, per-tensor and per-column scales — bit for bit, on two accelerators.

use cdmsa::Error;
use cdmsa::config::AcceleratorConfig;
use cdmsa::kernel::Precision;
use cdmsa::onnx::{decode_model, load_model};
use cdmsa::proto::ModelProto;
use cdmsa::tensor::pb::read_pb;
use cdmsa::verify::{RunRequest, Tolerance, verified_run};
use prost::Message;
use std::path::{Path, PathBuf};

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/contrib-tests");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    dirs
}

fn tensors(dir: &Path, prefix: &str) -> Vec<cdmsa::tensor::Tensor> {
    (0..)
        .map(|i| dir.join(format!("test_data_set_0/{prefix}_{i}.pb")))
        .take_while(|p| p.exists())
        .map(|p| read_pb(&p).unwrap())
        .collect()
}

#[test]
fn dynamic_quantize_lstm_is_bit_identical_to_onnxruntime() {
    let dirs = cases();
    assert_eq!(dirs.len(), 4, "{dirs:?}");
    for dir in &dirs {
        let graph = load_model(&dir.join("model.onnx")).unwrap();
        let (inputs, references) = (tensors(dir, "input"), tensors(dir, "output"));
        assert_eq!(references.len(), 3);
        for preset in ["tpu-msa", "tiny"] {
            let req = RunRequest {
                model: dir.display().to_string(),
                graph: &graph,
                inputs: &inputs,
                references: &references,
                tolerance: Some(Tolerance::Exact),
                labels: None,
                precision: Precision::Native,
            };
            let cfg = AcceleratorConfig::preset(preset).unwrap();
            let (report, _) = verified_run(&req, &cfg).unwrap();
            for c in &report.outputs {
                assert!(c.pass, "{} on {preset}: {c:?}", dir.display());
            }
            assert!(report.macs > 0, "the GEMMs run on the arrays");
        }
    }
}

#[test]
fn unsupported_lstm_inputs_are_named() {
    let dir = &cases()[0];
    let bytes = std::fs::read(dir.join("model.onnx")).unwrap();
    let mut m = ModelProto::decode(bytes.as_slice()).unwrap();
    let node = &mut m.graph.as_mut().unwrap().node[0];
    node.input[4] = "X".into();
    let err = decode_model(&m.encode_to_vec(), None).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Node { .. }), "{err:?}");
    assert!(
        text.contains("DynamicQuantizeLSTM") && text.contains("sequence_lens"),
        "{text}"
    );
}
