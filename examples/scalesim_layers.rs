//! The cycles cdmsa's timing model gives GEMM layers listed in a SCALE-Sim v2 GEMM topology
//! (`Layer, M, N, K,` rows), each layer cut into tile jobs as the lowering cuts it and each
//! tile job costed by `array::tile_cycles`, on a one-array accelerator; with the time that
//! takes. `benches/compare_scalesim.py` runs it beside SCALE-Sim on the same file.
//!
//! `cargo run --release --example scalesim_layers -- TOPOLOGY.csv ACCEL.toml [REPEATS]`
//! prints one JSON object: per layer the shape, its M-blocks (`[rows, count]`), tile jobs
//! and cycles, and the mean wall time of costing every layer once (over REPEATS, default
//! 1000).
//!
//! Per layer it also prints SCALE-Sim v3's DRAM traffic of the whole layer run as one GEMM
//! (`array::scalesim_traffic_for`: the accelerator file's `sram_split_kib`, else its
//! `sram_kib_per_array` in thirds):
//! `dram_ifmap_reads`, `dram_filter_reads` and `dram_ofmap_writes` in bytes, for int8
//! operands (one byte per element; SCALE-Sim itself counts one byte per element).

use cdmsa::array::{ArraySpec, scalesim_traffic_for, tile_cycles};
use cdmsa::config::AcceleratorConfig;
use cdmsa::kernel::GemmShape;
use cdmsa::lower::tiling::tile_jobs;
use serde_json::json;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

/// Bytes per element of the int8 operands the traffic is printed for.
const INT8_BYTES: u64 = 1;

/// One layer's name and GEMM shape.
struct Layer {
    name: String,
    shape: GemmShape,
}

/// The layers of a SCALE-Sim GEMM topology (header line first; `name, M, N, K,` rows).
fn parse(text: &str) -> Result<Vec<Layer>, String> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').map(str::trim).collect();
            let num = |i: usize| -> Result<usize, String> {
                f.get(i)
                    .and_then(|x| x.parse().ok())
                    .ok_or_else(|| format!("bad topology row '{l}'"))
            };
            Ok(Layer {
                name: f[0].to_string(),
                shape: GemmShape {
                    m: num(1)?,
                    n: num(2)?,
                    k: num(3)?,
                },
            })
        })
        .collect()
}

/// The layer's cycles on one array: Σ over its tile jobs (int8 operands, 4-byte outputs),
/// and its M-blocks with their multiplicities.
fn cost(
    shape: GemmShape,
    cfg: &AcceleratorConfig,
    spec: &ArraySpec,
) -> (u64, usize, Vec<(usize, usize)>) {
    let jobs = tile_jobs(shape, 1, cfg, [1, 1, 4]);
    let cycles = jobs
        .iter()
        .map(|t| {
            tile_cycles(
                spec,
                GemmShape {
                    m: t.m,
                    k: shape.k,
                    n: t.n,
                },
            )
            .0
        })
        .sum();
    let mut blocks: BTreeMap<usize, usize> = BTreeMap::new();
    for t in jobs.iter().filter(|t| t.n0 == 0) {
        *blocks.entry(t.m).or_default() += 1;
    }
    (cycles, jobs.len(), blocks.into_iter().rev().collect())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(topology), Some(accel)) = (args.first(), args.get(1)) else {
        eprintln!("usage: scalesim_layers TOPOLOGY.csv ACCEL.toml [REPEATS]");
        return ExitCode::from(2);
    };
    let repeats: u32 = args
        .get(2)
        .and_then(|r| r.parse().ok())
        .unwrap_or(1000)
        .max(1);
    let run = || -> Result<serde_json::Value, String> {
        let text = std::fs::read_to_string(topology).map_err(|e| format!("{topology}: {e}"))?;
        let layers = parse(&text)?;
        let cfg = AcceleratorConfig::load(accel).map_err(|e| e.to_string())?;
        if cfg.arrays != 1 {
            return Err(format!(
                "{accel}: the comparison needs a one-array accelerator"
            ));
        }
        let spec = ArraySpec::from_config(&cfg);
        let start = Instant::now();
        for _ in 0..repeats {
            for l in &layers {
                black_box(cost(black_box(l.shape), &cfg, &spec));
            }
        }
        let seconds = start.elapsed().as_secs_f64() / f64::from(repeats);
        let rows: Vec<_> = layers
            .iter()
            .map(|l| {
                let (cycles, tiles, blocks) = cost(l.shape, &cfg, &spec);
                let traffic = scalesim_traffic_for(&cfg, l.shape);
                json!({"name": l.name, "m": l.shape.m, "k": l.shape.k, "n": l.shape.n,
                       "tiles": tiles, "m_blocks": blocks, "cycles": cycles,
                       "dram_ifmap_reads": traffic.dram_ifmap_reads * INT8_BYTES,
                       "dram_filter_reads": traffic.dram_filter_reads * INT8_BYTES,
                       "dram_ofmap_writes": traffic.dram_ofmap_writes * INT8_BYTES})
            })
            .collect();
        Ok(
            json!({"accelerator": cfg.name, "seconds_per_pass": seconds, "repeats": repeats, "layers": rows}),
        )
    };
    match run() {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
