//! EDF and LLF decisions on a hand-built view, worked out by hand from their definitions:
//! EDF (Liu & Layland 1973) serves the earliest absolute deadline first; LLF (Mok 1983)
//! the least laxity, deadline − now − remaining time, here the estimate with every array a
//! request can use. Both hand each request as many idle arrays as it has ready jobs, in
//! their order.

use cdmsa::sched::{Decision, LayerProfile, RequestView, View, by_name, outlook};
use cdmsa::units::{ArrayId, Cycles, RequestId, TenantId};

/// A request in its last layer: `jobs` ready jobs of `work` cycles in all, due at `deadline`.
fn req(id: u64, deadline: u64, jobs: usize, work: u64) -> RequestView<'static> {
    let layers = [LayerProfile {
        jobs,
        cost: Cycles(work),
    }];
    RequestView {
        id: RequestId(id),
        tenant: TenantId(id as u32),
        priority: 1,
        weight: 1.0,
        arrival: Cycles(id),
        deadline: Cycles(deadline),
        isolated: Cycles(1),
        remaining: Cycles(work),
        ready: jobs,
        running: 0,
        served: Cycles::ZERO,
        // The test views live for the whole test: leak their small outlook.
        after: Box::leak(Box::new(outlook(&layers, 4).swap_remove(0))),
        remaining_in_layer: Cycles(work),
        next_tile: None,
    }
}

fn decide(name: &str, requests: &[RequestView]) -> Decision {
    by_name(name).unwrap().decide(&View {
        now: Cycles::ZERO,
        arrays: &[None; 4],
        last_tenant: &[],
        requests,
        fusion_geometry: None,
    })
}

fn arrays(pairs: &[(usize, u64)]) -> Vec<(ArrayId, RequestId)> {
    pairs
        .iter()
        .map(|&(a, r)| (ArrayId(a), RequestId(r)))
        .collect()
}

#[test]
fn edf_serves_deadlines_and_llf_laxities() {
    // 4 idle arrays at time 0.
    // A: due 1 000, 1 job of 100: laxity 1 000 − 100 = 900.
    // B: due 500, 2 jobs of 800 in all: on its 2 arrays one round of 400, laxity 100.
    // D: due 550, 4 jobs of 2 000 in all: on 4 arrays one round of 500, laxity 50.
    let rs = [
        req(0, 1_000, 1, 100),
        req(1, 500, 2, 800),
        req(2, 550, 4, 2_000),
    ];
    // EDF: B (500) takes two arrays for its two jobs, D (550) the other two; A waits.
    assert_eq!(
        decide("edf", &rs).assign,
        arrays(&[(0, 1), (1, 1), (2, 2), (3, 2)])
    );
    // LLF: D (laxity 50) takes all four arrays for four of its jobs; B and A wait.
    assert_eq!(
        decide("llf", &rs).assign,
        arrays(&[(0, 2), (1, 2), (2, 2), (3, 2)])
    );
}
