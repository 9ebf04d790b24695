//! Seeded random workloads over the zoo, of the kinds users write: 2–8 tenants on one of the
//! multi-array presets, Poisson, periodic (in phase or out of phase) and bursty arrivals,
//! SLAs from 1.5× to 10× the isolated latency or the MLPerf server bound, PREMA priorities
//! and WSTP weights. For tournaments of schedulers on workloads nobody tuned them for.
//!
//! Rates are set so that the accelerator is nominally fully used at load factor 1: tenant `i`
//! gets a share `u_i` of the accelerator (the shares sum to 1) and requests at
//! `u_i / isolated_i` per second, `isolated_i` being its model's latency alone on the
//! accelerator. Sweeps scale every rate from there ([`Workload::scaled`]).

use super::{Arrival, Sla, Stop, TenantSpec, Workload};
use crate::error::Result;
use crate::kernel::Precision;
use crate::units::TenantId;
use crate::zoo::{DECODERS, ModelSource, NAMES};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;

/// The presets generated workloads run on: the multi-array ones (`tiny`'s 8×8 arrays would
/// take the zoo's networks minutes per request to simulate).
pub const GENERATED_PRESETS: [&str; 3] = ["tpu-msa", "nnpi-msa", "planaria-16"];

/// The MLPerf Inference datacenter server-scenario latency bounds of the zoo models that have
/// one (ResNet-50, SSD-ResNet34, BERT), in milliseconds.
pub const MLPERF_SERVER_MS: [(&str, f64); 3] = [
    ("resnet50", 15.0),
    ("ssd_resnet34", 100.0),
    ("bert_base", 130.0),
];

/// The range of SLA factors drawn (× the isolated latency), log-uniformly.
pub const SLA_FACTORS: (f64, f64) = (1.5, 10.0);

/// The range of tenant counts drawn, uniformly.
pub const TENANTS: (usize, usize) = (2, 8);

/// The `index`-th workload of the tournament seeded `seed`, stopping after `requests`
/// requests. `isolated_ms(model, preset)` gives a zoo model's latency alone on a preset.
///
/// # Errors
/// Whatever `isolated_ms` returns.
pub fn generate(
    seed: u64,
    index: u64,
    requests: u64,
    isolated_ms: &mut dyn FnMut(&'static str, &'static str) -> Result<f64>,
) -> Result<Workload> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    let preset = GENERATED_PRESETS[rng.random_range(0..GENERATED_PRESETS.len())];
    let count = rng.random_range(TENANTS.0..=TENANTS.1);
    // Shares of the accelerator: normalised exponentials (a flat Dirichlet).
    let raw: Vec<f64> = (0..count)
        .map(|_| -(1.0 - rng.random::<f64>()).ln())
        .collect();
    let total: f64 = raw.iter().sum();
    // Periodic tenants share one phase unless the workload is out of phase.
    let in_phase = rng.random_bool(0.5);
    let mut tenants = Vec::with_capacity(count);
    for (i, share) in raw.iter().map(|r| r / total).enumerate() {
        // The decoders (the last names) run token loops, not single requests.
        let model = NAMES[rng.random_range(0..NAMES.len() - DECODERS.len())];
        let iso_ms = isolated_ms(model, preset)?;
        let rate_per_s = share * 1e3 / iso_ms;
        let mlperf = MLPERF_SERVER_MS.iter().find(|(m, _)| *m == model);
        let sla = match mlperf {
            Some(&(_, ms)) if rng.random_bool(0.25) => Sla::Ms(ms),
            _ => {
                let (lo, hi) = SLA_FACTORS;
                Sla::Factor(round4(lo * (hi / lo).powf(rng.random::<f64>())))
            }
        };
        let arrival = match rng.random_range(0..10) {
            0..4 => Arrival::Poisson {
                rate_per_s: round4(rate_per_s),
            },
            4..7 => {
                let period_ms = round4(1e3 / rate_per_s);
                let offset_ms = if in_phase {
                    0.0
                } else {
                    round4(period_ms * rng.random::<f64>())
                };
                Arrival::Periodic {
                    period_ms,
                    offset_ms,
                }
            }
            _ => {
                // On 10 % to 50 % of the time, on periods of 5 to 50 isolated latencies.
                let duty = rng.random_range(0.1..0.5);
                let on_ms = iso_ms * rng.random_range(5.0..50.0);
                Arrival::Bursty {
                    rate_per_s: round4(rate_per_s / duty),
                    on_ms: round4(on_ms),
                    off_ms: round4(on_ms * (1.0 - duty) / duty),
                }
            }
        };
        tenants.push(TenantSpec {
            id: TenantId(i as u32),
            name: format!("t{i}-{model}"),
            model: ModelSource::Zoo(model),
            precision: Precision::Native,
            batch: 1,
            priority: [1, 3, 9][rng.random_range(0..3)],
            weight: [1.0, 2.0, 4.0][rng.random_range(0..3)],
            sla,
            arrival,
            decode: None,
        });
    }
    Ok(Workload {
        seed: rng.random_range(0..1 << 32),
        stop: Stop::Requests(requests),
        warmup: 0,
        min_span_slas: 0.0,
        accel: Some(preset.to_string()),
        tenants,
        base_dir: PathBuf::new(),
    })
}

/// `x` to four significant digits, so that files stay readable.
fn round4(x: f64) -> f64 {
    if x == 0.0 {
        return 0.0;
    }
    let scale = 10f64.powi(3 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-picked isolated latencies: 1 ms per zoo name index + 1.
    fn iso(model: &str, _preset: &str) -> Result<f64> {
        Ok(NAMES.iter().position(|n| *n == model).unwrap() as f64 + 1.0)
    }

    fn make(seed: u64, index: u64) -> Workload {
        generate(seed, index, 500, &mut |m, p| iso(m, p)).unwrap()
    }

    #[test]
    fn the_same_seed_and_index_give_the_same_workload_and_others_differ() {
        assert_eq!(make(7, 3), make(7, 3));
        assert_ne!(make(7, 3), make(7, 4));
        assert_ne!(make(7, 3), make(8, 3));
    }

    #[test]
    fn generated_workloads_are_written_and_read_back_unchanged() {
        for index in 0..50 {
            let mut w = make(1, index);
            let text = w.to_toml().unwrap();
            let back = Workload::from_toml(&text, &w.base_dir).unwrap();
            assert_eq!(back, w, "{text}");
            // The same with its first tenant a decoder.
            let first = &mut w.tenants[0];
            first.decode = Some(crate::workload::Decode {
                prompt: index as usize + 1,
                generate: 2 * index as usize + 1,
                kv_block: 1 << (index % 11),
            });
            first.sla = Sla::Tokens {
                ttft_ms: 1.5 + index as f64,
                tpot_ms: 0.25,
            };
            let text = w.to_toml().unwrap();
            let back = Workload::from_toml(&text, &w.base_dir).unwrap();
            assert_eq!(back, w, "{text}");
        }
    }

    /// Σ rate_i · isolated_i = 1 (up to the rounding to 4 significant digits) at load 1.
    #[test]
    fn the_accelerator_is_nominally_full_at_load_one() {
        for index in 0..50 {
            let w = make(2, index);
            let busy: f64 = w
                .tenants
                .iter()
                .map(|t| {
                    let ModelSource::Zoo(m) = t.model else {
                        panic!("zoo models only")
                    };
                    t.arrival.mean_rate_per_s() * iso(m, "").unwrap() / 1e3
                })
                .sum();
            assert!((busy - 1.0).abs() < 2e-3, "workload {index}: {busy}");
        }
    }

    #[test]
    fn draws_cover_the_declared_ranges_and_kinds() {
        let ws: Vec<Workload> = (0..200).map(|i| make(3, i)).collect();
        let tenants: Vec<&TenantSpec> = ws.iter().flat_map(|w| &w.tenants).collect();
        let counts: Vec<usize> = ws.iter().map(|w| w.tenants.len()).collect();
        assert_eq!(counts.iter().min(), Some(&TENANTS.0));
        assert_eq!(counts.iter().max(), Some(&TENANTS.1));
        for p in GENERATED_PRESETS {
            assert!(ws.iter().any(|w| w.accel.as_deref() == Some(p)), "{p}");
        }
        let kind = |f: fn(&Arrival) -> bool| tenants.iter().filter(|t| f(&t.arrival)).count();
        assert!(kind(|a| matches!(a, Arrival::Poisson { .. })) > 0);
        assert!(kind(|a| matches!(a, Arrival::Bursty { .. })) > 0);
        let periodic = |w: &Workload| -> Vec<f64> {
            w.tenants
                .iter()
                .filter_map(|t| match t.arrival {
                    Arrival::Periodic { offset_ms, .. } => Some(offset_ms),
                    _ => None,
                })
                .collect()
        };
        assert!(ws.iter().any(|w| {
            let offsets = periodic(w);
            offsets.len() >= 2 && offsets.iter().all(|&o| o == 0.0)
        }));
        assert!(ws.iter().any(|w| periodic(w).iter().any(|&o| o > 0.0)));
        for t in &tenants {
            match t.sla {
                Sla::Factor(f) => assert!((SLA_FACTORS.0..=SLA_FACTORS.1).contains(&f), "{f}"),
                Sla::Ms(ms) => assert!(MLPERF_SERVER_MS.iter().any(|&(_, b)| b == ms)),
                Sla::Tokens { .. } => panic!("generated tenants have no token loop"),
            }
            assert!([1, 3, 9].contains(&t.priority));
        }
        assert!(tenants.iter().any(|t| matches!(t.sla, Sla::Ms(_))));
    }
}
