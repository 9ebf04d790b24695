//! End-to-end functional runs: lower, execute on the emulated arrays, compare with the
//! reference and cost every layer (`cdmsa run` after reading its files), for the committed
//! digits models and a ResNet-class model, with the vector microkernels and, in the same run, with
//! the portable kernels as the baseline; prints both and their ratio.
//!
//! The ResNet-class model is `models/real/open-nsfw-resnet50` (ResNet-50, 1.07 GMAC per
//! image), fetched by `python3 models/realmodels/fetch.py`; without it the bench says so and
//! measures the rest.
//!
//! `cargo bench --bench end_to_end`

use cdmsa::array::Isa;
use cdmsa::config::AcceleratorConfig;
use cdmsa::ir::Graph;
use cdmsa::kernel::Precision;
use cdmsa::onnx::load_model;
use cdmsa::tensor::Tensor;
use cdmsa::tensor::pb::read_pb;
use cdmsa::verify::{RunRequest, verified_run};
use criterion::Criterion;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The allocator of the `cdmsa` binary, so that the timings are the CLI's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Model {
    name: String,
    graph: Graph,
    inputs: Vec<Tensor>,
    outputs: Vec<Tensor>,
}

/// `PREFIX0.pb`, `PREFIX1.pb`, … in `dir`, until one is missing.
fn numbered(dir: &Path, prefix: &str) -> Vec<Tensor> {
    (0..)
        .map(|i| dir.join(format!("{prefix}{i}.pb")))
        .take_while(|p| p.exists())
        .map(|p| read_pb(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect()
}

fn load(name: &str, dir: &Path) -> Model {
    let graph =
        load_model(&dir.join("model.onnx")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let data = dir.join("test_data_set_0");
    Model {
        name: name.into(),
        graph,
        inputs: numbered(&data, "input_"),
        outputs: numbered(&data, "output_"),
    }
}

fn run(m: &Model, cfg: &AcceleratorConfig) {
    let req = RunRequest {
        model: m.name.clone(),
        graph: &m.graph,
        inputs: &m.inputs,
        references: &m.outputs,
        tolerance: None,
        labels: None,
        precision: Precision::Native,
    };
    let (report, _) = verified_run(&req, cfg).unwrap_or_else(|e| panic!("{}: {e}", m.name));
    assert!(report.pass, "{}: outputs differ from the reference", m.name);
}

/// Median seconds per call over at least `min` of wall time (at least 3 calls, after a warm-up).
fn median_time(min: Duration, mut f: impl FnMut()) -> f64 {
    f();
    let (start, mut times) = (Instant::now(), Vec::new());
    while start.elapsed() < min || times.len() < 3 {
        let t = Instant::now();
        f();
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut models: Vec<Model> = ["fp32", "fp16", "int8_qop", "int8_qdq"]
        .iter()
        .map(|v| load(&format!("digits/{v}"), &root.join("digits").join(v)))
        .collect();
    let resnet = root.join("real/open-nsfw-resnet50");
    if resnet.join("model.onnx").exists() {
        models.push(load("open-nsfw-resnet50", &resnet));
    } else {
        println!(
            "SKIPPED open-nsfw-resnet50: {} is absent; fetch it with `python3 models/realmodels/fetch.py`",
            resnet.join("model.onnx").display()
        );
    }
    let cfg = AcceleratorConfig::load("tpu-msa").expect("the tpu-msa preset");
    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500))
        .configure_from_args();
    let mut g = c.benchmark_group("run_tpu_msa");
    for m in &models {
        g.bench_function(&m.name, |b| b.iter(|| run(m, &cfg)));
    }
    g.finish();

    let best = Isa::detected();
    println!(
        "\nfunctional run on tpu-msa, {} threads: {best:?} kernels vs the portable kernels (same run)",
        rayon::current_num_threads()
    );
    println!(
        "  {:<22} {:>12} {:>12} {:>9}",
        "model", "fast ms", "portable ms", "speed-up"
    );
    for m in &models {
        Isa::select(Some(best));
        let fast = median_time(Duration::from_secs(2), || run(m, &cfg));
        Isa::select(Some(Isa::Portable));
        let portable = median_time(Duration::from_secs(2), || run(m, &cfg));
        Isa::select(None);
        println!(
            "  {:<22} {:>12.2} {:>12.2} {:>8.1}×",
            m.name,
            fast * 1e3,
            portable * 1e3,
            portable / fast
        );
    }
    c.final_summary();
}
