//! From a workload file to what the engine runs: each tenant's model through the
//! [`pipeline`](crate::pipeline) (loaded, specialised, fused, lowered) and cut into jobs,
//! its isolated latency (and, for functional runs, its isolated values), and every
//! request with its deadline.

use super::{Mode, RequestSpec, SimOptions, TenantModel, simulate_with};
use crate::config::AcceleratorConfig;
use crate::error::{Error, Result};
use crate::exec::record;
use crate::limits::Limits;
use crate::pipeline::Model;
use crate::sched::Edf;
use crate::tensor::Tensor;
use crate::units::Cycles;
use crate::workload::{Sla, Workload, arrivals};

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
    w.tenants
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let model = Model::from_source(&t.model, limits)?;
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
pub fn requests(
    w: &Workload,
    tenants: &[TenantModel],
    cfg: &AcceleratorConfig,
) -> Result<Vec<RequestSpec>> {
    let cycles_per_ms = cfg.clock_mhz * 1e3;
    arrivals(w, cfg.clock_mhz)?
        .into_iter()
        .map(|a| {
            let t = a.tenant.0 as usize;
            let budget = match w.tenants[t].sla {
                // A decoder request's budget is its time to first token for now.
                Sla::Ms(ms) | Sla::Tokens { ttft_ms: ms, .. } => {
                    Cycles((ms * cycles_per_ms).round() as u64)
                }
                Sla::Factor(f) => Cycles((f * tenants[t].isolated.0 as f64).round() as u64),
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
