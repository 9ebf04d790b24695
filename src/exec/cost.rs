//! Isolated-run timing: each layer's tile jobs spread over the arrays, bounded by the shared DRAM.

use crate::array::{ArraySpec, tile_cycles};
use crate::config::AcceleratorConfig;
use crate::kernel::{GemmShape, Kernel, Program};
use crate::units::Cycles;
use serde::Serialize;

/// Cycles and work of one layer (node) run alone on the whole accelerator.
#[derive(Debug, Clone, Serialize)]
pub struct LayerCost {
    /// Node name.
    pub name: String,
    /// ONNX op type.
    pub op: String,
    /// "array" or "vector".
    pub unit: &'static str,
    /// GEMM shape of each problem (array layers).
    pub gemm: Option<GemmShape>,
    /// Independent GEMM problems (batch × groups).
    pub problems: usize,
    /// Tile jobs.
    pub tiles: usize,
    /// Multiply-accumulates.
    pub macs: u64,
    /// Busiest array's compute cycles (array layers) or vector-unit cycles.
    pub compute_cycles: Cycles,
    /// Cycles to move the layer's DRAM traffic at the shared bandwidth.
    pub dram_cycles: Cycles,
    /// The layer's latency: the larger of the two.
    pub cycles: Cycles,
}

/// Costs every layer of `program` on `cfg`.
pub fn layer_costs(program: &Program, cfg: &AcceleratorConfig) -> Vec<LayerCost> {
    let spec = ArraySpec::from_config(cfg);
    program
        .graph
        .nodes
        .iter()
        .zip(&program.kernels)
        .map(|(node, kernel)| {
            let (gemm, problems, tiles, macs, compute, bytes) = match kernel {
                Kernel::Gemm(k) => {
                    // Tile jobs go, in order, to the array that frees up first.
                    let mut load = vec![Cycles::ZERO; cfg.arrays];
                    let mut bytes = 0u64;
                    for t in &k.tiles {
                        let c = tile_cycles(
                            &spec,
                            GemmShape {
                                m: t.m,
                                k: k.shape.k,
                                n: t.n,
                            },
                        );
                        let idle = load.iter_mut().min().expect("at least one array");
                        *idle += c;
                        bytes = bytes.saturating_add(k.tile_bytes(t));
                    }
                    (
                        Some(k.shape),
                        k.problems,
                        k.tiles.len(),
                        k.macs(),
                        load.into_iter().max().unwrap_or_default(),
                        bytes,
                    )
                }
                Kernel::Vector(v) => (
                    None,
                    0,
                    0,
                    0,
                    Cycles(v.work.div_ceil(cfg.vector_lanes as u64)),
                    0,
                ),
            };
            let dram = Cycles(bytes.div_ceil(cfg.dram_bytes_per_cycle));
            LayerCost {
                name: node.name.clone(),
                op: node.op.name().to_string(),
                unit: if gemm.is_some() { "array" } else { "vector" },
                gemm,
                problems,
                tiles,
                macs,
                compute_cycles: compute,
                dram_cycles: dram,
                cycles: compute.max(dram),
            }
        })
        .collect()
}
