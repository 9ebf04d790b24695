//! Datapath throughput: the exact GEMM kernels (every family this CPU runs) on 256³ and
//! 1024³, against the portable kernel and against this machine's peak MAC rate, all
//! measured in the same run. The peak is measured, not looked up: a register-only loop of
//! independent multiply-adds per instruction family runs on every rayon thread at once
//! (f32 FMA: 16 MACs per zmm, 8 per ymm instruction; int8 `vpdpbusd`: 4 MACs per i32 lane,
//! 64 per zmm instruction), sampled before, between and after the GEMMs; the best family's
//! highest sample is the peak.
//!
//! `cargo bench --bench datapath` (criterion statistics for 256³, then the summary table).

use cdmsa::array::{ArraySpec, Bias, Isa, gemm_float_on, gemm_int_on, pe};
use cdmsa::config::{Dataflow, PsumType, TimingMode};
use cdmsa::kernel::{FloatFormat, GemmShape};
use criterion::Criterion;
use rayon::prelude::*;
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

/// Operands of `s`: int8 as uint8 activations minus a zero point and int8 weights, and the
/// same values scaled into fp16-exact floats.
fn operands(s: GemmShape) -> (Vec<i16>, Vec<i16>, Vec<f32>, Vec<f32>) {
    let ai: Vec<i16> = (0..s.m * s.k)
        .map(|i| ((i * 37) % 256) as i16 - 100)
        .collect();
    let bi: Vec<i16> = (0..s.k * s.n)
        .map(|i| ((i * 91) % 256) as i16 - 128)
        .collect();
    let af: Vec<f32> = ai.iter().map(|&v| f32::from(v) / 256.0).collect();
    let bf: Vec<f32> = bi.iter().map(|&v| f32::from(v) / 512.0).collect();
    (ai, bi, af, bf)
}

/// Mean seconds per call of `f` over at least `min` of wall time (and at least 2 calls, after
/// one warm-up call).
fn time(min: Duration, mut f: impl FnMut()) -> f64 {
    f();
    let (start, mut n) = (Instant::now(), 0u32);
    while start.elapsed() < min || n < 2 {
        f();
        n += 1;
    }
    start.elapsed().as_secs_f64() / f64::from(n)
}

/// Register-only multiply-add loops: the machine's peak MAC rates.
#[cfg(target_arch = "x86_64")]
mod peak {
    use std::arch::x86_64::*;

    /// Iterations of 12 independent zmm FMAs (192 f32 MACs each).
    #[target_feature(enable = "avx512f")]
    pub fn fma512(iters: u64) -> f32 {
        let mut acc = [_mm512_set1_ps(0.0); 12];
        let (x, y) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
        for _ in 0..iters {
            for a in &mut acc {
                *a = _mm512_fmadd_ps(*a, x, y);
            }
        }
        acc.iter().map(|&a| _mm512_reduce_add_ps(a)).sum()
    }

    /// Iterations of 12 independent ymm FMAs (96 f32 MACs each).
    #[target_feature(enable = "avx2,fma")]
    pub fn fma256(iters: u64) -> f32 {
        let mut acc = [_mm256_set1_ps(0.0); 12];
        let (x, y) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
        for _ in 0..iters {
            for a in &mut acc {
                *a = _mm256_fmadd_ps(*a, x, y);
            }
        }
        let mut out = [0f32; 8];
        for a in acc {
            let mut lanes = [0f32; 8];
            // SAFETY: `lanes` holds 8 f32.
            unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), a) };
            out.iter_mut().zip(lanes).for_each(|(o, l)| *o += l);
        }
        out.iter().sum()
    }

    /// Iterations of 12 independent zmm `vpdpbusd` (768 int8 MACs each).
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub fn dpbusd512(iters: u64) -> i32 {
        let mut acc = [_mm512_setzero_si512(); 12];
        let (x, y) = (
            _mm512_set1_epi32(0x0102_0304),
            _mm512_set1_epi32(0x0101_0101),
        );
        for _ in 0..iters {
            for a in &mut acc {
                *a = _mm512_dpbusd_epi32(*a, x, y);
            }
        }
        acc.iter().map(|&a| _mm512_reduce_add_epi32(a)).sum()
    }
}

/// MACs per second of `body(iters)` (doing `macs_per_iter` each) on every rayon thread at once.
fn all_threads(macs_per_iter: u64, body: impl Fn(u64) -> f64 + Sync) -> f64 {
    let threads = rayon::current_num_threads();
    let iters = 20_000_000u64;
    body(iters / 10);
    let start = Instant::now();
    let sink: f64 = (0..threads).into_par_iter().map(|_| body(iters)).sum();
    black_box(sink);
    (threads as u64 * iters * macs_per_iter) as f64 / start.elapsed().as_secs_f64()
}

/// Peak f32 MACs/s and how it was obtained, peak int8 MACs/s and how.
type Peak = (f64, String, f64, String);

/// Peak (f32 MACs/s, int8 MACs/s) and how each was obtained.
fn machine_peak() -> Peak {
    #[cfg(target_arch = "x86_64")]
    {
        let mut f32_peak = (0.0, String::from("none"));
        if Isa::Avx2.supported() {
            // SAFETY: AVX2 and FMA are present.
            let r = all_threads(96, |n| f64::from(unsafe { peak::fma256(n) }));
            f32_peak = (r, "12 independent ymm vfmadd231ps, 8 MACs each".into());
        }
        let mut int_peak = (0.0, String::from("none"));
        if Isa::Avx512.supported() {
            // SAFETY: AVX-512F is present.
            let r = all_threads(192, |n| f64::from(unsafe { peak::fma512(n) }));
            if r > f32_peak.0 {
                f32_peak = (r, "12 independent zmm vfmadd231ps, 16 MACs each".into());
            }
            // SAFETY: AVX-512 F/BW/VNNI are present.
            let r = all_threads(768, |n| f64::from(unsafe { peak::dpbusd512(n) }));
            int_peak = (r, "12 independent zmm vpdpbusd, 64 MACs each".into());
        }
        (f32_peak.0, f32_peak.1, int_peak.0, int_peak.1)
    }
    #[cfg(not(target_arch = "x86_64"))]
    (
        f64::NAN,
        "not measured".into(),
        f64::NAN,
        "not measured".into(),
    )
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Int8,
    Fp16,
    Fp32,
}

fn run(
    kind: Kind,
    isa: Isa,
    sp: &ArraySpec,
    s: GemmShape,
    ops: &(Vec<i16>, Vec<i16>, Vec<f32>, Vec<f32>),
) {
    let (ai, bi, af, bf) = ops;
    match kind {
        Kind::Int8 => drop(black_box(gemm_int_on(isa, sp, s, ai, bi, Bias::None))),
        Kind::Fp16 => drop(black_box(gemm_float_on(
            isa,
            sp,
            FloatFormat::Fp16,
            s,
            af,
            bf,
            Bias::None,
        ))),
        Kind::Fp32 => drop(black_box(gemm_float_on(
            isa,
            sp,
            FloatFormat::Fp32,
            s,
            af,
            bf,
            Bias::None,
        ))),
    }
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .configure_from_args();
    let best = Isa::detected();
    let sp = spec(128, 128);
    let small = GemmShape {
        m: 256,
        k: 256,
        n: 256,
    };
    let small_ops = operands(small);
    let mut g = c.benchmark_group("gemm_256");
    g.throughput(criterion::Throughput::Elements(small.macs()));
    for kind in [Kind::Int8, Kind::Fp16, Kind::Fp32] {
        g.bench_function(format!("{kind:?}_{best:?}"), |b| {
            b.iter(|| run(kind, best, &sp, small, &small_ops))
        });
    }
    g.finish();

    let threads = rayon::current_num_threads();
    // The peak is sampled before, between and after the GEMMs, and the highest sample is
    // used: on a shared machine this is the conservative choice (a lower % of peak).
    let mut peaks = vec![machine_peak()];
    let big = GemmShape {
        m: 1024,
        k: 1024,
        n: 1024,
    };
    let big_ops = operands(big);
    let d = Duration::from_millis(600);
    let mut rows = Vec::new();
    for (s, ops) in [(small, &small_ops), (big, &big_ops)] {
        for kind in [Kind::Int8, Kind::Fp16, Kind::Fp32] {
            let rate = |isa: Isa| s.macs() as f64 / time(d, || run(kind, isa, &sp, s, ops));
            let portable = rate(Isa::Portable);
            for isa in Isa::ALL.into_iter().filter(|i| i.supported()) {
                let r = if isa == Isa::Portable {
                    portable
                } else {
                    rate(isa)
                };
                rows.push((kind, s.m, isa, r, portable));
            }
        }
        peaks.push(machine_peak());
    }
    let f32_peak = peaks.iter().map(|p| p.0).fold(0.0, f64::max);
    let int_peak = peaks.iter().map(|p| p.2).fold(0.0, f64::max);
    let samples = |f: &dyn Fn(&Peak) -> f64| {
        let v: Vec<String> = peaks.iter().map(|p| format!("{:.1}", f(p) / 1e9)).collect();
        v.join(", ")
    };
    println!(
        "\nmachine peak on {threads} threads, highest of {} samples in this run:",
        peaks.len()
    );
    println!(
        "  f32  {:>7.1} GMAC/s  ({}; samples {})",
        f32_peak / 1e9,
        peaks[0].1,
        samples(&|p| p.0)
    );
    println!(
        "  int8 {:>7.1} GMAC/s  ({}; samples {})",
        int_peak / 1e9,
        peaks[0].3,
        samples(&|p| p.2)
    );
    println!(
        "\nGEMM throughput on a 128×128 weight-stationary array (K-tiles of 128), {threads} threads:"
    );
    println!(
        "  {:<6} {:<10} {:>8} {:>10} {:>9} {:>12}",
        "type", "shape", "kernel", "GMAC/s", "% peak", "× portable"
    );
    for (kind, size, isa, r, portable) in rows {
        let peak = match kind {
            Kind::Int8 => int_peak,
            _ => f32_peak,
        };
        println!(
            "  {:<6} {:<10} {:>8} {:>10.2} {:>8.1}% {:>11.1}×",
            format!("{kind:?}").to_lowercase(),
            format!("{size}³"),
            format!("{isa:?}").to_lowercase(),
            r / 1e9,
            100.0 * r / peak,
            r / portable,
        );
    }

    // The fast path against the PE-level model on one tile job it can simulate.
    let tile = GemmShape { m: 64, k: 64, n: 8 };
    let (ti, tbi, tf, tbf) = operands(tile);
    let small_array = spec(8, 8);
    let d = Duration::from_millis(300);
    let pe_int = time(d, || {
        drop(black_box(pe::run_int(&small_array, tile, &ti, &tbi, None)))
    });
    let fast_int = time(d, || {
        drop(black_box(gemm_int_on(
            best,
            &small_array,
            tile,
            &ti,
            &tbi,
            Bias::None,
        )))
    });
    let pe_f32 = time(d, || {
        drop(black_box(pe::run_float(
            &small_array,
            FloatFormat::Fp32,
            tile,
            &tf,
            &tbf,
            None,
        )))
    });
    let fast_f32 = time(d, || {
        drop(black_box(gemm_float_on(
            best,
            &small_array,
            FloatFormat::Fp32,
            tile,
            &tf,
            &tbf,
            Bias::None,
        )))
    });
    println!("\n{best:?} kernels vs the PE-level model, one 64×64×8 tile job on an 8×8 array:");
    println!(
        "  int8 {:>10.1}×   fp32 {:>10.1}×",
        pe_int / fast_int,
        pe_f32 / fast_f32
    );
    c.final_summary();
}
