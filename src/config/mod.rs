//! `AcceleratorConfig`: the emulated machine (arrays, their shape and dataflow, memory, clock) and its presets.

use crate::error::{Error, Result};
use crate::files;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Which operand stays in the PEs while the others stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dataflow {
    /// Weight-stationary (TPU-like): weights preloaded, activations stream right, partial sums flow down.
    Ws,
    /// Output-stationary: each PE accumulates one output; activations and weights stream in.
    Os,
    /// Input-stationary: activations preloaded, weights stream.
    Is,
}

/// How consecutive folds of one tile job overlap in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimingMode {
    /// SCALE-Sim v2's model: folds back to back, no overlap.
    Scalesim,
    /// Double-buffered weights: the next fold preloads while the current one streams.
    Pipelined,
}

/// The partial-sum type of the floating-point datapaths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PsumType {
    /// f32 partial sums (TPU-like).
    Fp32,
    /// fp16 partial sums, every PE rounds its fused MAC to fp16 (Gemmini-like).
    Fp16,
}

/// One accelerator: `arrays` systolic arrays of `rows`×`cols` PEs sharing one DRAM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceleratorConfig {
    /// Preset or user-given name.
    pub name: String,
    /// Number of systolic arrays.
    pub arrays: usize,
    /// PE rows per array (the K dimension of a weight-stationary fold).
    pub rows: usize,
    /// PE columns per array (the N dimension of a weight-stationary fold).
    pub cols: usize,
    /// Dataflow of every array.
    pub dataflow: Dataflow,
    /// Fold overlap model.
    pub timing: TimingMode,
    /// Partial-sum type of the fp16/bf16 datapaths.
    pub psum: PsumType,
    /// Clock frequency in MHz (cycles → milliseconds).
    pub clock_mhz: f64,
    /// Scratchpad per array in KiB (double-buffered).
    pub sram_kib_per_array: u64,
    /// Shared DRAM bandwidth in bytes per cycle.
    pub dram_bytes_per_cycle: u64,
    /// Lanes of the vector unit (elements per cycle).
    pub vector_lanes: usize,
}

/// The slowest clock an accelerator may have, in MHz (1 kHz): times in ms stay finite.
pub const MIN_CLOCK_MHZ: f64 = 1e-3;
/// The fastest clock an accelerator may have, in MHz (1 THz).
pub const MAX_CLOCK_MHZ: f64 = 1e6;

/// What errors about an accelerator file call it.
const WHAT: &str = "accelerator TOML";

/// The embedded presets, as (name, TOML text).
pub const PRESETS: &[(&str, &str)] = &[
    ("tpu-msa", include_str!("../../presets/tpu-msa.toml")),
    ("nnpi-msa", include_str!("../../presets/nnpi-msa.toml")),
    (
        "planaria-16",
        include_str!("../../presets/planaria-16.toml"),
    ),
    ("tiny", include_str!("../../presets/tiny.toml")),
];

impl AcceleratorConfig {
    /// Parses and validates a TOML description.
    pub fn from_toml(text: &str) -> Result<AcceleratorConfig> {
        let cfg: AcceleratorConfig =
            toml::from_str(text).map_err(|e| files::toml_error(WHAT, &e, text))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// A named preset.
    pub fn preset(name: &str) -> Result<AcceleratorConfig> {
        let (_, text) = PRESETS
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| Error::Config {
                field: "accel".into(),
                msg: format!(
                    "no preset '{name}' (presets: {})",
                    PRESETS
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
        AcceleratorConfig::from_toml(text)
    }

    /// A preset name, or else a path to a TOML file.
    pub fn load(name_or_path: &str) -> Result<AcceleratorConfig> {
        if PRESETS.iter().any(|(n, _)| *n == name_or_path) {
            return AcceleratorConfig::preset(name_or_path);
        }
        let path = Path::new(name_or_path);
        let text = files::read_toml_text(path, WHAT)?;
        AcceleratorConfig::from_toml(&text).map_err(|e| e.in_file(path))
    }

    /// Reads the accelerator file at `path` named inside another file (a workload): a TOML
    /// error says where it is but not what the parser read, so naming a file that is no
    /// accelerator description (a secret, say) never prints its content.
    pub fn load_referenced(path: &Path) -> Result<AcceleratorConfig> {
        let text = files::read_toml_text(path, WHAT)?;
        let cfg: AcceleratorConfig = toml::from_str(&text)
            .map_err(|e| files::toml_error_quiet(WHAT, &e, &text).in_file(path))?;
        cfg.validate().map_err(|e| e.in_file(path))?;
        Ok(cfg)
    }

    /// The default accelerator (`tpu-msa`).
    pub fn default_preset() -> AcceleratorConfig {
        AcceleratorConfig::preset("tpu-msa").expect("embedded preset is valid")
    }

    fn validate(&self) -> Result<()> {
        let check = |ok: bool, field: &str, msg: &str| -> Result<()> {
            if ok {
                Ok(())
            } else {
                Err(Error::Config {
                    field: field.into(),
                    msg: msg.into(),
                })
            }
        };
        check(
            (1..=4096).contains(&self.arrays),
            "arrays",
            "must be 1..=4096",
        )?;
        check((1..=4096).contains(&self.rows), "rows", "must be 1..=4096")?;
        check((1..=4096).contains(&self.cols), "cols", "must be 1..=4096")?;
        check(
            (MIN_CLOCK_MHZ..=MAX_CLOCK_MHZ).contains(&self.clock_mhz),
            "clock_mhz",
            &format!("must be a number from {MIN_CLOCK_MHZ} to {MAX_CLOCK_MHZ} (1 kHz to 1 THz)"),
        )?;
        check(
            self.dram_bytes_per_cycle > 0,
            "dram_bytes_per_cycle",
            "must be positive",
        )?;
        check(self.vector_lanes > 0, "vector_lanes", "must be positive")?;
        check(
            self.sram_kib_per_array > 0,
            "sram_kib_per_array",
            "must be positive",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses_and_tpu_msa_has_64k_macs() {
        for (name, _) in PRESETS {
            let cfg = AcceleratorConfig::preset(name).unwrap();
            assert_eq!(&cfg.name, name);
        }
        let tpu = AcceleratorConfig::preset("tpu-msa").unwrap();
        assert_eq!(tpu.arrays * tpu.rows * tpu.cols, 65536);
    }

    #[test]
    fn unknown_field_and_zero_arrays_are_rejected() {
        let text = PRESETS[3].1.replace("arrays = 2", "arrays = 0");
        assert!(matches!(
            AcceleratorConfig::from_toml(&text),
            Err(Error::Config { .. })
        ));
        let text = format!("{}\nbogus = 1\n", PRESETS[3].1);
        assert!(AcceleratorConfig::from_toml(&text).is_err());
    }
}
