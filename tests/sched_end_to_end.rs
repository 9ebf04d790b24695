//! PREMA and Planaria through the simulator: the digits CNN as three tenants (priorities 1, 3
//! and 9) on the two arrays of the `tiny` preset, under a load that keeps requests waiting.

use cdmsa::config::AcceleratorConfig;
use cdmsa::ir::InputBinding;
use cdmsa::lower::lower;
use cdmsa::onnx::load_model;
use cdmsa::sched::{Edf, Fcfs, Planaria, Policy, Prema};
use cdmsa::sim::{Mode, RequestSpec, SimOutcome, Slice, TenantModel, simulate};
use cdmsa::tensor::DType;
use cdmsa::units::{Cycles, TenantId};
use std::path::Path;

/// The digits CNN (int8, QOperator) lowered for `cfg`, as tenant `id`, its isolated latency
/// measured by running one request alone.
fn digits(id: u32, priority: u8, cfg: &AcceleratorConfig) -> TenantModel {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/digits/int8_qop/model.onnx");
    let graph = load_model(&path).unwrap();
    let bind = [InputBinding::shape_only(DType::F32, vec![1, 1, 8, 8])];
    let program = lower(&graph, &bind, cfg).unwrap();
    let mut t = TenantModel::new(
        TenantId(id),
        "digits",
        priority,
        1.0,
        program,
        Vec::new(),
        cfg,
    );
    let alone = RequestSpec {
        tenant: 0,
        arrival: Cycles::ZERO,
        deadline: Cycles(u64::MAX),
        tokens: None,
    };
    let out = simulate(
        cfg,
        std::slice::from_ref(&t),
        &[alone],
        &mut Fcfs,
        Mode::Timing,
    )
    .unwrap();
    t.isolated = out.records[0].finish.unwrap();
    t
}

/// Three tenants; 24 requests, one every 3/4 of an isolated latency (a third more than the
/// accelerator serves), round robin over the tenants, each due 4 isolated latencies after it
/// arrives.
fn run(policy: &mut dyn Policy) -> SimOutcome {
    let cfg = AcceleratorConfig::preset("tiny").unwrap();
    let tenants: Vec<TenantModel> = [1, 3, 9]
        .into_iter()
        .enumerate()
        .map(|(i, p)| digits(i as u32, p, &cfg))
        .collect();
    let iso = tenants[0].isolated.0;
    let requests: Vec<RequestSpec> = (0..24u64)
        .map(|i| RequestSpec {
            tenant: (i % 3) as usize,
            arrival: Cycles(i * iso * 3 / 4),
            deadline: Cycles(i * iso * 3 / 4 + 4 * iso),
            tokens: None,
        })
        .collect();
    simulate(&cfg, &tenants, &requests, policy, Mode::Timing).unwrap()
}

fn end(s: &Slice) -> Cycles {
    s.start + s.duration
}

/// Pairs of jobs of different requests that run at the same time.
fn overlaps(out: &SimOutcome) -> usize {
    let s = &out.slices;
    (0..s.len())
        .flat_map(|i| (i + 1..s.len()).map(move |j| (i, j)))
        .filter(|&(i, j)| {
            s[i].request != s[j].request && s[i].start < end(&s[j]) && s[j].start < end(&s[i])
        })
        .count()
}

/// Jobs a request starts beside another request's running job when that job itself started
/// while the first request was running: the first went on dispatching instead of draining.
fn interleaved(out: &SimOutcome) -> usize {
    let s = &out.slices;
    s.iter()
        .filter(|x| {
            s.iter().any(|b| {
                b.request != x.request
                    && b.start <= x.start
                    && x.start < end(b)
                    && s.iter()
                        .any(|a| a.request == x.request && a.start < b.start && b.start < end(a))
            })
        })
        .count()
}

fn all_complete(out: &SimOutcome) -> bool {
    out.records.iter().all(|r| r.finish.is_some())
}

/// Mean latency (finish − arrival) of tenant `t`'s requests.
fn mean_latency(out: &SimOutcome, t: u32) -> u64 {
    let l: Vec<u64> = out
        .records
        .iter()
        .filter(|r| r.tenant == TenantId(t))
        .filter_map(|r| r.finish.map(|f| (f - r.arrival).0))
        .collect();
    l.iter().sum::<u64>() / l.len().max(1) as u64
}

#[test]
fn prema_runs_one_request_at_a_time_save_for_drains() {
    let out = run(&mut Prema::default());
    assert!(all_complete(&out));
    // Requests overlap only while a preempted one drains its running jobs (if ever); it
    // starts no other job meanwhile. EDF on the same workload keeps filling arrays from several.
    assert_eq!(interleaved(&out), 0);
    let edf = run(&mut Edf);
    assert!(interleaved(&edf) > 0);
    assert!(overlaps(&out) * 10 < overlaps(&edf));
    // Priority 9 (tenant 2) starts at the top token level; priority 1 (tenant 0) must wait.
    assert!(mean_latency(&out, 2) < mean_latency(&out, 0));
}

#[test]
fn planaria_runs_tenants_side_by_side() {
    let out = run(&mut Planaria::default());
    assert!(all_complete(&out));
    assert!(interleaved(&out) > 0);
    assert!(overlaps(&out) > 10 * overlaps(&run(&mut Prema::default())));
    // Priority weighs in the ranking and the spare arrays.
    assert!(mean_latency(&out, 2) < mean_latency(&out, 0));
}

#[test]
fn both_are_deterministic() {
    for make in [
        || Box::new(Prema::default()) as Box<dyn Policy>,
        || Box::new(Planaria::default()) as Box<dyn Policy>,
    ] {
        let (a, b) = (run(make().as_mut()), run(make().as_mut()));
        assert_eq!(a.slices, b.slices);
        assert_eq!(a.records, b.records);
    }
}
