//! A decode step of the committed decoder, on the cache onnxruntime produced, cut between
//! K-tiles by an urgent request of another tenant: its values stay bit-identical to the step
//! alone, which `tests/decoder.rs` checks against onnxruntime.

use cdmsa::config::AcceleratorConfig;
use cdmsa::exec::record;
use cdmsa::kernel::Precision;
use cdmsa::pipeline::Model;
use cdmsa::sched::Edf;
use cdmsa::sim::{Mode, RequestSpec, TenantModel, isolated_latency, simulate, tenants};
use cdmsa::tensor::pb::read_pb;
use cdmsa::units::{Cycles, TenantId};
use cdmsa::workload::Workload;
use std::path::Path;

#[path = "ktile/mod.rs"]
mod ktile;

use ktile::KTileEdf;

#[test]
fn a_decode_step_cut_between_k_tiles_keeps_its_bits() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cfg = AcceleratorConfig {
        arrays: 1,
        ..AcceleratorConfig::preset("tiny").unwrap()
    };
    // Decode step 1: one token over the 6 cached by the prefill, onnxruntime's own inputs.
    let model = Model::load(&root.join("models/decoder/model.onnx"), &Default::default()).unwrap();
    let dims = [("seq", 1), ("past", 6), ("total", 7)].map(|(n, v)| (n.to_string(), v));
    let program = model
        .lower(
            &model.declared_inputs_with(1, &dims).unwrap(),
            &cfg,
            Precision::Native,
        )
        .unwrap();
    let inputs: Vec<_> = (0..)
        .map(|k| root.join(format!("models/decoder/step_1/input_{k}.pb")))
        .take_while(|p| p.exists())
        .map(|p| read_pb(&p).unwrap())
        .collect();
    let mut step = TenantModel::new(TenantId(0), "decode", 1, 1.0, program, inputs, &cfg);
    step.isolated = isolated_latency(&cfg, &step).unwrap();
    step.reference = Some(record(&step.program, &step.inputs, &cfg).unwrap());
    let digits = r#"
requests = 1
accel = "tiny"
[[tenants]]
name = "int8"
model = "models/digits/int8_qop/model.onnx"
sla_factor = 2.0
arrival = { kind = "periodic", period_ms = 1.0 }
"#;
    let w = Workload::from_toml(digits, root).unwrap();
    let mut other = tenants(&w, &cfg, true).unwrap().remove(0);
    other.id = TenantId(1);
    let models = [step, other];
    // The step's longest tile job of several K-tiles alone; the urgent request arrives a
    // third into it.
    let alone = [RequestSpec {
        tenant: 0,
        arrival: Cycles::ZERO,
        deadline: Cycles(u64::MAX),
        tokens: None,
    }];
    let solo = simulate(&cfg, &models, &alone, &mut Edf, Mode::Timing).unwrap();
    let deep = |node: usize| {
        let layer = models[0].layers.iter().find(|l| l.node == node).unwrap();
        (layer.jobs.iter()).any(|j| j.profile.is_some_and(|p| p.shape.k > 2 * cfg.rows))
    };
    let long = (solo.slices.iter())
        .filter(|s| s.tile.is_some() && deep(s.node))
        .max_by_key(|s| s.duration)
        .unwrap();
    let arrival = long.start + Cycles(long.duration.0 / 3);
    let reqs = [
        RequestSpec {
            deadline: Cycles(1 << 40),
            ..alone[0]
        },
        RequestSpec {
            tenant: 1,
            arrival,
            deadline: arrival + models[1].isolated,
            tokens: None,
        },
    ];
    let out = simulate(
        &cfg,
        &models,
        &reqs,
        &mut KTileEdf,
        Mode::Functional { fault: None },
    )
    .unwrap();
    assert_eq!(out.checked, 2);
    assert!(out.mismatches.is_empty(), "{:?}", out.mismatches);
    assert!(out.counters[0].preemptions >= 1);
    let pieces = (out.slices.iter())
        .filter(|s| s.request == long.request && s.node == long.node && s.tile == long.tile)
        .count();
    assert_eq!(pieces, 2, "the long tile job ran in two pieces");
}
