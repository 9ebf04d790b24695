//! The command-line contract: exit codes, verdicts, and clear errors on bad input.

use prost::Message;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cdmsa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cdmsa"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

#[test]
fn run_without_arguments_verifies_the_embedded_default_with_cycles() {
    let o = cdmsa(&["run"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(
        out.contains("RESULT: PASS") && out.contains("exact=true"),
        "{out}"
    );
    assert!(
        out.contains("accuracy: 16/16") || out.contains("accuracy: 15/16"),
        "{out}"
    );
    let cycles: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("cycles: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(cycles > 0);
}

#[test]
fn run_writes_json_with_the_contract_fields() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let o = cdmsa(&["run", "--json", json.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for f in ["max_abs_error", "max_ulp", "exact", "pass"] {
        assert!(v["outputs"][0].get(f).is_some(), "missing outputs[0].{f}");
    }
    for f in ["cycles", "macs", "utilization"] {
        assert!(v.get(f).is_some(), "missing {f}");
    }
    // 16 images through conv1 (8·9·64), conv2 (16·72·16) and the classifier (10·256):
    let per_image = 8 * 9 * 64 + 16 * 72 * 16 + 10 * 256;
    assert_eq!(v["macs"].as_u64().unwrap(), 16 * per_image);
}

#[test]
fn a_wrong_reference_is_a_mismatch_with_exit_1() {
    let d = models().join("digits/int8_qop");
    let o = cdmsa(&[
        "run",
        d.join("model.onnx").to_str().unwrap(),
        "--input",
        d.join("test_data_set_0/input_0.pb").to_str().unwrap(),
        // fp32 logits are close to, but not bit-identical with, the int8 model's.
        "--reference",
        models()
            .join("digits/fp32/test_data_set_0/output_0.pb")
            .to_str()
            .unwrap(),
    ]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("FAIL"));
}

#[test]
fn a_reference_given_with_a_directory_replaces_its_own() {
    // The int8 model's directory with the fp32 model's logits as the reference: the run
    // must compare against them (a mismatch), not against the directory's own outputs.
    let d = models().join("digits/int8_qop");
    let fp32_logits = models().join("digits/fp32/test_data_set_0/output_0.pb");
    let o = cdmsa(&[
        "run",
        d.to_str().unwrap(),
        "--reference",
        fp32_logits.to_str().unwrap(),
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(out.contains("FAIL"), "{out}");
    // Its own outputs, given explicitly, still pass.
    let own = d.join("test_data_set_0/output_0.pb");
    let o = cdmsa(&[
        "run",
        d.to_str().unwrap(),
        "--reference",
        own.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).0);
}

#[test]
fn conformance_passes_every_committed_node_test() {
    let o = cdmsa(&[
        "conformance",
        models().join("onnx-node-tests").to_str().unwrap(),
    ]);
    let (out, err) = text(&o);
    let last = out.lines().last().unwrap_or_default().to_string();
    let failing: Vec<&str> = out.lines().filter(|l| !l.starts_with("PASS")).collect();
    assert_eq!(o.status.code(), Some(0), "{failing:#?}{err}");
    assert!(last.ends_with("0 failed, 0 skipped"), "{last}");
    let passed: usize = last.split_whitespace().next().unwrap().parse().unwrap();
    assert!(passed >= 150, "{last}");
}

/// ONNX LSTM, GRU and RNN in both directions, with sequence_lens, initial states, clip,
/// activations with parameters and the batch-first layout, against onnxruntime
/// (models/make_recurrent_tests.py).
#[test]
fn conformance_passes_every_recurrent_case() {
    let o = cdmsa(&[
        "conformance",
        models().join("recurrent-tests").to_str().unwrap(),
    ]);
    let (out, err) = text(&o);
    let last = out.lines().last().unwrap_or_default().to_string();
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(last.starts_with("8 passed, 0 failed"), "{last}");
}

fn expect_error(args: &[&str], must_name: &[&str]) {
    let o = cdmsa(args);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.lines().count(), 1, "one clear line: {err}");
    for s in must_name {
        assert!(err.contains(s), "'{s}' not named in: {err}");
    }
}

#[test]
fn malformed_inputs_exit_2_naming_file_node_and_op() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(models().join("digits/fp32/model.onnx")).unwrap();

    let truncated = dir.path().join("truncated.onnx");
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    expect_error(&["run", truncated.to_str().unwrap()], &["truncated.onnx"]);

    let random = dir.path().join("random.onnx");
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&random, bytes).unwrap();
    expect_error(&["run", random.to_str().unwrap()], &["random.onnx"]);

    let mut model = cdmsa::proto::ModelProto::decode(good.as_slice()).unwrap();
    let graph = model.graph.as_mut().unwrap();
    let node = graph.node.iter_mut().find(|n| n.op_type == "Relu").unwrap();
    node.op_type = "FancyActivation".into();
    let node_name = node.name.clone();
    let unknown = dir.path().join("unknown.onnx");
    std::fs::write(&unknown, model.encode_to_vec()).unwrap();
    expect_error(
        &["run", unknown.to_str().unwrap()],
        &["unknown.onnx", &node_name, "FancyActivation"],
    );

    // The digits model takes [N,1,8,8]; a [1,1,9,8] input is refused before running.
    let input = dir.path().join("wrong.npy");
    let t = cdmsa::tensor::Tensor::F32(ndarray::ArrayD::zeros(ndarray::IxDyn(&[1, 1, 9, 8])));
    cdmsa::tensor::npy::write_npy(&input, &t).unwrap();
    let model_path = models().join("digits/fp32/model.onnx");
    expect_error(
        &[
            "run",
            model_path.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ],
        &["model.onnx", "input", "[1, 1, 9, 8]"],
    );
}

/// A recurrent node that breaks the specification is refused with exit 2, naming the file,
/// the node and the op: weights that do not fit hidden_size, an activation the emulator
/// lacks, a wrong number of activations, a sequence_lens past the sequence.
#[test]
fn bad_recurrent_nodes_exit_2_naming_file_node_and_op() {
    use cdmsa::proto::AttributeProto;
    let dir = tempfile::tempdir().unwrap();
    let case = "recurrent-tests/lstm_reverse_activations";
    let good = std::fs::read(models().join(case).join("model.onnx")).unwrap();
    let write = |name: &str, edit: &dyn Fn(&mut cdmsa::proto::NodeProto)| {
        let mut model = cdmsa::proto::ModelProto::decode(good.as_slice()).unwrap();
        edit(&mut model.graph.as_mut().unwrap().node[0]);
        let path = dir.path().join(name);
        std::fs::write(&path, model.encode_to_vec()).unwrap();
        path
    };
    let set = |node: &mut cdmsa::proto::NodeProto, a: AttributeProto| {
        node.attribute.retain(|b| b.name != a.name);
        node.attribute.push(a);
    };
    let activations = |names: &[&str]| AttributeProto {
        name: "activations".into(),
        strings: names.iter().map(|s| s.as_bytes().to_vec()).collect(),
        r#type: 8,
        ..Default::default()
    };
    let hidden = write("hidden.onnx", &|n| {
        let a = AttributeProto {
            name: "hidden_size".into(),
            i: 5,
            r#type: 2,
            ..Default::default()
        };
        set(n, a)
    });
    let elu = write("elu.onnx", &|n| {
        set(n, activations(&["Sigmoid", "Elu", "Tanh"]))
    });
    let two = write("two.onnx", &|n| set(n, activations(&["Sigmoid", "Tanh"])));
    for (path, names) in [
        (&hidden, &["hidden.onnx", "expected", "[1, 20, 5]"][..]),
        (&elu, &["elu.onnx", "'Elu' is not supported"]),
        (&two, &["two.onnx", "lists 2 functions"]),
    ] {
        let mut must = names.to_vec();
        must.extend(["lstm_reverse_activations", "LSTM"]);
        expect_error(&["run", path.to_str().unwrap()], &must);
    }
    // sequence_lens is the graph's second input; a length of 7 in a sequence of 6 is refused.
    let lens = dir.path().join("lens.npy");
    let t = cdmsa::tensor::Tensor::I32(
        ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[3]), vec![4, 7, 2]).unwrap(),
    );
    cdmsa::tensor::npy::write_npy(&lens, &t).unwrap();
    let x = models().join(case).join("test_data_set_0/input_0.pb");
    let model = models().join(case).join("model.onnx");
    expect_error(
        &[
            "run",
            model.to_str().unwrap(),
            "--input",
            x.to_str().unwrap(),
            "--input",
            lens.to_str().unwrap(),
        ],
        &["lstm_reverse_activations", "LSTM", "sequence_lens holds 7"],
    );
}

/// Like [`expect_error`], with the process's address space capped at 2 GiB: a refusal must
/// come before any large allocation.
fn expect_error_in_bounded_memory(args: &[&str], must_name: &[&str]) {
    let o = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2097152 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_cdmsa"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}{err}");
    assert!(
        !err.contains("panicked") && !err.contains("memory"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one clear line: {err}");
    for s in must_name {
        assert!(err.contains(s), "'{s}' not named in: {err}");
    }
}

/// A one-node model: `op` reads `inputs` (graph input `x` of `x_dims`, or initializers).
fn one_node_model(
    op: &str,
    x_dims: &[i64],
    initializers: Vec<cdmsa::proto::TensorProto>,
    inputs: &[&str],
) -> Vec<u8> {
    use cdmsa::proto::tensor_shape_proto::{Dimension, dimension::Value as Dim};
    use cdmsa::proto::type_proto::{Tensor as TensorType, Value as TypeValue};
    use cdmsa::proto::*;
    let info = |name: &str, dims: Option<&[i64]>| ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(TypeValue::TensorType(TensorType {
                elem_type: 1,
                shape: dims.map(|d| TensorShapeProto {
                    dim: d
                        .iter()
                        .map(|&v| Dimension {
                            value: Some(Dim::DimValue(v)),
                        })
                        .collect(),
                }),
            })),
        }),
    };
    ModelProto {
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(GraphProto {
            node: vec![NodeProto {
                name: "huge".into(),
                op_type: op.into(),
                input: inputs.iter().map(|s| s.to_string()).collect(),
                output: vec!["y".into()],
                ..NodeProto::default()
            }],
            input: vec![info("x", Some(x_dims))],
            output: vec![info("y", None)],
            initializer: initializers,
            ..GraphProto::default()
        }),
        ..ModelProto::default()
    }
    .encode_to_vec()
}

fn int64s(name: &str, values: &[i64]) -> cdmsa::proto::TensorProto {
    cdmsa::proto::TensorProto {
        name: name.into(),
        data_type: 7,
        dims: vec![values.len() as i64],
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

#[test]
fn a_model_asking_for_a_trillion_elements_is_refused_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_string()
    };
    // A declared input of 10^6 × 10^6 elements.
    let declared = write(
        "declared.onnx",
        &one_node_model("Relu", &[1_000_000, 1_000_000], vec![], &["x"]),
    );
    expect_error_in_bounded_memory(
        &["run", &declared],
        &["declared.onnx", "'x'", "1000000000000 elements", "limit"],
    );
    // An initializer claiming 10^12 elements with no data: a few dozen bytes.
    let mut stored = int64s("w", &[]);
    stored.dims = vec![1_000_000, 1_000_000];
    stored.data_type = 1;
    let stored_file = write(
        "stored.onnx",
        &one_node_model("Add", &[1], vec![stored], &["x", "w"]),
    );
    assert!(std::fs::metadata(&stored_file).unwrap().len() < 200);
    expect_error_in_bounded_memory(
        &["run", &stored_file],
        &["stored.onnx", "'w'", "1000000000000 elements"],
    );
    // Shapes asked for by runtime values: ConstantOfShape, Expand, Reshape and Range.
    let huge = int64s("s", &[1_000_000, 1_000_000]);
    let cos = write(
        "constant_of_shape.onnx",
        &one_node_model("ConstantOfShape", &[1], vec![huge.clone()], &["s"]),
    );
    expect_error_in_bounded_memory(
        &["run", &cos],
        &[
            "constant_of_shape.onnx",
            "node 'huge' (ConstantOfShape)",
            "limit",
        ],
    );
    let expand = write(
        "expand.onnx",
        &one_node_model("Expand", &[1], vec![huge.clone()], &["x", "s"]),
    );
    expect_error_in_bounded_memory(
        &["run", &expand],
        &["expand.onnx", "node 'huge' (Expand)", "limit"],
    );
    let range = write(
        "range.onnx",
        &one_node_model(
            "Range",
            &[1],
            vec![
                int64s("a", &[0]),
                int64s("b", &[1_000_000_000_000]),
                int64s("d", &[1]),
            ],
            &["a", "b", "d"],
        ),
    );
    expect_error_in_bounded_memory(
        &["run", &range],
        &[
            "range.onnx",
            "node 'huge' (Range)",
            "1000000000000 elements",
        ],
    );
    // The limit is a flag: a small model is refused below it, accepted above it.
    let small = write(
        "small.onnx",
        &one_node_model("Relu", &[1000, 1000], vec![], &["x"]),
    );
    expect_error(
        &["run", &small, "--max-tensor-elements", "999999"],
        &["small.onnx", "--max-tensor-elements"],
    );
    let o = cdmsa(&["run", &small, "--max-tensor-elements", "1000000"]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    expect_error(
        &["run", &small, "--max-nodes", "0"],
        &["small.onnx", "--max-nodes"],
    );
    expect_error(
        &["run", &small, "--max-bytes", "100"],
        &["small.onnx", "--max-bytes"],
    );
}

#[test]
fn inspect_reports_macs_and_cycles_per_layer() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("i.json");
    let o = cdmsa(&[
        "inspect",
        models().join("digits/fp32/model.onnx").to_str().unwrap(),
        "--accel",
        "tiny",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(
        v["macs"].as_u64().unwrap(),
        (8 * 9 * 64 + 16 * 72 * 16 + 10 * 256) as u64
    );
    // BN folds into conv1, so the layers are conv, relu, pool, conv, relu, flatten, gemm.
    assert_eq!(v["layers"].as_array().unwrap().len(), 7);
}

#[test]
fn simulate_reports_every_scheduler_with_the_contract_fields() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("s.json");
    let o = cdmsa(&["simulate", "--json", json.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let results = v["results"].as_array().unwrap();
    let names: Vec<&str> = results
        .iter()
        .map(|r| r["scheduler"].as_str().unwrap())
        .collect();
    assert_eq!(names, cdmsa::sched::ALL);
    for r in results {
        for f in ["sla_satisfaction", "stp", "wstp", "antt", "fairness"] {
            assert!(r[f].is_number(), "{f} missing");
        }
        for t in r["tenants"].as_array().unwrap() {
            for f in [
                "busy_cycles",
                "preemptions",
                "fused_tiles",
                "latency_p50_ms",
                "latency_p99_ms",
            ] {
                assert!(t[f].is_number(), "tenants[].{f} missing");
            }
        }
    }
    // The text report has a per-tenant table for each scheduler and the comparison table.
    assert_eq!(out.matches("scheduler: ").count(), cdmsa::sched::ALL.len());
}

#[test]
fn functional_simulation_reports_requests_checked_and_no_mismatch() {
    let o = cdmsa(&["simulate", "--mode", "functional", "--scheduler", "cd-msa"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(out.contains("checked: 60 requests, mismatches: 0"), "{out}");
}

#[test]
fn a_bad_workload_file_exits_2_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("bad.toml");
    std::fs::write(&w, "requests = 5\n[[tenants]]\nname = \"a\"\nmodel = \"m.onnx\"\nsla_ms = -1.0\narrival = { kind = \"poisson\", rate_per_s = 10.0 }\n").unwrap();
    expect_error(&["simulate", w.to_str().unwrap()], &["bad.toml", "sla_ms"]);
}

#[test]
fn tournament_prints_verdicts_writes_its_workloads_and_refuses_bad_loads() {
    let dir = tempfile::tempdir().unwrap();
    let o = cdmsa(&[
        "tournament",
        "--workloads",
        "1",
        "--requests",
        "20",
        "--replicates",
        "1",
        "--loads",
        "1",
        "--schedulers",
        "edf,fcfs",
        "--contender",
        "edf",
        "--jobs",
        "1",
        "--write-workloads",
        dir.path().to_str().unwrap(),
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        out.contains("load 1 ") && out.contains("LBT req/s"),
        "{out}"
    );
    assert!(
        out.contains("edf against the best other scheduler over 1 workloads"),
        "{out}"
    );
    // The written workload runs alone.
    let w = dir.path().join("workload-0.toml");
    let o = cdmsa(&["simulate", w.to_str().unwrap(), "--scheduler", "edf"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    let o = cdmsa(&["tournament", "--loads", "1,-2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("'-2'"), "{}", text(&o).1);
    for bad in ["--min-span-slas=-1", "--min-span-slas=inf"] {
        let o = cdmsa(&["tournament", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(text(&o).1.contains("min-span-slas"), "{}", text(&o).1);
    }
}

#[test]
fn inspect_binds_symbolic_dims_by_name_and_refuses_unknown_names() {
    let model = models().join("decoder/model.onnx");
    let model = model.to_str().unwrap();
    let o = cdmsa(&[
        "inspect", model, "--dim", "seq=1", "--dim", "past=6", "--dim", "total=7",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    // One decode step: each head's scores are 1 query × 16 × (6 cached + 1 new) keys.
    assert!(out.contains("4·1×16×7"), "{out}");
    let o = cdmsa(&["inspect", model, "--dim", "sek=1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).1.contains("dimension named 'sek'"),
        "{}",
        text(&o).1
    );
    let o = cdmsa(&["inspect", model, "--dim", "seq"]);
    assert_eq!(o.status.code(), Some(2));
}

/// A decoder tenant on a model without the KV-cache dims, and functional mode with a
/// decoder tenant: exit 2, naming the model or the tenant.
#[test]
fn decoder_tenants_the_simulator_cannot_run_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "requests = 5\n[[tenants]]\nname = \"chat\"\nmodel = \"zoo:resnet50\"\n\
         decode = { prompt = 8, generate = 2 }\nttft_ms = 10.0\ntpot_ms = 1.0\n\
         arrival = { kind = \"poisson\", rate_per_s = 2.0 }\n",
    )
    .unwrap();
    let bad = bad.to_str().unwrap();
    expect_error(
        &["simulate", bad, "--scheduler", "edf"],
        &["zoo:resnet50", "dimension named 'seq'"],
    );
    let llm = concat!(env!("CARGO_MANIFEST_DIR"), "/workloads/llm.toml");
    expect_error(
        &[
            "simulate",
            llm,
            "--scheduler",
            "edf",
            "--mode",
            "functional",
        ],
        &["tenant 'chat' is a decoder", "functional mode"],
    );
}

#[test]
fn rewrites_switch_off_by_name_and_an_unknown_name_exits_2() {
    expect_error(
        &["run", "--rewrites", "no-cancel_transposes,fold_all"],
        &["fold_all", "cancel_transposes"],
    );
    let o = cdmsa(&["run", "--rewrites", "none"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
}
