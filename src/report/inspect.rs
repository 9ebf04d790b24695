//! The report of `cdmsa inspect`: a model's lowered layers and their isolated cost.

use super::{layer_table, peak};
use crate::config::AcceleratorConfig;
use crate::exec::{LayerCost, Traffic};
use crate::ir::InputBinding;
use crate::units::Cycles;
use serde::Serialize;
use std::fmt::Write;

/// A model's layers on an accelerator, each run alone on the whole of it, and their totals.
#[derive(Debug, Clone, Serialize)]
pub struct InspectReport {
    /// The model, as the user named it.
    pub model: String,
    /// Accelerator preset or file name.
    pub accelerator: String,
    /// Multiply-accumulates on the arrays.
    pub macs: u64,
    /// Isolated latency: the layers one after another.
    pub cycles: Cycles,
    /// Milliseconds at the accelerator's clock.
    pub latency_ms: f64,
    /// MACs / (cycles × arrays × rows × cols).
    pub utilization: f64,
    /// Tile jobs.
    pub tiles: usize,
    /// DRAM traffic and scratchpad hits of all the layers.
    pub traffic: Traffic,
    /// Per-layer costs.
    pub layers: Vec<LayerCost>,
}

impl InspectReport {
    /// The report of `model`'s `layers` on `cfg`.
    pub fn new(model: String, cfg: &AcceleratorConfig, layers: Vec<LayerCost>) -> InspectReport {
        let cycles: Cycles = layers.iter().map(|l| l.cycles).sum();
        let macs: u64 = layers.iter().map(|l| l.macs).sum();
        InspectReport {
            model,
            accelerator: cfg.name.clone(),
            macs,
            cycles,
            latency_ms: cycles.to_ms(cfg.clock_mhz),
            utilization: if cycles.0 == 0 {
                0.0
            } else {
                macs as f64 / (cycles.0 as f64 * peak(cfg))
            },
            tiles: layers.iter().map(|l| l.tiles).sum(),
            traffic: layers.iter().fold(Traffic::default(), |mut t, l| {
                t += l.traffic;
                t
            }),
            layers,
        }
    }

    /// The text of the report, for a model run on `inputs`.
    pub fn text(&self, inputs: &[InputBinding], cfg: &AcceleratorConfig) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "model: {}  accelerator: {}  inputs: {:?}",
            self.model,
            self.accelerator,
            inputs
                .iter()
                .map(|b| format!("{}{:?}", b.dtype, b.shape))
                .collect::<Vec<_>>()
        );
        s.push_str(&layer_table(&self.layers, peak(cfg)));
        let _ = writeln!(
            s,
            "total: {} layers, {} tiles, {} MACs ({:.3} GMAC), {} cycles ({:.4} ms), utilization {:.2} %",
            self.layers.len(),
            self.tiles,
            self.macs,
            self.macs as f64 / 1e9,
            self.cycles,
            self.latency_ms,
            100.0 * self.utilization
        );
        let t = &self.traffic;
        let _ = writeln!(
            s,
            "dram: {} bytes read, {} written; scratchpad hits: {} blocks, {} bytes",
            t.dram_read_bytes, t.dram_write_bytes, t.sram_hits, t.sram_hit_bytes
        );
        s
    }
}
