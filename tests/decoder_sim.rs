//! Decoder tenants in the simulator: a request's token loop runs its prefill and its decode
//! steps as passes of the model specialised for lengths worked out by hand, one after
//! another, and the policies see each step's own deadline.

use cdmsa::config::{AcceleratorConfig, Residency};
use cdmsa::kernel::Precision;
use cdmsa::pipeline::Model;
use cdmsa::sched::{Decision, Edf, Policy, View};
use cdmsa::sim::{Decoder, Mode, RequestSpec, TenantModel, Tokens, isolated_latency, simulate};
use cdmsa::units::{Cycles, TenantId};
use std::path::Path;

/// `tpu-msa` with nothing kept in the scratchpads between jobs, so a pass takes as long
/// after another as alone.
fn config() -> AcceleratorConfig {
    let mut cfg = AcceleratorConfig::preset("tpu-msa").unwrap();
    cfg.residency = Residency::None;
    cfg
}

fn model() -> Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/decoder/model.onnx");
    Model::load(&path, &Default::default()).unwrap()
}

/// The decoder tenant for requests of the given (prompt, generate) lengths.
fn decoder(cfg: &AcceleratorConfig, kv_block: usize, lengths: &[(usize, usize)]) -> TenantModel {
    let (decoder, program) = Decoder::build(
        &model(),
        cfg,
        Precision::Native,
        kv_block,
        lengths.iter().copied(),
    )
    .unwrap();
    let mut t = TenantModel::new(TenantId(0), "chat", 1, 1.0, program, Vec::new(), cfg);
    t.decoder = Some(decoder);
    t
}

/// The model lowered for `seq` new tokens over `past` cached ones as a plain tenant, alone.
fn alone(cfg: &AcceleratorConfig, seq: usize, past: usize) -> Cycles {
    batch_alone(cfg, 1, seq, past)
}

/// [`alone`] for a batch of `batch` requests.
fn batch_alone(cfg: &AcceleratorConfig, batch: usize, seq: usize, past: usize) -> Cycles {
    let m = model();
    let dims =
        [("seq", seq), ("past", past), ("total", past + seq)].map(|(n, v)| (n.to_string(), v));
    let program = m
        .lower(
            &m.declared_inputs_with(batch, &dims).unwrap(),
            cfg,
            Precision::Native,
        )
        .unwrap();
    let t = TenantModel::new(TenantId(0), "pass", 1, 1.0, program, Vec::new(), cfg);
    isolated_latency(cfg, &t).unwrap()
}

fn request(arrival: u64, goals: Tokens) -> RequestSpec {
    RequestSpec {
        tenant: 0,
        arrival: Cycles(arrival),
        deadline: goals.deadline(Cycles(arrival), goals.generate - 1),
        tokens: Some(goals),
    }
}

/// Six prompt tokens and four generated, in blocks of four: the prefill runs 8 tokens (6
/// padded to two blocks) over an empty cache; decode step 1 runs one token over a cache of
/// 6, 7 tokens in all, rounded up to 8 (past 7); step 2 over 7, 8 in all (past 7); step 3
/// over 8, 9 in all, rounded up to 12 (past 11).
#[test]
fn a_token_loop_alone_runs_its_steps_passes_one_after_another() {
    let cfg = config();
    let t = decoder(&cfg, 4, &[(6, 4)]);
    assert_eq!(t.decoder.as_ref().unwrap().passes(), 3);
    let (prefill, d7, d11) = (alone(&cfg, 8, 0), alone(&cfg, 1, 7), alone(&cfg, 1, 11));
    assert!(prefill > d7 && d11 >= d7, "{prefill:?} {d7:?} {d11:?}");
    let goals = Tokens {
        prompt: 6,
        generate: 4,
        ttft: prefill,
        tpot: Cycles((d7.0 * 2 + d11.0).div_ceil(3)),
    };
    let out = simulate(&cfg, &[t], &[request(1000, goals)], &mut Edf, Mode::Timing).unwrap();
    let r = out.records[0];
    assert_eq!(r.ttft(), Some(prefill));
    assert_eq!(r.latency(), Some(prefill + d7 + d7 + d11));
    assert_eq!(r.tokens.unwrap().produced, 4);
    assert!(r.met());
    let tpot = r.tpot().unwrap();
    assert!(
        (tpot - (d7.0 * 2 + d11.0) as f64 / 3.0).abs() < 1e-9,
        "{tpot}"
    );
    assert_eq!(r.isolated, prefill + d7 + d7 + d11);
    // Its cache: 6 + 4 tokens in blocks of 4 (12) held, of 1 024 bytes each; decode steps
    // 1, 2 and 3 attend over 6, 7 and 8 cached tokens.
    assert_eq!(out.counters[0].kv_peak_bytes, 12 * 1_024);
    assert_eq!(out.counters[0].kv_read_bytes, (6 + 7 + 8) * 1_024);
    // One cycle less for either goal misses it.
    for late in [
        Tokens {
            ttft: prefill - Cycles(1),
            ..goals
        },
        Tokens {
            tpot: Cycles((d7.0 * 2 + d11.0) / 3 - 1),
            ..goals
        },
    ] {
        let t = decoder(&cfg, 4, &[(6, 4)]);
        let out = simulate(&cfg, &[t], &[request(1000, late)], &mut Edf, Mode::Timing).unwrap();
        assert!(!out.records[0].met(), "{late:?}");
    }
}

/// EDF that notes the deadline it is shown for each request at each decision.
struct Watch(Vec<Vec<Cycles>>);

impl Policy for Watch {
    fn name(&self) -> &'static str {
        "watch"
    }

    fn decide_into(&mut self, view: &View, out: &mut Decision) {
        for r in view.requests {
            let seen = &mut self.0[r.id.0 as usize];
            if seen.last() != Some(&r.deadline) {
                seen.push(r.deadline);
            }
        }
        Edf.decide_into(view, out);
    }
}

/// The policy sees each step's deadline in turn, `arrival + ttft + s · tpot`, and a plain
/// request beside it keeps its own.
#[test]
fn each_step_shows_the_policy_its_own_deadline() {
    let cfg = config();
    let mut t = decoder(&cfg, 16, &[(5, 6)]);
    t.isolated = Cycles(1);
    let goals = Tokens {
        prompt: 5,
        generate: 6,
        ttft: Cycles(70_000),
        tpot: Cycles(9_000),
    };
    let plain = {
        let m = model();
        let dims = [("seq", 3), ("past", 0), ("total", 3)].map(|(n, v)| (n.to_string(), v));
        let program = m
            .lower(
                &m.declared_inputs_with(1, &dims).unwrap(),
                &cfg,
                Precision::Native,
            )
            .unwrap();
        TenantModel::new(TenantId(1), "plain", 1, 1.0, program, Vec::new(), &cfg)
    };
    let requests = [
        request(500, goals),
        RequestSpec {
            tenant: 1,
            arrival: Cycles(600),
            deadline: Cycles(123_456),
            tokens: None,
        },
    ];
    let mut watch = Watch(vec![Vec::new(); 2]);
    let out = simulate(&cfg, &[t, plain], &requests, &mut watch, Mode::Timing).unwrap();
    let want: Vec<Cycles> = (0..6u64)
        .map(|s| Cycles(500 + 70_000 + s * 9_000))
        .collect();
    assert_eq!(watch.0[0], want);
    assert_eq!(watch.0[1], vec![Cycles(123_456)]);
    assert_eq!(out.records[0].deadline, want[5]);
    assert!(out.records.iter().all(|r| r.finish.is_some()));
}

/// GPT-2 small's first MLP GEMM (768 → 3072) on `tpu-msa` (128×128 weight-stationary),
/// worked by hand from the closed form `R + (F−1)·max(m, R) + m + R + C − 2` with
/// `F = ⌈768/128⌉ = 6` folds. A decode step (m = 1) has 24 tile jobs of 128 output
/// columns, each 128 + 5·128 + 1 + 128 + 128 − 2 = 1 023 cycles. The prefill of a 256-token
/// prompt keeps its rows whole: its 24 column blocks already give each of the 4 arrays a job,
/// so cutting rows would only fetch each weight block twice. 24 jobs of
/// 128 + 5·256 + 256 + 128 + 128 − 2 = 1 918 cycles.
#[test]
fn prefill_and_decode_passes_cost_their_gemm_shapes() {
    let cfg = AcceleratorConfig::preset("tpu-msa").unwrap();
    let model = Model::load(Path::new("zoo:gpt2_small"), &Default::default()).unwrap();
    let (decoder, program) = Decoder::build(&model, &cfg, Precision::Int8, 16, [(256, 2)]).unwrap();
    let node = program
        .nodes
        .iter()
        .position(|n| n.name.starts_with("h.0.mlp.fc1"))
        .expect("the first MLP GEMM");
    for (step, jobs, cycles) in [(0, 24, 1_918), (1, 24, 1_023)] {
        let (pass, _) = decoder.pass(256, step).unwrap();
        let layer = pass.layers.iter().find(|l| l.node == node).unwrap();
        assert_eq!(layer.jobs.len(), jobs, "step {step}");
        assert!(
            layer.jobs.iter().all(|j| j.cost.compute == Cycles(cycles)),
            "step {step}: {:?}",
            layer.jobs[0].cost
        );
    }
    assert_eq!(decoder.passes(), 2);
}

/// The committed `llm` workload, shortened, under every scheduler: each finished decoder
/// request produced all its tokens, its first before its last; the tenants with token loops
/// report token metrics and the camera tenant none. Functional mode refuses the decoder tenants by
/// name.
#[test]
fn the_llm_workload_runs_under_every_scheduler() {
    use cdmsa::workload::{Stop, Workload};
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads/llm.toml");
    let mut w = Workload::load(&path).unwrap();
    w.stop = Stop::Requests(40);
    w.warmup = 0;
    let cfg = w.accelerator().unwrap();
    let tenants = cdmsa::sim::tenants(&w, &cfg, false).unwrap();
    let requests = cdmsa::sim::requests(&w, &tenants, &cfg).unwrap();
    let loops = requests.iter().filter(|r| r.tokens.is_some()).count();
    assert!(loops > 0 && loops < requests.len(), "{loops}");
    for name in cdmsa::sched::ALL.iter().chain(cdmsa::sched::BATCHING) {
        let mut policy = cdmsa::sched::by_name(name).unwrap();
        let out = simulate(&cfg, &tenants, &requests, policy.as_mut(), Mode::Timing).unwrap();
        for (r, spec) in out.records.iter().zip(&requests) {
            assert_eq!(r.tokens.is_some(), spec.tokens.is_some());
            if let (Some(t), Some(finish)) = (r.tokens, r.finish) {
                assert_eq!(t.produced, t.goals.generate, "{name}");
                assert!(
                    t.first.is_some_and(|f| f > r.arrival && f <= finish),
                    "{name}"
                );
            }
        }
        let m = cdmsa::report::metrics::of_run(&out, &tenants, cfg.clock_mhz, 0);
        for (i, t) in m.tenants.iter().enumerate() {
            let decodes = requests.iter().any(|r| r.tenant == i && r.tokens.is_some());
            assert_eq!(t.tokens.is_some(), decodes, "{name} {}", t.name);
        }
        assert!(m.tenants[0].tokens.is_some() && m.tenants[2].tokens.is_none());
    }
    let err = cdmsa::sim::tenants(&w, &cfg, true).unwrap_err().to_string();
    assert!(err.contains("tenant 'chat' is a decoder"), "{err}");
}

/// Continuous batching on one array, under EDF, worked by hand. Requests A and B (6 prompt
/// tokens, 3 to generate, blocks of 4) arrive together. A's prefill (8 tokens) runs first,
/// then B's, whose first-token deadline is earlier than A's first decode step's; A's decode
/// step 1 (cache 6 + 1 → 8 blocks, past 7) starts an iteration alone, and B, done with its
/// prefill while it is pending, waits. When it ends, A (step 2, past 7) and B (step 1, past
/// 7) ride one batched pass of 2; A is done, and B's last step runs alone (past 7).
#[test]
fn decode_steps_batch_in_iterations_worked_by_hand() {
    let mut cfg = config();
    cfg.arrays = 1;
    let t = decoder(&cfg, 4, &[(6, 3)]);
    let (p, d, e) = (
        alone(&cfg, 8, 0),
        alone(&cfg, 1, 7),
        batch_alone(&cfg, 2, 1, 7),
    );
    assert!(
        e < d + d,
        "a batch of 2 costs less than two passes: {e:?} {d:?}"
    );
    let goals = Tokens {
        prompt: 6,
        generate: 3,
        ttft: Cycles(1_000_000_000),
        tpot: Cycles(1_000_000),
    };
    let requests = [request(0, goals), request(0, goals)];
    let mut policy = cdmsa::sched::by_name("edf+batch").unwrap();
    let out = simulate(&cfg, &[t], &requests, policy.as_mut(), Mode::Timing).unwrap();
    let (a, b) = (out.records[0], out.records[1]);
    assert_eq!(a.tokens.unwrap().first, Some(p));
    assert_eq!(b.tokens.unwrap().first, Some(p + p));
    assert_eq!(a.finish, Some(p + p + d + e));
    assert_eq!(b.finish, Some(p + p + d + e + d));
    // Without batching, each step is its own pass: B's steps never share one.
    let t = decoder(&cfg, 4, &[(6, 3)]);
    let out = simulate(&cfg, &[t], &requests, &mut Edf, Mode::Timing).unwrap();
    let last = out.records.iter().filter_map(|r| r.finish).max();
    assert_eq!(last, Some(p + p + d + d + d + d));
}

/// KV-cache bytes per token, worked from the caches' shapes: the small decoder's 2 layers
/// keep a key and a value of 4 heads × 16 (fp32) per token, 2 · 2 · 4 · 16 · 4 = 1 024
/// bytes; GPT-2 small's 12 layers keep 12 heads × 64, 2 · 12 · 12 · 64 · 4 = 73 728.
#[test]
fn kv_bytes_per_token_follow_the_cache_shapes() {
    let cfg = config();
    assert_eq!(
        decoder(&cfg, 4, &[(6, 1)])
            .decoder
            .unwrap()
            .kv_bytes_per_token,
        1_024
    );
    let model = Model::load(Path::new("zoo:gpt2_small"), &Default::default()).unwrap();
    let (d, _) = Decoder::build(&model, &cfg, Precision::Int8, 16, [(16, 1)]).unwrap();
    assert_eq!(d.kv_bytes_per_token, 73_728);
}

/// With 1 MiB for KV caches, requests of 500 + 12 tokens (512 in blocks of 16, 0.5 MiB
/// each) run two at a time: of three arriving together the third waits for one of the
/// first two to finish, and a request of 1 020 + 12 tokens (1 040 in blocks, over 1 MiB)
/// is refused. The peak held is the capacity.
#[test]
fn kv_cache_memory_admits_what_fits_and_refuses_what_never_can() {
    let mut cfg = config();
    cfg.kv_cache_mib = Some(1);
    let t = decoder(&cfg, 16, &[(500, 12), (1020, 12)]);
    let goals = Tokens {
        prompt: 500,
        generate: 12,
        ttft: Cycles(1 << 40),
        tpot: Cycles(1 << 30),
    };
    let big = Tokens {
        prompt: 1020,
        ..goals
    };
    let requests = [
        request(0, goals),
        request(0, goals),
        request(0, goals),
        request(0, big),
    ];
    let out = simulate(&cfg, &[t], &requests, &mut Edf, Mode::Timing).unwrap();
    let r = &out.records;
    let first_done = r[0].finish.unwrap().min(r[1].finish.unwrap());
    assert!(r[0].start.unwrap() < first_done && r[1].start.unwrap() < first_done);
    assert!(
        r[2].start.unwrap() >= first_done,
        "{:?} {first_done:?}",
        r[2]
    );
    assert!(r[2].finish.is_some());
    assert_eq!((r[3].start, r[3].finish), (None, None));
    assert_eq!(out.counters[0].kv_peak_bytes, 1 << 20);
    // Unbounded, all four run at once.
    cfg.kv_cache_mib = None;
    let t = decoder(&cfg, 16, &[(500, 12), (1020, 12)]);
    let out = simulate(&cfg, &[t], &requests, &mut Edf, Mode::Timing).unwrap();
    assert!(out.records.iter().all(|r| r.start == Some(Cycles(0))));
    assert_eq!(out.counters[0].kv_peak_bytes, (3 * 512 + 1040) * 1_024);
}

/// The `llm` workload swept (shortened) over two seeds: every point carries the chat
/// tenant's goodput, TTFT and TPOT over both seeds, and the sweep's table shows them.
#[test]
fn a_sweep_reports_token_metrics_over_seeds() {
    use cdmsa::eval::{Sweep, assemble, table};
    use cdmsa::workload::{Stop, Workload};
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads/llm.toml");
    let mut w = Workload::load(&path).unwrap();
    w.stop = Stop::Requests(60);
    w.warmup = 0;
    let cfg = w.accelerator().unwrap();
    let models = cdmsa::sim::tenants(&w, &cfg, false).unwrap();
    let names = vec!["edf".to_string(), "edf+batch".to_string()];
    let sweep = Sweep {
        workload: &w,
        cfg: &cfg,
        tenants: &models,
        schedulers: &names,
        loads: &[1.0],
        seeds: 2,
        make: &cdmsa::sched::by_name,
    };
    let outputs = sweep.compute_where(|_| true, &|| {}).unwrap();
    let results = assemble(
        &names,
        1,
        2,
        None,
        outputs.into_iter().map(|(_, o)| o).collect(),
    )
    .unwrap();
    for r in &results {
        let chat = r.points[0]
            .tokens_over_seeds
            .iter()
            .find(|t| t.tenant == "chat")
            .expect("the chat tenant's token metrics");
        assert_eq!(chat.goodput.n, 2, "{}", r.scheduler);
        assert!(chat.ttft_p99_ms.mean >= chat.ttft_p50_ms.mean);
        assert!(chat.tpot_p99_ms.mean > 0.0);
    }
    let text = table(&results, None);
    assert!(
        text.contains("TPOT p99 ms") && text.contains("edf+batch"),
        "{text}"
    );
}

/// Lengths that would need more passes than a tenant may lower are an error naming the
/// model and the remedy, not an exhaustion of memory.
#[test]
fn too_many_step_lengths_are_refused() {
    let model = model();
    let err = Decoder::build(&model, &config(), Precision::Native, 1, [(4, 2_000)])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("model.onnx") && err.contains("more than 1024") && err.contains("kv_block"),
        "{err}"
    );
}
