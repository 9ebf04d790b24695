//! `AcceleratorConfig`: the emulated machine (arrays, their shape and dataflow, memory, clock) and its presets.

use crate::error::{Error, Result};
use crate::files;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

mod rewrites;

pub use rewrites::{Rewrite, Rewrites};

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

/// What each array's scratchpad keeps between tile jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Residency {
    /// Operand tiles stay resident until evicted, least recently used first: a weight tile is
    /// fetched once for the M-blocks that reuse it on that array, an input tile once for its
    /// N-blocks.
    #[default]
    Lru,
    /// Nothing stays: every tile job fetches all its operands (an ablation).
    None,
}

/// A tenant's claim on the shared DRAM bandwidth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DramClaim {
    /// Weight of each of the tenant's streams when the bandwidth is divided (default 1).
    #[serde(default = "one")]
    pub share: u32,
    /// Most bytes per cycle all the tenant's streams together may take (default: no cap).
    #[serde(default)]
    pub cap: Option<u64>,
}

fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
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
    /// The scratchpad split per operand, `[inputs, weights, outputs]` in KiB (summing to
    /// `sram_kib_per_array`); unified when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sram_split_kib: Option<[u64; 3]>,
    /// What the scratchpad keeps between tile jobs.
    #[serde(default)]
    pub residency: Residency,
    /// Whether the lowering packs independent GEMM problems too small to fill an array
    /// (depthwise-convolution channels, attention heads) block-diagonally into one tile job,
    /// as an accelerator compiler does (weight-stationary arrays only; default on).
    #[serde(default = "yes")]
    pub pack_problems: bool,
    /// Whether a KV-cache append (a Concat of a graph input, the past cache, with this step's
    /// keys or values into a graph output, the present cache) is costed in place, as an
    /// accelerator keeps the cache in DRAM and writes only the new tokens: the vector job
    /// reads and writes the new part alone, and the cache is read by the attention GEMMs that
    /// consume it. Off, the job copies the whole cache every step (default on).
    #[serde(default = "yes")]
    pub kv_append_in_place: bool,
    /// Whether a Transpose that swaps only the last two axes of a MatMul's B operand (and
    /// feeds nothing else) is folded into the operand's layout, as an accelerator compiler
    /// does: the weight loader reads the matrix by columns, and the Transpose costs nothing.
    /// Off, it runs on the vector unit (default on).
    #[serde(default = "yes")]
    pub fold_operand_transposes: bool,
    /// Whether the lowering cuts a GEMM's rows into M-blocks over every array even when its
    /// column blocks (and packs of problems) already give each array a tile job: more,
    /// shorter tile jobs, each M-block fetching the layer's weight blocks again unless the
    /// same array runs them. Off, rows are cut only as far as the arrays need (default off).
    #[serde(default)]
    pub spread_rows: bool,
    /// The graph rewrites the lowering runs (see [`Rewrites`] for the default).
    #[serde(default, skip_serializing_if = "Rewrites::is_default")]
    pub rewrites: Rewrites,
    /// DRAM the decoder tenants' KV caches may take together, in MiB (absent: unbounded). A
    /// decoder request reserves its whole cache, prompt and generated tokens, when it is
    /// admitted; one that does not fit waits, in arrival order, until finished requests free
    /// enough, and one larger than the whole capacity is refused (see `crate::sim::Decoder`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_cache_mib: Option<u64>,
    /// Shared DRAM bandwidth in bytes per cycle.
    pub dram_bytes_per_cycle: u64,
    /// Lanes of the vector unit (elements per cycle).
    pub vector_lanes: usize,
    /// Per-tenant DRAM shares and caps, by tenant name (MoCA-style partitioning); a tenant
    /// not named has share 1 and no cap.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dram_tenants: BTreeMap<String, DramClaim>,
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
        )?;
        if let Some(split) = self.sram_split_kib {
            check(
                split.iter().all(|&p| p > 0)
                    && split.iter().try_fold(0u64, |a, &p| a.checked_add(p))
                        == Some(self.sram_kib_per_array),
                "sram_split_kib",
                "must be three positive sizes [inputs, weights, outputs] summing to sram_kib_per_array",
            )?;
        }
        check(
            self.kv_cache_mib.is_none_or(|m| (1..=1 << 30).contains(&m)),
            "kv_cache_mib",
            "must be 1..=1073741824 (1 PiB)",
        )?;
        for (name, claim) in &self.dram_tenants {
            check(
                claim.share > 0,
                &format!("dram_tenants.{name}.share"),
                "must be positive",
            )?;
            check(
                claim.cap != Some(0),
                &format!("dram_tenants.{name}.cap"),
                "must be positive",
            )?;
        }
        Ok(())
    }

    /// The scratchpad of one array in bytes per operand, `[inputs, weights, outputs]`, or
    /// `None` when unified.
    pub fn sram_split_bytes(&self) -> Option<[u64; 3]> {
        self.sram_split_kib
            .map(|s| s.map(|kib| kib.saturating_mul(1024)))
    }

    /// The scratchpad of one array in bytes.
    pub fn sram_bytes(&self) -> u64 {
        self.sram_kib_per_array.saturating_mul(1024)
    }

    /// The DRAM claim of the tenant named `name`.
    pub fn dram_claim(&self, name: &str) -> DramClaim {
        self.dram_tenants.get(name).copied().unwrap_or(DramClaim {
            share: 1,
            cap: None,
        })
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

    /// The scratchpad split must add up to the scratchpad; shares and caps must be positive.
    #[test]
    fn split_and_claims_are_validated() {
        let tiny = PRESETS[3].1;
        let ok = format!("{tiny}sram_split_kib = [16, 32, 16]\n");
        let cfg = AcceleratorConfig::from_toml(&ok).unwrap();
        assert_eq!(cfg.sram_split_bytes(), Some([16384, 32768, 16384]));
        for bad in [
            "sram_split_kib = [16, 32, 8]\n",
            "sram_split_kib = [0, 32, 32]\n",
            "[dram_tenants.a]\nshare = 0\n",
            "[dram_tenants.a]\ncap = 0\n",
            "[dram_tenants.a]\nweight = 2\n",
        ] {
            let text = format!("{tiny}{bad}");
            assert!(AcceleratorConfig::from_toml(&text).is_err(), "{bad}");
        }
        let text = format!("{tiny}residency = \"none\"\n[dram_tenants.a]\ncap = 4\n");
        let cfg = AcceleratorConfig::from_toml(&text).unwrap();
        assert_eq!(cfg.residency, Residency::None);
        assert_eq!(
            cfg.dram_claim("a"),
            DramClaim {
                share: 1,
                cap: Some(4)
            }
        );
        assert_eq!(cfg.dram_claim("b").share, 1);
    }
}
