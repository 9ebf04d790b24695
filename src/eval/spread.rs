//! A swept point's headline metrics over several seeds: each one's mean with its 95 %
//! interval ([`Interval`], Student's t over the runs).

use super::stats::Interval;
use crate::report::metrics::{SystemMetrics, TokenMetrics};
use serde::Serialize;

/// The headline metrics of one (scheduler, load) point over its seeds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    /// How many seeds.
    pub seeds: usize,
    /// SLA satisfaction (fraction).
    pub sla_satisfaction: Interval,
    /// System throughput.
    pub stp: Interval,
    /// Weighted system throughput.
    pub wstp: Interval,
    /// Average normalised turnaround time.
    pub antt: Interval,
    /// Fairness.
    pub fairness: Interval,
    /// Requests unfinished when the simulation ended.
    pub unfinished: Interval,
}

impl Spread {
    /// The spread of `runs`, one per seed (at least one).
    ///
    /// # Panics
    /// If `runs` is empty.
    pub fn of(runs: &[&SystemMetrics]) -> Spread {
        let over = |f: fn(&SystemMetrics) -> f64| {
            Interval::of(&runs.iter().map(|m| f(m)).collect::<Vec<_>>())
        };
        Spread {
            seeds: runs.len(),
            sla_satisfaction: over(|m| m.sla_satisfaction),
            stp: over(|m| m.stp),
            wstp: over(|m| m.wstp),
            antt: over(|m| m.antt),
            fairness: over(|m| m.fairness),
            unfinished: over(|m| m.unfinished as f64),
        }
    }
}

/// A decoder tenant's token metrics at one (scheduler, load) point over its seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenSpread {
    /// The tenant.
    pub tenant: String,
    /// Goodput: the fraction of its requests that met both token goals.
    pub goodput: Interval,
    /// Median time to first token, in ms.
    pub ttft_p50_ms: Interval,
    /// 99th-percentile time to first token, in ms.
    pub ttft_p99_ms: Interval,
    /// Median time per output token, in ms.
    pub tpot_p50_ms: Interval,
    /// 99th-percentile time per output token, in ms.
    pub tpot_p99_ms: Interval,
}

impl TokenSpread {
    /// The token metrics of every tenant of `runs` (one per seed, at least one) with token
    /// loops in every run, in tenant order.
    pub fn of(runs: &[&SystemMetrics]) -> Vec<TokenSpread> {
        let Some(first) = runs.first() else {
            return Vec::new();
        };
        (0..first.tenants.len())
            .filter_map(|t| {
                let each: Option<Vec<_>> = runs
                    .iter()
                    .map(|m| {
                        let tenant = m.tenants.get(t)?;
                        Some((tenant.sla_satisfaction, tenant.tokens.clone()?))
                    })
                    .collect();
                let each = each?;
                let over = |f: &dyn Fn(&(f64, TokenMetrics)) -> f64| {
                    Interval::of(&each.iter().map(f).collect::<Vec<_>>())
                };
                Some(TokenSpread {
                    tenant: first.tenants[t].name.clone(),
                    goodput: over(&|e| e.0),
                    ttft_p50_ms: over(&|e| e.1.ttft_p50_ms),
                    ttft_p99_ms: over(&|e| e.1.ttft_p99_ms),
                    tpot_p50_ms: over(&|e| e.1.tpot_p50_ms),
                    tpot_p99_ms: over(&|e| e.1.tpot_p99_ms),
                })
            })
            .collect()
    }
}
