//! Checks the vectorised erf (`cdmsa::array::vector::erf::erf_into`) against
//! `libm::erf(f64::from(x)) as f32` on all 2³² f32 bit patterns, in parallel blocks, and
//! prints the mismatches: bits that differ, NaN bits counted apart (a NaN where libm gives a
//! NaN with other bits).
//!
//! `cargo run --release --example erf_exhaustive` (about a minute per core).

use cdmsa::array::vector::erf::erf_into;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bit patterns per block.
const BLOCK: u64 = 1 << 16;

fn main() {
    let start = std::time::Instant::now();
    let first = AtomicU64::new(u64::MAX);
    let (mismatches, nan_bits) = (0..(1u64 << 32) / BLOCK)
        .into_par_iter()
        .map(|b| {
            let xs: Vec<f32> = (b * BLOCK..(b + 1) * BLOCK)
                .map(|i| f32::from_bits(i as u32))
                .collect();
            let mut got = vec![0f32; xs.len()];
            erf_into(&xs, &mut got);
            let (mut bad, mut nan) = (0u64, 0u64);
            for (&x, &g) in xs.iter().zip(&got) {
                let want = libm::erf(f64::from(x)) as f32;
                if g.to_bits() != want.to_bits() {
                    if g.is_nan() && want.is_nan() {
                        nan += 1;
                    } else {
                        bad += 1;
                        first.fetch_min(u64::from(x.to_bits()), Ordering::Relaxed);
                    }
                }
            }
            (bad, nan)
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    println!(
        "erf over all 2^32 f32: {mismatches} mismatches, {nan_bits} NaNs with other NaN bits \
         ({:.1} s)",
        start.elapsed().as_secs_f64()
    );
    if mismatches > 0 {
        let x = f32::from_bits(first.load(Ordering::Relaxed) as u32);
        println!(
            "lowest mismatching input bits {:#010x} ({x:e})",
            x.to_bits()
        );
        std::process::exit(1);
    }
}
