//! Preemption and fusion invariance at scale: ten thousand random multi-tenant schedules —
//! random arrivals, deadlines, priorities, schedulers, array counts and tile sizes, with
//! K-tile preemption and dynamic fusion forced in at random — run in functional mode, and
//! every request's values must be bit-identical to its isolated run (recorded once per model,
//! precision and accelerator). A sample of the same schedules with an injected fault must all
//! be reported as mismatches, proving the check can fail.

use cdmsa::config::{AcceleratorConfig, Dataflow, DramClaim, PsumType, TimingMode};
use cdmsa::exec::Fault;
use cdmsa::sched::{self, Decision, Policy, TenantInfo, View};
use cdmsa::sim::{Mode, RequestSpec, SimOutcome, TenantModel, simulate, tenants};
use cdmsa::units::{ArrayId, Cycles, RequestId, TenantId};
use cdmsa::workload::Workload;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

/// Random schedules checked.
const CASES: u64 = 10_000;
/// One case in this many is rerun with a fault injected.
const FAULT_EVERY: u64 = 40;

/// The tenants every case draws from: the digits CNN as int8 (QOperator and QDQ), fp16, fp32,
/// and fp32 on the fp16 datapath.
const TENANTS: &str = r#"
requests = 1
accel = "tiny"
[[tenants]]
name = "int8"
model = "models/digits/int8_qop/model.onnx"
sla_factor = 2.0
arrival = { kind = "periodic", period_ms = 1.0 }
[[tenants]]
name = "qdq"
model = "models/digits/int8_qdq/model.onnx"
sla_factor = 2.0
arrival = { kind = "periodic", period_ms = 1.0 }
[[tenants]]
name = "fp16"
model = "models/digits/fp16/model.onnx"
sla_factor = 2.0
arrival = { kind = "periodic", period_ms = 1.0 }
[[tenants]]
name = "fp32"
model = "models/digits/fp32/model.onnx"
sla_factor = 2.0
arrival = { kind = "periodic", period_ms = 1.0 }
[[tenants]]
name = "fp32-on-fp16"
model = "models/digits/fp32/model.onnx"
precision = "fp16"
sla_factor = 2.0
arrival = { kind = "periodic", period_ms = 1.0 }
"#;

/// The accelerators: the `tiny` preset and custom array counts and R×C shapes (small arrays
/// give multi-fold tile jobs to cut between K-tiles; wide ones let conv1's tiles fuse), one
/// output-stationary, one with SCALE-Sim timing and one with fp16 partial sums.
fn accelerators() -> Vec<AcceleratorConfig> {
    let tiny = AcceleratorConfig::preset("tiny").unwrap();
    let with = |arrays, rows, cols| AcceleratorConfig {
        name: format!("{arrays}x{rows}x{cols}"),
        arrays,
        rows,
        cols,
        ..tiny.clone()
    };
    vec![
        tiny.clone(),
        with(1, 8, 8),
        with(3, 4, 8),
        with(4, 16, 16),
        with(2, 32, 32),
        with(3, 24, 32),
        AcceleratorConfig {
            timing: TimingMode::Scalesim,
            ..with(2, 20, 16)
        },
        AcceleratorConfig {
            psum: PsumType::Fp16,
            ..with(2, 32, 16)
        },
        AcceleratorConfig {
            dataflow: Dataflow::Os,
            ..with(2, 8, 8)
        },
        // A scratchpad split into 1 KiB partitions: blocks evicted and reloaded all the time,
        // and a tenant capped at 1 byte a cycle sharing the DRAM with the others.
        AcceleratorConfig {
            sram_kib_per_array: 3,
            sram_split_kib: Some([1, 1, 1]),
            dram_tenants: [(
                "int8".to_string(),
                DramClaim {
                    share: 2,
                    cap: Some(1),
                },
            )]
            .into(),
            ..with(3, 8, 8)
        },
    ]
}

/// A scheduler with K-tile preemption and fusion forced in at random: it asks the wrapped
/// policy, then cuts busy arrays' tile jobs at their next K-tile boundary and fuses pairs of
/// ready, fusible tile jobs on idle arrays the policy left alone.
struct Chaos {
    inner: Box<dyn Policy>,
    rng: ChaCha8Rng,
    preempt: f64,
    fuse: f64,
}

impl Policy for Chaos {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn reset(&mut self, tenants: &[TenantInfo], arrays: usize) {
        self.inner.reset(tenants, arrays);
    }

    fn preempts_within_jobs(&self) -> bool {
        self.preempt > 0.0
    }

    fn decide_into(&mut self, view: &View, out: &mut Decision) {
        self.inner.decide_into(view, out);
        let d = out;
        for (a, owner) in view.arrays.iter().enumerate() {
            if owner.is_some() && self.rng.random::<f64>() < self.preempt {
                d.preempt.push(ArrayId(a));
            }
        }
        if self.rng.random::<f64>() >= self.fuse {
            return;
        }
        let used_arrays: HashSet<usize> = d
            .assign
            .iter()
            .map(|(a, _)| a.0)
            .chain(d.fuse.iter().map(|(a, _, _)| a.0))
            .collect();
        let mut used: HashSet<RequestId> = d
            .assign
            .iter()
            .map(|(_, r)| *r)
            .chain(d.fuse.iter().flat_map(|(_, r, s)| [*r, *s]))
            .collect();
        for a in view.idle().filter(|a| !used_arrays.contains(&a.0)) {
            let ready: Vec<_> = view
                .requests
                .iter()
                .filter(|r| r.ready > 0 && !used.contains(&r.id))
                .filter_map(|r| r.next_tile.map(|s| (r.id, s)))
                .collect();
            let pair = ready.iter().enumerate().find_map(|(i, &(r, sr))| {
                ready[i + 1..]
                    .iter()
                    .find(|&&(_, ss)| view.fusible(sr, ss))
                    .map(|&(s, _)| (r, s))
            });
            let Some((r, s)) = pair else { break };
            used.extend([r, s]);
            d.fuse.push((a, r, s));
        }
    }
}

/// Every scheduler: the baselines, CD-MSA and its ablation variants.
fn schedulers() -> Vec<&'static str> {
    let extra = sched::ABLATION.iter().filter(|n| !sched::ALL.contains(n));
    sched::ALL.iter().chain(extra).copied().collect()
}

/// One random schedule.
struct Case {
    cfg: usize,
    tenants: Vec<TenantModel>,
    requests: Vec<RequestSpec>,
    scheduler: &'static str,
    preempt: f64,
    fuse: f64,
    seed: u64,
}

impl Case {
    fn new(seed: u64, pools: &[Vec<TenantModel>], names: &[&'static str]) -> Case {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        let cfg = r.random_range(0..pools.len());
        let pool = &pools[cfg];
        let k = r.random_range(2..=4);
        let mut picked: Vec<usize> = (0..pool.len()).collect();
        for i in 0..k {
            let j = r.random_range(i..picked.len());
            picked.swap(i, j);
        }
        let tenants: Vec<TenantModel> = picked[..k]
            .iter()
            .enumerate()
            .map(|(i, &p)| TenantModel {
                id: TenantId(i as u32),
                priority: [1, 3, 9][r.random_range(0..3)],
                weight: r.random_range(0.5..2.0),
                ..pool[p].clone()
            })
            .collect();
        let n = r.random_range(2..=8);
        let work: u64 = tenants.iter().map(|t| t.isolated.0).sum();
        let span = (work as f64 * r.random_range(0.0..1.5)) as u64 + 1;
        let mut requests: Vec<RequestSpec> = (0..n)
            .map(|_| {
                let tenant = r.random_range(0..k);
                let arrival = Cycles(r.random_range(0..span));
                let slack = tenants[tenant].isolated.0 as f64 * r.random_range(0.8..6.0);
                RequestSpec {
                    tenant,
                    arrival,
                    deadline: arrival + Cycles(slack as u64),
                    tokens: None,
                }
            })
            .collect();
        requests.sort_by_key(|q| q.arrival);
        Case {
            cfg,
            tenants,
            requests,
            scheduler: names[r.random_range(0..names.len())],
            preempt: [0.0, 0.2, 0.6][r.random_range(0..3)],
            fuse: [0.0, 0.5, 1.0][r.random_range(0..3)],
            seed,
        }
    }

    fn run(&self, cfg: &AcceleratorConfig, fault: Option<(Fault, u64)>) -> SimOutcome {
        let mut policy = Chaos {
            inner: sched::by_name(self.scheduler).unwrap(),
            rng: ChaCha8Rng::seed_from_u64(self.seed ^ 0xC4A05),
            preempt: self.preempt,
            fuse: self.fuse,
        };
        simulate(
            cfg,
            &self.tenants,
            &self.requests,
            &mut policy,
            Mode::Functional { fault },
        )
        .unwrap_or_else(|e| panic!("case {}: {e}", self.seed))
    }
}

/// The dispatch index of a tile job's first start in a request that finished (a fault there is
/// applied and its request checked), chosen by `pick`.
fn fault_target(out: &SimOutcome, pick: u64) -> Option<u64> {
    let mut seen = HashSet::new();
    let firsts: Vec<u64> = out
        .slices
        .iter()
        .enumerate()
        .filter(|(_, s)| s.tile.is_some() && seen.insert((s.request, s.node, s.tile)))
        .filter(|(_, s)| out.records[s.request.0 as usize].finish.is_some())
        .map(|(i, _)| i as u64)
        .collect();
    (!firsts.is_empty()).then(|| firsts[(pick % firsts.len() as u64) as usize])
}

#[derive(Default)]
struct Counts {
    requests: usize,
    checked: usize,
    preempted: usize,
    ktile_cut: usize,
    fused: usize,
    by_scheduler: std::collections::BTreeMap<&'static str, usize>,
    by_accelerator: std::collections::BTreeMap<usize, usize>,
    faults: usize,
    faults_caught: usize,
    failures: Vec<String>,
}

#[test]
fn ten_thousand_random_preemptive_fused_schedules_match_isolated_runs_bit_for_bit() {
    let start = Instant::now();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let w = Workload::from_toml(TENANTS, root).unwrap();
    let cfgs = accelerators();
    // The isolated recordings, once per (model, precision, accelerator).
    let pools: Vec<Vec<TenantModel>> = cfgs
        .par_iter()
        .map(|cfg| tenants(&w, cfg, true).unwrap())
        .collect();
    let setup = start.elapsed();
    let names = schedulers();
    let counts = Mutex::new(Counts::default());
    (0..CASES).into_par_iter().for_each(|seed| {
        let case = Case::new(seed, &pools, &names);
        let cfg = &cfgs[case.cfg];
        let out = case.run(cfg, None);
        let finished = out.records.iter().filter(|r| r.finish.is_some()).count();
        let mut seen = HashSet::new();
        let cut = out
            .slices
            .iter()
            .any(|s| s.tile.is_some() && !seen.insert((s.request, s.node, s.tile)));
        let fault = (seed % FAULT_EVERY == 0)
            .then(|| fault_target(&out, seed / FAULT_EVERY))
            .flatten()
            .map(|n| !case.run(cfg, Some((Fault::DuplicateTile, n))).mismatches.is_empty());
        let mut c = counts.lock().unwrap();
        c.requests += case.requests.len();
        c.checked += out.checked;
        if out.checked != finished || !out.mismatches.is_empty() {
            c.failures.push(format!(
                "case {seed} ({} on {}, preempt {}, fuse {}): {} of {finished} finished requests checked, mismatches {:?}",
                case.scheduler, cfg.name, case.preempt, case.fuse, out.checked, out.mismatches
            ));
        }
        c.preempted += usize::from(out.counters.iter().any(|t| t.preemptions > 0) || cut);
        c.ktile_cut += usize::from(cut);
        c.fused += usize::from(out.slices.iter().any(|s| s.fused));
        *c.by_scheduler.entry(case.scheduler).or_default() += 1;
        *c.by_accelerator.entry(case.cfg).or_default() += 1;
        if let Some(caught) = fault {
            c.faults += 1;
            c.faults_caught += usize::from(caught);
            if !caught {
                c.failures
                    .push(format!("case {seed}: an injected duplicate tile was not caught"));
            }
        }
    });
    let c = counts.into_inner().unwrap();
    println!(
        "invariance: {CASES} schedules, {} requests ({} checked bit-for-bit against isolated runs); \
         {} schedules with a preemption ({} with a K-tile cut), {} with fusion; \
         {} injected faults, {} caught; per scheduler {:?}; setup {:?}, total {:?}",
        c.requests,
        c.checked,
        c.preempted,
        c.ktile_cut,
        c.fused,
        c.faults,
        c.faults_caught,
        c.by_scheduler,
        setup,
        start.elapsed()
    );
    assert!(
        c.failures.is_empty(),
        "{} failures:\n{}",
        c.failures.len(),
        c.failures.join("\n")
    );
    // The schedules must actually exercise what they claim to.
    assert!(c.checked >= CASES as usize, "too few requests finished");
    assert!(c.preempted >= 4000, "{} schedules preempted", c.preempted);
    assert!(
        c.ktile_cut >= 3000,
        "{} schedules cut at a K-tile",
        c.ktile_cut
    );
    assert!(c.fused >= 700, "{} schedules fused", c.fused);
    assert!(c.faults >= 200, "{} faults injected", c.faults);
    assert_eq!(c.by_scheduler.len(), names.len(), "every scheduler ran");
    assert_eq!(c.by_accelerator.len(), cfgs.len(), "every accelerator ran");
}
