//! From a workload file to what the engine runs: each tenant's model through the
//! [`pipeline`](crate::pipeline) (loaded, specialised, fused, lowered) and cut into jobs,
//! its isolated latency (and, for functional runs, its isolated values), and every
//! request with its deadline.

use super::{Decoder, Mode, RequestSpec, SimOptions, TenantModel, Tokens, simulate_with};
use crate::config::AcceleratorConfig;
use crate::error::{Error, Result};
use crate::exec::record;
use crate::limits::Limits;
use crate::pipeline::Model;
use crate::sched::Edf;
use crate::tensor::Tensor;
use crate::units::Cycles;
use crate::workload::{MAX_ARRIVALS, Sla, Stop, Workload, arrivals};

/// The latency of one request of `tenant` alone on the accelerator (from the engine itself).
pub fn isolated_latency(cfg: &AcceleratorConfig, tenant: &TenantModel) -> Result<Cycles> {
    let one = [RequestSpec {
        tenant: 0,
        arrival: Cycles::ZERO,
        deadline: Cycles(u64::MAX),
        tokens: None,
    }];
    let out = simulate_with(
        cfg,
        std::slice::from_ref(tenant),
        &one,
        &mut Edf,
        Mode::Timing,
        SimOptions { trace: false },
    )?;
    out.records[0]
        .finish
        .ok_or_else(|| Error::Invalid(format!("tenant '{}' did not finish alone", tenant.name)))
}

/// Lowers every tenant's model for `cfg` (through the pipeline) and measures its isolated latency; with
/// `functional`, also records its isolated values on a seeded input. Models are loaded within
/// the default [`Limits`].
pub fn tenants(
    w: &Workload,
    cfg: &AcceleratorConfig,
    functional: bool,
) -> Result<Vec<TenantModel>> {
    tenants_within(w, cfg, functional, &Limits::default())
}

/// [`tenants`] with models loaded within `limits`.
pub fn tenants_within(
    w: &Workload,
    cfg: &AcceleratorConfig,
    functional: bool,
    limits: &Limits,
) -> Result<Vec<TenantModel>> {
    if let Some(name) = (cfg.dram_tenants.keys()).find(|n| !w.tenants.iter().any(|t| &t.name == *n))
    {
        return Err(Error::Config {
            field: format!("dram_tenants.{name}"),
            msg: format!("accelerator '{}' names no tenant of the workload", cfg.name),
        });
    }
    // A decoder tenant lowers a pass per step shape its requests need: their lengths come
    // with the arrivals.
    let drawn = match w.tenants.iter().any(|t| t.decode.is_some()) {
        true => arrivals(w, cfg.clock_mhz)?,
        false => Vec::new(),
    };
    w.tenants
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let model = Model::from_source(&t.model, limits)?;
            if let Some(decode) = t.decode {
                if functional {
                    return Err(Error::Invalid(format!(
                        "tenant '{}' is a decoder: functional mode does not run decoder tenants (their values are checked step by step against onnxruntime in tests/decoder.rs)",
                        t.name
                    )));
                }
                let lengths = (drawn.iter().filter(|a| a.tenant == t.id))
                    .filter_map(|a| a.tokens)
                    .chain([(decode.prompt, decode.generate)]);
                let (decoder, program) =
                    Decoder::build(&model, cfg, t.precision, decode.kv_block, lengths)?;
                let mut tenant =
                    TenantModel::new(t.id, &t.name, t.priority, t.weight, program, vec![], cfg);
                tenant.isolated = decoder
                    .isolated(decode.prompt, decode.generate)
                    .unwrap_or_default();
                tenant.decoder = Some(decoder);
                return Ok(tenant);
            }
            let bindings = model.declared_inputs(t.batch)?;
            let inputs: Vec<Tensor> = bindings
                .iter()
                .enumerate()
                .map(|(k, b)| {
                    Tensor::seeded(b.dtype, &b.shape, w.seed ^ ((i as u64) << 32) ^ k as u64)
                })
                .collect();
            let program = model.lower(&bindings, cfg, t.precision)?;
            let mut tenant =
                TenantModel::new(t.id, &t.name, t.priority, t.weight, program, inputs, cfg);
            tenant.isolated = isolated_latency(cfg, &tenant)?;
            if functional {
                tenant.reference = Some(
                    record(&tenant.program, &tenant.inputs, cfg)
                        .map_err(|e| e.in_file(&model.label))?,
                );
            }
            Ok(tenant)
        })
        .collect()
}

/// Every request of the workload with its absolute deadline.
///
/// A workload that stops after `n` requests and asks its arrivals to span at least
/// `min_span_slas` times the longest request SLA (arrival to deadline; decoder requests,
/// whose deadlines grow with their tokens, left out) gets more when `n` fall short: the
/// count grows in proportion to the span still missing (up to [`MAX_ARRIVALS`]) and the
/// arrivals are drawn again from the same seed, so the first `n` stay as they were.
pub fn requests(
    w: &Workload,
    tenants: &[TenantModel],
    cfg: &AcceleratorConfig,
) -> Result<Vec<RequestSpec>> {
    let mut reqs = requests_as_stopped(w, tenants, cfg)?;
    let Stop::Requests(mut n) = w.stop else {
        return Ok(reqs);
    };
    loop {
        let longest = reqs
            .iter()
            .filter(|r| r.tokens.is_none())
            .map(|r| r.deadline.0 - r.arrival.0)
            .max()
            .unwrap_or(0);
        let want = w.min_span_slas * longest as f64;
        let times = || reqs.iter().map(|r| r.arrival.0);
        let (Some(first), Some(last)) = (times().min(), times().max()) else {
            return Ok(reqs);
        };
        let span = (last - first) as f64;
        if span >= want || span == 0.0 || n >= MAX_ARRIVALS {
            return Ok(reqs);
        }
        n = ((n as f64 * want / span).ceil() as u64).clamp(n + 1, MAX_ARRIVALS);
        let longer = Workload {
            stop: Stop::Requests(n),
            ..w.clone()
        };
        reqs = requests_as_stopped(&longer, tenants, cfg)?;
    }
}

/// Every request of the workload as its `stop` says, with its absolute deadline.
fn requests_as_stopped(
    w: &Workload,
    tenants: &[TenantModel],
    cfg: &AcceleratorConfig,
) -> Result<Vec<RequestSpec>> {
    let cycles = |ms: f64| Cycles((ms * cfg.clock_mhz * 1e3).round() as u64);
    arrivals(w, cfg.clock_mhz)?
        .into_iter()
        .map(|a| {
            let t = a.tenant.0 as usize;
            if a.tokens.is_some() != matches!(w.tenants[t].sla, Sla::Tokens { .. }) {
                return Err(Error::Invalid(format!(
                    "tenant '{}': a decoder tenant has token goals (ttft_ms, tpot_ms), and only a decoder tenant",
                    w.tenants[t].name
                )));
            }
            let budget = match w.tenants[t].sla {
                Sla::Ms(ms) => cycles(ms),
                Sla::Factor(f) => Cycles((f * tenants[t].isolated.0 as f64).round() as u64),
                Sla::Tokens { ttft_ms, tpot_ms } => {
                    let (prompt, generate) = a.tokens.unwrap_or_default();
                    let goals = Tokens {
                        prompt,
                        generate,
                        ttft: cycles(ttft_ms),
                        tpot: cycles(tpot_ms),
                    };
                    return Ok(RequestSpec {
                        tenant: t,
                        arrival: a.at,
                        deadline: goals.deadline(a.at, generate - 1),
                        tokens: Some(goals),
                    });
                }
            };
            Ok(RequestSpec {
                tenant: t,
                arrival: a.at,
                deadline: a.at.saturating_add(budget),
                tokens: None,
            })
        })
        .collect()
}
