//! Hostile files and verdicts through the binary: references that are infinite or NaN,
//! tolerances that are no bound, files that are no regular file (FIFOs, devices) or far too
//! large, accelerator files holding someone's secret, and the messages of absurd workload
//! and accelerator numbers. Every case checks the exit code and what the message says.

use cdmsa::tensor::Tensor;
use cdmsa::tensor::npy::write_npy;
use cdmsa::tensor::pb::read_pb;
use prost::Message;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Runs the binary in the crate's root with its address space capped at 2 GiB and a 20 s
/// timeout, so a read that is not bounded fails the test instead of exhausting memory, and
/// a read that blocks fails it instead of hanging (`timeout` exits 124).
fn cdmsa(args: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let o = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2097152 && exec timeout 20 \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_cdmsa"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (o, start.elapsed())
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Exit 2 with one short line on stderr holding every string of `must_name`.
fn expect_error(args: &[&str], must_name: &[&str]) -> String {
    let (o, took) = cdmsa(args);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {out}{err}");
    assert!(took < Duration::from_secs(10), "{args:?} took {took:?}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.len() < 400, "a short line: {} bytes", err.len());
    assert!(!err.contains("panicked"), "{err}");
    for s in must_name {
        assert!(err.contains(s), "{args:?}: '{s}' not in: {err}");
    }
    err
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `test_abs` backend test: its model, input and onnxruntime-independent reference.
fn abs_test() -> (PathBuf, PathBuf, Tensor) {
    let dir = root().join("models/onnx-node-tests/test_abs");
    let want = read_pb(&dir.join("test_data_set_0/output_0.pb")).unwrap();
    (
        dir.join("model.onnx"),
        dir.join("test_data_set_0/input_0.pb"),
        want,
    )
}

/// A float32 tensor of `shape` with every element `value`.
fn filled(shape: &[usize], value: f32) -> Tensor {
    Tensor::F32(ndarray::ArrayD::from_elem(ndarray::IxDyn(shape), value))
}

#[test]
fn a_finite_output_against_an_infinite_or_nan_reference_fails_with_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let (model, input, want) = abs_test();
    // The true reference passes: the files and the model are right.
    let good = tmp.path().join("good.npy");
    write_npy(&good, &want).unwrap();
    let (o, _) = cdmsa(&[
        "run",
        s(&model),
        "--input",
        s(&input),
        "--reference",
        s(&good),
    ]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    for (name, value) in [
        ("inf", f32::INFINITY),
        ("-inf", f32::NEG_INFINITY),
        ("nan", f32::NAN),
    ] {
        let reference = tmp.path().join(format!("{name}.npy"));
        write_npy(&reference, &filled(want.shape(), value)).unwrap();
        for tolerance in [
            None,
            Some("close:1e-3,1e-7"),
            Some("ulp:1000"),
            Some("norm:0.5"),
        ] {
            let mut args = vec!["run", s(&model), "--input", s(&input)];
            args.extend(["--reference", s(&reference)]);
            if let Some(t) = tolerance {
                args.extend(["--tolerance", t]);
            }
            let (o, _) = cdmsa(&args);
            let (out, err) = text(&o);
            assert_eq!(o.status.code(), Some(1), "{name} {tolerance:?}: {out}{err}");
            assert!(out.contains("RESULT: FAIL"), "{out}");
        }
    }
}

#[test]
fn conformance_fails_a_test_whose_reference_is_all_infinite() {
    let tmp = tempfile::tempdir().unwrap();
    let (model, input, want) = abs_test();
    let case = tmp.path().join("test_abs_inf");
    let set = case.join("test_data_set_0");
    std::fs::create_dir_all(&set).unwrap();
    std::fs::copy(&model, case.join("model.onnx")).unwrap();
    std::fs::copy(&input, set.join("input_0.pb")).unwrap();
    let proto = cdmsa::tensor::pb::tensor_to_proto(&filled(want.shape(), f32::INFINITY), "y");
    std::fs::write(set.join("output_0.pb"), proto.encode_to_vec()).unwrap();
    let (o, _) = cdmsa(&["conformance", s(tmp.path())]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(out.contains("FAIL test_abs_inf"), "{out}");
    assert!(out.contains("0 passed, 1 failed, 0 skipped"), "{out}");
}

#[test]
fn tolerances_that_bound_nothing_are_refused_with_exit_2() {
    let (model, input, _) = abs_test();
    for (tolerance, why) in [
        (
            "close:-1,-1",
            "rtol = -1 is not a finite, non-negative number",
        ),
        (
            "close:nan,nan",
            "rtol = NaN is not a finite, non-negative number",
        ),
        (
            "close:1e309,0",
            "rtol = inf is not a finite, non-negative number",
        ),
        ("close:0,-1e-9", "atol = -0.000000001 is not a finite"),
        ("norm:-1", "rel = -1 is not a finite, non-negative number"),
        ("norm:nan", "rel = NaN is not a finite, non-negative number"),
        ("ulp:-1", "is not exact, ulp:N, close:RTOL,ATOL or norm:REL"),
    ] {
        let quoted = format!("invalid tolerance: '{tolerance}'");
        expect_error(
            &[
                "run",
                s(&model),
                "--input",
                s(&input),
                "--tolerance",
                tolerance,
            ],
            &[&quoted, why],
        );
    }
}

/// The one node test whose fp32 reference is 3.7e-4 away relatively (the reference pools
/// with another summation order): within the ONNX backend tests' own rtol of 1e-3, so
/// `run` and `conformance` — which share one default — both pass it.
#[test]
fn run_and_conformance_share_the_default_tolerance() {
    let dir =
        root().join("models/onnx-node-tests/test_averagepool_2d_ceil_last_window_starts_on_pad");
    let (o, _) = cdmsa(&["run", s(&dir)]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(out.contains("tolerance=close:0.001,0.0000001"), "{out}");
    assert!(out.contains("exact=false"), "{out}");
    let (o, _) = cdmsa(&["conformance", s(&dir)]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(out.contains("1 passed, 0 failed"), "{out}");
}

/// A workload of one digits tenant in `dir`, with `extra` appended to the tenant's table
/// and `head` before it.
fn workload(dir: &Path, head: &str, arrival: &str) -> PathBuf {
    let model = root().join("models/digits/int8_qop/model.onnx");
    let path = dir.join("w.toml");
    std::fs::write(
        &path,
        format!(
            "seed = 1\nrequests = 4\n{head}\n[[tenants]]\nname = \"a\"\nmodel = \"{}\"\nsla_factor = 3.0\narrival = {arrival}\n",
            model.display()
        ),
    )
    .unwrap();
    path
}

const POISSON: &str = "{ kind = \"poisson\", rate_per_s = 1000.0 }";

#[test]
fn fifos_are_refused_without_blocking() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let fifo = s(&fifo);
    let named = format!("{fifo}: a FIFO, not a regular file");
    let (model, input, _) = abs_test();
    let (model, input) = (s(&model), s(&input));
    expect_error(&["run", fifo], &[&named]);
    expect_error(&["inspect", fifo], &[&named]);
    expect_error(&["run", model, "--input", fifo], &[&named]);
    expect_error(
        &["run", model, "--input", input, "--reference", fifo],
        &[&named],
    );
    expect_error(
        &["run", model, "--input", input, "--labels", fifo],
        &[&named],
    );
    expect_error(&["run", "--accel", fifo], &[&named]);
    expect_error(&["simulate", fifo], &[&named]);
    let trace = format!("{{ kind = \"trace\", file = \"{fifo}\" }}");
    let w = workload(tmp.path(), "", &trace);
    expect_error(&["simulate", s(&w)], &[&named, "arrival.file"]);
    let w = workload(tmp.path(), &format!("accel = \"{fifo}\""), POISSON);
    expect_error(&["simulate", s(&w)], &[&named]);
}

#[test]
fn devices_are_refused_before_reading() {
    let tmp = tempfile::tempdir().unwrap();
    let zero = "/dev/zero";
    let named = "/dev/zero: a device, not a regular file";
    let (model, input, _) = abs_test();
    let (model, input) = (s(&model), s(&input));
    expect_error(&["run", zero], &[named]);
    expect_error(&["run", model, "--input", zero], &[named]);
    expect_error(
        &["run", model, "--input", input, "--reference", zero],
        &[named],
    );
    expect_error(&["run", "--accel", zero], &[named]);
    expect_error(&["simulate", zero], &[named]);
    expect_error(&["sweep", zero], &[named]);
    let w = workload(tmp.path(), &format!("accel = \"{zero}\""), POISSON);
    expect_error(&["simulate", s(&w)], &[named]);
}

#[test]
fn files_beyond_the_bounds_are_refused_by_their_size() {
    let tmp = tempfile::tempdir().unwrap();
    // A sparse 2.5 GB `.npy`: refused by --max-bytes before a byte is read.
    let npy = tmp.path().join("big.npy");
    std::fs::File::create(&npy)
        .unwrap()
        .set_len(2_500_000_000)
        .unwrap();
    let (model, input, _) = abs_test();
    for flag in ["--input", "--reference", "--labels"] {
        let mut args = vec!["run", s(&model), "--max-bytes", "100000000"];
        if flag != "--input" {
            args.extend(["--input", s(&input)]);
        }
        args.extend([flag, s(&npy)]);
        expect_error(
            &args,
            &[
                "big.npy",
                "the file has 2500000000 bytes, more than the limit of 100000000 (--max-bytes)",
            ],
        );
    }
    // A 20 MB TOML file of one line: refused by its size, quickly, in one short line.
    let toml = tmp.path().join("big.toml");
    let line = format!("name = \"{}", "a".repeat(20_000_000));
    std::fs::write(&toml, &line).unwrap();
    let size = "the file has 20000008 bytes, more than the limit of 1048576";
    expect_error(&["simulate", s(&toml)], &["big.toml", size]);
    expect_error(&["run", "--accel", s(&toml)], &["big.toml", size]);
    // Under the bound, a syntax error far into a long line is placed, and quoted only
    // around the error.
    let long = tmp.path().join("long.toml");
    std::fs::write(
        &long,
        format!("name = \"tiny\"\nbogus = [{}x]\n", "1,".repeat(400_000)),
    )
    .unwrap();
    let err = expect_error(
        &["run", "--accel", s(&long)],
        &["long.toml: malformed accelerator TOML: line 2, column 800010: "],
    );
    assert!(err.contains(",1,x]`)"), "{err}");
}

#[test]
fn an_accelerator_file_named_by_a_workload_is_never_echoed() {
    let tmp = tempfile::tempdir().unwrap();
    for secret in [
        "root:x:0:0:TOPSECRET:/root:/bin/bash\n",
        "arrays = \"TOPSECRET\"\n",
        "TOPSECRET = 1\n",
    ] {
        let file = tmp.path().join("secret.txt");
        std::fs::write(&file, secret).unwrap();
        let w = workload(tmp.path(), &format!("accel = \"{}\"", s(&file)), POISSON);
        let err = expect_error(
            &["simulate", s(&w)],
            &["secret.txt: not a valid accelerator TOML file (error at line 1, column "],
        );
        assert!(!err.contains("TOPSECRET"), "{err}");
    }
}

#[test]
fn absurd_numbers_are_named_as_such() {
    let tmp = tempfile::tempdir().unwrap();
    // A rate whose mean gap is beyond 2^64 cycles reported an empty run with SLA 100 %.
    let w = workload(
        tmp.path(),
        "",
        "{ kind = \"poisson\", rate_per_s = 5e-324 }",
    );
    expect_error(
        &["simulate", s(&w)],
        &[
            "w.toml: invalid tenants[0].arrival.rate_per_s: 5e-324 requests/s",
            "beyond the 2^64 cycles",
        ],
    );
    let w = workload(tmp.path(), "", "{ kind = \"periodic\", period_ms = 1e300 }");
    expect_error(
        &["simulate", s(&w)],
        &["w.toml: invalid tenants[0].arrival.period_ms: 1e300 ms is beyond the 2^64 cycles"],
    );
    let big = workload(tmp.path(), "", POISSON);
    let text = std::fs::read_to_string(&big)
        .unwrap()
        .replace("requests = 4", "duration_ms = 1e7");
    std::fs::write(&big, text).unwrap();
    expect_error(
        &["simulate", s(&big)],
        &["w.toml: invalid duration_ms: yields more than 1000000 arrivals"],
    );
    // A clock of 5e-324 MHz printed "inf ms".
    let tiny = std::fs::read_to_string(root().join("presets/tiny.toml")).unwrap();
    let accel = tmp.path().join("slow.toml");
    std::fs::write(
        &accel,
        tiny.replace("clock_mhz = 100", "clock_mhz = 5e-324"),
    )
    .unwrap();
    expect_error(
        &["run", "--accel", s(&accel)],
        &["slow.toml: invalid clock_mhz: must be a number from 0.001 to 1000000"],
    );
    let w = workload(tmp.path(), "", POISSON);
    expect_error(
        &["simulate", s(&w), "--scheduler", "all,all"],
        &["'all' stands for a set of schedulers and must be given alone"],
    );
    expect_error(
        &["sweep", s(&w), "--loads", "1e308:1e308:1"],
        &["invalid loads: '1e308:1e308:1'"],
    );
}

#[test]
fn model_errors_name_the_model_file() {
    use cdmsa::proto::*;
    let tmp = tempfile::tempdir().unwrap();
    // An input without a type.
    let model = ModelProto {
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(GraphProto {
            node: vec![NodeProto {
                name: "r".into(),
                op_type: "Relu".into(),
                input: vec!["x".into()],
                output: vec!["y".into()],
                ..NodeProto::default()
            }],
            input: vec![ValueInfoProto {
                name: "x".into(),
                r#type: None,
            }],
            output: vec![ValueInfoProto {
                name: "y".into(),
                r#type: None,
            }],
            ..GraphProto::default()
        }),
        ..ModelProto::default()
    };
    let path = tmp.path().join("untyped.onnx");
    std::fs::write(&path, model.encode_to_vec()).unwrap();
    expect_error(
        &["run", s(&path)],
        &["untyped.onnx: shape mismatch: input 'x' has no declared type"],
    );
    // External data that is missing, relative to a model named without a directory.
    let (abs, _, _) = abs_test();
    let mut model = ModelProto::decode(std::fs::read(&abs).unwrap().as_slice()).unwrap();
    let graph = model.graph.as_mut().unwrap();
    graph.node[0].input.push("w".into());
    graph.node[0].op_type = "Add".into();
    graph.initializer.push(TensorProto {
        name: "w".into(),
        data_type: 1,
        dims: vec![1],
        data_location: 1,
        external_data: vec![StringStringEntryProto {
            key: "location".into(),
            value: "weights.bin".into(),
        }],
        ..TensorProto::default()
    });
    std::fs::write(tmp.path().join("ext.onnx"), model.encode_to_vec()).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_cdmsa"))
        .args(["run", "ext.onnx"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}{err}");
    assert!(
        err.starts_with("error: ext.onnx: ")
            && err.contains("external data file ./weights.bin: No such file"),
        "{err}"
    );
}
