//! Multi-tenant workloads: which models run as tenants, with what SLAs, and when their
//! requests arrive.
//!
//! A workload is a TOML file:
//!
//! ```toml
//! seed = 42                 # optional, default 0; seeds every Poisson stream
//! requests = 300            # total requests over all tenants; OR duration_ms = 100.0
//! warmup = 30               # optional, default 0; the first 30 requests are not measured
//! accel = "tpu-msa"         # optional preset name or accelerator TOML path, default tpu-msa
//!
//! [[tenants]]
//! name = "resnet"                       # unique
//! model = "zoo:resnet50"   # a zoo model (crate::zoo), or an .onnx file relative to the
//!                          # workload file's directory, e.g. "../models/digits/fp32/model.onnx"
//! precision = "native"      # native | int8 | fp16 | bf16 | fp32, default native
//! batch = 1                 # inputs per request, 1..=4096, default 1
//! priority = 3              # PREMA level 1, 3 or 9, default 1
//! weight = 1.0              # weight in WSTP, default 1.0
//! sla_ms = 15.0             # OR sla_factor = 5.0 (× the isolated latency)
//! arrival = { kind = "poisson", rate_per_s = 100.0 }
//! # or { kind = "periodic", period_ms = 10.0, offset_ms = 0.0 }   (offset default 0)
//! # or { kind = "bursty", rate_per_s = 400.0, on_ms = 50.0, off_ms = 150.0 }
//! # or { kind = "trace", file = "trace.csv" }
//!
//! [[tenants]]
//! name = "chat"                         # a decoder tenant: a token loop per request
//! model = "decoder.onnx"   # a decoder-only model with KV-cache inputs and outputs
//! decode = { prompt = 128, generate = 64 }   # kv_block = 16 optional (1..=1024)
//! ttft_ms = 50.0            # time to first token; replaces sla_ms / sla_factor
//! tpot_ms = 12.0            # time per output token after the first
//! arrival = { kind = "trace", file = "traces/llm-chat.csv" }
//! ```
//!
//! Exactly one of `requests` / `duration_ms` and exactly one of `sla_ms` / `sla_factor` must
//! be given, except for a decoder tenant (one with `decode`), which gives `ttft_ms` and
//! `tpot_ms` instead, has `batch = 1`, and whose `prompt` and `generate` (the prefill's token
//! included) are 1..=[`MAX_TOKENS`]. `warmup` counts requests, not a fraction: the first
//! `warmup` arrivals over all tenants (request numbers `0..warmup`, in arrival order) are
//! simulated like every other request, so they load the accelerator, but their records are
//! left out of every metric
//! (`crate::report::metrics`); with `requests`, `warmup` must be below it. The per-tenant
//! counters (busy cycles, preemptions, fused tiles, DRAM traffic) accumulate over the
//! whole run, warm-up included. A trace file (relative to the workload file's directory) holds
//! one arrival time in milliseconds per line, non-negative and non-decreasing, or, for a
//! decoder tenant, `t_ms, context_tokens, generated_tokens` per line (the column layout of
//! public LLM inference traces), which give each request its own prompt and generation
//! lengths; `#` starts a comment and one header line may come before the data. Rates,
//! periods, SLAs and weights must be positive and finite. Unknown keys are rejected, and
//! every value error names its field (`tenants[1].sla_ms: ...`). At most [`MAX_ARRIVALS`]
//! requests are generated, so no file can exhaust memory.
//!
//! [`arrivals()`] turns a workload into the merged, seeded sequence of request arrivals;
//! [`Workload::to_toml`] writes a workload back as a file; [`generate`] draws seeded random
//! workloads over the zoo for scheduler tournaments.

mod arrivals;
pub mod generate;
mod parse;
mod spec;
mod trace;

pub use crate::kernel::Precision;
pub use arrivals::{ArrivalEvent, arrivals};
pub(crate) use spec::non_negative;
pub use spec::{Arrival, Decode, Sla, Stop, TenantSpec};

use crate::config::{AcceleratorConfig, PRESETS};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The most requests one workload may generate (and the most times a trace may hold).
pub const MAX_ARRIVALS: u64 = 1_000_000;

/// The longest prompt or generation a request may have, in tokens.
pub const MAX_TOKENS: usize = 32_768;

/// The accelerator used when a workload names none.
pub const DEFAULT_ACCEL: &str = "tpu-msa";

/// The workload run by `cdmsa simulate` without arguments.
const DEFAULT_TOML: &str = include_str!("../../workloads/default.toml");

/// A validated workload.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// Seed of every random choice (the Poisson arrival streams).
    pub seed: u64,
    /// When arrival generation stops.
    pub stop: Stop,
    /// How many of the first requests (in arrival order, over all tenants) are warm-up:
    /// simulated but left out of every metric.
    pub warmup: u64,
    /// With [`Stop::Requests`], the fewest multiples of the longest request SLA its
    /// arrivals must span: more requests are generated until they do (0: the count alone).
    /// After arrivals stop the backlog drains with nothing new arriving, so a run not many
    /// times longer than its SLAs meets them at loads no accelerator sustains (see
    /// [`crate::sim::requests`]).
    pub min_span_slas: f64,
    /// Accelerator preset name or TOML path, if the file names one.
    pub accel: Option<String>,
    /// The tenants, in file order; `tenants[i].id` is `TenantId(i)`.
    pub tenants: Vec<TenantSpec>,
    /// Directory that relative paths in the file are resolved against.
    pub base_dir: PathBuf,
}

impl Workload {
    /// Parses and validates a workload, reading its trace files; relative paths are resolved
    /// against `base_dir`.
    ///
    /// # Errors
    /// [`Error::Malformed`] for TOML that does not parse or does not fit the schema (unknown
    /// or missing keys, wrong types); [`Error::Config`] naming the field for a bad value.
    pub fn from_toml(text: &str, base_dir: &Path) -> Result<Workload> {
        parse::parse(text, base_dir)
    }

    /// The workload as a TOML file that [`Workload::from_toml`] reads back into it (with the
    /// same `base_dir`).
    ///
    /// # Errors
    /// [`Error::Config`] for a tenant whose arrivals are a trace (its times belong in a file
    /// of their own).
    pub fn to_toml(&self) -> Result<String> {
        parse::write(self)
    }

    /// Reads a workload file; relative paths in it are resolved against its directory.
    ///
    /// # Errors
    /// As [`Workload::from_toml`], with the file named.
    pub fn load(path: &Path) -> Result<Workload> {
        let text = crate::files::read_toml_text(path, "workload TOML")?;
        let base_dir = path.parent().unwrap_or(Path::new(""));
        Workload::from_toml(&text, base_dir).map_err(|e| e.in_file(path))
    }

    /// The embedded default workload (`workloads/default.toml`, three digits-model tenants
    /// on the `tiny` accelerator); its paths are resolved against the crate's root.
    pub fn default_embedded() -> Workload {
        Workload::from_toml(
            DEFAULT_TOML,
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads"),
        )
        .expect("the embedded default workload is valid (a test parses it)")
    }

    /// Scales every Poisson rate and divides every period by `factor` (for load sweeps).
    /// Offsets and trace times are unchanged. A `factor` that is not positive and finite
    /// yields a workload that [`arrivals()`] rejects.
    pub fn scaled(&self, factor: f64) -> Workload {
        let mut w = self.clone();
        for t in &mut w.tenants {
            match &mut t.arrival {
                Arrival::Poisson { rate_per_s } | Arrival::Bursty { rate_per_s, .. } => {
                    *rate_per_s *= factor
                }
                Arrival::Periodic { period_ms, .. } => *period_ms /= factor,
                Arrival::Trace { .. } => {}
            }
        }
        w
    }

    /// Offered load in requests per second over all tenants (a trace counts its requests
    /// over its span).
    pub fn offered_rps(&self) -> f64 {
        self.tenants
            .iter()
            .map(|t| t.arrival.mean_rate_per_s())
            .sum()
    }

    /// The accelerator: the named preset, or else the TOML file at `accel` relative to
    /// `base_dir`; [`DEFAULT_ACCEL`] when the workload names none.
    ///
    /// # Errors
    /// An unreadable or invalid accelerator file (a TOML error gives its position only, see
    /// [`AcceleratorConfig::load_referenced`]).
    pub fn accelerator(&self) -> Result<AcceleratorConfig> {
        let accel = self.accel.as_deref().unwrap_or(DEFAULT_ACCEL);
        if PRESETS.iter().any(|(name, _)| *name == accel) {
            return AcceleratorConfig::preset(accel);
        }
        AcceleratorConfig::load_referenced(&self.base_dir.join(accel))
    }
}

/// A [`Error::Config`] for `field`.
fn invalid(field: impl Into<String>, msg: impl Into<String>) -> Error {
    Error::Config {
        field: field.into(),
        msg: msg.into(),
    }
}
