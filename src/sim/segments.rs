//! Parallel busy-period segments: in timing mode the arrivals are cut at long gaps into
//! segments, each simulated from an empty accelerator on its own thread with a fork of the
//! policy, and a segment's result is kept only if the pass before it left the accelerator
//! empty before it began (otherwise that pass continues through it, as one pass would).
//! Every output equals the single pass's.

use super::engine::Engine;
use super::run::Sim;
use super::{RequestSpec, SimOutcome, TenantModel};
use crate::error::Result;
use crate::sched::Policy;
use rayon::prelude::*;

/// Hands `fork`'s records back to `policy` (see [`crate::sched::Accelerated::join`]).
fn join(policy: &mut dyn Policy, fork: Box<dyn Policy>) {
    if let Some(a) = policy.accelerated() {
        a.join(fork);
    }
}

impl Sim<'_, '_> {
    /// Simulates every arrival under `policy`, the segments that begin at positions `starts`
    /// of the arrivals (increasing) in parallel when the policy forks; the outcome is the
    /// single pass's whatever the cuts.
    pub(super) fn run(&self, policy: &mut dyn Policy, starts: &[usize]) -> Result<SimOutcome> {
        let arrivals = self.arrivals;
        let forks: Option<Vec<Box<dyn Policy>>> = starts
            .iter()
            .map(|_| policy.accelerated().and_then(|a| a.fork()))
            .collect();
        let Some(forks) = forks.filter(|f| !f.is_empty()) else {
            let mut e = Engine::new(*self, 0);
            e.run(policy, arrivals.len(), None)?;
            return Ok(self.in_request_order(e.machine.out));
        };
        // Segment k covers arrivals bounds[k]..bounds[k + 1] and stops at the next one's start.
        let bounds: Vec<usize> = std::iter::once(0)
            .chain(starts.iter().copied())
            .chain(std::iter::once(arrivals.len()))
            .collect();
        let horizon = |k: usize| starts.get(k).map(|&s| self.requests[arrivals[s]].arrival);
        let mut first = Engine::new(*self, 0);
        let (head, rest) = rayon::join(
            || first.run(policy, bounds[1], horizon(0)),
            || {
                forks
                    .into_par_iter()
                    .enumerate()
                    .map(|(k, mut fork)| {
                        let mut e = Engine::new(*self, bounds[k + 1]);
                        e.run(fork.as_mut(), bounds[k + 2], horizon(k + 1))
                            .map(|()| (e, fork))
                    })
                    .collect::<Result<Vec<_>>>()
            },
        );
        head?;
        // Stitch: a segment's own result stands when the pass so far left the accelerator
        // empty before it began; otherwise the pass so far continues through it.
        let mut done: Vec<(Engine, usize, usize)> = Vec::new();
        let (mut current, mut from) = (first, 0);
        let mut current_fork: Option<Box<dyn Policy>> = None;
        for (k, (e, fork)) in rest?.into_iter().enumerate() {
            if current.is_empty() {
                done.push((current, from, bounds[k + 1]));
                if let Some(f) = current_fork.replace(fork) {
                    join(policy, f);
                }
                (current, from) = (e, bounds[k + 1]);
            } else {
                // The segment's own run is discarded, and its fork with it.
                match current_fork.as_mut() {
                    Some(f) => current.run(f.as_mut(), bounds[k + 2], horizon(k + 1))?,
                    None => current.run(policy, bounds[k + 2], horizon(k + 1))?,
                }
            }
        }
        if let Some(f) = current_fork {
            join(policy, f);
        }
        done.push((current, from, arrivals.len()));
        let first = std::mem::take(&mut done[0].0.machine.out);
        let mut out = self.in_request_order(first);
        for (e, from, to) in &mut done[1..] {
            for (&i, r) in arrivals[*from..*to]
                .iter()
                .zip(&e.machine.out.records[*from - e.machine.base..])
            {
                out.records[i] = *r;
            }
            let part = &mut e.machine.out;
            for (total, part) in out.counters.iter_mut().zip(&part.counters) {
                *total += *part;
            }
            for (total, part) in out.arrays.iter_mut().zip(&part.arrays) {
                *total += *part;
            }
            for (total, part) in out
                .layers
                .iter_mut()
                .flatten()
                .zip(part.layers.iter().flatten())
            {
                *total += *part;
            }
            out.slices.append(&mut part.slices);
            out.bandwidth.append(&mut part.bandwidth);
            out.events += part.events;
        }
        Ok(out)
    }
}

/// Where to cut the arrivals into segments for `threads` threads (positions in `arrivals`,
/// increasing; empty: one pass): eight segments a thread, so that the threads finish close
/// together, each of at least [`MIN_SEGMENT`] requests. Each cut is where the accelerator is
/// most likely empty near the cut's ideal place: where the idle time before an arrival is
/// longest when every request occupies the whole accelerator for its isolated latency, one
/// after another (FCFS, as a single queue; policies that overlap requests empty the
/// accelerator sooner).
pub(super) fn segment_starts(
    requests: &[RequestSpec],
    tenants: &[TenantModel],
    arrivals: &[usize],
    threads: usize,
) -> Vec<usize> {
    let segments = (8 * threads).min(arrivals.len() / MIN_SEGMENT);
    if segments < 2 {
        return Vec::new();
    }
    // idle[k]: cycles the single queue stands empty before arrival k (0 when it is busy).
    let mut idle = vec![0u64; arrivals.len()];
    let mut free_at = 0u64;
    for (k, &i) in arrivals.iter().enumerate() {
        let r = requests[i];
        idle[k] = r.arrival.0.saturating_sub(free_at);
        free_at = free_at.max(r.arrival.0) + tenants[r.tenant].isolated.0;
    }
    let window = arrivals.len() / segments / 2;
    let mut starts: Vec<usize> = (1..segments)
        .filter_map(|s| {
            let ideal = s * arrivals.len() / segments;
            (ideal - window..=ideal + window)
                .filter(|&k| k > 0 && k < arrivals.len() && idle[k] > 0)
                .max_by_key(|&k| (idle[k], std::cmp::Reverse(k)))
        })
        .collect();
    starts.dedup();
    starts
}

/// The fewest requests worth a segment of their own.
const MIN_SEGMENT: usize = 256;

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::config::AcceleratorConfig;
    use crate::exec::CostModel;
    use crate::sched;
    use crate::sim::{Mode, SimOptions};
    use crate::units::{Cycles, RequestId};
    use crate::workload::Workload;
    use std::path::Path;

    /// The two digits models on `tiny`, each request `gap` cycles after the one before, in
    /// tied pairs.
    pub(in crate::sim) fn setup(
        gap: u64,
    ) -> (AcceleratorConfig, Vec<TenantModel>, Vec<RequestSpec>) {
        let text = r#"
seed = 1
requests = 1
accel = "tiny"
[[tenants]]
name = "int8"
model = "models/digits/int8_qop/model.onnx"
sla_factor = 3.0
arrival = { kind = "poisson", rate_per_s = 1.0 }
[[tenants]]
name = "fp32"
model = "models/digits/fp32/model.onnx"
sla_factor = 3.0
arrival = { kind = "poisson", rate_per_s = 1.0 }
"#;
        let w = Workload::from_toml(text, Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        let cfg = w.accelerator().unwrap();
        let models = crate::sim::tenants(&w, &cfg, false).unwrap();
        let reqs = (0..120u64)
            .map(|i| {
                let tenant = (i % 2) as usize;
                let arrival = Cycles(i / 2 * gap);
                RequestSpec {
                    tenant,
                    arrival,
                    deadline: arrival + Cycles(models[tenant].isolated.0 * 2),
                    tokens: None,
                }
            })
            .collect();
        (cfg, models, reqs)
    }

    /// A segment's engine keeps state only for its own arrivals (memory grows with the
    /// requests, not with the requests times the segments), and none is left active at the end.
    #[test]
    fn a_segment_holds_only_its_own_requests() {
        let (cfg, models, reqs) = setup(200_000);
        let arrivals: Vec<usize> = (0..reqs.len()).collect();
        let sim = Sim {
            cfg: &cfg,
            tenants: &models,
            requests: &reqs,
            arrivals: &arrivals,
            rank: &arrivals,
            mode: Mode::Timing,
            options: SimOptions::default(),
            costs: CostModel::new(&cfg),
            batching: false,
        };
        let mut e = Engine::new(sim, 60);
        e.run(sched::by_name("fcfs").unwrap().as_mut(), 90, None)
            .unwrap();
        assert_eq!(e.machine.active.len(), 30);
        assert_eq!(e.machine.out.records.len(), 30);
        assert!(e.machine.active.iter().all(Option::is_none));
        assert_eq!(e.machine.out.records[0].request, RequestId(60));
        assert!(e.machine.out.records.iter().all(|r| r.finish.is_some()));
    }

    /// Cuts anywhere (between tied arrivals, inside busy periods, between idle ones) give the
    /// single pass's outcome: the stitching, not the choice of cuts, makes it exact.
    #[test]
    fn any_cuts_give_the_single_pass() {
        for gap in [2_000u64, 20_000, 200_000] {
            let (cfg, models, reqs) = setup(gap);
            let mut arrivals: Vec<usize> = (0..reqs.len()).collect();
            arrivals.sort_by_key(|&i| reqs[i].arrival);
            let mut rank = vec![0; reqs.len()];
            for (k, &i) in arrivals.iter().enumerate() {
                rank[i] = k;
            }
            let sim = Sim {
                cfg: &cfg,
                tenants: &models,
                requests: &reqs,
                arrivals: &arrivals,
                rank: &rank,
                mode: Mode::Timing,
                options: SimOptions::default(),
                costs: CostModel::new(&cfg),
                batching: false,
            };
            for name in ["fcfs", "edf", "cd-msa", "static"] {
                let one = sim
                    .run(sched::by_name(name).unwrap().as_mut(), &[])
                    .unwrap();
                for starts in [
                    vec![1, 2, 3],
                    vec![7, 30, 31, 90],
                    vec![60],
                    vec![2, 4, 118],
                ] {
                    let split = sim
                        .run(sched::by_name(name).unwrap().as_mut(), &starts)
                        .unwrap();
                    let at = format!("{name}, gap {gap}, cuts {starts:?}");
                    assert_eq!(one.records, split.records, "{at}");
                    assert_eq!(one.counters, split.counters, "{at}");
                    assert_eq!(one.slices, split.slices, "{at}");
                    assert_eq!(one.events, split.events, "{at}");
                }
            }
        }
    }
}
