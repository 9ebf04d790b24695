//! Hostile inputs never crash: thousands of seeded mutations of the committed models and
//! workload files go through the library (load, specialise, lower, execute; parse, generate
//! arrivals) and a sample through the `cdmsa` binary. Every case must end in `Ok` or a typed
//! error; a panic is caught and reported as a failure naming the case.

#[path = "mutation/mutator.rs"]
mod mutator;

use cdmsa::kernel::Precision;
use cdmsa::proto::ModelProto;
use cdmsa::tensor::pb::{read_pb, tensor_to_proto};
use cdmsa::verify::hostile::{Reached, hostile_limits, parse_workload_bytes, run_model_bytes};
use mutator::{Rng, flip_bits, random_bytes, rng, splice, structured, truncate};
use prost::Message;
use rand::RngExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Node tests whose models are mutated too: one per op family that allocates from attributes
/// or from the values of shape-like inputs.
const NODE_TESTS: &[&str] = &[
    "test_averagepool_2d_pads",
    "test_batchnorm_example",
    "test_cast_FLOAT_to_FLOAT16",
    "test_clip",
    "test_concat_2d_axis_0",
    "test_constantofshape_float_ones",
    "test_conv_with_strides_padding",
    "test_convtranspose",
    "test_expand_dim_changed",
    "test_flatten_axis1",
    "test_gather_0",
    "test_gemm_default_single_elem_vector_bias",
    "test_layer_normalization_2d_axis0",
    "test_matmul_2d",
    "test_maxpool_2d_dilations",
    "test_qlinearconv",
    "test_qlinearmatmul_2D_uint8_float32",
    "test_range_int32_type_negative_delta",
    "test_reduce_sum_keepdims_example",
    "test_reshape_extended_dims",
    "test_resize_upsample_sizes_nearest",
    "test_slice",
    "test_softmax_axis_1",
    "test_split_equal_parts_1d_opset13",
    "test_transpose_all_permutations_0",
    "test_unsqueeze_axis_0",
    "test_where_example",
];

/// The seed corpus: the digits models, the node tests and the DynamicQuantizeLSTM contrib
/// tests, the node tests' integer inputs (shapes, axes, sizes) made initializers so that
/// specialisation reads their values.
fn corpus() -> Vec<(String, ModelProto)> {
    let mut out = Vec::new();
    for v in ["default", "fp16", "fp32", "int8_qdq", "int8_qop"] {
        let p = root().join("models/digits").join(v).join("model.onnx");
        let m = ModelProto::decode(std::fs::read(&p).unwrap().as_slice()).unwrap();
        out.push((format!("digits/{v}"), m));
    }
    for name in [
        "dynamic_quantize_lstm_bidirectional",
        "dynamic_quantize_lstm_uint8_per_column",
    ] {
        let p = root()
            .join("models/contrib-tests")
            .join(name)
            .join("model.onnx");
        let m = ModelProto::decode(std::fs::read(&p).unwrap().as_slice()).unwrap();
        out.push((format!("contrib/{name}"), m));
    }
    for name in NODE_TESTS {
        let dir = root().join("models/onnx-node-tests").join(name);
        let Ok(bytes) = std::fs::read(dir.join("model.onnx")) else {
            continue;
        };
        let mut m = ModelProto::decode(bytes.as_slice()).unwrap();
        let g = m.graph.as_mut().unwrap();
        let inputs: Vec<String> = g.input.iter().map(|i| i.name.clone()).collect();
        for (i, name) in inputs.iter().enumerate() {
            let Ok(t) = read_pb(&dir.join(format!("test_data_set_0/input_{i}.pb"))) else {
                continue;
            };
            if !t.dtype().is_float() {
                g.initializer.push(tensor_to_proto(&t, name));
            }
        }
        out.push((name.to_string(), m));
    }
    assert!(out.len() >= 25, "the corpus lost models: {}", out.len());
    out
}

/// What the cases ended in.
#[derive(Default)]
struct Tally {
    cases: usize,
    executed: usize,
    too_large: usize,
    errors: usize,
    /// Typed errors by variant.
    kinds: std::collections::BTreeMap<String, usize>,
    failures: Vec<String>,
    slowest: (Duration, String),
}

impl Tally {
    /// Runs one case, catching a panic as a failure named `case`.
    fn model(&mut self, case: String, bytes: &[u8], precision: Precision) {
        let limits = hostile_limits();
        let start = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            run_model_bytes(bytes, &limits, precision)
        }));
        self.record(
            case,
            start,
            outcome.map(|r| r.map(|reached| reached == Reached::Executed)),
        );
    }

    fn record(
        &mut self,
        case: String,
        start: Instant,
        outcome: std::thread::Result<cdmsa::Result<bool>>,
    ) {
        let took = start.elapsed();
        self.cases += 1;
        match outcome {
            Ok(Ok(true)) => self.executed += 1,
            Ok(Ok(false)) => self.too_large += 1,
            Ok(Err(e)) => {
                self.errors += 1;
                let e = match e {
                    cdmsa::Error::InFile { source, .. } => *source,
                    e => e,
                };
                let kind = format!("{e:?}");
                let kind = kind.split([' ', '(', '{']).next().unwrap_or_default();
                *self.kinds.entry(kind.to_string()).or_default() += 1;
            }
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                self.failures.push(format!("{case}: panicked: {msg}"));
            }
        }
        if took > self.slowest.0 {
            self.slowest = (took, case);
        }
    }

    fn report(&self, what: &str) {
        println!(
            "mutation suite, {what}: {} cases: {} ran to the end, {} too large to execute, {} typed errors {:?}, {} panics; slowest {:?} ({})",
            self.cases,
            self.executed,
            self.too_large,
            self.errors,
            self.kinds,
            self.failures.len(),
            self.slowest.0,
            self.slowest.1
        );
        for f in &self.failures {
            println!("FAILED {f}");
        }
        // Panics of cases were silenced; this test's own verdict must be heard.
        drop(std::panic::take_hook());
        assert!(
            self.failures.is_empty(),
            "{} of {} cases panicked:\n{}",
            self.failures.len(),
            self.cases,
            self.failures.join("\n")
        );
        assert!(
            self.slowest.0 < Duration::from_secs(10),
            "a case took {:?}: {}",
            self.slowest.0,
            self.slowest.1
        );
    }
}

fn precision(r: &mut Rng) -> Precision {
    match r.random_range(0..8) {
        0 => Precision::Fp16,
        1 => Precision::Int8,
        2 => Precision::Fp32,
        3 => Precision::Bf16,
        _ => Precision::Native,
    }
}

/// Silences the default panic message (panics are caught and reported per case).
fn quiet_panics() {
    std::panic::set_hook(Box::new(|_| {}));
}

#[test]
fn byte_level_damage_to_models_gives_ok_or_a_typed_error() {
    quiet_panics();
    let mut tally = Tally::default();
    for (m, (name, model)) in corpus().iter().enumerate() {
        let bytes = model.encode_to_vec();
        let mut r = rng(0xB17E ^ m as u64);
        // Truncation at 24 points spread over the file, plus the first few bytes.
        for k in 0..24 {
            let len = bytes.len() * k / 24 + k % 3;
            tally.model(
                format!("{name} truncated to {len} bytes"),
                &truncate(&bytes, len),
                Precision::Native,
            );
        }
        for k in 0..160 {
            let b = flip_bits(&mut r, &bytes);
            tally.model(format!("{name} bit flips #{k}"), &b, Precision::Native);
        }
        for k in 0..60 {
            let b = splice(&mut r, &bytes);
            tally.model(format!("{name} splice #{k}"), &b, Precision::Native);
        }
    }
    let mut r = rng(0x5EED);
    for k in 0..500 {
        tally.model(
            format!("random bytes #{k}"),
            &random_bytes(&mut r),
            Precision::Native,
        );
    }
    tally.report("models, byte-level");
    assert!(tally.cases >= 2000);
}

#[test]
fn structural_damage_to_models_gives_ok_or_a_typed_error() {
    quiet_panics();
    let mut tally = Tally::default();
    for (m, (name, model)) in corpus().iter().enumerate() {
        let mut r = rng(0x57_2C ^ (m as u64) << 8);
        for k in 0..300 {
            let (bytes, applied) = structured(&mut r, model);
            let p = precision(&mut r);
            tally.model(format!("{name} #{k} {applied:?} at {p:?}"), &bytes, p);
        }
    }
    tally.report("models, structure-aware");
    assert!(tally.cases >= 2000);
    assert!(tally.executed > 0 && tally.errors > 0);
}

#[test]
fn damaged_workloads_give_ok_or_a_typed_error() {
    quiet_panics();
    let dir = root().join("workloads");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 4);
    let mut tally = Tally::default();
    let run = |tally: &mut Tally, case: String, bytes: &[u8]| {
        let start = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| parse_workload_bytes(bytes, &dir)));
        tally.record(case, start, outcome.map(|r| r.map(|_| true)));
    };
    for (f, path) in files.iter().enumerate() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let mut r = rng(0x70_41 ^ f as u64);
        for k in 0..20 {
            let len = text.len() * k / 20;
            run(
                &mut tally,
                format!("{name} truncated to {len}"),
                &text.as_bytes()[..len],
            );
        }
        for k in 0..60 {
            run(
                &mut tally,
                format!("{name} bit flips #{k}"),
                &flip_bits(&mut r, text.as_bytes()),
            );
        }
        for k in 0..1000 {
            let mut t = text.clone();
            for _ in 0..r.random_range(1..=3) {
                t = mutator::mutate_workload(&mut r, &t);
            }
            run(&mut tally, format!("{name} edit #{k}"), t.as_bytes());
        }
    }
    // Trace files that are endless or absurd.
    for (k, trace) in ["/dev/zero", "/dev/null", "/", "no-such-trace.csv"]
        .iter()
        .enumerate()
    {
        let text = format!(
            "requests = 5\n[[tenants]]\nname = \"a\"\nmodel = \"m.onnx\"\nsla_ms = 1.0\narrival = {{ kind = \"trace\", file = \"{trace}\" }}\n"
        );
        run(
            &mut tally,
            format!("trace file {trace} #{k}"),
            text.as_bytes(),
        );
    }
    tally.report("workloads");
    assert!(tally.cases >= 1500);
}

#[test]
fn damaged_accelerator_configs_give_ok_or_a_typed_error() {
    use cdmsa::config::AcceleratorConfig;
    use cdmsa::sched::Edf;
    use cdmsa::sim::{Mode, requests, simulate, tenants};
    use cdmsa::workload::Workload;
    quiet_panics();
    let mut w = Workload::default_embedded();
    w.stop = cdmsa::workload::Stop::Requests(6);
    let mut tally = Tally::default();
    for (p, preset) in ["tiny", "tpu-msa", "nnpi-msa", "planaria-16"]
        .iter()
        .enumerate()
    {
        let text = std::fs::read_to_string(root().join(format!("presets/{preset}.toml"))).unwrap();
        let mut r = rng(0xACC ^ p as u64);
        for k in 0..150 {
            let mut t = text.clone();
            for _ in 0..r.random_range(1..=2) {
                t = mutator::mutate_workload(&mut r, &t);
            }
            let start = Instant::now();
            // A valid configuration must also lower, cost and simulate the default workload.
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let cfg = AcceleratorConfig::from_toml(&t)?;
                let models = tenants(&w, &cfg, false)?;
                let reqs = requests(&w, &models, &cfg)?;
                simulate(&cfg, &models, &reqs, &mut Edf, Mode::Timing).map(|_| true)
            }));
            tally.record(format!("{preset}.toml edit #{k}"), start, outcome);
        }
    }
    tally.report("accelerator configs");
    assert!(tally.cases >= 600 && tally.executed > 0);
}

/// A single line on stderr naming the file, exit 2, no panic — or a normal verdict.
#[test]
fn damaged_models_through_the_cli_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus();
    let mut r = rng(0xC11);
    let (mut cases, mut errors) = (0, 0);
    for k in 0..40 {
        let (name, model) = &corpus[k % corpus.len()];
        let bytes = match k % 3 {
            0 => truncate(&model.encode_to_vec(), r.random_range(0..64)),
            1 => flip_bits(&mut r, &model.encode_to_vec()),
            _ => structured(&mut r, model).0,
        };
        let file = dir.path().join(format!("case{k}.onnx"));
        std::fs::write(&file, &bytes).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_cdmsa"))
            .args(["run", file.to_str().unwrap(), "--accel", "tiny"])
            .args([
                "--max-tensor-elements",
                "1048576",
                "--max-bytes",
                "268435456",
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        cases += 1;
        assert!(!err.contains("panicked"), "case {k} ({name}): {err}");
        match o.status.code() {
            Some(0 | 1) => {}
            Some(2) => {
                errors += 1;
                assert_eq!(err.lines().count(), 1, "case {k} ({name}): {err}");
                assert!(
                    err.starts_with("error: ") && err.contains(&format!("case{k}.onnx")),
                    "case {k} ({name}): {err}"
                );
            }
            other => panic!("case {k} ({name}): exit {other:?}: {err}"),
        }
    }
    println!("mutation suite, CLI: {cases} cases, {errors} exited 2 with one line");
    assert!(errors >= cases / 2);
}
