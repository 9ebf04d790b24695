//! Human-readable and JSON renderings of reports.

pub mod inspect;
pub mod metrics;
pub mod plot;
pub mod simulation;

use crate::config::AcceleratorConfig;
use crate::error::{Error, Result, write_file};
use crate::exec::LayerCost;
use crate::verify::{Comparison, RunReport};
use serde::Serialize;
use std::fmt::Write;
use std::path::Path;

/// Writes any report as pretty JSON.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| Error::Invalid(format!("JSON: {e}")))?;
    write_file(path, format!("{text}\n").as_bytes())
}

fn verdict(c: &Comparison) -> String {
    format!(
        "{:<5} {:<16} exact={} max_ulp={} max_abs_error={:.3e} mismatches={} tolerance={}",
        if c.pass { "PASS" } else { "FAIL" },
        c.name,
        c.exact,
        c.max_ulp,
        c.max_abs_error,
        c.mismatches,
        match c.tolerance {
            crate::verify::Tolerance::Exact => "exact".to_string(),
            crate::verify::Tolerance::Ulp { max } => format!("ulp:{max}"),
            crate::verify::Tolerance::Close { rtol, atol } => format!("close:{rtol},{atol}"),
            crate::verify::Tolerance::Norm { rel } => format!("norm:{rel}"),
        }
    )
}

/// The per-layer table.
pub fn layer_table(layers: &[LayerCost], arrays_macs_per_cycle: f64) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<28} {:<18} {:<6} {:>18} {:>6} {:>12} {:>12} {:>7} {:>12} {:>12} {:>12}",
        "layer",
        "op",
        "unit",
        "gemm m×k×n",
        "tiles",
        "macs",
        "cycles",
        "util",
        "dram read",
        "dram write",
        "sram hit"
    );
    for l in layers {
        let gemm = l.gemm.map_or(String::from("-"), |g| {
            let base = format!("{}×{}×{}", g.m, g.k, g.n);
            if l.problems > 1 {
                format!("{}·{base}", l.problems)
            } else {
                base
            }
        });
        let util = if l.macs == 0 || l.cycles.0 == 0 {
            String::from("-")
        } else {
            format!(
                "{:.1}%",
                100.0 * l.macs as f64 / (l.cycles.0 as f64 * arrays_macs_per_cycle)
            )
        };
        let name: String = l.name.chars().take(28).collect();
        let t = &l.traffic;
        let _ = writeln!(
            s,
            "{name:<28} {:<18} {:<6} {gemm:>18} {:>6} {:>12} {:>12} {util:>7} {:>12} {:>12} {:>12}",
            l.op,
            l.unit,
            l.tiles,
            l.macs,
            l.cycles.0,
            t.dram_read_bytes,
            t.dram_write_bytes,
            t.sram_hit_bytes
        );
    }
    s
}

/// MACs per cycle of all the arrays together.
fn peak(cfg: &AcceleratorConfig) -> f64 {
    (cfg.arrays * cfg.rows * cfg.cols) as f64
}

/// The text of a `run` report on `cfg`.
pub fn run_text(r: &RunReport, cfg: &AcceleratorConfig, per_layer: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "model: {}", r.model);
    let _ = writeln!(s, "accelerator: {}", r.accelerator);
    for (name, shape) in &r.output_shapes {
        let _ = writeln!(s, "output {name} {shape:?}");
    }
    if r.verified {
        for c in &r.outputs {
            let _ = writeln!(s, "{}", verdict(c));
        }
    } else {
        let _ = writeln!(s, "no reference given: outputs not verified");
    }
    if let Some((ok, n)) = r.accuracy {
        let _ = writeln!(
            s,
            "accuracy: {ok}/{n} = {:.2} %",
            100.0 * ok as f64 / n.max(1) as f64
        );
    }
    if !r.accumulator_overflows.is_empty() {
        let _ = writeln!(
            s,
            "warning: int32 accumulator wrapped in {}",
            r.accumulator_overflows.join(", ")
        );
    }
    let _ = writeln!(
        s,
        "cycles: {} ({:.4} ms), macs: {}, utilization: {:.2} %",
        r.cycles,
        r.latency_ms,
        r.macs,
        100.0 * r.utilization
    );
    if per_layer {
        s.push_str(&layer_table(&r.layers, peak(cfg)));
    }
    let _ = writeln!(
        s,
        "{}",
        if !r.verified {
            "RESULT: computed (unverified)"
        } else if r.pass {
            "RESULT: PASS"
        } else {
            "RESULT: FAIL"
        }
    );
    s
}
