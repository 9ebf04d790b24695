//! The timing fast path: leaving the trace out (`SimOptions { slices: false }`) changes
//! nothing but the trace, under every scheduler, with arrivals out of index order and tied.

use cdmsa::config::AcceleratorConfig;
use cdmsa::sched;
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
            SimOptions { slices: false },
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
        },
        RequestSpec {
            tenant: 1,
            arrival: Cycles::ZERO,
            deadline: Cycles(u64::MAX),
        },
        RequestSpec {
            tenant: 1,
            arrival: late,
            deadline: Cycles(u64::MAX),
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
    assert_eq!(out.events as usize, 3 + out.slices.len());
}
