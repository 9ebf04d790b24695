//! The multi-tenant metrics of the design (section 6), defined once: SLA satisfaction,
//! normalised progress, system throughput (STP, WSTP), ANTT, fairness and tail latency.
//!
//! Per request: T_shared = finish − arrival, met = finish ≤ deadline, and normalised
//! progress NP = T_alone / T_shared, with both latencies taken as at least one cycle so NP
//! is finite and positive.
//!
//! * **Warm-up**: a workload's first `warmup` requests (request numbers `0..warmup`, in
//!   arrival order) load the accelerator but their records are left out of every metric
//!   here ([`of_run`]); the per-tenant counters are the simulator's, over the whole run.
//! * **Unfinished requests** (no finish) count as missed in SLA satisfaction, are counted
//!   in `unfinished` (per tenant `dropped`), and are left out of NP, ANTT and the latency
//!   percentiles. A simulation does not stop when arrivals stop: it runs until every
//!   arrived request has finished or no event is left, so a request is unfinished only
//!   when the policy dropped it or never ran it to the end.
//! * **Percentiles** use the nearest-rank method on cycles: the p-th percentile of N sorted
//!   latencies is the ⌈p·N/100⌉-th smallest (so p50 of 10 values is the 5th, p99 the 10th).
//! * **Empty cases**: a ratio with nothing to count (a tenant with no request, no completed
//!   request, no tenants) is 0, never NaN; so a tenant with no completed request has mean
//!   NP 0, which makes fairness 0.

use crate::sim::{SimOutcome, TenantModel};
use crate::units::{Cycles, TenantId};
use serde::{Deserialize, Serialize};

pub use crate::sim::{RequestRecord, TenantCounters, Traffic};

/// The metrics of one tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantMetrics {
    /// The tenant.
    pub tenant: TenantId,
    /// Its name.
    pub name: String,
    /// Requests recorded, dropped ones included.
    pub requests: usize,
    /// Requests finished by their deadline.
    pub met: usize,
    /// Requests with no finish: dropped, or unfinished when the simulation ended (missed).
    pub dropped: usize,
    /// `met / requests`.
    pub sla_satisfaction: f64,
    /// Mean NP over its completed requests.
    pub mean_np: f64,
    /// Median latency (nearest rank) of its completed requests, in cycles.
    pub latency_p50_cycles: u64,
    /// 99th-percentile latency (nearest rank), in cycles.
    pub latency_p99_cycles: u64,
    /// `latency_p50_cycles` in milliseconds.
    pub latency_p50_ms: f64,
    /// `latency_p99_cycles` in milliseconds.
    pub latency_p99_ms: f64,
    /// Busy array-cycles.
    pub busy_cycles: u64,
    /// Preemptions.
    pub preemptions: u64,
    /// Fused tile jobs.
    pub fused_tiles: u64,
    /// DRAM traffic and scratchpad hits.
    #[serde(flatten)]
    pub traffic: Traffic,
    /// A decoder tenant's token metrics (its `met` and `sla_satisfaction` count the
    /// requests that met both token goals: its goodput).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenMetrics>,
}

/// A decoder tenant's token metrics over its measured requests: time to first token (TTFT)
/// of the requests whose first token came, mean time per output token after the first
/// (TPOT) of the finished requests with two tokens or more, nearest-rank percentiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenMetrics {
    /// Tokens produced.
    pub produced: u64,
    /// Requests whose time to first token was within their TTFT goal.
    pub met_ttft: usize,
    /// Finished requests whose TPOT was within their goal (one-token requests count).
    pub met_tpot: usize,
    /// Median TTFT in milliseconds.
    pub ttft_p50_ms: f64,
    /// 99th-percentile TTFT in milliseconds.
    pub ttft_p99_ms: f64,
    /// Median TPOT in milliseconds.
    pub tpot_p50_ms: f64,
    /// 99th-percentile TPOT in milliseconds.
    pub tpot_p99_ms: f64,
    /// The most KV-cache memory its requests held at once, in MiB (over the whole run).
    pub kv_peak_mib: f64,
    /// KV-cache bytes its decode steps attended over, in MB (over the whole run).
    pub kv_read_mb: f64,
}

impl TokenMetrics {
    /// The token metrics of a decoder tenant's `records` (`None` when none is a token loop).
    fn of<'a>(records: impl Iterator<Item = &'a RequestRecord>, clock_mhz: f64) -> Option<Self> {
        let (mut any, mut produced, mut met_ttft, mut met_tpot) = (false, 0, 0, 0);
        let (mut ttfts, mut tpots) = (Vec::new(), Vec::new());
        for r in records {
            let Some(t) = r.tokens else { continue };
            any = true;
            produced += t.produced as u64;
            if let Some(ttft) = r.ttft() {
                ttfts.push(ttft.0);
                met_ttft += usize::from(ttft <= t.goals.ttft);
            }
            if let (Some(first), Some(finish)) = (t.first, r.finish) {
                let later = (t.goals.generate as u64).saturating_sub(1);
                met_tpot += usize::from((finish - first).0 <= t.goals.tpot.0.saturating_mul(later));
            }
            if let Some(tpot) = r.tpot() {
                tpots.push(tpot.round() as u64);
            }
        }
        ttfts.sort_unstable();
        tpots.sort_unstable();
        let at = |v: &[u64], p| ms(nearest_rank(v, p), clock_mhz);
        any.then(|| TokenMetrics {
            produced,
            met_ttft,
            met_tpot,
            ttft_p50_ms: at(&ttfts, 50),
            ttft_p99_ms: at(&ttfts, 99),
            tpot_p50_ms: at(&tpots, 50),
            tpot_p99_ms: at(&tpots, 99),
            kv_peak_mib: 0.0,
            kv_read_mb: 0.0,
        })
    }
}

/// The metrics of a whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemMetrics {
    /// Requests measured (warm-up left out), unfinished ones included.
    pub requests: usize,
    /// Measured requests with no finish when the simulation ended (counted as missed).
    pub unfinished: usize,
    /// Met requests / all requests.
    pub sla_satisfaction: f64,
    /// System throughput: Σ over tenants of mean NP.
    pub stp: f64,
    /// Weighted STP: n · Σ w_t·meanNP_t / Σ w_t over the n tenants.
    pub wstp: f64,
    /// Average normalised turnaround time: mean of 1/NP over completed requests.
    pub antt: f64,
    /// min_t meanNP_t / max_t meanNP_t.
    pub fairness: f64,
    /// Per tenant, in the order given.
    pub tenants: Vec<TenantMetrics>,
}

/// Every metric of a simulation of `tenants` (in tenant order) with outcome `out`, at
/// `clock_mhz` (see [`compute`]), leaving out the records of the first `warmup` requests.
pub fn of_run(
    out: &SimOutcome,
    tenants: &[TenantModel],
    clock_mhz: f64,
    warmup: u64,
) -> SystemMetrics {
    let info: Vec<_> = tenants
        .iter()
        .zip(&out.counters)
        .map(|(t, c)| (t.id, t.name.clone(), t.weight, *c))
        .collect();
    compute(&measured(&out.records, warmup), &info, clock_mhz)
}

/// The records measured after a warm-up of `warmup` requests: those numbered `warmup` and
/// on (request numbers follow arrival order over all tenants).
pub fn measured(records: &[RequestRecord], warmup: u64) -> Vec<RequestRecord> {
    records
        .iter()
        .filter(|r| r.request.0 >= warmup)
        .copied()
        .collect()
}

/// Computes every metric from the request records and, per tenant, its id, name, WSTP
/// weight (positive) and counters. Milliseconds are at `clock_mhz` (0 if the clock is not
/// positive). Records of a tenant missing from `tenants` count in the system-wide
/// `requests`, `sla_satisfaction` and `antt` only.
pub fn compute(
    records: &[RequestRecord],
    tenants: &[(TenantId, String, f64, TenantCounters)],
    clock_mhz: f64,
) -> SystemMetrics {
    let per_tenant: Vec<TenantMetrics> = tenants
        .iter()
        .map(|(id, name, _, counters)| {
            let mine = records.iter().filter(|r| r.tenant == *id);
            tenant_metrics(*id, name, counters, mine, clock_mhz)
        })
        .collect();
    let met = records.iter().filter(|r| r.met()).count();
    let inverse_nps: Vec<f64> = records
        .iter()
        .filter_map(RequestRecord::normalised_progress)
        .map(|np| 1.0 / np)
        .collect();
    let stp = per_tenant.iter().map(|t| t.mean_np).sum();
    let weighted: f64 = tenants
        .iter()
        .zip(&per_tenant)
        .map(|((.., weight, _), t)| weight * t.mean_np)
        .sum();
    let total_weight: f64 = tenants.iter().map(|(.., weight, _)| weight).sum();
    let (min_np, max_np) = per_tenant
        .iter()
        .map(|t| t.mean_np)
        .fold((f64::INFINITY, 0.0_f64), |(lo, hi), np| {
            (lo.min(np), hi.max(np))
        });
    SystemMetrics {
        requests: records.len(),
        unfinished: records.iter().filter(|r| r.finish.is_none()).count(),
        sla_satisfaction: ratio(met as f64, records.len() as f64),
        stp,
        wstp: ratio(tenants.len() as f64 * weighted, total_weight),
        antt: ratio(inverse_nps.iter().sum(), inverse_nps.len() as f64),
        fairness: ratio(min_np, max_np),
        tenants: per_tenant,
    }
}

/// The metrics of one tenant from its records.
fn tenant_metrics<'a>(
    tenant: TenantId,
    name: &str,
    counters: &TenantCounters,
    records: impl Iterator<Item = &'a RequestRecord> + Clone,
    clock_mhz: f64,
) -> TenantMetrics {
    let tokens = TokenMetrics::of(records.clone(), clock_mhz).map(|t| TokenMetrics {
        kv_peak_mib: counters.kv_peak_bytes as f64 / (1u64 << 20) as f64,
        kv_read_mb: counters.kv_read_bytes as f64 / 1e6,
        ..t
    });
    let (mut requests, mut met, mut np_sum) = (0, 0, 0.0);
    let mut latencies = Vec::new();
    for r in records {
        requests += 1;
        met += usize::from(r.met());
        if let (Some(latency), Some(np)) = (r.latency(), r.normalised_progress()) {
            latencies.push(latency.0);
            np_sum += np;
        }
    }
    latencies.sort_unstable();
    let p50 = nearest_rank(&latencies, 50);
    let p99 = nearest_rank(&latencies, 99);
    TenantMetrics {
        tenant,
        name: name.to_string(),
        requests,
        met,
        dropped: requests - latencies.len(),
        sla_satisfaction: ratio(met as f64, requests as f64),
        mean_np: ratio(np_sum, latencies.len() as f64),
        latency_p50_cycles: p50,
        latency_p99_cycles: p99,
        latency_p50_ms: ms(p50, clock_mhz),
        latency_p99_ms: ms(p99, clock_mhz),
        busy_cycles: counters.busy_cycles,
        preemptions: counters.preemptions,
        fused_tiles: counters.fused_tiles,
        traffic: counters.traffic,
        tokens,
    }
}

/// The `percent`-th percentile (0 < percent ≤ 100) of ascending `sorted` by nearest rank:
/// the ⌈percent·N/100⌉-th smallest; 0 for no values.
fn nearest_rank(sorted: &[u64], percent: usize) -> u64 {
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied().unwrap_or(0)
}

/// `num / den`, or 0 when `den` is not positive.
fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 { num / den } else { 0.0 }
}

/// Cycles in milliseconds at `clock_mhz`, or 0 for a clock that is not positive and finite.
fn ms(cycles: u64, clock_mhz: f64) -> f64 {
    if clock_mhz.is_finite() && clock_mhz > 0.0 {
        Cycles(cycles).to_ms(clock_mhz)
    } else {
        0.0
    }
}
