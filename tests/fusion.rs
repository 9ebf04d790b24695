//! Dynamic task fusion: two tile jobs of different tasks block-diagonally on one array give
//! each task exactly its bits alone (PE-level model), cost the fused tile's PE-level cycles,
//! and functional simulations with fusion on match isolated runs.

use cdmsa::array::{ArraySpec, pe, tile_cycles};
use cdmsa::config::{AcceleratorConfig, Dataflow, PsumType, TimingMode};
use cdmsa::kernel::{FloatFormat, GemmShape};
use cdmsa::sched::{CdMsa, CdMsaOptions, by_name, fits_diagonally, fusible};
use cdmsa::sim::{Mode, requests, simulate, tenants};
use cdmsa::workload::Workload;
use proptest::prelude::*;

/// The fused operands: A' = [A_a | A_b] (rows padded with zeros to the longer stream) and
/// B' = diag(B_a, B_b) with the off-diagonal blocks empty (zero).
fn fuse<T: Copy + Default>(
    a: (&[T], GemmShape),
    b: (&[T], GemmShape),
    wa: &[T],
    wb: &[T],
) -> (Vec<T>, Vec<T>, GemmShape) {
    let (sa, sb) = (a.1, b.1);
    let joint = GemmShape {
        m: sa.m.max(sb.m),
        k: sa.k + sb.k,
        n: sa.n + sb.n,
    };
    let mut lhs = vec![T::default(); joint.m * joint.k];
    for i in 0..sa.m {
        lhs[i * joint.k..i * joint.k + sa.k].copy_from_slice(&a.0[i * sa.k..(i + 1) * sa.k]);
    }
    for i in 0..sb.m {
        lhs[i * joint.k + sa.k..i * joint.k + joint.k]
            .copy_from_slice(&b.0[i * sb.k..(i + 1) * sb.k]);
    }
    let mut rhs = vec![T::default(); joint.k * joint.n];
    for kk in 0..sa.k {
        rhs[kk * joint.n..kk * joint.n + sa.n].copy_from_slice(&wa[kk * sa.n..(kk + 1) * sa.n]);
    }
    for kk in 0..sb.k {
        let row = (sa.k + kk) * joint.n;
        rhs[row + sa.n..row + joint.n].copy_from_slice(&wb[kk * sb.n..(kk + 1) * sb.n]);
    }
    (lhs, rhs, joint)
}

/// The block of `out` (joint.n wide) at rows `0..s.m`, columns `c0..c0+s.n`.
fn block<T: Copy>(out: &[T], joint: GemmShape, s: GemmShape, c0: usize) -> Vec<T> {
    (0..s.m)
        .flat_map(|i| {
            out[i * joint.n + c0..i * joint.n + c0 + s.n]
                .iter()
                .copied()
        })
        .collect()
}

fn spec(rows: usize, cols: usize, timing: TimingMode, psum: PsumType) -> ArraySpec {
    ArraySpec {
        rows,
        cols,
        dataflow: Dataflow::Ws,
        timing,
        psum,
    }
}

fn shapes() -> impl Strategy<Value = (usize, usize, GemmShape, GemmShape)> {
    (2..=6usize, 2..=6usize).prop_flat_map(|(r, c)| {
        (Just(r), Just(c), 1..r, 1..c, 1..=9usize, 1..=9usize).prop_flat_map(
            |(r, c, ka, na, ma, mb)| {
                (
                    Just(r),
                    Just(c),
                    Just(GemmShape {
                        m: ma,
                        k: ka,
                        n: na,
                    }),
                    (1..=r - ka, 1..=c - na).prop_map(move |(kb, nb)| GemmShape {
                        m: mb,
                        k: kb,
                        n: nb,
                    }),
                )
            },
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn fused_int_tiles_give_each_task_its_bits_and_the_fused_cycle_count((r, c, sa, sb) in shapes(), seed in any::<u64>(), pipelined in any::<bool>()) {
        let timing = if pipelined { TimingMode::Pipelined } else { TimingMode::Scalesim };
        let sp = spec(r, c, timing, PsumType::Fp32);
        let val = |i: usize| (((seed as usize).wrapping_add(i * 2654435761) >> 7) % 511) as i16 - 255;
        let aa: Vec<i16> = (0..sa.m * sa.k).map(val).collect();
        let ab: Vec<i16> = (0..sb.m * sb.k).map(|i| val(i + 1000)).collect();
        let wa: Vec<i16> = (0..sa.k * sa.n).map(|i| val(i + 2000)).collect();
        let wb: Vec<i16> = (0..sb.k * sb.n).map(|i| val(i + 3000)).collect();
        let (lhs, rhs, joint) = fuse((&aa, sa), (&ab, sb), &wa, &wb);
        prop_assert!(fits_diagonally(r, c, sa, sb));
        let (fused, cycles) = pe::run_int(&sp, joint, &lhs, &rhs, None);
        let (alone_a, _) = pe::run_int(&sp, sa, &aa, &wa, None);
        let (alone_b, _) = pe::run_int(&sp, sb, &ab, &wb, None);
        prop_assert_eq!(block(&fused.acc, joint, sa, 0), alone_a.acc);
        prop_assert_eq!(block(&fused.acc, joint, sb, sa.n), alone_b.acc);
        prop_assert_eq!(cycles, tile_cycles(&sp, joint));
    }

    #[test]
    fn fused_float_tiles_give_each_task_its_bits((r, c, sa, sb) in shapes(), seed in any::<u64>(), fp16 in any::<bool>(), psum16 in any::<bool>()) {
        let (fmt, psum) = if fp16 { (FloatFormat::Fp16, if psum16 { PsumType::Fp16 } else { PsumType::Fp32 }) } else { (FloatFormat::Fp32, PsumType::Fp32) };
        let sp = spec(r, c, TimingMode::Pipelined, psum);
        // Normal-range values with mixed signs, exactly representable in fp16.
        let val = |i: usize| {
            let h = (seed as usize).wrapping_add(i * 2654435761) >> 5;
            let mag = 0.25 + (h % 200) as f32 / 64.0;
            if h & 1 == 0 { mag } else { -mag }
        };
        let aa: Vec<f32> = (0..sa.m * sa.k).map(val).collect();
        let ab: Vec<f32> = (0..sb.m * sb.k).map(|i| val(i + 1000)).collect();
        let wa: Vec<f32> = (0..sa.k * sa.n).map(|i| val(i + 2000)).collect();
        let wb: Vec<f32> = (0..sb.k * sb.n).map(|i| val(i + 3000)).collect();
        let (lhs, rhs, joint) = fuse((&aa, sa), (&ab, sb), &wa, &wb);
        let (fused, _) = pe::run_float(&sp, fmt, joint, &lhs, &rhs, None);
        let (alone_a, _) = pe::run_float(&sp, fmt, sa, &aa, &wa, None);
        let (alone_b, _) = pe::run_float(&sp, fmt, sb, &ab, &wb, None);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&block(&fused, joint, sa, 0)), bits(&alone_a));
        prop_assert_eq!(bits(&block(&fused, joint, sb, sa.n)), bits(&alone_b));
    }
}

#[test]
fn functional_runs_with_fusion_match_isolated_runs_and_fuse_only_fitting_jobs() {
    // One 32×32 array: the digits models' first convolution (K = 9, N = 8) under-fills it.
    // Two int8 tenants can fuse with each other; the fp32 tenant's tiles run on another
    // datapath and may fuse with neither.
    let text = r#"
seed = 9
requests = 24
accel = "fusion-test.toml"
[[tenants]]
name = "int8"
model = "models/digits/int8_qop/model.onnx"
priority = 9
sla_factor = 4.0
arrival = { kind = "poisson", rate_per_s = 80000.0 }
[[tenants]]
name = "int8-qdq"
model = "models/digits/int8_qdq/model.onnx"
priority = 9
sla_factor = 4.0
arrival = { kind = "poisson", rate_per_s = 80000.0 }
[[tenants]]
name = "fp32"
model = "models/digits/fp32/model.onnx"
priority = 3
sla_factor = 4.0
arrival = { kind = "poisson", rate_per_s = 80000.0 }
"#;
    let dir = tempfile::tempdir().unwrap();
    let tiny = AcceleratorConfig::preset("tiny").unwrap();
    let cfg = AcceleratorConfig {
        name: "fusion-test".into(),
        arrays: 1,
        rows: 32,
        cols: 32,
        ..tiny
    };
    std::fs::write(
        dir.path().join("fusion-test.toml"),
        toml::to_string(&cfg).unwrap(),
    )
    .unwrap();
    for m in ["int8_qop", "int8_qdq", "fp32"] {
        let to = dir.path().join("models/digits").join(m);
        std::fs::create_dir_all(&to).unwrap();
        std::fs::copy(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("models/digits")
                .join(m)
                .join("model.onnx"),
            to.join("model.onnx"),
        )
        .unwrap();
    }
    let w = Workload::from_toml(text, dir.path()).unwrap();
    let cfg = w.accelerator().unwrap();
    let models = tenants(&w, &cfg, true).unwrap();
    let reqs = requests(&w, &models, &cfg).unwrap();
    // CD-MSA, and baselines given its fusion rule.
    for name in ["cd-msa", "edf+fusion", "planaria+fusion", "prema+fusion"] {
        let mut policy = by_name(name).unwrap();
        let out = simulate(
            &cfg,
            &models,
            &reqs,
            policy.as_mut(),
            Mode::Functional { fault: None },
        )
        .unwrap();
        assert_eq!(out.checked, 24, "{name}");
        assert!(out.mismatches.is_empty(), "{:?}", out.mismatches);
        let fused: Vec<_> = out.slices.iter().filter(|s| s.fused).collect();
        assert!(
            !fused.is_empty(),
            "{name}: the workload offers fusion opportunities"
        );
        assert_eq!(
            out.counters.iter().map(|c| c.fused_tiles).sum::<u64>(),
            fused.len() as u64
        );
        // Fused slices come in pairs of different requests sharing array, start and duration,
        // whose tiles fit together on one datapath.
        for pair in fused.chunks(2) {
            let [a, b] = pair else {
                panic!("fused slices come in pairs")
            };
            assert!(
                a.array == b.array
                    && a.start == b.start
                    && a.duration == b.duration
                    && a.request != b.request
            );
            let shape = |s: &cdmsa::sim::Slice| {
                let t = &models[s.tenant.0 as usize];
                let layer = t.layers.iter().find(|l| l.node == s.node).unwrap();
                layer
                    .jobs
                    .iter()
                    .find(|j| j.tile == s.tile)
                    .unwrap()
                    .profile
                    .unwrap()
            };
            let (pa, pb) = (shape(a), shape(b));
            assert_eq!(pa.datapath, pb.datapath, "{a:?} and {b:?}");
            assert!(fusible(cfg.rows, cfg.cols, pa, pb));
        }
    }
    // Without fusion the same schedule fuses nothing.
    let off = CdMsaOptions {
        fusion: false,
        ..CdMsaOptions::default()
    };
    let out = simulate(&cfg, &models, &reqs, &mut CdMsa::new(off), Mode::Timing).unwrap();
    assert!(out.slices.iter().all(|s| !s.fused));
}

#[test]
fn tiles_of_different_datapaths_never_fuse() {
    use cdmsa::kernel::{Datapath, TileProfile};
    let shape = GemmShape { m: 16, k: 9, n: 8 };
    let on = |datapath| TileProfile { shape, datapath };
    let fp16 = Datapath::Float(FloatFormat::Fp16);
    assert!(fits_diagonally(32, 32, shape, shape));
    assert!(fusible(32, 32, on(Datapath::Int8), on(Datapath::Int8)));
    assert!(fusible(32, 32, on(fp16), on(fp16)));
    assert!(!fusible(32, 32, on(Datapath::Int8), on(fp16)));
    let fp32 = Datapath::Float(FloatFormat::Fp32);
    assert!(!fusible(32, 32, on(fp16), on(fp32)));
}
