//! erf of 1 M f32 values on one thread: libm's scalar f64 `erf` rounded to f32, as the vector
//! unit computed it before, against the vectorised evaluation of the same algorithm
//! (`array::vector::erf`, bit-identical). The values are normal with standard deviation 1
//! (MiniLM's GELUs give erf about the same mix: 70 % below 0.84375, 17 % in [1.25, 6), the
//! vectorised path's slow pieces) and 2 (half in [1.25, 6)). Criterion statistics, then the
//! ratio from alternating timed runs.
//!
//! `cargo bench --bench erf`

use cdmsa::array::vector::erf::erf_into;
use criterion::Criterion;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use std::hint::black_box;
use std::time::{Duration, Instant};

const N: usize = 1 << 20;

fn libm_into(src: &[f32], dst: &mut [f32]) {
    for (d, &x) in dst.iter_mut().zip(src) {
        *d = libm::erf(f64::from(x)) as f32;
    }
}

/// Mean seconds per call of `f` over at least `min` of wall time.
fn time(min: Duration, mut f: impl FnMut()) -> f64 {
    let (start, mut n) = (Instant::now(), 0u32);
    while start.elapsed() < min || n < 2 {
        f();
        n += 1;
    }
    start.elapsed().as_secs_f64() / f64::from(n)
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300))
        .configure_from_args();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut ratios = Vec::new();
    for sigma in [1f32, 2.0] {
        let normal = Normal::new(0f32, sigma).expect("a valid distribution");
        let xs: Vec<f32> = (0..N).map(|_| normal.sample(&mut rng)).collect();
        let (mut a, mut b) = (vec![0f32; N], vec![0f32; N]);
        libm_into(&xs, &mut a);
        erf_into(&xs, &mut b);
        assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));

        let mut g = c.benchmark_group(format!("erf_1m_sigma_{sigma}"));
        g.throughput(criterion::Throughput::Elements(N as u64));
        g.bench_function("libm_scalar", |bch| {
            bch.iter(|| libm_into(black_box(&xs), &mut a))
        });
        g.bench_function("vectorised", |bch| {
            bch.iter(|| erf_into(black_box(&xs), &mut b))
        });
        g.finish();

        let d = Duration::from_millis(500);
        let (mut old, mut new) = (f64::INFINITY, f64::INFINITY);
        for _ in 0..5 {
            old = old.min(time(d, || libm_into(black_box(&xs), &mut a)));
            new = new.min(time(d, || erf_into(black_box(&xs), &mut b)));
        }
        ratios.push((sigma, old, new));
    }
    for (sigma, o, n) in ratios {
        println!(
            "erf of 1M values, sigma {sigma}: libm {:.2} ms ({:.1} ns/value), vectorised {:.2} ms \
             ({:.1} ns/value), {:.1}x faster (best of 5 alternating)",
            o * 1e3,
            o * 1e9 / N as f64,
            n * 1e3,
            n * 1e9 / N as f64,
            o / n
        );
    }
}
