//! Preemption between K-tiles, when a policy asks: the partial sums are saved and restored
//! (charged as DRAM traffic), the urgent request gets the array at the next K-tile boundary,
//! and the cut request's values are still bit-identical to its isolated run.

use cdmsa::config::AcceleratorConfig;
use cdmsa::sched::Edf;
use cdmsa::sim::{Mode, RequestSpec, SimOutcome, TenantModel, simulate, tenants};
use cdmsa::units::Cycles;
use cdmsa::workload::Workload;
use std::path::Path;

#[path = "ktile/mod.rs"]
mod ktile;

use ktile::KTileEdf;

fn setup() -> (AcceleratorConfig, Vec<TenantModel>) {
    let text = r#"
requests = 2
accel = "tiny"
[[tenants]]
name = "fp32"
model = "models/digits/fp32/model.onnx"
sla_factor = 10.0
arrival = { kind = "periodic", period_ms = 1.0 }
[[tenants]]
name = "int8"
model = "models/digits/int8_qop/model.onnx"
sla_factor = 2.0
arrival = { kind = "periodic", period_ms = 1.0 }
"#;
    let w = Workload::from_toml(text, Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
    let cfg = AcceleratorConfig {
        arrays: 1,
        ..w.accelerator().unwrap()
    };
    let models = tenants(&w, &cfg, true).unwrap();
    (cfg, models)
}

#[test]
fn an_urgent_arrival_preempts_between_k_tiles_and_values_stay_exact() {
    let (cfg, models) = setup();
    // Where the fp32 request's 72-deep convolution (9 K-tiles on 8 rows) runs alone.
    let alone = simulate(
        &cfg,
        &models,
        &[RequestSpec {
            tenant: 0,
            arrival: Cycles::ZERO,
            deadline: Cycles(u64::MAX),
            tokens: None,
        }],
        &mut Edf,
        Mode::Timing,
    )
    .unwrap();
    let conv2 = models[0]
        .layers
        .iter()
        .find(|l| {
            l.jobs
                .iter()
                .any(|j| j.profile.is_some_and(|p| p.shape.k > 2 * cfg.rows))
        })
        .unwrap();
    let long = alone.slices.iter().find(|s| s.node == conv2.node).unwrap();
    let arrival = long.start + Cycles(long.duration.0 / 3);
    let reqs = [
        RequestSpec {
            tenant: 0,
            arrival: Cycles::ZERO,
            deadline: Cycles(1 << 40),
            tokens: None,
        },
        RequestSpec {
            tenant: 1,
            arrival,
            deadline: arrival + models[1].isolated + Cycles(long.duration.0 / 2),
            tokens: None,
        },
    ];
    let finish = |out: &SimOutcome, r: usize| out.records[r].finish.unwrap();
    let plain = simulate(
        &cfg,
        &models,
        &reqs,
        &mut Edf,
        Mode::Functional { fault: None },
    )
    .unwrap();
    let cut = simulate(
        &cfg,
        &models,
        &reqs,
        &mut KTileEdf,
        Mode::Functional { fault: None },
    )
    .unwrap();
    // Both schedules compute every value exactly as the isolated runs.
    for out in [&plain, &cut] {
        assert_eq!(out.checked, 2);
        assert!(out.mismatches.is_empty(), "{:?}", out.mismatches);
    }
    // The urgent request no longer waits for the whole tile job: it meets its deadline.
    assert!(finish(&cut, 1) < finish(&plain, 1));
    assert!(finish(&cut, 1) <= reqs[1].deadline && finish(&plain, 1) > reqs[1].deadline);
    assert_eq!(cut.counters[0].preemptions, 1);
    // The cut tile ran in two slices whose total covers the whole job plus the partial sums
    // saved and restored: m·n·4 bytes each way at the DRAM bandwidth.
    let pieces: Vec<_> = cut
        .slices
        .iter()
        .filter(|s| s.request == long.request && s.node == long.node && s.tile == long.tile)
        .collect();
    assert_eq!(pieces.len(), 2);
    let job = conv2.jobs.iter().find(|j| j.tile == long.tile).unwrap();
    let shape = job.profile.unwrap().shape;
    let psum = ((shape.m * shape.n * 4) as u64).div_ceil(cfg.dram_bytes_per_cycle);
    assert!(
        pieces[0].duration.0 + pieces[1].duration.0
            >= job.cost.nominal(cfg.dram_bytes_per_cycle).0 + psum
    );
    // The first piece ends at a K-tile boundary plus the save.
    assert!(
        pieces[0].duration < long.duration
            && pieces[0].start + pieces[0].duration <= pieces[1].start
    );
}
