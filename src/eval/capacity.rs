//! The accelerator's sustainable throughput for a workload: the offered load at which its
//! arrays would compute, or its shared DRAM would move bytes, all the time on the requests a
//! scheduler must serve to meet the SLA target. No scheduler can serve more than that for
//! long, so a latency-bounded throughput above it comes from a run too short for its backlog
//! to build up, not from the scheduler.

use super::SLA_TARGET;
use crate::config::AcceleratorConfig;
use crate::sim::TenantModel;
use crate::workload::Workload;

/// Requests per second of `w`'s request mix at which `cfg`'s arrays or its DRAM are 100 %
/// busy serving [`SLA_TARGET`] of the requests, whichever comes first; `tenants` are `w`'s,
/// in order.
///
/// With mean rates r_t (requests/s, [`crate::workload::Arrival::mean_rate_per_s`]), the
/// arrays compute Σ r_t·W_t array-cycles per second out of `arrays · clock`, W_t being a
/// request's compute cycles on one array (the sum of its jobs' compute);
/// the DRAM moves Σ r_t·B_t bytes per second out of `dram_bytes_per_cycle · clock`, B_t
/// being a request's DRAM bytes with nothing resident. SLA satisfaction of 99 % lets 1 % of
/// the requests go unserved, and a scheduler gains most by leaving out the heaviest: a
/// rare tenant with a long SLA can carry most of the work. Each resource's demand is
/// therefore counted without the heaviest 1 % of the requests for it ([`filling_load`]).
/// Scaling every rate by the smaller of the two load factors that fill them, L, gives
/// L · Σ r_t requests per second. Load sweeps scale a trace tenant's rate with the others in
/// the same way ([`Workload::offered_rps`]), so this compares with their latency-bounded
/// throughput.
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
    let cycles_per_s = cfg.clock_mhz * 1e6;
    let shed = 1.0 - SLA_TARGET;
    let fill = |capacity: f64, per_request: fn(&TenantModel) -> u64| {
        let demand: Vec<f64> = tenants.iter().map(|t| per_request(t) as f64).collect();
        filling_load(&rates, &demand, capacity, shed)
    };
    // Load factors that fill the arrays and the DRAM (infinite for no demand).
    let arrays = fill(cfg.arrays as f64 * cycles_per_s, compute);
    let dram = fill(cfg.dram_bytes_per_cycle as f64 * cycles_per_s, bytes);
    let load = arrays.min(dram);
    load.is_finite().then(|| load * rates.iter().sum::<f64>())
}

/// The factor on `rates` (requests/s per tenant) at which a resource of `capacity` units
/// per second is 100 % busy when each request of tenant t needs `demand[t]` units and the
/// heaviest `shed` share of the requests are not served. The unserved requests scale with
/// the load, so the served demand does too: L · (Σ r_t·d_t − the heaviest requests' demand
/// within a rate of `shed` · Σ r_t). Infinite when nothing is left to serve.
fn filling_load(rates: &[f64], demand: &[f64], capacity: f64, shed: f64) -> f64 {
    let mut heaviest: Vec<usize> = (0..rates.len()).collect();
    heaviest.sort_by(|&a, &b| demand[b].total_cmp(&demand[a]));
    let mut budget = shed * rates.iter().sum::<f64>();
    let mut served: f64 = rates.iter().zip(demand).map(|(r, d)| r * d).sum();
    for t in heaviest {
        let left_out = budget.min(rates[t]);
        served -= left_out * demand[t];
        budget -= left_out;
    }
    capacity / served.max(0.0)
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

#[cfg(test)]
mod tests {
    use super::filling_load;

    /// 90 light requests/s of 1 unit and 10 heavy ones of 10 units on a resource of 100
    /// units/s: 190 units per load. Leaving out 1 % of the 100 requests/s, all heavy, serves
    /// 90 + 9 · 10 = 180: the resource fills at load 100/180.
    #[test]
    fn the_heaviest_requests_are_left_out_first() {
        let (rates, demand) = ([90.0, 10.0], [1.0, 10.0]);
        assert_eq!(filling_load(&rates, &demand, 100.0, 0.0), 100.0 / 190.0);
        assert_eq!(filling_load(&rates, &demand, 100.0, 0.01), 100.0 / 180.0);
        // The order of the tenants does not matter.
        assert_eq!(
            filling_load(&[10.0, 90.0], &[10.0, 1.0], 100.0, 0.01),
            100.0 / 180.0
        );
    }

    /// A heavy tenant rarer than the share left out goes entirely, and the rest of the share
    /// comes from the next heaviest: rates 99.5 and 0.5 requests/s of 1 and 100 units leave
    /// out 0.5 heavy and 0.5 light ones, serving 99 of 149.5 units.
    #[test]
    fn a_rare_heavy_tenant_goes_entirely() {
        let load = filling_load(&[99.5, 0.5], &[1.0, 100.0], 100.0, 0.01);
        assert!((load - 100.0 / 99.0).abs() < 1e-12, "{load}");
        // Nothing to serve: no load fills the resource.
        assert!(filling_load(&[1.0], &[0.0], 100.0, 0.01).is_infinite());
    }
}
