//! The simulator's entry points: checks the inputs, orders the arrivals and runs the engine,
//! in one pass or in parallel busy-period segments.

use super::segments::segment_starts;
use super::{Mode, RequestRecord, RequestSpec, SimOptions, SimOutcome, TenantModel, TokenRecord};
use crate::config::AcceleratorConfig;
use crate::error::{Error, Result};
use crate::exec::CostModel;
use crate::sched::{Offered, Policy, TenantInfo};
use crate::units::{Cycles, RequestId};

/// Simulates `requests` of `tenants` on `cfg` under `policy`, recording every job as a
/// [`Slice`](super::Slice) (see [`simulate_with`] to leave the trace out).
pub fn simulate(
    cfg: &AcceleratorConfig,
    tenants: &[TenantModel],
    requests: &[RequestSpec],
    policy: &mut dyn Policy,
    mode: Mode,
) -> Result<SimOutcome> {
    simulate_with(cfg, tenants, requests, policy, mode, SimOptions::default())
}

/// What the policy is told of each tenant: its priority, weight and offered load, the load
/// from its requests' mean interval (first to last arrival), one request's work (Σ its jobs'
/// estimated cost) and the shortest relative deadline among them. A decoder's load is left
/// unknown: its work per request depends on its lengths.
fn tenant_infos(tenants: &[TenantModel], requests: &[RequestSpec]) -> Vec<TenantInfo> {
    // Per tenant: (requests, first arrival, last arrival, shortest relative deadline).
    let mut seen = vec![(0u64, Cycles(u64::MAX), Cycles::ZERO, Cycles(u64::MAX)); tenants.len()];
    for r in requests {
        let s = &mut seen[r.tenant];
        s.0 += 1;
        s.1 = s.1.min(r.arrival);
        s.2 = s.2.max(r.arrival);
        s.3 = s.3.min(r.deadline.saturating_sub(r.arrival));
    }
    tenants
        .iter()
        .zip(seen)
        .map(|(t, (count, first, last, deadline))| TenantInfo {
            id: t.id,
            priority: t.priority,
            weight: t.weight,
            offered: (count >= 2 && last > first && t.decoder.is_none()).then(|| Offered {
                interval: Cycles(((last.0 - first.0) / (count - 1)).max(1)),
                work: t.profile.iter().map(|l| l.cost).sum(),
                deadline,
            }),
            decoder: t.decoder.is_some(),
        })
        .collect()
}

/// [`simulate`] with [`SimOptions`]: without the trace, memory stays bounded by the active
/// requests however long the run; every other output is the same.
///
/// In timing mode, when the policy can [`fork`](crate::sched::Accelerated::fork) and rayon
/// has several threads, the busy periods are simulated in parallel (see
/// [`super::segments`]). Every output equals the single pass's.
pub fn simulate_with(
    cfg: &AcceleratorConfig,
    tenants: &[TenantModel],
    requests: &[RequestSpec],
    policy: &mut dyn Policy,
    mode: Mode,
    options: SimOptions,
) -> Result<SimOutcome> {
    if let Some(r) = requests.iter().find(|r| r.tenant >= tenants.len()) {
        return Err(Error::Invalid(format!(
            "request names tenant {} of {}",
            r.tenant,
            tenants.len()
        )));
    }
    if matches!(mode, Mode::Functional { .. }) && tenants.iter().any(|t| t.reference.is_none()) {
        return Err(Error::Invalid(
            "functional mode needs every tenant's isolated recording".into(),
        ));
    }
    policy.reset(&tenant_infos(tenants, requests), cfg.arrays);
    // Arrivals stream from a list sorted by (time, index) instead of sitting in the queue:
    // at equal times they come before any completion, in index order, exactly as if they
    // had been queued first, and the queue holds only the few pending completions.
    let mut arrivals: Vec<usize> = (0..requests.len()).collect();
    arrivals.sort_by_key(|&i| requests[i].arrival);
    let mut rank = vec![0; requests.len()];
    for (k, &i) in arrivals.iter().enumerate() {
        rank[i] = k;
    }
    let starts = match mode {
        Mode::Timing if rayon::current_num_threads() > 1 => {
            segment_starts(requests, tenants, &arrivals, rayon::current_num_threads())
        }
        _ => Vec::new(),
    };
    let sim = Sim {
        cfg,
        tenants,
        requests,
        arrivals: &arrivals,
        rank: &rank,
        mode,
        options,
        costs: CostModel::new(cfg),
        batching: policy.batches_decode(),
    };
    sim.run(policy, &starts)
}

/// One simulation's fixed inputs.
#[derive(Clone, Copy)]
pub(super) struct Sim<'t, 'c> {
    pub(super) cfg: &'c AcceleratorConfig,
    pub(super) tenants: &'t [TenantModel],
    pub(super) requests: &'c [RequestSpec],
    /// Request indices by (arrival, index).
    pub(super) arrivals: &'c [usize],
    /// The position of each request in `arrivals`.
    pub(super) rank: &'c [usize],
    pub(super) mode: Mode,
    pub(super) options: SimOptions,
    /// The cost of every job.
    pub(super) costs: CostModel,
    /// Decoder tenants' decode steps run in batched iterations.
    pub(super) batching: bool,
}

impl Sim<'_, '_> {
    /// Request `i`'s record before it arrives.
    pub(super) fn record(&self, i: usize) -> RequestRecord {
        let r = self.requests[i];
        RequestRecord {
            tenant: self.tenants[r.tenant].id,
            request: RequestId(i as u64),
            arrival: r.arrival,
            start: None,
            finish: None,
            deadline: r.deadline,
            isolated: self.isolated(i),
            tokens: r.tokens.map(|goals| TokenRecord {
                goals,
                first: None,
                produced: 0,
            }),
        }
    }

    /// Request `i`'s latency alone: its tenant's, or its token loop's steps'.
    pub(super) fn isolated(&self, i: usize) -> Cycles {
        let r = self.requests[i];
        let tenant = &self.tenants[r.tenant];
        match (r.tokens, &tenant.decoder) {
            (Some(t), Some(d)) => d.isolated(t.prompt, t.generate).unwrap_or(tenant.isolated),
            _ => tenant.isolated,
        }
    }

    /// `out` with its records (by arrival position from 0) put in request order.
    pub(super) fn in_request_order(&self, mut out: SimOutcome) -> SimOutcome {
        let mut records: Vec<RequestRecord> =
            (0..self.requests.len()).map(|i| self.record(i)).collect();
        for (k, r) in out.records.iter().enumerate() {
            records[self.arrivals[k]] = *r;
        }
        out.records = records;
        out
    }
}
