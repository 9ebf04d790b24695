//! Hostile inputs end to end: the one body shared by the fuzz targets (`fuzz/`) and the
//! stable mutation suite (`tests/mutation.rs`). Each function takes bytes from anywhere and
//! returns `Ok` or a typed [`Error`]; a panic, hang or unbounded allocation in them is a bug.

use crate::config::AcceleratorConfig;
use crate::error::{Error, Result};
use crate::exec::execute;
use crate::kernel::{Kernel, Precision};
use crate::limits::Limits;
use crate::lower::lower_at;
use crate::onnx::load_model_bytes;
use crate::tensor::Tensor;
use crate::workload::{Workload, arrivals};
use std::path::Path;

/// Bounds small enough that thousands of hostile cases run in seconds: 2^20 elements per
/// tensor, 10 000 nodes, 256 MiB in all.
pub fn hostile_limits() -> Limits {
    Limits {
        max_tensor_elements: 1 << 20,
        max_nodes: 10_000,
        max_bytes: 256 << 20,
    }
}

/// The most work (multiply-accumulates plus vector-unit element operations) a hostile model is
/// executed for; a larger one that loads and lowers is not executed (it is valid, only slow).
pub const MAX_HOSTILE_WORK: u64 = 50_000_000;

/// How far [`run_model_bytes`] got with a model that gave no error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reached {
    /// Loaded, lowered and executed on seeded inputs.
    Executed,
    /// Loaded and lowered; more than [`MAX_HOSTILE_WORK`], so not executed.
    TooLargeToExecute,
}

/// Loads a model from bytes within `limits`, binds its declared inputs (symbolic dims to 1) to
/// seeded values, lowers it for the `tiny` accelerator at `precision` and executes it.
///
/// # Errors
/// Whatever the model does wrong, as a typed [`Error`].
pub fn run_model_bytes(bytes: &[u8], limits: &Limits, precision: Precision) -> Result<Reached> {
    let graph = load_model_bytes(bytes, limits)?;
    let bindings = graph.declared_inputs(1)?;
    let cfg = AcceleratorConfig::preset("tiny")?;
    let program = lower_at(&graph, &bindings, &cfg, precision)?;
    let work = program.kernels.iter().fold(0u64, |s, k| {
        s.saturating_add(match k {
            Kernel::Gemm(g) => g.macs(),
            Kernel::Vector(v) => v.work,
        })
    });
    if work > MAX_HOSTILE_WORK {
        return Ok(Reached::TooLargeToExecute);
    }
    let inputs: Vec<Tensor> = bindings
        .iter()
        .enumerate()
        .map(|(i, b)| Tensor::seeded(b.dtype, &b.shape, i as u64))
        .collect();
    execute(&program, &inputs, &cfg)?;
    Ok(Reached::Executed)
}

/// Parses workload TOML (relative paths against `base_dir`) and, when it is valid and its
/// accelerator loads, generates its arrivals.
///
/// # Errors
/// Whatever the text does wrong, as a typed [`Error`].
pub fn parse_workload_text(text: &str, base_dir: &Path) -> Result<usize> {
    let w = Workload::from_toml(text, base_dir)?;
    let cfg = w.accelerator()?;
    Ok(arrivals(&w, cfg.clock_mhz)?.len())
}

/// [`parse_workload_text`] on bytes that may not be UTF-8.
///
/// # Errors
/// Not UTF-8, or as [`parse_workload_text`].
pub fn parse_workload_bytes(bytes: &[u8], base_dir: &Path) -> Result<usize> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| Error::malformed("workload TOML", "not UTF-8"))?;
    parse_workload_text(text, base_dir)
}
