//! Datapath throughput: the fast exact GEMM paths against the PE-level model they must equal,
//! measured in the same run; prints the speed-up of each fast path over the PE-level model.
//!
//! `cargo bench --bench datapath`

use cdmsa::array::{ArraySpec, gemm_float, gemm_int, pe};
use cdmsa::config::{Dataflow, PsumType, TimingMode};
use cdmsa::kernel::{FloatFormat, GemmShape};
use criterion::Criterion;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn spec(rows: usize, cols: usize) -> ArraySpec {
    ArraySpec {
        rows,
        cols,
        dataflow: Dataflow::Ws,
        timing: TimingMode::Pipelined,
        psum: PsumType::Fp32,
    }
}

fn operands(s: GemmShape) -> (Vec<i16>, Vec<i16>, Vec<f32>, Vec<f32>) {
    let ai: Vec<i16> = (0..s.m * s.k)
        .map(|i| ((i * 37) % 511) as i16 - 255)
        .collect();
    let bi: Vec<i16> = (0..s.k * s.n)
        .map(|i| ((i * 91) % 511) as i16 - 255)
        .collect();
    // Values exactly representable in fp16.
    let af: Vec<f32> = ai.iter().map(|&v| f32::from(v) / 256.0).collect();
    let bf: Vec<f32> = bi.iter().map(|&v| f32::from(v) / 512.0).collect();
    (ai, bi, af, bf)
}

/// Mean seconds per call of `f` over at least `min` of wall time.
fn time(min: Duration, mut f: impl FnMut()) -> f64 {
    let (start, mut n) = (Instant::now(), 0u32);
    while start.elapsed() < min || n < 3 {
        f();
        n += 1;
    }
    start.elapsed().as_secs_f64() / f64::from(n)
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let big = GemmShape {
        m: 256,
        k: 256,
        n: 256,
    };
    let (ai, bi, af, bf) = operands(big);
    let sp = spec(128, 128);
    let macs = big.macs() as f64;
    let mut g = c.benchmark_group("gemm_256");
    g.throughput(criterion::Throughput::Elements(big.macs()));
    g.bench_function("int8", |b| {
        b.iter(|| gemm_int(&sp, big, black_box(&ai), black_box(&bi), None))
    });
    g.bench_function("fp16_psum_fp32", |b| {
        b.iter(|| {
            gemm_float(
                &sp,
                FloatFormat::Fp16,
                big,
                black_box(&af),
                black_box(&bf),
                None,
            )
        })
    });
    g.bench_function("fp32", |b| {
        b.iter(|| {
            gemm_float(
                &sp,
                FloatFormat::Fp32,
                big,
                black_box(&af),
                black_box(&bf),
                None,
            )
        })
    });
    g.finish();

    // Speed-up over the PE-level model on one tile job it can simulate (8×8 array, m=64, k=64).
    let tile = GemmShape { m: 64, k: 64, n: 8 };
    let (ti, tbi, tf, tbf) = operands(tile);
    let small = spec(8, 8);
    let d = Duration::from_millis(500);
    let pe_int = time(d, || {
        drop(black_box(pe::run_int(&small, tile, &ti, &tbi, None)))
    });
    let fast_int = time(d, || {
        drop(black_box(gemm_int(&small, tile, &ti, &tbi, None)))
    });
    let pe_f16 = time(d, || {
        drop(black_box(pe::run_float(
            &small,
            FloatFormat::Fp16,
            tile,
            &tf,
            &tbf,
            None,
        )))
    });
    let fast_f16 = time(d, || {
        drop(black_box(gemm_float(
            &small,
            FloatFormat::Fp16,
            tile,
            &tf,
            &tbf,
            None,
        )))
    });
    println!("\nfast path vs PE-level model, one 64×64×8 tile job on an 8×8 array (same run):");
    println!("  int8  speed-up {:>8.1}×", pe_int / fast_int);
    println!("  fp16  speed-up {:>8.1}×", pe_f16 / fast_f16);
    let gmacs = |f: &dyn Fn()| macs / time(d, f) / 1e9;
    println!(
        "256³ throughput: int8 {:.2} GMAC/s, fp16 {:.2} GMAC/s, fp32 {:.2} GMAC/s",
        gmacs(&|| drop(black_box(gemm_int(&sp, big, &ai, &bi, None)))),
        gmacs(&|| drop(black_box(gemm_float(
            &sp,
            FloatFormat::Fp16,
            big,
            &af,
            &bf,
            None
        )))),
        gmacs(&|| drop(black_box(gemm_float(
            &sp,
            FloatFormat::Fp32,
            big,
            &af,
            &bf,
            None
        ))))
    );
    c.final_summary();
}
