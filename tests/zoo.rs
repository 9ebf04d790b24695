//! The timing model zoo (models/zoo/): every model loads, lowers onto `tpu-msa` at batch 1,
//! and its GEMM MACs equal the count of the generating script and lie within the tolerance
//! of the published figure, both read from `models/zoo/expected_macs.json`.
//!
//! The ONNX files are generated, not committed: `python3 models/zoo/make_zoo.py` writes
//! them. A missing file fails the test with that instruction.

use std::path::{Path, PathBuf};
use std::time::Instant;

use cdmsa::config::AcceleratorConfig;
use cdmsa::exec::layer_costs;
use cdmsa::lower::lower;
use cdmsa::onnx::load_model;
use serde_json::Value;

fn zoo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/zoo")
}

fn check(name: &str) {
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(zoo_dir().join("expected_macs.json"))
            .expect("read models/zoo/expected_macs.json"),
    )
    .expect("parse models/zoo/expected_macs.json");
    let tolerance = expected["tolerance"].as_f64().expect("tolerance");
    let entry = &expected["models"][name];
    let file = entry["file"].as_str().expect("file");
    let generated = entry["generated_macs"].as_u64().expect("generated_macs");
    let published = entry["published_macs"].as_u64().expect("published_macs");

    let path = zoo_dir().join(file);
    assert!(
        path.exists(),
        "{} is missing: the zoo models are generated, not committed. \
         Run `python3 models/zoo/make_zoo.py` (needs onnx and numpy, see models/zoo/README.md) \
         before `cargo test`.",
        path.display()
    );

    let cfg = AcceleratorConfig::preset("tpu-msa").unwrap();
    let start = Instant::now();
    let graph = load_model(&path).unwrap_or_else(|e| panic!("{name}: load: {e}"));
    let loaded = start.elapsed();
    let inputs = graph.declared_inputs(1).unwrap();
    let program = lower(&graph, &inputs, &cfg).unwrap_or_else(|e| panic!("{name}: lower: {e}"));
    let lowered = start.elapsed() - loaded;
    let costs = layer_costs(&program, &cfg);
    let macs: u64 = costs.iter().map(|c| c.macs).sum();
    let cycles: u64 = costs.iter().map(|c| c.cycles.0).sum();
    println!(
        "{name}: {macs} MACs ({:+.2}% from published {published}), {} layers, {cycles} cycles \
         isolated on tpu-msa; load {loaded:.2?}, lower {lowered:.2?}, cost {:.2?}",
        (macs as f64 / published as f64 - 1.0) * 100.0,
        costs.len(),
        start.elapsed() - loaded - lowered,
    );

    assert_eq!(
        macs, generated,
        "{name}: cdmsa counts {macs} MACs, make_zoo.py counted {generated}"
    );
    let diff = (macs as f64 / published as f64 - 1.0).abs();
    assert!(
        diff <= tolerance,
        "{name}: {macs} MACs is {:.2}% from the published {published} (tolerance {:.0}%)",
        diff * 100.0,
        tolerance * 100.0
    );
}

#[test]
fn resnet50() {
    check("resnet50");
}

#[test]
fn mobilenet_v2() {
    check("mobilenet_v2");
}

#[test]
fn googlenet() {
    check("googlenet");
}

#[test]
fn vgg16() {
    check("vgg16");
}

#[test]
fn ssd_resnet34() {
    check("ssd_resnet34");
}

#[test]
fn bert_base() {
    check("bert_base");
}

#[test]
fn gpt_block() {
    check("gpt_block");
}
