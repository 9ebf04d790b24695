//! Times cdmsa's functional run of one model on its first test data set, excluding process
//! start and model loading: the model and tensors are read once, one untimed run warms up,
//! then each timed repetition lowers, executes on the emulated arrays, compares with the
//! reference and costs the layers (what `cdmsa run` does after reading its files). Prints one
//! JSON line; `benches/compare_onnxruntime.py` reads it.
//!
//! `cargo run --release --example time_run -- MODEL_DIR [REPS] [PRESET] [REWRITES]`
//! (REWRITES as `cdmsa run --rewrites` takes them).

use cdmsa::config::AcceleratorConfig;
use cdmsa::config::Rewrites;
use cdmsa::exec::execute;
use cdmsa::ir::InputBinding;
use cdmsa::kernel::Precision;
use cdmsa::limits::Limits;
use cdmsa::pipeline::Model;
use cdmsa::tensor::{Tensor, pb::read_pb};
use cdmsa::verify::{RunRequest, verified_run};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The allocator of the `cdmsa` binary, so that the timing is the CLI's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `PREFIX0.pb`, `PREFIX1.pb`, … in `dir`, until one is missing.
fn numbered(dir: &Path, prefix: &str) -> cdmsa::Result<Vec<Tensor>> {
    (0..)
        .map(|i| dir.join(format!("{prefix}{i}.pb")))
        .take_while(|p| p.exists())
        .map(|p| read_pb(&p))
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> cdmsa::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or_else(|| {
        cdmsa::Error::Invalid("usage: time_run MODEL_DIR [REPS] [PRESET] [REWRITES]".into())
    })?);
    let reps: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(10);
    let preset = args.next().unwrap_or_else(|| "tpu-msa".into());
    let mut cfg = AcceleratorConfig::load(&preset)?;
    if let Some(list) = args.next() {
        cfg.rewrites = Rewrites::parse(&list)?;
    }
    let model = Model::load(&dir.join("model.onnx"), &Limits::default())?;
    let data = dir.join("test_data_set_0");
    let (inputs, outputs) = (numbered(&data, "input_")?, numbered(&data, "output_")?);
    if inputs.is_empty() {
        return Err(cdmsa::Error::Invalid(format!(
            "{}: no input_0.pb",
            data.display()
        )));
    }
    let req = RunRequest {
        model: dir.display().to_string(),
        graph: &model.graph,
        inputs: &inputs,
        references: &outputs,
        tolerance: None,
        labels: None,
        precision: Precision::Native,
    };
    let (report, _) = verified_run(&req, &cfg)?;
    let (mut total, mut lower, mut exec) = (Vec::new(), Vec::new(), Vec::new());
    let bindings: Vec<InputBinding> = inputs.iter().map(InputBinding::of).collect();
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        drop(verified_run(&req, &cfg)?);
        total.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let program = model.lower(&bindings, &cfg, Precision::Native)?;
        lower.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        drop(execute(&program, &inputs, &cfg)?);
        exec.push(t.elapsed().as_secs_f64());
    }
    println!(
        "{{\"model\": {:?}, \"preset\": {:?}, \"threads\": {}, \"pass\": {}, \"macs\": {}, \"run_s\": {:.6}, \"lower_s\": {:.6}, \"execute_s\": {:.6}}}",
        dir.display().to_string(),
        preset,
        rayon::current_num_threads(),
        report.pass,
        report.macs,
        median(total),
        median(lower),
        median(exec),
    );
    Ok(())
}
