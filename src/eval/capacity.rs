//! The accelerator's sustainable throughput for a workload: the offered load at which its
//! arrays would be busy all the time on the request mix's nominal work. No scheduler can
//! serve more than that for long, so a latency-bounded throughput above it comes from a run
//! too short for its backlog to build up, not from the scheduler.

use crate::config::AcceleratorConfig;
use crate::sim::TenantModel;
use crate::workload::Workload;

/// Requests per second of `w`'s request mix at which `cfg`'s arrays are 100 % busy, given
/// each tenant's work per request on one array ([`TenantModel::work`], the sum of its jobs'
/// nominal costs); `tenants` are `w`'s, in order.
///
/// With mean rates r_t (requests/s, [`crate::workload::Arrival::mean_rate_per_s`]) and works
/// W_t (array-cycles per request), the arrays are busy Σ r_t·W_t array-cycles per second out
/// of `arrays · clock`; scaling every rate by the load factor L = arrays · clock / Σ r_t·W_t
/// fills them, at L · Σ r_t requests per second. Load sweeps scale a trace tenant's rate
/// with the others in the same way ([`Workload::offered_rps`]), so this compares with their
/// latency-bounded throughput.
///
/// The bound is on nominal costs: the shared DRAM can stretch jobs (a lower real bound),
/// while fusing two tile jobs into one pass or a resident operand can shorten them (a run
/// may then pass it a little). `None` when the mix has no work at all.
pub fn sustainable_throughput_rps(
    w: &Workload,
    tenants: &[TenantModel],
    cfg: &AcceleratorConfig,
) -> Option<f64> {
    let rates = w.tenants.iter().map(|t| t.arrival.mean_rate_per_s());
    let demand: f64 = rates
        .clone()
        .zip(tenants)
        .map(|(rate, t)| rate * t.work().0 as f64)
        .sum();
    let capacity = cfg.arrays as f64 * cfg.clock_mhz * 1e6;
    (demand > 0.0).then(|| capacity * rates.sum::<f64>() / demand)
}
