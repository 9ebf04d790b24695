//! The validated description of one tenant: model, precision, SLA, arrival process and, for
//! a decoder, its token loop.

use super::{MAX_ARRIVALS, MAX_TOKENS, invalid};
use crate::error::Result;
use crate::kernel::Precision;
use crate::units::TenantId;
use crate::zoo::ModelSource;

/// When a simulation stops generating arrivals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stop {
    /// After this many requests over all tenants.
    Requests(u64),
    /// After this many milliseconds of emulated time (arrivals strictly before it count).
    DurationMs(f64),
}

/// One tenant: a DNN service with its own model, SLA and request stream.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantSpec {
    /// Position of the tenant in the workload file (0, 1, ...).
    pub id: TenantId,
    /// Unique name.
    pub name: String,
    /// The ONNX model (a file already resolved against the workload's `base_dir`, or a zoo
    /// model).
    pub model: ModelSource,
    /// The numeric variant the model runs in.
    pub precision: Precision,
    /// Inputs per request.
    pub batch: usize,
    /// PREMA priority level: 1, 3 or 9.
    pub priority: u8,
    /// Weight in weighted system throughput (WSTP).
    pub weight: f64,
    /// Latency objective of each request.
    pub sla: Sla,
    /// How requests arrive.
    pub arrival: Arrival,
    /// The token loop of a decoder tenant; `None` for a tenant whose request is one pass.
    pub decode: Option<Decode>,
}

/// A decoder tenant's token loop: each request runs its prompt at once (the prefill, which
/// gives the first token), then one decode step per further token over a KV cache that grows
/// by one token per step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decode {
    /// Prompt tokens of a request (a trace with token columns gives each request its own).
    pub prompt: usize,
    /// Tokens generated per request, the prefill's included (at least 1).
    pub generate: usize,
    /// KV-cache block in tokens (default 16): a step's prompt and cache are processed in whole blocks.
    pub kv_block: usize,
}

impl Decode {
    /// The KV-cache block used when a workload names none.
    pub const DEFAULT_KV_BLOCK: usize = 16;

    /// The largest KV-cache block.
    pub const MAX_KV_BLOCK: usize = 1024;

    /// Checks the counts: `prompt` and `generate` in 1..=[`MAX_TOKENS`], `kv_block` in
    /// 1..=[`Decode::MAX_KV_BLOCK`]; `field` names the table in errors (e.g.
    /// `tenants[0].decode`).
    pub fn validate(&self, field: &str) -> Result<()> {
        in_range(self.prompt, MAX_TOKENS, &format!("{field}.prompt"))?;
        in_range(self.generate, MAX_TOKENS, &format!("{field}.generate"))?;
        in_range(
            self.kv_block,
            Self::MAX_KV_BLOCK,
            &format!("{field}.kv_block"),
        )
    }
}

/// `value` must be in 1..=`max`.
fn in_range(value: usize, max: usize, field: &str) -> Result<()> {
    if (1..=max).contains(&value) {
        Ok(())
    } else {
        Err(invalid(field, format!("must be 1..={max}, got {value}")))
    }
}

/// A request's latency objective: for [`Sla::Ms`] and [`Sla::Factor`] its deadline is
/// arrival + this; a decoder tenant's goals are per token ([`Sla::Tokens`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sla {
    /// An absolute latency in milliseconds.
    Ms(f64),
    /// A multiple of the tenant's isolated latency (the model alone on the accelerator).
    Factor(f64),
    /// Token-level goals of a decoder tenant ([`TenantSpec::decode`]): the first token (the
    /// prefill's) within `ttft_ms` of the arrival, and each further token within `tpot_ms`
    /// of the one before.
    Tokens {
        /// Time to first token, in milliseconds from the arrival.
        ttft_ms: f64,
        /// Time per output token after the first, in milliseconds.
        tpot_ms: f64,
    },
}

/// A tenant's request arrival process.
#[derive(Debug, Clone, PartialEq)]
pub enum Arrival {
    /// Exponentially distributed inter-arrival times with mean `1 / rate_per_s`.
    Poisson {
        /// Mean requests per second.
        rate_per_s: f64,
    },
    /// One request at `offset_ms + k · period_ms` for k = 0, 1, ...
    Periodic {
        /// Time between requests.
        period_ms: f64,
        /// Time of the first request.
        offset_ms: f64,
    },
    /// Bursts: an on/off process (a two-state Markov-modulated Poisson process whose off
    /// state is silent). On periods and off periods last exponentially distributed times of
    /// means `on_ms` and `off_ms`; during an on period requests arrive as a Poisson process of
    /// rate `rate_per_s`, during an off period none do. The mean rate is
    /// `rate_per_s · on_ms / (on_ms + off_ms)`.
    Bursty {
        /// Requests per second while on.
        rate_per_s: f64,
        /// Mean length of an on period.
        on_ms: f64,
        /// Mean length of an off period.
        off_ms: f64,
    },
    /// Requests at the given absolute times.
    Trace {
        /// Arrival times in milliseconds, non-negative and non-decreasing.
        times_ms: Vec<f64>,
        /// Empty for a times-only trace; else one (context tokens, generated tokens) pair per
        /// time, each count in 1..=[`MAX_TOKENS`] (only a decoder tenant's trace has them).
        tokens: Vec<(usize, usize)>,
    },
}

impl Arrival {
    /// Checks the parameters; `field` names the arrival in errors (e.g. `tenants[0].arrival`).
    pub fn validate(&self, field: &str) -> Result<()> {
        match self {
            Arrival::Poisson { rate_per_s } => {
                positive(*rate_per_s, &format!("{field}.rate_per_s"))
            }
            Arrival::Periodic {
                period_ms,
                offset_ms,
            } => {
                positive(*period_ms, &format!("{field}.period_ms"))?;
                non_negative(*offset_ms, &format!("{field}.offset_ms"))
            }
            Arrival::Bursty {
                rate_per_s,
                on_ms,
                off_ms,
            } => {
                positive(*rate_per_s, &format!("{field}.rate_per_s"))?;
                positive(*on_ms, &format!("{field}.on_ms"))?;
                positive(*off_ms, &format!("{field}.off_ms"))
            }
            Arrival::Trace { times_ms, tokens } => {
                validate_trace(times_ms, tokens, &format!("{field}.file"))
            }
        }
    }

    /// Mean requests per second (a trace counts its requests over its span).
    pub fn mean_rate_per_s(&self) -> f64 {
        match self {
            Arrival::Poisson { rate_per_s } => *rate_per_s,
            Arrival::Periodic { period_ms, .. } => 1e3 / period_ms,
            Arrival::Bursty {
                rate_per_s,
                on_ms,
                off_ms,
            } => rate_per_s * on_ms / (on_ms + off_ms),
            Arrival::Trace { times_ms, .. } => match (times_ms.first(), times_ms.last()) {
                (Some(a), Some(b)) if b > a => times_ms.len() as f64 * 1e3 / (b - a),
                _ => 0.0,
            },
        }
    }
}

/// Trace times: at most [`MAX_ARRIVALS`], each finite, non-negative and not before the
/// previous; token pairs: none, or one per time with both counts in 1..=[`MAX_TOKENS`].
fn validate_trace(times_ms: &[f64], tokens: &[(usize, usize)], field: &str) -> Result<()> {
    if times_ms.len() as u64 > MAX_ARRIVALS {
        return Err(invalid(
            field,
            format!("more than {MAX_ARRIVALS} arrival times"),
        ));
    }
    let mut previous = 0.0;
    for (i, &t) in times_ms.iter().enumerate() {
        if let Some(why) = bad_trace_time(previous, t) {
            return Err(invalid(field, format!("arrival #{}: {why}", i + 1)));
        }
        previous = t;
    }
    if !tokens.is_empty() && tokens.len() != times_ms.len() {
        return Err(invalid(
            field,
            format!(
                "{} token pairs for {} arrival times",
                tokens.len(),
                times_ms.len()
            ),
        ));
    }
    for (i, &(context, generated)) in tokens.iter().enumerate() {
        for (count, what) in [(context, "context"), (generated, "generated")] {
            if let Some(why) = bad_token_count(count, what) {
                return Err(invalid(field, format!("arrival #{}: {why}", i + 1)));
            }
        }
    }
    Ok(())
}

/// Why `count` cannot be a request's number of `what` tokens, or `None` if it can.
pub(super) fn bad_token_count(count: usize, what: &str) -> Option<String> {
    (!(1..=MAX_TOKENS).contains(&count))
        .then(|| format!("{count} {what} tokens, must be 1..={MAX_TOKENS}"))
}

/// Why a trace time `t` cannot follow `previous` (0 for the first), or `None` if it can.
pub(super) fn bad_trace_time(previous: f64, t: f64) -> Option<String> {
    if !(t.is_finite() && t >= 0.0) {
        Some(format!("{t} is not a non-negative time"))
    } else if t < previous {
        Some(format!("{t} is before the previous time {previous}"))
    } else {
        None
    }
}

/// `value` must be finite and > 0.
pub(super) fn positive(value: f64, field: &str) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("must be positive and finite, got {value}"),
        ))
    }
}

/// `value` must be finite and ≥ 0.
pub(crate) fn non_negative(value: f64, field: &str) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("must be non-negative and finite, got {value}"),
        ))
    }
}
