//! The timing model zoo (`src/zoo`), built in memory: every model lowers onto `tpu-msa` at
//! batch 1 exactly as the files of the former Python generator did, layer by layer (name, op,
//! GEMM shape, tiles, MACs, cycles from `models/zoo/make_zoo_layers.json`), and its MACs lie
//! within the tolerance of the published figure (`models/zoo/expected_macs.json`). A model
//! written out by `cdmsa zoo` loads to the same lowering and the same weight values.

use std::path::{Path, PathBuf};

use cdmsa::config::{AcceleratorConfig, Residency};
use cdmsa::exec::{LayerCost, layer_costs};
use cdmsa::ir::Graph;
use cdmsa::limits::Limits;
use cdmsa::lower::lower;
use cdmsa::onnx::load_model;
use cdmsa::zoo;
use serde_json::{Value, json};

fn zoo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/zoo")
}

fn read_json(file: &str) -> Value {
    let path = zoo_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn costs(graph: &Graph) -> Vec<LayerCost> {
    // The recording predates scratchpad residency (every tile job fetched all its operands),
    // the packing of under-filling problems (one tile job per problem), rows cut only as far
    // as the arrays need (they were spread over every array) and the folding of operand
    // transposes.
    let cfg = AcceleratorConfig {
        residency: Residency::None,
        pack_problems: false,
        spread_rows: true,
        fold_operand_transposes: false,
        ..AcceleratorConfig::preset("tpu-msa").unwrap()
    };
    let inputs = graph.declared_inputs(1).unwrap();
    let program = lower(graph, &inputs, &cfg).unwrap();
    layer_costs(&program, &cfg)
}

/// A layer as `make_zoo_layers.json` records it (then, vector jobs moved no DRAM bytes).
fn row(c: &LayerCost) -> Value {
    let gemm = c.gemm.as_ref().map(|g| json!([g.m, g.k, g.n]));
    let cycles = if c.gemm.is_some() {
        c.cycles
    } else {
        c.compute_cycles
    };
    json!([c.name, c.op, gemm, c.tiles, c.macs, cycles.0])
}

fn check(name: &str) {
    let graph = zoo::build(name).unwrap().graph(&Limits::default()).unwrap();
    let layers = costs(&graph);

    let recorded = &read_json("make_zoo_layers.json")["models"][name];
    let rows: Vec<Value> = layers.iter().map(row).collect();
    let want = recorded["layers"].as_array().expect("layers");
    assert_eq!(rows.len(), want.len(), "{name}: layer count");
    for (got, want) in rows.iter().zip(want) {
        assert_eq!(got, want, "{name}: a layer differs from make_zoo.py's");
    }

    let expected = read_json("expected_macs.json");
    let tolerance = expected["tolerance"].as_f64().expect("tolerance");
    let entry = &expected["models"][name];
    let generated = entry["generated_macs"].as_u64().expect("generated_macs");
    let published = entry["published_macs"].as_u64().expect("published_macs");
    let macs: u64 = layers.iter().map(|c| c.macs).sum();
    let cycles: u64 = layers.iter().map(|c| c.cycles.0).sum();
    println!(
        "{name}: {macs} MACs ({:+.2}% from published {published}), {} layers, {cycles} cycles",
        (macs as f64 / published as f64 - 1.0) * 100.0,
        layers.len(),
    );
    assert_eq!(macs, generated, "{name}: MACs against make_zoo.py's count");
    let diff = (macs as f64 / published as f64 - 1.0).abs();
    assert!(
        diff <= tolerance,
        "{name}: {macs} MACs is {:.2}% from the published {published} (tolerance {:.0}%)",
        diff * 100.0,
        tolerance * 100.0
    );
    // No weight was made: lowering and costing read only types and shapes.
    let made = graph
        .values
        .iter()
        .filter_map(|v| v.constant.as_ref())
        .filter(|c| c.len() > 1 << 12 && c.is_decoded())
        .count();
    assert_eq!(made, 0, "{name}: weights made while only timing was asked");
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

#[test]
fn a_written_model_loads_to_the_same_lowering_and_weights() {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_cdmsa"))
        .args(["zoo", "gpt_block", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    let file = load_model(&dir.path().join("gpt_block.onnx")).unwrap();
    let memory = zoo::build("gpt_block")
        .unwrap()
        .graph(&Limits::default())
        .unwrap();
    let rows = |g: &Graph| costs(g).iter().map(row).collect::<Vec<_>>();
    assert_eq!(rows(&file), rows(&memory));
    let constants = |g: &Graph| {
        g.values
            .iter()
            .filter_map(|v| Some((v.name.clone(), v.constant.clone()?)))
            .collect::<Vec<_>>()
    };
    let (a, b) = (constants(&file), constants(&memory));
    assert_eq!(a.len(), b.len());
    for ((na, ca), (nb, cb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        assert!(ca.tensor() == cb.tensor(), "{na}: values differ");
    }
}

#[test]
fn workloads_name_zoo_models_and_unknown_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let toml = |model: &str| {
        format!(
            "requests = 2\naccel = \"tpu-msa\"\n[[tenants]]\nname = \"a\"\nmodel = \"{model}\"\n\
             sla_ms = 5.0\narrival = {{ kind = \"poisson\", rate_per_s = 10.0 }}\n"
        )
    };
    let path = dir.path().join("w.toml");
    std::fs::write(&path, toml("zoo:gpt_block")).unwrap();
    let w = cdmsa::workload::Workload::load(&path).unwrap();
    assert_eq!(w.tenants[0].model, zoo::ModelSource::Zoo("gpt_block"));
    std::fs::write(&path, toml("zoo:alexnet")).unwrap();
    let err = cdmsa::workload::Workload::load(&path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("tenants[0].model") && err.contains("no zoo model 'alexnet'"),
        "{err}"
    );
}

#[test]
fn unknown_zoo_names_exit_2_naming_them() {
    let cdmsa = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_cdmsa"))
            .args(args)
            .output()
            .unwrap()
    };
    for args in [&["zoo", "alexnet"][..], &["inspect", "zoo:alexnet"]] {
        let out = cdmsa(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("alexnet"), "{args:?}: {err}");
    }
    let out = cdmsa(&["inspect", "zoo:gpt_block", "--accel", "tiny"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("h.0.mlp.fc2.matmul"));
}

#[test]
fn zoo_models_load_within_the_limits_like_files() {
    let tight = Limits {
        max_tensor_elements: 1 << 24,
        ..Limits::default()
    };
    // Only VGG-16's first classifier layer (25 088 × 4 096 weights) holds more than 2^24.
    let err = zoo::build("vgg16")
        .unwrap()
        .graph(&tight)
        .unwrap_err()
        .to_string();
    assert!(err.contains("classifier.0.weight"), "{err}");
    let err = zoo::build("vgg16")
        .unwrap()
        .graph(&Limits {
            max_bytes: 1 << 20,
            ..Limits::default()
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("limit"), "{err}");
}
