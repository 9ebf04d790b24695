//! The PE-level model on small examples worked by hand: values with the arithmetic written
//! out, cycle counts traced from the skewed schedule (not from the closed forms).

use cdmsa::array::{ArraySpec, IntGemmOut, pe};
use cdmsa::config::{Dataflow, PsumType, TimingMode};
use cdmsa::kernel::{FloatFormat, GemmShape};
use cdmsa::units::Cycles;

fn spec(rows: usize, cols: usize, dataflow: Dataflow, timing: TimingMode) -> ArraySpec {
    ArraySpec {
        rows,
        cols,
        dataflow,
        timing,
        psum: PsumType::Fp32,
    }
}

fn ints(acc: &[i32]) -> IntGemmOut {
    IntGemmOut {
        acc: acc.to_vec(),
        overflow: false,
    }
}

#[test]
fn ws_2x2_array_2x2x2_gemm() {
    // A = [1 2; 3 4], B = [5 6; 7 8], bias = [10, -20]:
    //   C00 = 10 + 1·5 + 2·7 = 29    C01 = -20 + 1·6 + 2·8 = 2
    //   C10 = 10 + 3·5 + 4·7 = 53    C11 = -20 + 3·6 + 4·8 = 30
    // Timing: weights preload in cycles 1–2; row 0 of A enters PE(0,0) in cycle 3 and row i
    // reaches PE(r,c) in cycle 3 + i + r + c, so the last output (row 1 at PE(1,1)) leaves
    // in cycle 3 + 1 + 1 + 1 = 6. One fold: the same in both timing modes.
    let shape = GemmShape { m: 2, k: 2, n: 2 };
    let (a, b, bias) = ([1, 2, 3, 4], [5, 6, 7, 8], [10, -20]);
    for timing in [TimingMode::Scalesim, TimingMode::Pipelined] {
        let (out, cycles) = pe::run_int(
            &spec(2, 2, Dataflow::Ws, timing),
            shape,
            &a,
            &b,
            Some(&bias),
        );
        assert_eq!(out, ints(&[29, 2, 53, 30]));
        assert_eq!(cycles, Cycles(6));
    }
}

#[test]
fn ws_3x3_array_two_folds() {
    // k = 5 on 3 PE rows: fold 0 holds B rows 0–2, fold 1 rows 3–4 (PE row 2 gets zeros).
    // n = 2 leaves PE column 2 with zero weights. No bias.
    //   A = [ 1 2 3  4 5 ]   B = [ 1  0 ]
    //       [-1 0 2 -2 1 ]       [ 0  1 ]
    //                            [ 2  1 ]
    //                            [ 1 -1 ]
    //                            [-1  3 ]
    //   C00 = (1·1 + 2·0 + 3·2) + (4·1 + 5·(-1))     = 7 + (-1) = 6
    //   C01 = (1·0 + 2·1 + 3·1) + (4·(-1) + 5·3)     = 5 + 11   = 16
    //   C10 = (-1·1 + 0·0 + 2·2) + (-2·1 + 1·(-1))   = 3 + (-3) = 0
    //   C11 = (-1·0 + 0·1 + 2·1) + (-2·(-1) + 1·3)   = 2 + 5    = 7
    let shape = GemmShape { m: 2, k: 5, n: 2 };
    let a = [1, 2, 3, 4, 5, -1, 0, 2, -2, 1];
    let b = [1, 0, 0, 1, 2, 1, 1, -1, -1, 3];
    let want = ints(&[6, 16, 0, 7]);

    // Scalesim: fold 0 preloads in cycles 1–3, its rows enter PE(0,0) in cycles 4 and 5, and
    // row 1 leaves PE(2,2) in cycle 5 + 2 + 2 = 9. Fold 1 preloads in cycles 10–12, its rows
    // enter in 13 and 14, the last output leaves in 14 + 4 = 18.
    let (out, cycles) = pe::run_int(
        &spec(3, 3, Dataflow::Ws, TimingMode::Scalesim),
        shape,
        &a,
        &b,
        None,
    );
    assert_eq!(out, want);
    assert_eq!(cycles, Cycles(18));

    // Pipelined: fold 0 preloads in 1–3 and streams rows in 4 and 5. Fold 1 preloads in 4–6
    // (starting when fold 0 starts streaming); its first row enters in 7, the first cycle
    // after both fold 0's last row entered (5) and the preload ended (6). Its rows enter in 7
    // and 8; the last output leaves PE(2,2) in 8 + 2 + 2 = 12.
    let (out, cycles) = pe::run_int(
        &spec(3, 3, Dataflow::Ws, TimingMode::Pipelined),
        shape,
        &a,
        &b,
        None,
    );
    assert_eq!(out, want);
    assert_eq!(cycles, Cycles(12));
}

#[test]
fn ws_pipelined_folds_wait_for_the_stream_when_m_exceeds_r() {
    // R = 2, C = 1, m = 3, k = 4: two folds. Fold 0 preloads in 1–2, streams rows in 3, 4, 5.
    // Fold 1 preloads in 3–4 but waits for fold 0's last row (5): its rows enter in 6, 7, 8
    // and the last output leaves PE(1,0) in 8 + 1 = 9.
    //   A = [1 1 1 1; 0 1 0 1; 2 0 0 3], B = [1; 2; 3; 4]
    //   C0 = (1 + 2) + (3 + 4) = 10,  C1 = (0 + 2) + (0 + 4) = 6,  C2 = (2 + 0) + (0 + 12) = 14
    let shape = GemmShape { m: 3, k: 4, n: 1 };
    let a = [1, 1, 1, 1, 0, 1, 0, 1, 2, 0, 0, 3];
    let b = [1, 2, 3, 4];
    let (out, cycles) = pe::run_int(
        &spec(2, 1, Dataflow::Ws, TimingMode::Pipelined),
        shape,
        &a,
        &b,
        None,
    );
    assert_eq!(out, ints(&[10, 6, 14]));
    assert_eq!(cycles, Cycles(9));
}

#[test]
fn os_2x2_array() {
    // A = [1 2 3; 4 5 6], B = [1 -1; 0 2; 2 0], bias = [1, 0]:
    //   C00 = 1 + (1·1 + 2·0 + 3·2) = 8      C01 = 0 + (1·(-1) + 2·2 + 3·0) = 3
    //   C10 = 1 + (4·1 + 5·0 + 6·2) = 17     C11 = 0 + (4·(-1) + 5·2 + 6·0) = 6
    // PE(r,c) does its MAC for k in cycle k + r + c + 1: PE(1,1)'s last (k = 2) is in cycle 5.
    let shape = GemmShape { m: 2, k: 3, n: 2 };
    let (a, b, bias) = ([1, 2, 3, 4, 5, 6], [1, -1, 0, 2, 2, 0], [1, 0]);
    for timing in [TimingMode::Scalesim, TimingMode::Pipelined] {
        let (out, cycles) = pe::run_int(
            &spec(2, 2, Dataflow::Os, timing),
            shape,
            &a,
            &b,
            Some(&bias),
        );
        assert_eq!(out, ints(&[8, 3, 17, 6]));
        assert_eq!(cycles, Cycles(5));
    }
}

#[test]
fn os_partial_tile_still_crosses_the_whole_array() {
    // A 1×1 output with k = 2 on a 3×3 array: zeros still flow to PE(2,2), whose last MAC
    // (k = 1) is in cycle 1 + 2 + 2 + 1 = 6. C = 2·3 + 4·5 = 26.
    let shape = GemmShape { m: 1, k: 2, n: 1 };
    let spec = spec(3, 3, Dataflow::Os, TimingMode::Pipelined);
    let (out, cycles) = pe::run_int(&spec, shape, &[2, 4], &[3, 5], None);
    assert_eq!(out, ints(&[26]));
    assert_eq!(cycles, Cycles(6));
}

#[test]
fn float_bias_joins_after_the_column_sum() {
    // fp32, one K-tile (k = 2 on 2 PE rows), a = [1, 1], b = [2^24, 1], bias = -2^24.
    // The column sum starts at 0: 2^24, then 2^24 + 1, a tie between 2^24 and 2^24 + 2 that
    // goes to the even 2^24. The accumulator then adds it to the bias: -2^24 + 2^24 = 0.
    // (Starting the column at the bias instead would give -2^24 + 2^24 + 1 = 1.)
    let shape = GemmShape { m: 1, k: 2, n: 1 };
    let two24 = 16_777_216.0f32;
    let spec = spec(2, 1, Dataflow::Ws, TimingMode::Pipelined);
    let (out, _) = pe::run_float(
        &spec,
        FloatFormat::Fp32,
        shape,
        &[1.0, 1.0],
        &[two24, 1.0],
        Some(&[-two24]),
    );
    assert_eq!(out, vec![0.0]);
}
