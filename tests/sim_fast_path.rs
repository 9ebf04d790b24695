//! The timing fast paths: leaving the trace out (`SimOptions { trace: false }`) changes
//! nothing but the trace, under every scheduler, with arrivals out of index order and tied;
//! following a policy's standing orders (the replay around the plain loop) changes nothing
//! but how often it is asked; CD-MSA's fast path decides as its readable definition; and
//! simulating busy periods in parallel changes nothing at all.

use cdmsa::config::AcceleratorConfig;
use cdmsa::sched::{
    self, Accelerated, CdMsa, CdMsaOptions, Decision, Place, Policy, Standing, TenantInfo, View,
};
use cdmsa::sim::{Mode, RequestSpec, SimOptions, TenantModel, simulate, simulate_with, tenants};
use cdmsa::units::Cycles;
use cdmsa::workload::Workload;
use std::path::Path;

fn models(cfg: &AcceleratorConfig) -> Vec<TenantModel> {
    let text = r#"
seed = 3
requests = 1
accel = "tiny"
[[tenants]]
name = "int8"
model = "models/digits/int8_qop/model.onnx"
priority = 9
sla_factor = 3.0
arrival = { kind = "poisson", rate_per_s = 1.0 }
[[tenants]]
name = "fp32"
model = "models/digits/fp32/model.onnx"
priority = 1
sla_factor = 8.0
arrival = { kind = "poisson", rate_per_s = 1.0 }
"#;
    let w = Workload::from_toml(text, Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
    tenants(&w, cfg, false).unwrap()
}

/// Requests listed out of arrival order, several arriving at the same cycle.
fn requests(models: &[TenantModel]) -> Vec<RequestSpec> {
    (0..40u64)
        .map(|i| {
            let tenant = (i % 2) as usize;
            // Arrival times go down then up again, with ties (i and i + 20 share a time).
            let arrival = Cycles(((i % 20) * 7919 % 20) * 4000);
            RequestSpec {
                tenant,
                arrival,
                deadline: arrival + Cycles(models[tenant].isolated.0 * 3),
                tokens: None,
            }
        })
        .collect()
}

#[test]
fn leaving_the_trace_out_changes_only_the_trace() {
    let cfg = AcceleratorConfig::preset("tiny").unwrap();
    let models = models(&cfg);
    let reqs = requests(&models);
    let names = sched::ALL.iter().chain(sched::ABLATION);
    for name in names {
        let full = simulate(
            &cfg,
            &models,
            &reqs,
            sched::by_name(name).unwrap().as_mut(),
            Mode::Timing,
        )
        .unwrap();
        let lean = simulate_with(
            &cfg,
            &models,
            &reqs,
            sched::by_name(name).unwrap().as_mut(),
            Mode::Timing,
            SimOptions { trace: false },
        )
        .unwrap();
        assert!(!full.slices.is_empty(), "{name}: the trace was recorded");
        assert!(lean.slices.is_empty(), "{name}: no trace asked for");
        assert_eq!(full.records, lean.records, "{name}: records");
        assert_eq!(full.counters, lean.counters, "{name}: counters");
        assert_eq!(full.events, lean.events, "{name}: events");
        // The trace is in dispatch order.
        assert!(full.slices.windows(2).all(|w| w[0].start <= w[1].start));
    }
}

#[test]
fn tied_arrivals_enter_in_request_order() {
    // Two requests at the same cycle on one array under FCFS: the lower index starts first,
    // whatever the order the list gives their times in.
    let cfg = AcceleratorConfig {
        arrays: 1,
        ..AcceleratorConfig::preset("tiny").unwrap()
    };
    let models = models(&cfg);
    let late = Cycles(1000);
    let reqs = [
        RequestSpec {
            tenant: 0,
            arrival: late,
            deadline: Cycles(u64::MAX),
            tokens: None,
        },
        RequestSpec {
            tenant: 1,
            arrival: Cycles::ZERO,
            deadline: Cycles(u64::MAX),
            tokens: None,
        },
        RequestSpec {
            tenant: 1,
            arrival: late,
            deadline: Cycles(u64::MAX),
            tokens: None,
        },
    ];
    let out = simulate(
        &cfg,
        &models,
        &reqs,
        sched::by_name("fcfs").unwrap().as_mut(),
        Mode::Timing,
    )
    .unwrap();
    let finish = |i: usize| out.records[i].finish.expect("finished");
    // Request 1 runs first (earliest), then 0 before 2 (tie at `late`, index order).
    assert!(finish(1) <= finish(0));
    assert!(finish(0) < finish(2));
    // Three arrivals, a completion per job, and at most one event per job when its stream
    // moves its last byte before its compute is done.
    let events = out.events as usize;
    assert!((3 + out.slices.len()..=3 + 2 * out.slices.len()).contains(&events));
}

/// A policy as the simulator would see it without standing orders or parallel segments:
/// every decision point asks it (the oracle for [`Policy::standing_order`]), in one pass
/// (the oracle for [`Policy::fork`]); it counts the calls, the forks and the joins.
struct Asked {
    inner: Box<dyn Policy>,
    promises: bool,
    forks: bool,
    calls: u64,
    forked: usize,
    joined: usize,
}

impl Asked {
    fn new(name: &str, promises: bool, forks: bool) -> Asked {
        Asked::wrap(sched::by_name(name).unwrap(), promises, forks)
    }

    fn wrap(inner: Box<dyn Policy>, promises: bool, forks: bool) -> Asked {
        Asked {
            inner,
            promises,
            forks,
            calls: 0,
            forked: 0,
            joined: 0,
        }
    }
}

impl Policy for Asked {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn reset(&mut self, tenants: &[TenantInfo], arrays: usize) {
        self.inner.reset(tenants, arrays);
    }
    fn decide_into(&mut self, view: &View, out: &mut Decision) {
        self.calls += 1;
        self.inner.decide_into(view, out);
    }
    /// Told what changed, as the simulator asks (the policies' incremental paths).
    fn decide_changed(&mut self, view: &View, changed: &[Place], out: &mut Decision) {
        self.calls += 1;
        self.inner.decide_changed(view, changed, out);
    }
    fn preempts_within_jobs(&self) -> bool {
        self.inner.preempts_within_jobs()
    }
    /// Without promises and forks, the plain loop.
    fn accelerated(&mut self) -> Option<&mut dyn Accelerated> {
        (self.promises || self.forks).then_some(self as &mut dyn Accelerated)
    }
}

impl Accelerated for Asked {
    fn standing_order(&mut self, view: &View, decision: &Decision) -> Option<Standing> {
        let inner = self.inner.accelerated().filter(|_| self.promises)?;
        inner.standing_order(view, decision)
    }
    fn confirm(&mut self, view: &View, idle: usize) -> bool {
        self.inner
            .accelerated()
            .is_none_or(|inner| inner.confirm(view, idle))
    }
    fn fork(&mut self) -> Option<Box<dyn Policy>> {
        let inner = self.inner.accelerated().filter(|_| self.forks)?.fork()?;
        self.forked += 1;
        Some(Box::new(Asked::wrap(inner, self.promises, self.forks)))
    }
    fn join(&mut self, fork: Box<dyn Policy>) {
        self.joined += 1;
        let fork: Box<dyn std::any::Any> = fork;
        let fork = fork.downcast::<Asked>().expect("forked here");
        self.calls += fork.calls;
        if let Some(inner) = self.inner.accelerated() {
            inner.join(fork.inner);
        }
    }
}

/// The zoo's MobileNet-v2 (thousands of tile jobs a request) beside ResNet-50, on `tpu-msa`,
/// at `rate` requests per second each.
fn zoo_workload(rate: f64) -> Workload {
    let text = format!(
        r#"
seed = 11
requests = 60
accel = "tpu-msa"
[[tenants]]
name = "mobilenet_v2"
model = "zoo:mobilenet_v2"
precision = "int8"
priority = 9
sla_factor = 4.0
arrival = {{ kind = "poisson", rate_per_s = {rate} }}
[[tenants]]
name = "resnet50"
model = "zoo:resnet50"
precision = "int8"
priority = 3
sla_factor = 4.0
arrival = {{ kind = "poisson", rate_per_s = {rate} }}
"#
    );
    Workload::from_toml(&text, Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn standing_orders_change_nothing_but_the_questions_asked() {
    // Light load, near saturation and overload (queues of dozens).
    for rate in [40.0, 150.0, 600.0] {
        let w = zoo_workload(rate);
        let cfg = w.accelerator().unwrap();
        let models = tenants(&w, &cfg, false).unwrap();
        let reqs = cdmsa::sim::requests(&w, &models, &cfg).unwrap();
        for name in sched::ALL.iter().chain(sched::ABLATION) {
            let run = |promises: bool| {
                let mut policy = Asked::new(name, promises, false);
                let out = simulate(&cfg, &models, &reqs, &mut policy, Mode::Timing).unwrap();
                (out, policy.calls)
            };
            let ((asked, every), (trusted, fewer)) = (run(false), run(true));
            let at = format!("{name} at {rate}/s");
            assert_eq!(asked.records, trusted.records, "{at}: records");
            assert_eq!(asked.counters, trusted.counters, "{at}: counters");
            assert_eq!(asked.slices, trusted.slices, "{at}: trace");
            assert_eq!(asked.events, trusted.events, "{at}: events");
            match *name {
                // The promises stood in for over a third of the decisions: those where the
                // first request has a ready job for every idle array (a layer with fewer tile
                // jobs than idle arrays needs the policy to place the rest).
                "fcfs" | "edf" => assert!(3 * fewer < 2 * every, "{at}: asked {fewer} of {every}"),
                // CD-MSA promises while one request alone has ready jobs, and checks the
                // orders that give every idle array to one request (or one fused pair).
                "cd-msa" | "cd-msa-nofusion" | "cd-msa-noadmission" => {
                    assert!(fewer < every, "{at}: asked {fewer} of {every}")
                }
                _ => assert_eq!(fewer, every, "{at}: no promises"),
            }
        }
    }
}

/// CD-MSA's fast path decides as its readable definition ([`CdMsa::reference`], asked at
/// every decision point in one pass): every record, counter and trace slice equal, with each
/// mechanism on and off, from light load to overload.
#[test]
fn cd_msa_equals_its_definition() {
    for rate in [40.0, 600.0] {
        let w = zoo_workload(rate);
        let cfg = w.accelerator().unwrap();
        let models = tenants(&w, &cfg, false).unwrap();
        let reqs = cdmsa::sim::requests(&w, &models, &cfg).unwrap();
        let on = CdMsaOptions::default();
        for options in [
            on,
            CdMsaOptions {
                fusion: false,
                ..on
            },
            CdMsaOptions {
                admission: false,
                ..on
            },
            CdMsaOptions {
                cooperation: false,
                ..on
            },
        ] {
            let run = |mut policy: CdMsa| {
                let out = simulate(&cfg, &models, &reqs, &mut policy, Mode::Timing).unwrap();
                (out, policy.rejected())
            };
            let (fast, fast_rejected) = run(CdMsa::new(options));
            let (defined, defined_rejected) = run(CdMsa::reference(options));
            let at = format!("{options:?} at {rate}/s");
            assert_eq!(fast.records, defined.records, "{at}: records");
            assert_eq!(fast.counters, defined.counters, "{at}: counters");
            assert_eq!(fast.slices, defined.slices, "{at}: trace");
            assert_eq!(fast.events, defined.events, "{at}: events");
            assert_eq!(fast_rejected, defined_rejected, "{at}: rejections");
        }
    }
}

#[test]
fn parallel_busy_periods_equal_one_pass() {
    let cfg = AcceleratorConfig::preset("tiny").unwrap();
    let models = models(&cfg);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    // 1,200 requests, alternating tenants, every `gap` cycles with a jitter: from a mostly
    // idle accelerator (every cut stands) to overload (no cut finds it empty).
    for gap in [60_000u64, 9_000, 3_000, 500] {
        let reqs: Vec<RequestSpec> = (0..1200u64)
            .map(|i| {
                let tenant = (i % 2) as usize;
                let arrival = Cycles(i * gap + (i * 7919 % 13) * gap / 4);
                RequestSpec {
                    tenant,
                    arrival,
                    deadline: arrival + Cycles(models[tenant].isolated.0 * 3),
                    tokens: None,
                }
            })
            .collect();
        for name in sched::ALL.iter().chain(sched::ABLATION) {
            let run = |forks: bool| {
                let mut policy = Asked::new(name, true, forks);
                let out = pool
                    .install(|| simulate(&cfg, &models, &reqs, &mut policy, Mode::Timing))
                    .unwrap();
                (out, policy)
            };
            let ((one, _), (split, policy)) = (run(false), run(true));
            let at = format!("{name} every {gap} cycles");
            assert_eq!(one.records, split.records, "{at}: records");
            assert_eq!(one.counters, split.counters, "{at}: counters");
            assert_eq!(one.slices, split.slices, "{at}: trace");
            assert_eq!(one.events, split.events, "{at}: events");
            let (forked, joined) = (policy.forked, policy.joined);
            if matches!(*name, "prema" | "planaria") {
                assert_eq!(forked, 0, "{at}: its state carries over");
            } else if name.ends_with("+fusion") {
                assert_eq!(
                    forked, 0,
                    "{at}: a baseline given fusion offers no speed hooks"
                );
            } else if gap == 60_000 {
                assert!(
                    forked > 0 && joined == forked,
                    "{at}: {joined} of {forked} cuts stood"
                );
            } else if gap == 500 {
                assert_eq!(forked, 0, "{at}: the accelerator is never empty");
            }
        }
    }
}

/// Decoder tenants (token loops whose deadlines move with their steps, and batched
/// iterations that park and restore requests): standing orders still change nothing but the
/// questions asked, under every scheduler with and without batched decode, and CD-MSA's fast
/// path still decides as its definition.
#[test]
fn token_loops_leave_standing_orders_and_the_definition_exact() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads/llm.toml");
    let mut w = Workload::load(&path).unwrap();
    w.stop = cdmsa::workload::Stop::Requests(50);
    let w = w.scaled(3.0);
    let cfg = w.accelerator().unwrap();
    let models = tenants(&w, &cfg, false).unwrap();
    let reqs = cdmsa::sim::requests(&w, &models, &cfg).unwrap();
    for name in sched::ALL.iter().chain(sched::BATCHING) {
        let run = |promises: bool| {
            let mut policy = Asked::new(name, promises, false);
            simulate(&cfg, &models, &reqs, &mut policy, Mode::Timing).unwrap()
        };
        let (asked, trusted) = (run(false), run(true));
        assert_eq!(asked.records, trusted.records, "{name}: records");
        assert_eq!(asked.slices, trusted.slices, "{name}: trace");
    }
    for batch in [false, true] {
        let run = |policy: CdMsa| {
            let mut p: Box<dyn Policy> = match batch {
                true => Box::new(sched::WithBatching::new(Box::new(policy), "cd-msa+batch")),
                false => Box::new(policy),
            };
            simulate(&cfg, &models, &reqs, p.as_mut(), Mode::Timing).unwrap()
        };
        let on = CdMsaOptions::default();
        let (fast, defined) = (run(CdMsa::new(on)), run(CdMsa::reference(on)));
        assert_eq!(fast.records, defined.records, "batch {batch}: records");
        assert_eq!(fast.slices, defined.slices, "batch {batch}: trace");
    }
}
