//! Planaria's allocations on hand-built views: minimum arrays for the slack, spare arrays by
//! priority over remaining time, ranking when overloaded, allocations held between events.

use cdmsa::sched::{LayerProfile, Planaria, Policy, RequestView, View, by_name, outlook};
use cdmsa::units::{ArrayId, Cycles, RequestId, TenantId};

/// A request at the start of `layers`, due at `deadline`.
fn req(id: u64, priority: u8, deadline: u64, layers: &[LayerProfile]) -> RequestView<'_> {
    RequestView {
        id: RequestId(id),
        tenant: TenantId(id as u32),
        priority,
        weight: 1.0,
        arrival: Cycles(id),
        deadline: Cycles(deadline),
        isolated: Cycles(1),
        remaining: layers.iter().map(|l| l.cost).sum(),
        ready: layers[0].jobs,
        running: 0,
        served: Cycles::ZERO,
        // The test views live for the whole test: leak their small outlook.
        after: Box::leak(Box::new(outlook(layers, 16).swap_remove(0))),
        remaining_in_layer: layers[0].cost,
        next_tile: None,
    }
}

fn layer(jobs: usize, cost: u64) -> LayerProfile {
    LayerProfile {
        jobs,
        cost: Cycles(cost),
    }
}

fn shares(now: u64, arrays: usize, requests: &[RequestView]) -> Vec<usize> {
    Planaria::shares(&View {
        now: Cycles(now),
        arrays: &vec![None; arrays],
        last_tenant: &[],
        requests,
        fusion_geometry: None,
    })
}

#[test]
fn the_minimum_is_the_fewest_arrays_whose_estimate_fits_the_slack() {
    // A 4-job layer of 400 cycles, then a 1-job layer of 50: with k arrays the 4 jobs take
    // ⌈4 / k⌉ rounds of 100, so the estimate is 450, 250, 250, 150 for k = 1..4 (a third
    // array saves nothing: the fourth job still runs in a second round).
    let layers = [layer(4, 400), layer(1, 50)];
    let r = req(0, 1, 1_200, &layers);
    let min = |now| Planaria::min_arrays(&r, Cycles(now), 4);
    assert_eq!(min(950), Some(2)); // slack 250, exactly
    assert_eq!(min(951), Some(4)); // slack 249: 3 arrays still take 250
    assert_eq!(min(1_050), Some(4)); // slack 150, exactly
    assert_eq!(min(1_051), None); // slack 149: hopeless
    assert_eq!(min(750), Some(1)); // slack 450
    assert_eq!(min(1_300), None); // past the deadline
}

#[test]
fn spare_arrays_go_in_proportion_to_priority_over_remaining_time() {
    // 8 arrays. X (priority 9): 800 cycles in 8 jobs, slack 500 → minimum 2 (400 ≤ 500),
    // score 9 / 400. Y (priority 3): the same work, slack 1 000 → minimum 1, score 3 / 800.
    // Spare 5 split 0.0225 : 0.00375 → quotas 4.29 and 0.71: floors 4 and 0, the last array
    // to the larger remainder, Y's. X 2 + 4 = 6, Y 1 + 1 = 2.
    let l = [layer(8, 800)];
    let rs = [req(0, 9, 500, &l), req(1, 3, 1_000, &l)];
    assert_eq!(shares(0, 8, &rs), vec![6, 2]);
}

#[test]
fn no_request_gets_more_arrays_than_it_can_use() {
    // 4 arrays, both fit on one. X (priority 9, 2 jobs of 200 cycles) scores 9 / 200 and
    // would take both spare arrays, but can use only 2: the other goes to Y.
    let x = [layer(2, 200)];
    let y = [layer(4, 400)];
    let rs = [req(0, 9, 1_000, &x), req(1, 1, 1_000, &y)];
    assert_eq!(shares(0, 4, &rs), vec![2, 2]);
}

#[test]
fn when_minimums_exceed_the_arrays_requests_rank_by_priority_over_slack_times_minimum() {
    // 5 arrays; each request has 800 cycles in 4 jobs: ⌈4 / k⌉ rounds of 200, estimates
    // 800, 400, 400, 200, 200.
    // X (priority 1, slack 500): minimum 2, score 1 / (500 × 2) = 0.001.
    // Y (priority 3, slack 250): minimum 4, score 3 / (250 × 4) = 0.003.
    // Z (priority 9, slack 100): hopeless, last despite its priority.
    // Y takes its 4, X the 1 left (short of its 2), Z nothing.
    let l = [layer(4, 800)];
    let rs = [req(0, 1, 500, &l), req(1, 3, 250, &l), req(2, 9, 100, &l)];
    assert_eq!(shares(0, 5, &rs), vec![1, 4, 0]);
}

#[test]
fn hopeless_requests_share_what_the_others_leave() {
    // X fits on 1 array and can use no more; Z (hopeless) gets the 3 others.
    let x = [layer(1, 100)];
    let z = [layer(4, 800)];
    let rs = [req(0, 1, 1_000, &x), req(1, 9, 100, &z)];
    assert_eq!(shares(0, 4, &rs), vec![1, 3]);
    // All hopeless: in proportion to priority / estimate on every array, 9 : 3 → 3 and 1.
    let l = [layer(4, 400)];
    let rs = [req(0, 9, 50, &l), req(1, 3, 50, &l)];
    assert_eq!(shares(0, 4, &rs), vec![3, 1]);
}

#[test]
fn allocations_hold_until_an_arrival_or_completion() {
    let l = [layer(8, 800)];
    let x = req(0, 9, 500, &l);
    let y = req(1, 3, 1_000, &l);
    let mut p = Planaria::default();
    let idle = vec![None; 8];
    let d = p.decide(&View {
        now: Cycles(0),
        arrays: &idle,
        last_tenant: &[],
        requests: &[x.clone(), y.clone()],
        fusion_geometry: None,
    });
    // Shares 6 and 2 (see above), arrays in order.
    let (x_id, y_id) = (Some(RequestId(0)), Some(RequestId(1)));
    let want = [x_id, x_id, x_id, x_id, x_id, x_id, y_id, y_id];
    assert_eq!(p.allocation(), want);
    assert_eq!(d.assign.len(), 8);
    assert!(d.assign.iter().all(|&(ArrayId(a), r)| want[a] == Some(r)));

    // Later, X's deadline would now make it hopeless, but the set of requests is the same:
    // nothing is recomputed. Array 7 (Y's) is idle and takes Y's next job, not X's.
    let late = req(0, 9, 150, &l);
    let mut busy = want.to_vec();
    busy[7] = None;
    let d = p.decide(&View {
        now: Cycles(100),
        arrays: &busy,
        last_tenant: &[],
        requests: &[late.clone(), y.clone()],
        fusion_geometry: None,
    });
    assert_eq!(p.allocation(), want);
    assert_eq!(d.assign, vec![(ArrayId(7), RequestId(1))]);

    // An arrival reallocates. At 1 000 all three are hopeless: shares by priority / estimate
    // on 8 arrays (100 cycles each), 9 : 3 : 9 → quotas 3.43, 1.14, 3.43; the last array
    // breaks the X–Z tie by arrival. X keeps 4 of the arrays it runs on, Y the one it runs
    // on, and Z gets the idle array 7 first, then X's surplus 4 and 5.
    let z = req(2, 9, 0, &l);
    p.decide(&View {
        now: Cycles(1_000),
        arrays: &busy,
        last_tenant: &[],
        requests: &[late, y, z],
        fusion_geometry: None,
    });
    let z_id = Some(RequestId(2));
    assert_eq!(
        p.allocation(),
        [x_id, x_id, x_id, x_id, z_id, z_id, y_id, z_id]
    );
}

#[test]
fn an_owner_without_ready_jobs_leaves_its_arrays_idle() {
    let l = [layer(8, 800)];
    let x = req(0, 9, 500, &l);
    let y = req(1, 3, 1_000, &l);
    let mut p = Planaria::default();
    p.decide(&View {
        now: Cycles(0),
        arrays: &[None; 8],
        last_tenant: &[],
        requests: &[x.clone(), y.clone()],
        fusion_geometry: None,
    });
    // X has nothing ready (its last jobs run on arrays 0 and 1); its arrays 2..6 are idle,
    // Y's are busy and Y has jobs ready: Planaria lends nothing.
    let mut x = x;
    x.ready = 0;
    x.running = 2;
    let (xs, ys) = (Some(RequestId(0)), Some(RequestId(1)));
    let arrays = [xs, xs, None, None, None, None, ys, ys];
    let d = p.decide(&View {
        now: Cycles(10),
        arrays: &arrays,
        last_tenant: &[],
        requests: &[x, y],
        fusion_geometry: None,
    });
    assert!(d.assign.is_empty(), "{:?}", d.assign);
}

#[test]
fn reallocation_keeps_arrays_with_the_requests_running_on_them() {
    // Y runs on arrays 2 and 3 when X arrives; Y keeps them and X gets the idle ones.
    let l = [layer(8, 800)];
    let y = req(0, 1, 10_000, &l);
    let x = req(1, 1, 10_000, &l);
    let mut p = Planaria::default();
    let (ys, xs) = (Some(RequestId(0)), Some(RequestId(1)));
    p.decide(&View {
        now: Cycles(0),
        arrays: &[None, None, ys, ys],
        last_tenant: &[],
        requests: &[y, x],
        fusion_geometry: None,
    });
    // Both fit on one array, with equal scores: the 2 spare arrays split 1 : 1.
    assert_eq!(p.allocation(), [xs, xs, ys, ys]);
}

#[test]
fn planaria_is_listed_by_name() {
    assert_eq!(by_name("planaria").unwrap().name(), "planaria");
    assert!(cdmsa::sched::ALL.contains(&"planaria"));
}
