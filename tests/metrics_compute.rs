//! The section-6 metrics on small examples worked by hand.

use approx::assert_relative_eq;
use cdmsa::report::metrics::{RequestRecord, SystemMetrics, TenantCounters, compute};
use cdmsa::units::{Cycles, RequestId, TenantId};

/// 0.001 MHz = 1 000 cycles per second = 1 cycle per ms, so ms equal cycles.
const ONE_CYCLE_PER_MS: f64 = 0.001;

/// A record; `finish` None = dropped.
fn record(
    tenant: u32,
    request: u64,
    arrival: u64,
    finish: Option<u64>,
    deadline: u64,
    isolated: u64,
) -> RequestRecord {
    RequestRecord {
        tenant: TenantId(tenant),
        request: RequestId(request),
        arrival: Cycles(arrival),
        start: finish.map(|_| Cycles(arrival)),
        finish: finish.map(Cycles),
        deadline: Cycles(deadline),
        isolated: Cycles(isolated),
        tokens: None,
    }
}

/// Tenants 0, 1, ... named a, b, ... with these weights and no counters.
fn tenants(weights: &[f64]) -> Vec<(TenantId, String, f64, TenantCounters)> {
    weights
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            let name = char::from(b'a' + i as u8).to_string();
            (TenantId(i as u32), name, w, TenantCounters::default())
        })
        .collect()
}

/// Tenant a: arrivals 0 and 10, finishes 20 and 50, isolated 10, deadlines 30 and 40.
/// Tenant b: arrival 5, finish 25 = its deadline, isolated 20.
fn three_requests() -> Vec<RequestRecord> {
    vec![
        record(0, 0, 0, Some(20), 30, 10),
        record(1, 1, 5, Some(25), 25, 20),
        record(0, 2, 10, Some(50), 40, 10),
    ]
}

#[test]
fn three_requests_two_tenants_by_hand() {
    let mut ts = tenants(&[1.0, 3.0]);
    ts[0].3 = TenantCounters {
        busy_cycles: 30,
        preemptions: 1,
        fused_tiles: 2,
        ..TenantCounters::default()
    };
    ts[1].3 = TenantCounters {
        busy_cycles: 20,
        preemptions: 0,
        fused_tiles: 5,
        ..TenantCounters::default()
    };
    let m = compute(&three_requests(), &ts, ONE_CYCLE_PER_MS);
    let [a, b] = &m.tenants[..] else {
        panic!("two tenants expected")
    };
    // a: T_shared 20 − 0 = 20 and 50 − 10 = 40; NP 10/20 = 0.5 and 10/40 = 0.25; mean 0.375.
    //    met: 20 ≤ 30 yes, 50 ≤ 40 no → 1 of 2.
    assert_eq!((a.tenant, a.name.as_str()), (TenantId(0), "a"));
    assert_eq!((a.requests, a.met, a.dropped), (2, 1, 0));
    assert_relative_eq!(a.sla_satisfaction, 0.5);
    assert_relative_eq!(a.mean_np, 0.375);
    // Latencies [20, 40]: p50 rank ⌈0.50·2⌉ = 1 → 20; p99 rank ⌈0.99·2⌉ = 2 → 40.
    assert_eq!((a.latency_p50_cycles, a.latency_p99_cycles), (20, 40));
    assert_relative_eq!(a.latency_p50_ms, 20.0);
    assert_relative_eq!(a.latency_p99_ms, 40.0);
    assert_eq!((a.busy_cycles, a.preemptions, a.fused_tiles), (30, 1, 2));
    // b: T_shared 25 − 5 = 20, NP 20/20 = 1; 25 ≤ 25 is met.
    assert_eq!((b.requests, b.met, b.dropped), (1, 1, 0));
    assert_relative_eq!(b.sla_satisfaction, 1.0);
    assert_relative_eq!(b.mean_np, 1.0);
    assert_eq!((b.latency_p50_cycles, b.latency_p99_cycles), (20, 20));
    assert_eq!((b.busy_cycles, b.preemptions, b.fused_tiles), (20, 0, 5));
    // System: 2 of 3 met; STP 0.375 + 1 = 1.375;
    // WSTP = 2 · (1·0.375 + 3·1) / (1 + 3) = 2 · 3.375 / 4 = 1.6875;
    // ANTT = (1/0.5 + 1/0.25 + 1/1) / 3 = 7/3; fairness 0.375 / 1 = 0.375.
    assert_eq!(m.requests, 3);
    assert_relative_eq!(m.sla_satisfaction, 2.0 / 3.0);
    assert_relative_eq!(m.stp, 1.375);
    assert_relative_eq!(m.wstp, 1.6875);
    assert_relative_eq!(m.antt, 7.0 / 3.0);
    assert_relative_eq!(m.fairness, 0.375);
}

#[test]
fn weights_change_wstp_only() {
    let records = three_requests();
    let equal = compute(&records, &tenants(&[1.0, 1.0]), 1.0);
    let heavy_a = compute(&records, &tenants(&[3.0, 1.0]), 1.0);
    // Equal weights: 2 · (0.375 + 1) / 2 = 1.375 = STP.
    assert_relative_eq!(equal.wstp, 1.375);
    assert_relative_eq!(equal.wstp, equal.stp);
    // a weighs 3: 2 · (3·0.375 + 1·1) / 4 = 2 · 2.125 / 4 = 1.0625.
    assert_relative_eq!(heavy_a.wstp, 1.0625);
    assert_relative_eq!(heavy_a.stp, 1.375);
    assert_relative_eq!(heavy_a.antt, equal.antt);
}

#[test]
fn percentiles_use_the_nearest_rank() {
    // Latencies (finish − arrival, arrival 0) from a list; p50 and p99 of tenant a.
    let percentiles = |latencies: &[u64]| {
        let records: Vec<_> = latencies
            .iter()
            .enumerate()
            .map(|(i, &l)| record(0, i as u64, 0, Some(l), u64::MAX, 1))
            .collect();
        let t = &compute(&records, &tenants(&[1.0]), 1.0).tenants[0];
        (t.latency_p50_cycles, t.latency_p99_cycles)
    };
    // One value: rank ⌈0.5⌉ = ⌈0.99⌉ = 1 for both.
    assert_eq!(percentiles(&[7]), (7, 7));
    // [10, 20, 30]: p50 rank ⌈1.5⌉ = 2 → 20; p99 rank ⌈2.97⌉ = 3 → 30.
    assert_eq!(percentiles(&[30, 10, 20]), (20, 30));
    // 1..=10 shuffled: p50 rank ⌈5⌉ = 5 → 5; p99 rank ⌈9.9⌉ = 10 → 10.
    assert_eq!(percentiles(&[4, 9, 1, 10, 6, 2, 8, 3, 7, 5]), (5, 10));
    // 1..=100: p50 rank 50, p99 rank 99. 1..=200: p50 rank 100, p99 rank ⌈198⌉ = 198.
    assert_eq!(percentiles(&(1..=100).rev().collect::<Vec<_>>()), (50, 99));
    assert_eq!(percentiles(&(1..=200).collect::<Vec<_>>()), (100, 198));
    // Milliseconds at 100 MHz: 198 cycles / (100 · 10³ cycles per ms) = 0.00198 ms.
    let records: Vec<_> = (1..=200)
        .map(|l| record(0, l, 0, Some(l), u64::MAX, 1))
        .collect();
    let t = &compute(&records, &tenants(&[1.0]), 100.0).tenants[0];
    assert_relative_eq!(t.latency_p99_ms, 0.00198);
    assert_relative_eq!(t.latency_p50_ms, 0.001);
}

#[test]
fn dropped_requests_are_missed_and_left_out_of_np_and_latency() {
    let records = [
        // a: one completed (T_shared 20, isolated 10 → NP 0.5, met), one dropped.
        record(0, 0, 0, Some(20), 100, 10),
        record(0, 1, 5, None, 100, 10),
        // b: only a dropped request.
        record(1, 2, 7, None, 100, 10),
    ];
    let m = compute(&records, &tenants(&[1.0, 1.0]), ONE_CYCLE_PER_MS);
    let [a, b] = &m.tenants[..] else {
        panic!("two tenants expected")
    };
    assert_eq!((a.requests, a.met, a.dropped), (2, 1, 1));
    assert_relative_eq!(a.sla_satisfaction, 0.5);
    // Only the completed request: mean NP 0.5, latencies [20].
    assert_relative_eq!(a.mean_np, 0.5);
    assert_eq!((a.latency_p50_cycles, a.latency_p99_cycles), (20, 20));
    // b completed nothing: NP 0, latencies 0, satisfaction 0 of 1.
    assert_eq!((b.requests, b.met, b.dropped), (1, 0, 1));
    assert_relative_eq!(b.sla_satisfaction, 0.0);
    assert_relative_eq!(b.mean_np, 0.0);
    assert_eq!((b.latency_p50_cycles, b.latency_p99_cycles), (0, 0));
    // System: 1 of 3 met; STP 0.5 + 0; ANTT over the one completed request 1/0.5 = 2;
    // WSTP 2 · (0.5 + 0) / 2 = 0.5; fairness 0 / 0.5 = 0.
    assert_relative_eq!(m.sla_satisfaction, 1.0 / 3.0);
    assert_relative_eq!(m.stp, 0.5);
    assert_relative_eq!(m.wstp, 0.5);
    assert_relative_eq!(m.antt, 2.0);
    assert_relative_eq!(m.fairness, 0.0);
}

#[test]
fn equal_tenants_are_perfectly_fair() {
    // Both: T_shared 30, isolated 15 → NP 0.5.
    let records = [
        record(0, 0, 0, Some(30), 100, 15),
        record(1, 1, 10, Some(40), 100, 15),
    ];
    let m = compute(&records, &tenants(&[1.0, 5.0]), 1.0);
    assert_relative_eq!(m.fairness, 1.0);
    // STP 0.5 + 0.5 = 1; WSTP 2 · (0.5 + 5·0.5) / 6 = 1; ANTT (2 + 2) / 2 = 2.
    assert_relative_eq!(m.stp, 1.0);
    assert_relative_eq!(m.wstp, 1.0);
    assert_relative_eq!(m.antt, 2.0);
}

#[test]
fn degenerate_inputs_give_zeros_not_nan() {
    let empty = compute(&[], &[], 1.0);
    assert_eq!(
        (
            empty.requests,
            empty.sla_satisfaction,
            empty.stp,
            empty.wstp,
            empty.antt,
            empty.fairness
        ),
        (0, 0.0, 0.0, 0.0, 0.0, 0.0)
    );
    // A tenant with no request at all.
    let idle = compute(&[], &tenants(&[1.0]), 1.0);
    let t = &idle.tenants[0];
    assert_eq!((t.requests, t.sla_satisfaction, t.mean_np), (0, 0.0, 0.0));
    // finish = arrival and isolated 0: both latencies count as 1 cycle → NP 1/1 = 1.
    let instant = compute(&[record(0, 0, 9, Some(9), 9, 0)], &tenants(&[1.0]), 1.0);
    assert_relative_eq!(instant.tenants[0].mean_np, 1.0);
    assert_relative_eq!(instant.antt, 1.0);
    // A clock that is not positive gives 0 ms rather than infinities.
    let no_clock = compute(&three_requests(), &tenants(&[1.0, 1.0]), 0.0);
    assert_eq!(no_clock.tenants[0].latency_p99_ms, 0.0);
}

#[test]
fn json_uses_the_design_field_names() {
    let m: SystemMetrics = compute(&three_requests(), &tenants(&[1.0, 1.0]), 1.0);
    let v = serde_json::to_value(&m).unwrap();
    for key in [
        "sla_satisfaction",
        "stp",
        "wstp",
        "antt",
        "fairness",
        "tenants",
    ] {
        assert!(v.get(key).is_some(), "no {key}");
    }
    let t = &v["tenants"][0];
    for key in [
        "busy_cycles",
        "preemptions",
        "fused_tiles",
        "latency_p50_ms",
        "latency_p99_ms",
        "sla_satisfaction",
        "mean_np",
    ] {
        assert!(t.get(key).is_some(), "no tenants[0].{key}");
    }
    assert_eq!(t["name"], "a");
    assert_eq!(t["tenant"], 0);
}

/// A decoder request of `generate` tokens (goals: first token within 100 cycles, then 10 per
/// token) arrived at `arrival`, its first token at `first`, finished at `finish` having
/// produced `produced` tokens.
fn token_loop(
    request: u64,
    arrival: u64,
    generate: usize,
    first: Option<u64>,
    finish: Option<u64>,
    produced: usize,
) -> RequestRecord {
    let goals = cdmsa::sim::Tokens {
        prompt: 8,
        generate,
        ttft: Cycles(100),
        tpot: Cycles(10),
    };
    RequestRecord {
        tokens: Some(cdmsa::sim::TokenRecord {
            goals,
            first: first.map(Cycles),
            produced,
        }),
        ..record(
            0,
            request,
            arrival,
            finish,
            goals.deadline(Cycles(arrival), generate - 1).0,
            50,
        )
    }
}

/// A: TTFT 80, then 4 tokens in 40 cycles (TPOT 10): both goals met. B: TTFT 150 (missed),
/// then 2 tokens in 10 (TPOT 5). C: TTFT 50, unfinished after 2 of its 4 tokens. Goodput
/// counts A only; TTFTs 50, 80, 150 (p50 the 2nd, p99 the 3rd); TPOTs 5 and 10.
#[test]
fn token_goals_and_percentiles_by_hand() {
    let records = vec![
        token_loop(0, 0, 5, Some(80), Some(120), 5),
        token_loop(1, 1000, 3, Some(1150), Some(1160), 3),
        token_loop(2, 2000, 4, Some(2050), None, 2),
    ];
    let m = compute(&records, &tenants(&[1.0]), ONE_CYCLE_PER_MS);
    let t = &m.tenants[0];
    assert_eq!((t.met, t.requests), (1, 3));
    let k = t
        .tokens
        .as_ref()
        .expect("a decoder tenant has token metrics");
    assert_eq!(k.produced, 10);
    assert_eq!((k.met_ttft, k.met_tpot), (2, 2));
    assert_relative_eq!(k.ttft_p50_ms, 80.0);
    assert_relative_eq!(k.ttft_p99_ms, 150.0);
    assert_relative_eq!(k.tpot_p50_ms, 5.0);
    assert_relative_eq!(k.tpot_p99_ms, 10.0);
    // One cycle more between A's first and last token breaks its TPOT goal.
    let mut late = records.clone();
    late[0].finish = Some(Cycles(121));
    assert_eq!(
        compute(&late, &tenants(&[1.0]), ONE_CYCLE_PER_MS).tenants[0].met,
        0
    );
    // A plain tenant has none.
    let plain = compute(&three_requests(), &tenants(&[1.0, 3.0]), ONE_CYCLE_PER_MS);
    assert!(plain.tenants.iter().all(|t| t.tokens.is_none()));
}
