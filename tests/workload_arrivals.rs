//! Arrival generation: exact periodic and trace times, Poisson and bursty statistics,
//! seeding, merging order, the two stop conditions and decoder requests' token counts.

use cdmsa::error::Error;
use cdmsa::units::{RequestId, TenantId};
use cdmsa::workload::{Arrival, ArrivalEvent, Decode, Workload, arrivals};
use std::path::Path;

/// A workload with a stop line (`requests = N` or `duration_ms = D`), seed, and one tenant
/// per arrival table.
fn workload(stop: &str, seed: u64, arrivals: &[&str]) -> Workload {
    let mut text = format!("seed = {seed}\n{stop}\n");
    for (i, arrival) in arrivals.iter().enumerate() {
        text += &format!(
            "[[tenants]]\nname = \"t{i}\"\nmodel = \"m.onnx\"\nsla_ms = 1.0\narrival = {arrival}\n"
        );
    }
    Workload::from_toml(&text, Path::new("/w")).unwrap()
}

/// (tenant, cycle) pairs, checking that request ids count 0, 1, ...
fn times(events: &[ArrivalEvent]) -> Vec<(u32, u64)> {
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.request, RequestId(i as u64));
    }
    events.iter().map(|e| (e.tenant.0, e.at.0)).collect()
}

/// Arrival cycles of one tenant.
fn of_tenant(events: &[ArrivalEvent], tenant: u32) -> Vec<u64> {
    events
        .iter()
        .filter(|e| e.tenant == TenantId(tenant))
        .map(|e| e.at.0)
        .collect()
}

const POISSON_100: &str = "{ kind = \"poisson\", rate_per_s = 100.0 }";

#[test]
fn periodic_arrivals_fall_exactly_at_offset_plus_k_periods_merged_in_time_order() {
    let w = workload(
        "requests = 6",
        0,
        &[
            "{ kind = \"periodic\", period_ms = 10.0, offset_ms = 2.5 }",
            "{ kind = \"periodic\", period_ms = 5.0 }",
        ],
    );
    // 100 MHz: 1 ms = 100 000 cycles.
    // t0: 2.5, 12.5, ... ms = 250 000, 1 250 000, ...
    // t1: 0, 5, 10, 15 ms   = 0, 500 000, 1 000 000, 1 500 000, ...
    let got = times(&arrivals(&w, 100.0).unwrap());
    assert_eq!(
        got,
        [
            (1, 0),
            (0, 250_000),
            (1, 500_000),
            (1, 1_000_000),
            (0, 1_250_000),
            (1, 1_500_000),
        ]
    );
}

#[test]
fn simultaneous_arrivals_are_ordered_by_tenant() {
    let w = workload(
        "requests = 5",
        0,
        &[
            "{ kind = \"periodic\", period_ms = 10.0 }",
            "{ kind = \"periodic\", period_ms = 5.0 }",
        ],
    );
    // Both at 0 and both at 10 ms: tenant 0 first each time.
    let got = times(&arrivals(&w, 100.0).unwrap());
    assert_eq!(
        got,
        [(0, 0), (1, 0), (1, 500_000), (0, 1_000_000), (1, 1_000_000)]
    );
}

#[test]
fn milliseconds_round_to_the_nearest_cycle() {
    let w = workload(
        "requests = 4",
        0,
        &["{ kind = \"periodic\", period_ms = 1.5, offset_ms = 0.5 }"],
    );
    // 0.001 MHz: 1 ms = 1 cycle. 0.5, 2.0, 3.5, 5.0 ms → halves round up: 1, 2, 4, 5.
    let got = times(&arrivals(&w, 0.001).unwrap());
    assert_eq!(got, [(0, 1), (0, 2), (0, 4), (0, 5)]);
}

#[test]
fn duration_keeps_arrivals_strictly_before_it() {
    let periodic = ["{ kind = \"periodic\", period_ms = 10.0 }"];
    // Arrivals at 0, 10, 20, 30, ... ms; the one at exactly 30 ms is not before 30 ms.
    let w = workload("duration_ms = 30.0", 0, &periodic);
    assert_eq!(
        times(&arrivals(&w, 100.0).unwrap()),
        [(0, 0), (0, 1_000_000), (0, 2_000_000)]
    );
    let w = workload("duration_ms = 30.5", 0, &periodic);
    assert_eq!(arrivals(&w, 100.0).unwrap().len(), 4);
}

#[test]
fn traces_arrive_at_their_times_and_end() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.csv"), "0.5\n1.0\n1.0\n7.25\n").unwrap();
    let text = "requests = 10\n[[tenants]]\nname = \"a\"\nmodel = \"m.onnx\"\nsla_ms = 1.0\n\
                arrival = { kind = \"trace\", file = \"t.csv\" }\n";
    let w = Workload::from_toml(text, dir.path()).unwrap();
    // 100 000 cycles per ms; the trace has only 4 of the 10 requests asked for.
    assert_eq!(
        times(&arrivals(&w, 100.0).unwrap()),
        [(0, 50_000), (0, 100_000), (0, 100_000), (0, 725_000)]
    );
}

#[test]
fn poisson_inter_arrival_times_are_exponential_with_the_right_mean() {
    let n = 20_000;
    let w = workload(
        &format!("requests = {n}"),
        1,
        &["{ kind = \"poisson\", rate_per_s = 1000.0 }"],
    );
    let at = of_tenant(&arrivals(&w, 100.0).unwrap(), 0);
    assert_eq!(at.len(), n);
    // Mean gap 1/1000 s = 1 ms = 100 000 cycles. The sample mean of 20 000 exponential gaps
    // has a standard error of 1/√20000 ≈ 0.71 %, so 3 % is over 4 standard errors.
    let gaps: Vec<f64> = std::iter::once(at[0])
        .chain(at.windows(2).map(|p| p[1] - p[0]))
        .map(|g| g as f64)
        .collect();
    let mean = gaps.iter().sum::<f64>() / n as f64;
    assert!((mean / 100_000.0 - 1.0).abs() < 0.03, "mean gap {mean}");
    // An exponential's standard deviation equals its mean (a periodic stream's is 0); the
    // sample standard deviation's standard error here is about 1 %, so 5 % is 5 of them.
    let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    assert!(
        (var.sqrt() / mean - 1.0).abs() < 0.05,
        "sd {} vs mean {mean}",
        var.sqrt()
    );
}

#[test]
fn the_seed_alone_decides_the_poisson_arrivals() {
    let tables = [POISSON_100, POISSON_100];
    let a = arrivals(&workload("requests = 50", 3, &tables), 100.0).unwrap();
    let b = arrivals(&workload("requests = 50", 3, &tables), 100.0).unwrap();
    let c = arrivals(&workload("requests = 50", 4, &tables), 100.0).unwrap();
    assert_eq!(a, b);
    assert_ne!(times(&a), times(&c));
    // Two tenants with equal rates still get different streams.
    assert_ne!(of_tenant(&a, 0)[..10], of_tenant(&a, 1)[..10]);
}

#[test]
fn adding_a_tenant_leaves_the_others_arrivals_unchanged() {
    let alone = arrivals(&workload("duration_ms = 1000.0", 9, &[POISSON_100]), 100.0).unwrap();
    let shared = arrivals(
        &workload(
            "duration_ms = 1000.0",
            9,
            &[POISSON_100, "{ kind = \"poisson\", rate_per_s = 300.0 }"],
        ),
        100.0,
    )
    .unwrap();
    // About 100 arrivals in one second at 100/s.
    assert!(alone.len() > 50);
    assert_eq!(of_tenant(&shared, 0), of_tenant(&alone, 0));
    assert!(!of_tenant(&shared, 1).is_empty());
}

#[test]
fn requests_stop_takes_the_first_n_arrivals_overall_in_order() {
    let w = workload(
        "requests = 200",
        5,
        &[POISSON_100, "{ kind = \"periodic\", period_ms = 7.0 }"],
    );
    let events = arrivals(&w, 100.0).unwrap();
    assert_eq!(events.len(), 200);
    // Sorted by (time, tenant); request ids checked by `times`.
    let got = times(&events);
    assert!(got.windows(2).all(|p| (p[0].1, p[0].0) <= (p[1].1, p[1].0)));
    // The periodic tenant's arrivals are exactly 0, 7, 14, ... ms = k · 700 000 cycles.
    let periodic = of_tenant(&events, 1);
    assert!(!periodic.is_empty());
    for (k, at) in periodic.iter().enumerate() {
        assert_eq!(*at, k as u64 * 700_000);
    }
}

#[test]
fn scaled_multiplies_rates_and_divides_periods() {
    let w = workload(
        "requests = 400",
        2,
        &[
            POISSON_100,
            "{ kind = \"periodic\", period_ms = 10.0, offset_ms = 1.0 }",
        ],
    );
    let s = w.scaled(2.0);
    assert_eq!(s.tenants[0].arrival, Arrival::Poisson { rate_per_s: 200.0 });
    assert_eq!(
        s.tenants[1].arrival,
        Arrival::Periodic {
            period_ms: 5.0,
            offset_ms: 1.0
        }
    );
    let (before, after) = (arrivals(&w, 100.0).unwrap(), arrivals(&s, 100.0).unwrap());
    // Periodic: 1 + 5k ms = 100 000 + 500 000·k cycles.
    for (k, at) in of_tenant(&after, 1).iter().enumerate() {
        assert_eq!(*at, 100_000 + 500_000 * k as u64);
    }
    // Poisson: the same draws over twice the rate put every arrival at exactly half the time
    // in ms; rounding to cycles then differs by at most one cycle.
    let (slow, fast) = (of_tenant(&before, 0), of_tenant(&after, 0));
    assert!(fast.len() > 100);
    for (s, f) in slow.iter().zip(&fast) {
        assert!((2 * f).abs_diff(*s) <= 1, "{s} vs 2·{f}");
    }
}

#[test]
fn bad_clocks_scales_and_endless_durations_are_errors() {
    let field = |r: cdmsa::Result<Vec<ArrivalEvent>>| match r {
        Err(Error::Config { field, .. }) => field,
        other => panic!("expected a Config error, got {other:?}"),
    };
    let w = workload("requests = 5", 0, &[POISSON_100]);
    assert_eq!(field(arrivals(&w, 0.0)), "clock_mhz");
    assert_eq!(field(arrivals(&w, f64::NAN)), "clock_mhz");
    assert_eq!(
        field(arrivals(&w.scaled(0.0), 100.0)),
        "tenants[0].arrival.rate_per_s"
    );
    // 1000 ms at one arrival per 0.0001 ms would be 10^7 arrivals, over the 10^6 limit.
    let w = workload(
        "duration_ms = 1000.0",
        0,
        &["{ kind = \"periodic\", period_ms = 0.0001 }"],
    );
    assert_eq!(field(arrivals(&w, 100.0)), "duration_ms");
}

/// Variance over mean of the arrival counts in `seconds` one-second windows (1 MHz cycles).
fn dispersion(at: &[u64], seconds: usize) -> f64 {
    let mut counts = vec![0f64; seconds];
    for t in at {
        counts[(*t / 1_000_000) as usize] += 1.0;
    }
    let m = counts.iter().sum::<f64>() / seconds as f64;
    let var = counts.iter().map(|c| (c - m).powi(2)).sum::<f64>() / (seconds - 1) as f64;
    var / m
}

#[test]
fn bursty_arrivals_have_the_on_off_mean_rate_and_cluster() {
    // On 20 ms at 1000 requests/s, off 60 ms: mean 1000 · 20 / 80 = 250 requests/s.
    let bursty = "{ kind = \"bursty\", rate_per_s = 1000.0, on_ms = 20.0, off_ms = 60.0 }";
    let w = workload("duration_ms = 400000.0", 5, &[bursty]);
    assert_eq!(w.offered_rps(), 250.0);
    // 1 cycle = 1 µs at 1 MHz.
    let at = of_tenant(&arrivals(&w, 1.0).unwrap(), 0);
    // Counts of this interrupted Poisson process have the index of dispersion
    // 1 + 2λα/(α+β)² = 1 + 2 · 1 · (1/20) · 15² = 23.5 (λ per ms, α = 1/on, β = 1/off): over
    // 400 s the count's standard deviation is √(23.5 · 100 000) ≈ 1 533, so 5 % of the mean
    // is over 3 standard deviations.
    let mean = 100_000.0;
    assert!(
        (at.len() as f64 / mean - 1.0).abs() < 0.05,
        "{} arrivals",
        at.len()
    );
    // Counts per second cluster: their variance/mean ratio is near 23 (1 for Poisson).
    let d = dispersion(&at, 400);
    assert!((10.0..40.0).contains(&d), "dispersion {d}");
    let poisson = workload(
        "duration_ms = 400000.0",
        5,
        &["{ kind = \"poisson\", rate_per_s = 250.0 }"],
    );
    let p = of_tenant(&arrivals(&poisson, 1.0).unwrap(), 0);
    let d = dispersion(&p, 400);
    assert!(d < 2.0, "Poisson dispersion {d}");

    // Scaling multiplies the on-rate and keeps the periods.
    let s = w.scaled(2.0);
    assert_eq!(
        s.tenants[0].arrival,
        Arrival::Bursty {
            rate_per_s: 2000.0,
            on_ms: 20.0,
            off_ms: 60.0
        }
    );
    assert_eq!(s.offered_rps(), 500.0);
    for (key, table) in [
        (
            "on_ms",
            "{ kind = \"bursty\", rate_per_s = 1.0, on_ms = 0.0, off_ms = 1.0 }",
        ),
        (
            "off_ms",
            "{ kind = \"bursty\", rate_per_s = 1.0, on_ms = 1.0, off_ms = -1.0 }",
        ),
        (
            "rate_per_s",
            "{ kind = \"bursty\", rate_per_s = nan, on_ms = 1.0, off_ms = 1.0 }",
        ),
    ] {
        let text = format!(
            "requests = 5\n[[tenants]]\nname = \"t\"\nmodel = \"m.onnx\"\nsla_ms = 1.0\narrival = {table}\n"
        );
        let err = Workload::from_toml(&text, Path::new("/w"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("tenants[0].arrival.{key}")),
            "{key}: {err}"
        );
    }
}

/// A workload of a periodic one-pass tenant and a decoder tenant (prompt 128, generate 64)
/// arriving by `arrival`; trace files are read from `dir`.
fn with_decoder(dir: &Path, requests: u64, arrival: &str) -> Workload {
    let text = format!(
        "requests = {requests}\n\
         [[tenants]]\nname = \"cnn\"\nmodel = \"m.onnx\"\nsla_ms = 1.0\n\
         arrival = {{ kind = \"periodic\", period_ms = 1.0, offset_ms = 0.25 }}\n\
         [[tenants]]\nname = \"chat\"\nmodel = \"d.onnx\"\n\
         decode = {{ prompt = 128, generate = 64 }}\nttft_ms = 5.0\ntpot_ms = 1.0\n\
         arrival = {arrival}\n"
    );
    Workload::from_toml(&text, dir).unwrap()
}

/// A request's (prompt, generated) tokens, if it is a decoder's.
type Tokens = Option<(usize, usize)>;

/// (tenant, cycle, tokens) of every arrival.
fn with_tokens(events: &[ArrivalEvent]) -> Vec<(u32, u64, Tokens)> {
    times(events);
    events
        .iter()
        .map(|e| (e.tenant.0, e.at.0, e.tokens))
        .collect()
}

#[test]
fn a_token_trace_gives_each_decoder_arrival_its_pair_in_order() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.csv"),
        "timestamp_ms,context_tokens,generated_tokens\n0.5,100,7\n1.0,3,1\n1.0,2048,256\n",
    )
    .unwrap();
    let w = with_decoder(dir.path(), 10, "{ kind = \"trace\", file = \"t.csv\" }");
    // 100 000 cycles per ms; the one-pass tenant at 0.25, 1.25, ... ms has no tokens; the
    // decoder's two arrivals at 1.0 ms keep the trace's order.
    assert_eq!(
        with_tokens(&arrivals(&w, 100.0).unwrap())[..6],
        [
            (0, 25_000, None),
            (1, 50_000, Some((100, 7))),
            (1, 100_000, Some((3, 1))),
            (1, 100_000, Some((2048, 256))),
            (0, 125_000, None),
            (0, 225_000, None),
        ]
    );
}

#[test]
fn a_decoder_without_token_columns_gives_every_request_its_decode_counts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.csv"), "t_ms\n0.5\n2.0\n").unwrap();
    for arrival in [
        "{ kind = \"trace\", file = \"t.csv\" }",
        "{ kind = \"periodic\", period_ms = 0.75, offset_ms = 0.5 }",
    ] {
        let w = with_decoder(dir.path(), 4, arrival);
        let events = arrivals(&w, 100.0).unwrap();
        let decoder: Vec<_> = events.iter().filter(|e| e.tenant == TenantId(1)).collect();
        assert_eq!(decoder.len(), 2, "{arrival}");
        assert!(
            decoder.iter().all(|e| e.tokens == Some((128, 64))),
            "{arrival}"
        );
        assert!(
            events
                .iter()
                .filter(|e| e.tenant == TenantId(0))
                .all(|e| e.tokens.is_none())
        );
    }
}

#[test]
fn hand_built_decoders_are_checked_when_arrivals_are_drawn() {
    let field = |r: cdmsa::Result<Vec<ArrivalEvent>>| match r {
        Err(Error::Config { field, .. }) => field,
        other => panic!("expected a Config error, got {other:?}"),
    };
    let dir = tempfile::tempdir().unwrap();
    let w = with_decoder(dir.path(), 4, POISSON_100);
    let mut bad = w.clone();
    bad.tenants[1].decode = Some(Decode {
        prompt: 128,
        generate: 0,
        kv_block: 16,
    });
    assert_eq!(field(arrivals(&bad, 100.0)), "tenants[1].decode.generate");
    // Token pairs on a tenant without a token loop, or not one per time.
    let mut bad = w.clone();
    bad.tenants[0].arrival = Arrival::Trace {
        times_ms: vec![1.0],
        tokens: vec![(4, 4)],
    };
    assert_eq!(field(arrivals(&bad, 100.0)), "tenants[0].arrival.file");
    let mut bad = w;
    bad.tenants[1].arrival = Arrival::Trace {
        times_ms: vec![1.0, 2.0],
        tokens: vec![(4, 4)],
    };
    assert_eq!(field(arrivals(&bad, 100.0)), "tenants[1].arrival.file");
}
