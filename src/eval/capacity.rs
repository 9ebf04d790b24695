//! The accelerator's sustainable throughput for a workload: the offered load at which its
//! arrays would compute, or its shared DRAM would move bytes, all the time on the request
//! mix's work. No scheduler can serve more than that for long, so a latency-bounded throughput
//! above it comes from a run too short for its backlog to build up, not from the scheduler.

use crate::config::AcceleratorConfig;
use crate::sim::TenantModel;
use crate::workload::Workload;

/// Requests per second of `w`'s request mix at which `cfg`'s arrays or its DRAM are 100 %
/// busy, whichever comes first; `tenants` are `w`'s, in order.
///
/// With mean rates r_t (requests/s, [`crate::workload::Arrival::mean_rate_per_s`]), the
/// arrays compute Σ r_t·W_t array-cycles per second out of `arrays · clock`, W_t being a
/// request's compute cycles on one array (the sum of its jobs' compute);
/// the DRAM moves Σ r_t·B_t bytes per second out of `dram_bytes_per_cycle · clock`, B_t
/// being a request's DRAM bytes with nothing resident. Scaling every rate by the smaller
/// of the two load factors that fill them, L, gives L · Σ r_t requests per second. Load
/// sweeps scale a trace tenant's rate with the others in the same way
/// ([`Workload::offered_rps`]), so this compares with their latency-bounded throughput.
///
/// Scratchpad hits move fewer bytes than B_t, and fusing two tile jobs into one pass
/// shortens them, so a run may pass the bound by the share of such savings; a job waiting
/// for its bytes holds its array beyond its compute, which only lowers the real bound.
/// `None` when the mix has no work at all.
pub fn sustainable_throughput_rps(
    w: &Workload,
    tenants: &[TenantModel],
    cfg: &AcceleratorConfig,
) -> Option<f64> {
    let rates: Vec<f64> = w
        .tenants
        .iter()
        .map(|t| t.arrival.mean_rate_per_s())
        .collect();
    let per_second = |per_request: &dyn Fn(&TenantModel) -> f64| -> f64 {
        rates
            .iter()
            .zip(tenants)
            .map(|(r, t)| r * per_request(t))
            .sum()
    };
    let cycles_per_s = cfg.clock_mhz * 1e6;
    // Load factors that fill the arrays and the DRAM (infinite for no demand).
    let arrays = cfg.arrays as f64 * cycles_per_s / per_second(&|t| compute(t) as f64);
    let dram = cfg.dram_bytes_per_cycle as f64 * cycles_per_s / per_second(&|t| bytes(t) as f64);
    let load = arrays.min(dram);
    load.is_finite().then(|| load * rates.iter().sum::<f64>())
}

/// A request's compute cycles on one array: the sum over its jobs.
fn compute(t: &TenantModel) -> u64 {
    t.layers
        .iter()
        .flat_map(|l| &l.jobs)
        .map(|j| j.cost.compute.0)
        .sum()
}

/// A request's DRAM bytes with nothing resident: the sum over its jobs.
fn bytes(t: &TenantModel) -> u64 {
    t.layers
        .iter()
        .flat_map(|l| &l.jobs)
        .map(|j| j.cost.bytes)
        .sum()
}
