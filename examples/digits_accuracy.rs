//! Top-1 accuracy of the four digits models on the 360 held-out images, emulated on a preset,
//! next to onnxruntime's accuracy and the bit-level agreement with its outputs.
//!
//! `cargo run --release --example digits_accuracy [PRESET]`

use cdmsa::config::AcceleratorConfig;
use cdmsa::onnx::load_model;
use cdmsa::tensor::pb::read_pb;
use cdmsa::verify::{RunRequest, verified_run};
use std::path::Path;

fn main() -> cdmsa::Result<()> {
    let preset = std::env::args().nth(1).unwrap_or_else(|| "tpu-msa".into());
    let cfg = AcceleratorConfig::load(&preset)?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/digits");
    let labels = read_pb(&root.join("labels.pb"))?;
    let ort: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("accuracy.json"))
            .map_err(|e| cdmsa::Error::Invalid(e.to_string()))?,
    )
    .map_err(|e| cdmsa::Error::Invalid(e.to_string()))?;
    println!(
        "{:<10} {:>10} {:>10} {:>7} {:>8} {:>14} {:>12}",
        "model", "cdmsa", "ort", "exact", "max_ulp", "max_abs_error", "cycles"
    );
    for variant in ["fp32", "fp16", "int8_qop", "int8_qdq"] {
        let dir = root.join(variant);
        let graph = load_model(&dir.join("model.onnx"))?;
        let input = read_pb(&dir.join("test_data_set_0/input_0.pb"))?;
        let reference = read_pb(&dir.join("test_data_set_0/output_0.pb"))?;
        let req = RunRequest {
            model: variant.into(),
            graph: &graph,
            inputs: &[input],
            references: &[reference],
            tolerance: None,
            labels: Some(&labels),
            precision: cdmsa::kernel::Precision::Native,
        };
        let (r, _) = verified_run(&req, &cfg)?;
        let (ok, n) = r.accuracy.unwrap_or((0, 0));
        let c = &r.outputs[0];
        println!(
            "{variant:<10} {:>9.2}% {:>9.2}% {:>7} {:>8} {:>14.3e} {:>12}",
            100.0 * ok as f64 / n.max(1) as f64,
            100.0
                * ort["models"][variant]["accuracy"]["ORT_ENABLE_ALL"]
                    .as_f64()
                    .unwrap_or(0.0),
            c.exact,
            c.max_ulp,
            c.max_abs_error,
            r.cycles
        );
    }
    Ok(())
}
