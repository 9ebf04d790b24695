//! The TOML schema of a workload file, and its translation into a validated [`Workload`] and
//! back.
//!
//! Serde checks the shape (unknown keys, types, missing keys); this module checks the values
//! and names the offending field in every error, e.g. `tenants[1].sla_ms`.

use super::spec::{non_negative, positive};
use super::{Arrival, Decode, MAX_ARRIVALS, Sla, Stop, TenantSpec, Workload, invalid, trace};
use crate::error::Result;
use crate::kernel::Precision;
use crate::units::TenantId;
use crate::zoo::ModelSource;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The largest batch a request may carry.
const MAX_BATCH: usize = 4096;

/// The PREMA priority levels.
const PRIORITIES: [u8; 3] = [1, 3, 9];

/// A workload file as written.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct WorkloadFile {
    #[serde(default)]
    seed: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    requests: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "is_zero")]
    warmup: u64,
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    min_span_slas: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    accel: Option<String>,
    #[serde(default)]
    tenants: Vec<TenantEntry>,
}

/// One `[[tenants]]` table as written.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct TenantEntry {
    name: String,
    model: String,
    #[serde(default)]
    precision: Precision,
    batch: Option<usize>,
    priority: Option<u8>,
    weight: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sla_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sla_factor: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttft_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tpot_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decode: Option<DecodeEntry>,
    arrival: ArrivalEntry,
}

/// A tenant's `decode` table as written.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct DecodeEntry {
    prompt: usize,
    generate: usize,
    kv_block: Option<usize>,
}

/// A tenant's `arrival` table as written; `kind` selects the variant.
#[derive(Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
enum ArrivalEntry {
    Poisson {
        rate_per_s: f64,
    },
    Periodic {
        period_ms: f64,
        #[serde(default)]
        offset_ms: f64,
    },
    Bursty {
        rate_per_s: f64,
        on_ms: f64,
        off_ms: f64,
    },
    Trace {
        file: PathBuf,
    },
}

/// Parses and validates a workload; relative paths are resolved against `base_dir`.
pub(super) fn parse(text: &str, base_dir: &Path) -> Result<Workload> {
    let file: WorkloadFile =
        toml::from_str(text).map_err(|e| crate::files::toml_error("workload TOML", &e, text))?;
    let stop = stop(file.requests, file.duration_ms)?;
    if let Stop::Requests(n) = stop
        && file.warmup >= n
    {
        return Err(invalid(
            "warmup",
            format!(
                "{} warm-up requests leave none of the {n} requests to measure",
                file.warmup
            ),
        ));
    }
    non_negative(file.min_span_slas, "min_span_slas")?;
    if file.accel.as_deref().is_some_and(|a| a.trim().is_empty()) {
        return Err(invalid("accel", "must not be empty"));
    }
    if file.tenants.is_empty() {
        return Err(invalid(
            "tenants",
            "at least one [[tenants]] table is required",
        ));
    }
    let tenants = file
        .tenants
        .into_iter()
        .enumerate()
        .map(|(i, entry)| tenant(i, entry, base_dir))
        .collect::<Result<Vec<_>>>()?;
    for (i, t) in tenants.iter().enumerate() {
        if tenants[..i].iter().any(|earlier| earlier.name == t.name) {
            return Err(invalid(
                format!("tenants[{i}].name"),
                format!("'{}' is already the name of an earlier tenant", t.name),
            ));
        }
    }
    Ok(Workload {
        seed: file.seed,
        stop,
        warmup: file.warmup,
        min_span_slas: file.min_span_slas,
        accel: file.accel,
        tenants,
        base_dir: base_dir.to_path_buf(),
    })
}

/// Whether a count is 0 (a field left out of a written file).
fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_f64(x: &f64) -> bool {
    *x == 0.0
}

/// Exactly one of `requests` and `duration_ms`.
fn stop(requests: Option<u64>, duration_ms: Option<f64>) -> Result<Stop> {
    match (requests, duration_ms) {
        (Some(n), None) if (1..=MAX_ARRIVALS).contains(&n) => Ok(Stop::Requests(n)),
        (Some(n), None) => Err(invalid(
            "requests",
            format!("must be 1..={MAX_ARRIVALS}, got {n}"),
        )),
        (None, Some(ms)) => positive(ms, "duration_ms").map(|()| Stop::DurationMs(ms)),
        (Some(_), Some(_)) => Err(invalid(
            "duration_ms",
            "give either requests or duration_ms, not both",
        )),
        (None, None) => Err(invalid(
            "requests",
            "one of requests or duration_ms is required",
        )),
    }
}

/// Validates the `i`-th tenant and reads its trace file, if any.
fn tenant(i: usize, entry: TenantEntry, base_dir: &Path) -> Result<TenantSpec> {
    let field = |key: &str| format!("tenants[{i}].{key}");
    let id = u32::try_from(i).map_err(|_| invalid("tenants", "too many tenants"))?;
    if entry.name.trim().is_empty() {
        return Err(invalid(field("name"), "must not be empty"));
    }
    if entry.model.is_empty() {
        return Err(invalid(field("model"), "must not be empty"));
    }
    let batch = entry.batch.unwrap_or(1);
    if !(1..=MAX_BATCH).contains(&batch) {
        return Err(invalid(
            field("batch"),
            format!("must be 1..={MAX_BATCH}, got {batch}"),
        ));
    }
    let priority = entry.priority.unwrap_or(1);
    if !PRIORITIES.contains(&priority) {
        return Err(invalid(
            field("priority"),
            format!("must be 1, 3 or 9 (PREMA levels), got {priority}"),
        ));
    }
    let weight = entry.weight.unwrap_or(1.0);
    positive(weight, &field("weight"))?;
    let decode = entry
        .decode
        .as_ref()
        .map(|d| {
            let decode = Decode {
                prompt: d.prompt,
                generate: d.generate,
                kv_block: d.kv_block.unwrap_or(Decode::DEFAULT_KV_BLOCK),
            };
            decode.validate(&field("decode")).map(|()| decode)
        })
        .transpose()?;
    if decode.is_some() && batch != 1 {
        return Err(invalid(
            field("batch"),
            format!(
                "must be 1 for a decoder tenant (a request is one token sequence), got {batch}"
            ),
        ));
    }
    let sla = sla(&entry, decode.is_some(), &field)?;
    let arrival = match entry.arrival {
        ArrivalEntry::Poisson { rate_per_s } => Arrival::Poisson { rate_per_s },
        ArrivalEntry::Periodic {
            period_ms,
            offset_ms,
        } => Arrival::Periodic {
            period_ms,
            offset_ms,
        },
        ArrivalEntry::Bursty {
            rate_per_s,
            on_ms,
            off_ms,
        } => Arrival::Bursty {
            rate_per_s,
            on_ms,
            off_ms,
        },
        ArrivalEntry::Trace { file } => {
            let path = base_dir.join(file);
            let trace = trace::read(&path, &field("arrival.file"))?;
            if decode.is_none() && !trace.tokens.is_empty() {
                return Err(invalid(
                    field("arrival.file"),
                    format!(
                        "{}: token columns are only for a decoder tenant (one with decode)",
                        path.display()
                    ),
                ));
            }
            Arrival::Trace {
                times_ms: trace.times_ms,
                tokens: trace.tokens,
            }
        }
    };
    arrival.validate(&field("arrival"))?;
    Ok(TenantSpec {
        id: TenantId(id),
        name: entry.name,
        model: ModelSource::parse(&entry.model, base_dir)
            .map_err(|e| invalid(field("model"), e.to_string()))?,
        precision: entry.precision,
        batch,
        priority,
        weight,
        sla,
        arrival,
        decode,
    })
}

/// The SLA of a tenant: `sla_ms` or `sla_factor`, or `ttft_ms` and `tpot_ms` for a decoder
/// tenant; `field` names a key of the tenant in errors.
fn sla(entry: &TenantEntry, decoder: bool, field: &dyn Fn(&str) -> String) -> Result<Sla> {
    let refuse = |key: &str, why: &str| invalid(field(key), why);
    if decoder {
        for (value, key) in [(entry.sla_ms, "sla_ms"), (entry.sla_factor, "sla_factor")] {
            if value.is_some() {
                return Err(refuse(
                    key,
                    "a decoder tenant's goals are ttft_ms and tpot_ms, not a request latency",
                ));
            }
        }
        let token_goal = |value: Option<f64>, key: &str| match value {
            Some(ms) => positive(ms, &field(key)).map(|()| ms),
            None => Err(refuse(
                key,
                "a decoder tenant (one with decode) needs ttft_ms and tpot_ms",
            )),
        };
        return Ok(Sla::Tokens {
            ttft_ms: token_goal(entry.ttft_ms, "ttft_ms")?,
            tpot_ms: token_goal(entry.tpot_ms, "tpot_ms")?,
        });
    }
    for (value, key) in [(entry.ttft_ms, "ttft_ms"), (entry.tpot_ms, "tpot_ms")] {
        if value.is_some() {
            return Err(refuse(
                key,
                "only a decoder tenant (one with decode) has token goals",
            ));
        }
    }
    match (entry.sla_ms, entry.sla_factor) {
        (Some(ms), None) => positive(ms, &field("sla_ms")).map(|()| Sla::Ms(ms)),
        (None, Some(f)) => positive(f, &field("sla_factor")).map(|()| Sla::Factor(f)),
        (Some(_), Some(_)) => Err(refuse(
            "sla_factor",
            "give either sla_ms or sla_factor, not both",
        )),
        (None, None) => Err(refuse("sla_ms", "one of sla_ms or sla_factor is required")),
    }
}

/// `w` as a workload file that [`parse`] reads back into `w` (with the same `base_dir`):
/// model files are written as absolute paths or relative to `base_dir` as they resolve.
///
/// # Errors
/// [`Error::Config`](crate::error::Error::Config) for a trace tenant, whose times live in a
/// file of their own.
pub(super) fn write(w: &Workload) -> Result<String> {
    let (requests, duration_ms) = match w.stop {
        Stop::Requests(n) => (Some(n), None),
        Stop::DurationMs(ms) => (None, Some(ms)),
    };
    let tenants = w
        .tenants
        .iter()
        .enumerate()
        .map(|(i, t)| entry(i, t, &w.base_dir))
        .collect::<Result<Vec<_>>>()?;
    let file = WorkloadFile {
        seed: w.seed,
        requests,
        duration_ms,
        warmup: w.warmup,
        min_span_slas: w.min_span_slas,
        accel: w.accel.clone(),
        tenants,
    };
    toml::to_string(&file).map_err(|e| invalid("workload", e.to_string()))
}

/// The `[[tenants]]` table of `t`, the `i`-th tenant.
fn entry(i: usize, t: &TenantSpec, base_dir: &Path) -> Result<TenantEntry> {
    let (mut sla_ms, mut sla_factor, mut ttft_ms, mut tpot_ms) = (None, None, None, None);
    match t.sla {
        Sla::Ms(ms) => sla_ms = Some(ms),
        Sla::Factor(f) => sla_factor = Some(f),
        Sla::Tokens {
            ttft_ms: ttft,
            tpot_ms: tpot,
        } => (ttft_ms, tpot_ms) = (Some(ttft), Some(tpot)),
    }
    let arrival = match &t.arrival {
        &Arrival::Poisson { rate_per_s } => ArrivalEntry::Poisson { rate_per_s },
        &Arrival::Periodic {
            period_ms,
            offset_ms,
        } => ArrivalEntry::Periodic {
            period_ms,
            offset_ms,
        },
        &Arrival::Bursty {
            rate_per_s,
            on_ms,
            off_ms,
        } => ArrivalEntry::Bursty {
            rate_per_s,
            on_ms,
            off_ms,
        },
        Arrival::Trace { .. } => {
            return Err(invalid(
                format!("tenants[{i}].arrival"),
                "a trace is written to a file of its own, not into the workload",
            ));
        }
    };
    let model = match &t.model {
        ModelSource::Zoo(name) => format!("{}{name}", crate::zoo::PREFIX),
        ModelSource::File(path) => path
            .strip_prefix(base_dir)
            .unwrap_or(path)
            .display()
            .to_string(),
    };
    Ok(TenantEntry {
        name: t.name.clone(),
        model,
        precision: t.precision,
        batch: Some(t.batch),
        priority: Some(t.priority),
        weight: Some(t.weight),
        sla_ms,
        sla_factor,
        ttft_ms,
        tpot_ms,
        decode: t.decode.map(|d| DecodeEntry {
            prompt: d.prompt,
            generate: d.generate,
            kv_block: Some(d.kv_block),
        }),
        arrival,
    })
}
