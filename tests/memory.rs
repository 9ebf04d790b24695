//! The memory system in the simulator, worked by hand: weight blocks stay resident across
//! M-blocks and across a tenant's requests, another tenant's tile jobs evict them (the price
//! of interleaving shows as reload traffic), an array given a request continues with the
//! tile job that reuses the block it holds, and the DRAM is shared as a fluid.

use cdmsa::config::AcceleratorConfig;
use cdmsa::ir::{Graph, InputBinding, Node, Op, Value};
use cdmsa::lower::lower;
use cdmsa::sched::{Decision, Fcfs, Policy, View};
use cdmsa::sim::{Mode, RequestSpec, SimOutcome, TenantModel, simulate};
use cdmsa::tensor::{DType, Tensor};
use cdmsa::units::{ArrayId, Cycles, RequestId, TenantId};

/// MatMulInteger of a runtime u8 [16, k] by a constant i8 [k, n].
fn matmul(k: usize, n: usize) -> Graph {
    let mut g = Graph {
        opset: 17,
        ..Graph::default()
    };
    let value = |g: &mut Graph, name: &str, dtype, constant: Option<Tensor>| {
        g.add_value(Value {
            name: name.into(),
            dtype: Some(dtype),
            shape: None,
            constant: constant.map(Into::into),
        })
    };
    let a = value(&mut g, "a", DType::U8, None);
    let b = value(
        &mut g,
        "b",
        DType::I8,
        Some(Tensor::zeros(DType::I8, &[k, n])),
    );
    let y = value(&mut g, "y", DType::I32, None);
    g.nodes.push(Node {
        name: "mm".into(),
        op: Op::MatMulInteger,
        inputs: vec![Some(a), Some(b)],
        outputs: vec![y],
    });
    g.inputs = vec![a];
    g.outputs = vec![y];
    g
}

/// One 8×8 array with a 3 KiB scratchpad split [1, 1, 1] KiB: the weights partition holds
/// one B block (128 × 8 = 1 KiB), the inputs partition one A block (8 × 128 = 1 KiB). The
/// layer's activations (2 KiB in, 512 B out) do not fit on chip (half of 3 KiB), so they
/// stream: M = 16 is cut into two M-blocks of 8 (the rows of one array) with one N-block.
fn setup(tenants: usize) -> (AcceleratorConfig, Vec<TenantModel>) {
    let cfg = AcceleratorConfig {
        arrays: 1,
        sram_kib_per_array: 3,
        sram_split_kib: Some([1, 1, 1]),
        dram_bytes_per_cycle: 8,
        ..AcceleratorConfig::preset("tiny").unwrap()
    };
    let bind = [InputBinding::shape_only(DType::U8, vec![16, 128])];
    let program = lower(&matmul(128, 8), &bind, &cfg).unwrap();
    let models = (0..tenants)
        .map(|t| {
            let name = format!("t{t}");
            TenantModel::new(
                TenantId(t as u32),
                &name,
                1,
                1.0,
                program.clone(),
                vec![],
                &cfg,
            )
        })
        .collect();
    (cfg, models)
}

fn at_zero(tenants: &[usize]) -> Vec<RequestSpec> {
    tenants
        .iter()
        .map(|&tenant| RequestSpec {
            tenant,
            arrival: Cycles::ZERO,
            deadline: Cycles(u64::MAX),
            tokens: None,
        })
        .collect()
}

/// Gives the array to a ready request other than the one it ran last, when there is one.
#[derive(Default)]
struct Alternate(Option<RequestId>);

impl Policy for Alternate {
    fn name(&self) -> &'static str {
        "alternate"
    }

    fn decide_into(&mut self, view: &View, out: &mut Decision) {
        if view.arrays[0].is_some() {
            return;
        }
        let ready = view.requests.iter().filter(|r| r.ready > 0);
        let pick = ready
            .clone()
            .find(|r| Some(r.id) != self.0)
            .or_else(|| ready.clone().next());
        if let Some(r) = pick {
            self.0 = Some(r.id);
            out.assign.push((ArrayId(0), r.id));
        }
    }
}

fn reads(out: &SimOutcome, tenant: usize) -> (u64, u64, u64) {
    let t = out.counters[tenant].traffic;
    (t.dram_read_bytes, t.sram_hit_bytes, t.dram_write_bytes)
}

/// One request alone: the first tile job reads B (1024) and A's first block (1024); the
/// second finds B resident and reads A's second block (1024). Each writes 8 × 8 × 4 = 256.
#[test]
fn a_weight_block_is_fetched_once_for_the_m_blocks_that_reuse_it() {
    let (cfg, models) = setup(1);
    let out = simulate(&cfg, &models, &at_zero(&[0]), &mut Fcfs, Mode::Timing).unwrap();
    assert_eq!(reads(&out, 0), (3072, 1024, 512));
    assert_eq!(out.arrays[0].traffic.sram_hits, 1);
}

/// Two requests of one tenant back to back: the second's tile jobs find B resident (left by
/// the first request's), so it reads only its two A blocks: 3072 + 2048 read, and B hit three
/// times (once in the first request, twice in the second).
#[test]
fn a_weight_block_serves_every_request_of_its_tenant() {
    let (cfg, models) = setup(1);
    let out = simulate(&cfg, &models, &at_zero(&[0, 0]), &mut Fcfs, Mode::Timing).unwrap();
    assert_eq!(reads(&out, 0), (5120, 3072, 1024));
}

/// Two tenants one after the other read 3072 each; interleaved tile job by tile job on the
/// one array, each evicts the other's B block, so each reads its B twice: 4096, no hit.
/// The interleaving's price is the reload traffic, and the time it takes: at 8 B/cycle
/// a tile job's 2304 or 1280 bytes take longer than its compute.
#[test]
fn interleaving_tenants_pays_in_reloads() {
    let (cfg, models) = setup(2);
    let reqs = at_zero(&[0, 1]);
    let serial = simulate(&cfg, &models, &reqs, &mut Fcfs, Mode::Timing).unwrap();
    assert_eq!(reads(&serial, 0), (3072, 1024, 512));
    assert_eq!(reads(&serial, 1), (3072, 1024, 512));
    let mixed = simulate(
        &cfg,
        &models,
        &reqs,
        &mut Alternate::default(),
        Mode::Timing,
    )
    .unwrap();
    assert_eq!(reads(&mixed, 0), (4096, 0, 512));
    assert_eq!(reads(&mixed, 1), (4096, 0, 512));
    let end = |o: &SimOutcome| o.records.iter().filter_map(|r| r.finish).max().unwrap();
    // Every job here is DRAM-bound on one array with one stream at a time: the makespan is
    // the bytes moved at 8 B/cycle, job by job (a tile job computes for 150 cycles).
    assert_eq!(end(&serial), Cycles(2 * (2304 + 1280) / 8));
    assert_eq!(end(&mixed), Cycles(4 * 2304 / 8));
}

/// Gives request 0 the arrays by a script: array 0 alone at first; when its job is done,
/// array 0 then array 1; then the highest idle array.
struct Scripted;

impl Policy for Scripted {
    fn name(&self) -> &'static str {
        "scripted"
    }

    fn decide_into(&mut self, view: &View, out: &mut Decision) {
        let r = &view.requests[0];
        let idle: Vec<ArrayId> = view.idle().collect();
        match (r.ready, r.running) {
            (4, _) => out.assign.push((ArrayId(0), r.id)),
            (3, 0) => out.assign.extend([(ArrayId(0), r.id), (ArrayId(1), r.id)]),
            (1, _) => out.assign.extend(idle.last().map(|&a| (a, r.id))),
            _ => {}
        }
    }
}

/// Two 8×8 arrays (`tiny`, 64 KiB scratchpads, so the activations stay on chip and only
/// weights stream), rows spread over both: [16, 8] × [8, 16] is 4 tile jobs, (m0, n0),
/// (m0, n8), (m8, n0), (m8, n8), each reading its 8 × 8 = 64-byte B block. Array 0 runs
/// (m0, n0) alone. Then array 0 continues with the job that reuses the B(n0) it holds,
/// (m8, n0), not the next in order, (m0, n8), which array 1 takes. The last job, (m8, n8),
/// goes to array 1, which holds B(n8). Each block is read once and hit once: 128 bytes read,
/// 2 hits. Dealt in job order the arrays would hold the wrong block every time: 4 × 64 read.
#[test]
fn an_array_continues_with_the_tile_job_that_reuses_its_block() {
    let cfg = AcceleratorConfig {
        spread_rows: true,
        ..AcceleratorConfig::preset("tiny").unwrap()
    };
    let bind = [InputBinding::shape_only(DType::U8, vec![16, 8])];
    let program = lower(&matmul(8, 16), &bind, &cfg).unwrap();
    let model = TenantModel::new(TenantId(0), "t0", 1, 1.0, program, vec![], &cfg);
    let out = simulate(&cfg, &[model], &at_zero(&[0]), &mut Scripted, Mode::Timing).unwrap();
    let t = out.counters[0].traffic;
    assert_eq!(
        (t.dram_read_bytes, t.sram_hits, t.sram_hit_bytes),
        (128, 2, 128)
    );
    assert_eq!(out.arrays[0].traffic.sram_hits, 1);
    assert_eq!(out.arrays[1].traffic.sram_hits, 1);
}

/// One array as in `setup`, whose partitions hold one A block and one B block, and a layer
/// of two N-blocks: [16, 128] × [128, 16] is 4 tile jobs, (m0, n0), (m0, n8), (m8, n0),
/// (m8, n8), each reading a 1 KiB A block and a 1 KiB B block. After (m0, n8) the array
/// holds A(m0) and B(n8); it continues with (m8, n8), which reuses B(n8), not with (m8, n0)
/// next in order, which reuses nothing. Reads: A(m0) B(n0), B(n8), A(m8), B(n0) = 5 KiB
/// with 3 hits; in order it would be 6 KiB with 2.
#[test]
fn an_array_continues_where_it_left_off() {
    let (cfg, _) = setup(1);
    let bind = [InputBinding::shape_only(DType::U8, vec![16, 128])];
    let program = lower(&matmul(128, 16), &bind, &cfg).unwrap();
    let model = TenantModel::new(TenantId(0), "t0", 1, 1.0, program, vec![], &cfg);
    let out = simulate(&cfg, &[model], &at_zero(&[0]), &mut Fcfs, Mode::Timing).unwrap();
    assert_eq!(reads(&out, 0), (5120, 3072, 1024));
}

/// A DRAM claim naming no tenant of the workload is refused, naming the field.
#[test]
fn a_claim_for_no_tenant_is_an_error() {
    use cdmsa::config::DramClaim;
    use cdmsa::workload::Workload;
    let text = r#"
seed = 1
requests = 1
accel = "tiny"
[[tenants]]
name = "int8"
model = "models/digits/int8_qop/model.onnx"
sla_factor = 3.0
arrival = { kind = "poisson", rate_per_s = 1.0 }
"#;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let w = Workload::from_toml(text, root).unwrap();
    let mut cfg = w.accelerator().unwrap();
    let claim = DramClaim {
        share: 1,
        cap: Some(2),
    };
    cfg.dram_tenants.insert("int8".into(), claim);
    assert!(cdmsa::sim::tenants(&w, &cfg, false).is_ok());
    cfg.dram_tenants.insert("nobody".into(), claim);
    let err = cdmsa::sim::tenants(&w, &cfg, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("dram_tenants.nobody"), "{err}");
}
