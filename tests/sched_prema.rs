//! PREMA's decisions on hand-built views: token growth, the threshold, shortest remaining
//! time among the candidates, one request at a time.

use cdmsa::sched::{Decision, LayerProfile, Policy, Prema, RequestView, View, by_name, outlook};
use cdmsa::units::{ArrayId, Cycles, RequestId, TenantId};

/// A request whose current layer is `layer` (nothing of it dispatched yet).
fn req(
    id: u64,
    priority: u8,
    arrival: u64,
    isolated: u64,
    layer: &[LayerProfile],
) -> RequestView<'_> {
    RequestView {
        id: RequestId(id),
        tenant: TenantId(id as u32),
        priority,
        weight: 1.0,
        arrival: Cycles(arrival),
        deadline: Cycles(arrival + 10 * isolated),
        isolated: Cycles(isolated),
        remaining: layer[0].cost,
        ready: layer[0].jobs,
        running: 0,
        served: Cycles::ZERO,
        // The test views live for the whole test: leak their small outlook.
        after: Box::leak(Box::new(outlook(layer, 16).swap_remove(0))),
        remaining_in_layer: layer[0].cost,
        next_tile: None,
    }
}

fn decide(
    p: &mut Prema,
    now: u64,
    arrays: &[Option<RequestId>],
    requests: &[RequestView],
) -> Decision {
    p.decide(&View {
        now: Cycles(now),
        arrays,
        last_tenant: &[],
        requests,
        fusion_geometry: None,
    })
}

const LONG: &[LayerProfile] = &[LayerProfile {
    jobs: 4,
    cost: Cycles(100_000),
}];
const SHORT: &[LayerProfile] = &[LayerProfile {
    jobs: 2,
    cost: Cycles(200),
}];

/// A (priority 9, long) runs alone from 0; B (priority 3, short, isolated 100) arrives at 100.
/// At `now`, A runs on array 0 and array 1 is idle.
fn a_runs_then_b_waits(now: u64) -> (Prema, Decision) {
    let mut p = Prema::default();
    let a = req(0, 9, 0, 1_000, LONG);
    let d = decide(&mut p, 0, &[None, None], std::slice::from_ref(&a));
    assert_eq!(
        d.assign,
        vec![(ArrayId(0), RequestId(0)), (ArrayId(1), RequestId(0))]
    );
    let mut a = a;
    a.ready = 2;
    a.running = 1;
    let b = req(1, 3, 100, 100, SHORT);
    let d = decide(&mut p, now, &[Some(RequestId(0)), None], &[a, b]);
    (p, d)
}

#[test]
fn a_waiting_token_gains_priority_times_slowdown_and_the_runner_gains_nothing() {
    // B waited 300 − 100 = 200 cycles, twice its isolated 100: 3 + 3 × 2 = 9.
    let (p, _) = a_runs_then_b_waits(300);
    assert_eq!(p.token(RequestId(1)), Some(9.0));
    assert_eq!(p.token(RequestId(0)), Some(9.0));
}

#[test]
fn reaching_the_top_level_makes_the_shorter_request_a_candidate_and_it_preempts() {
    // Both tokens at 9: B's 100-cycle estimate beats A's; A's running job drains, B takes the
    // idle array.
    let (_, d) = a_runs_then_b_waits(300);
    assert_eq!(d.assign, vec![(ArrayId(1), RequestId(1))]);
    // One cycle earlier B's token is 8.97: only A reaches 9, and A keeps the accelerator.
    let (p, d) = a_runs_then_b_waits(299);
    assert!(p.token(RequestId(1)).is_some_and(|t| t < 9.0));
    assert_eq!(d.assign, vec![(ArrayId(1), RequestId(0))]);
}

#[test]
fn the_threshold_is_the_highest_level_reached() {
    // Priorities 1 and 3, nobody at 9: the threshold is 3 and the longer priority-3 request
    // runs although the priority-1 one is shorter.
    let lo = req(0, 1, 0, 100, SHORT);
    let hi = req(1, 3, 0, 1_000, LONG);
    let mut p = Prema::default();
    let d = decide(&mut p, 0, &[None], &[lo.clone(), hi.clone()]);
    assert_eq!(d.assign, vec![(ArrayId(0), RequestId(1))]);
    // 200 cycles later the priority-1 token is 1 + 1 × 200 / 100 = 3: both are candidates and
    // the shorter runs.
    let d = decide(&mut p, 200, &[None], &[lo, hi]);
    assert_eq!(p.token(RequestId(0)), Some(3.0));
    assert_eq!(d.assign, vec![(ArrayId(0), RequestId(0))]);
}

#[test]
fn among_candidates_the_shortest_remaining_runs_ties_by_arrival() {
    let mid = [LayerProfile {
        jobs: 4,
        cost: Cycles(4_000),
    }];
    let rs = [
        req(0, 9, 0, 1_000, LONG),
        req(1, 9, 5, 1_000, &mid),
        req(2, 9, 10, 1_000, &mid),
    ];
    let mut p = Prema::default();
    let d = decide(&mut p, 10, &[None, None], &rs);
    // Request 0 is longest; 1 and 2 tie at 2 000 cycles on two arrays and 1 came first.
    assert_eq!(
        d.assign,
        vec![(ArrayId(0), RequestId(1)), (ArrayId(1), RequestId(1))]
    );
}

#[test]
fn the_chosen_request_alone_gets_arrays_even_if_some_stay_idle() {
    let one_job = [LayerProfile {
        jobs: 1,
        cost: Cycles(50),
    }];
    let rs = [req(0, 9, 0, 100, &one_job), req(1, 1, 0, 100, LONG)];
    let mut p = Prema::default();
    let d = decide(&mut p, 0, &[None, None, None, None], &rs);
    // Request 1 has four ready jobs and three idle arrays could take them: not while 0 runs.
    assert_eq!(d.assign, vec![(ArrayId(0), RequestId(0))]);
}

#[test]
fn tokens_of_requests_that_left_are_forgotten() {
    let (mut p, _) = a_runs_then_b_waits(300);
    let b = req(1, 3, 100, 100, SHORT);
    decide(&mut p, 400, &[None, None], &[b]);
    assert_eq!(p.token(RequestId(0)), None);
    // B was running since 300: no gain.
    assert_eq!(p.token(RequestId(1)), Some(9.0));
}

#[test]
fn prema_is_listed_by_name() {
    assert_eq!(by_name("prema").unwrap().name(), "prema");
    assert!(cdmsa::sched::ALL.contains(&"prema"));
}
