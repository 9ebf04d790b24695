//! `tile_cycles` against the PE-level model's own cycle count, and against hand-worked values.

use cdmsa::array::{ArraySpec, pe, tile_cycles};
use cdmsa::config::{Dataflow, PsumType, TimingMode};
use cdmsa::kernel::GemmShape;
use cdmsa::units::Cycles;
use proptest::prelude::*;

fn spec(rows: usize, cols: usize, dataflow: Dataflow, timing: TimingMode) -> ArraySpec {
    ArraySpec {
        rows,
        cols,
        dataflow,
        timing,
        psum: PsumType::Fp32,
    }
}

/// The PE-level model's cycle count for a tile job (values are irrelevant to timing).
fn simulated(spec: &ArraySpec, shape: GemmShape) -> Cycles {
    let a = vec![1; shape.m * shape.k];
    let b = vec![1; shape.k * shape.n];
    pe::run_int(spec, shape, &a, &b, None).1
}

fn timing_mode() -> impl Strategy<Value = TimingMode> {
    prop_oneof![Just(TimingMode::Scalesim), Just(TimingMode::Pipelined)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn ws_formula_matches_the_pe_model(
        (rows, cols, n) in (1usize..=6, 1usize..=6).prop_flat_map(|(r, c)| (Just(r), Just(c), 1..=c)),
        m in 1usize..=12,
        k in 1usize..=15,
        timing in timing_mode(),
    ) {
        let spec = spec(rows, cols, Dataflow::Ws, timing);
        let shape = GemmShape { m, k, n };
        prop_assert_eq!(tile_cycles(&spec, shape), simulated(&spec, shape));
    }

    #[test]
    fn os_formula_matches_the_pe_model(
        (rows, cols, m, n) in (1usize..=6, 1usize..=6)
            .prop_flat_map(|(r, c)| (Just(r), Just(c), 1..=r, 1..=c)),
        k in 1usize..=15,
        timing in timing_mode(),
    ) {
        let spec = spec(rows, cols, Dataflow::Os, timing);
        let shape = GemmShape { m, k, n };
        prop_assert_eq!(tile_cycles(&spec, shape), simulated(&spec, shape));
    }
}

#[test]
fn pipelined_ws_total_is_derived_from_the_fold_schedule() {
    // Derivation: fold 0 preloads in cycles 1..=R and its first row enters at S0 = R + 1.
    // Fold f+1 preloads during S_f..S_f+R-1 and its first row enters once fold f's last row
    // (entered at S_f + m - 1) and that preload are done: S_{f+1} = S_f + max(m, R). The last
    // fold's last row enters at S_{F-1} + m - 1 and leaves PE(R-1, C-1) R + C - 2 cycles
    // later: total = R + 1 + (F-1)·max(m, R) + m - 1 + R + C - 2.
    let total = |r: u64, c: u64, f: u64, m: u64| r + (f - 1) * m.max(r) + m + r + c - 2;
    for (rows, cols, m, k) in [
        (4, 3, 2, 12),
        (4, 3, 7, 12),
        (3, 5, 3, 7),
        (1, 1, 1, 5),
        (5, 2, 9, 5),
    ] {
        let spec = spec(rows, cols, Dataflow::Ws, TimingMode::Pipelined);
        let shape = GemmShape { m, k, n: cols };
        let folds = k.div_ceil(rows) as u64;
        let want = Cycles(total(rows as u64, cols as u64, folds, m as u64));
        assert_eq!(simulated(&spec, shape), want, "{rows}×{cols}, {shape:?}");
        assert_eq!(tile_cycles(&spec, shape), want, "{rows}×{cols}, {shape:?}");
    }
}

#[test]
fn scalesim_counts_of_a_tpu_sized_array() {
    // 128×128, m = 196, k = 576, n = 64: ⌈576/128⌉ = 5 folds of 2·128 + 128 + 196 − 2 = 578.
    let shape = GemmShape {
        m: 196,
        k: 576,
        n: 64,
    };
    assert_eq!(
        tile_cycles(&spec(128, 128, Dataflow::Ws, TimingMode::Scalesim), shape),
        Cycles(2890)
    );
    // Pipelined: 128 + 4·max(196, 128) + 196 + 128 + 128 − 2 = 1362.
    assert_eq!(
        tile_cycles(&spec(128, 128, Dataflow::Ws, TimingMode::Pipelined), shape),
        Cycles(1362)
    );
    // OS: ⌈196/128⌉·⌈64/128⌉ = 2 jobs of 128 + 128 + 576 − 2 = 830.
    assert_eq!(
        tile_cycles(&spec(128, 128, Dataflow::Os, TimingMode::Scalesim), shape),
        Cycles(1660)
    );
    // IS: ⌈576/128⌉·⌈196/128⌉ = 10 folds of 2·128 + 128 + 64 − 2 = 446.
    assert_eq!(
        tile_cycles(&spec(128, 128, Dataflow::Is, TimingMode::Scalesim), shape),
        Cycles(4460)
    );
    // IS pipelined: 2 jobs (m in 128-column blocks) of 128 + 4·max(64, 128) + 64 + 128 + 128 − 2 = 958.
    assert_eq!(
        tile_cycles(&spec(128, 128, Dataflow::Is, TimingMode::Pipelined), shape),
        Cycles(1916)
    );
}

#[test]
fn wide_ws_shapes_count_one_job_per_column_block() {
    // n = 10 on 4 columns: 3 jobs, each as for n ≤ 4 (R = 2, m = 3, k = 4: 2 folds).
    let shape = GemmShape { m: 3, k: 4, n: 10 };
    let one_job = GemmShape { n: 4, ..shape };
    for timing in [TimingMode::Scalesim, TimingMode::Pipelined] {
        let spec = spec(2, 4, Dataflow::Ws, timing);
        assert_eq!(
            tile_cycles(&spec, shape),
            Cycles(3 * simulated(&spec, one_job).0)
        );
    }
    // Scalesim by hand: 3 jobs · 2 folds · (2·2 + 4 + 3 − 2 = 9) = 54.
    assert_eq!(
        tile_cycles(&spec(2, 4, Dataflow::Ws, TimingMode::Scalesim), shape),
        Cycles(54)
    );
}

#[test]
fn empty_shapes_take_no_cycles() {
    for dataflow in [Dataflow::Ws, Dataflow::Os, Dataflow::Is] {
        let spec = spec(4, 4, dataflow, TimingMode::Pipelined);
        for shape in [
            GemmShape { m: 0, k: 3, n: 3 },
            GemmShape { m: 3, k: 0, n: 3 },
            GemmShape { m: 3, k: 3, n: 0 },
        ] {
            assert_eq!(tile_cycles(&spec, shape), Cycles::ZERO);
        }
    }
}

#[test]
fn huge_shapes_saturate_instead_of_wrapping() {
    let shape = GemmShape {
        m: usize::MAX,
        k: usize::MAX,
        n: usize::MAX,
    };
    for dataflow in [Dataflow::Ws, Dataflow::Os, Dataflow::Is] {
        for timing in [TimingMode::Scalesim, TimingMode::Pipelined] {
            assert_eq!(
                tile_cycles(&spec(1, 1, dataflow, timing), shape),
                Cycles(u64::MAX)
            );
        }
    }
}
