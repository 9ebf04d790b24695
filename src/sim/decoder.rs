//! Decoder tenants: a request is a token loop. Its prompt runs at once (the prefill, which
//! gives the first token), then one decode step per further token attends over a KV cache
//! that has grown by one token. Each step is a pass of the model specialised for its lengths
//! (the dims `seq`, `past` and `total` of the exporters' KV-cache interface) and has a
//! deadline of its own: the first token's is the time to first token (TTFT) after arrival,
//! and each later token's comes one time per output token (TPOT) after the one before.
//!
//! Lengths are processed in whole KV-cache blocks of `kv_block` tokens, as paged KV caches
//! hold them: a prompt is padded to whole blocks and a decode step's attention spans the
//! cache and its new token rounded up to whole blocks (the padding masked). Steps of equal
//! rounded lengths share one pass, so a tenant lowers one pass per distinct block count.

use super::{Pass, TenantModel, isolated_latency};
use crate::config::AcceleratorConfig;
use crate::error::{Error, Result};
use crate::kernel::{Precision, Program};
use crate::pipeline::Model;
use crate::units::{Cycles, TenantId};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// The lengths one step's pass is specialised for, in tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StepShape {
    /// Tokens the step runs (`seq`): the padded prompt, or 1 for a decode step.
    pub seq: usize,
    /// Tokens cached before it (`past`); `total` is `past + seq`.
    pub past: usize,
}

/// A decoder request's token loop and its service goals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Tokens {
    /// Prompt tokens.
    pub prompt: usize,
    /// Tokens to generate, the prefill's included (at least 1): the loop's steps.
    pub generate: usize,
    /// Time to first token allowed.
    pub ttft: Cycles,
    /// Time per output token allowed after the first.
    pub tpot: Cycles,
}

impl Tokens {
    /// The deadline of step `step` (of its token), for a request arrived at `arrival`:
    /// `arrival + ttft + step · tpot`.
    pub fn deadline(&self, arrival: Cycles, step: usize) -> Cycles {
        arrival
            .saturating_add(self.ttft)
            .saturating_add(Cycles(self.tpot.0.saturating_mul(step as u64)))
    }
}

/// A decoder tenant's passes, one per distinct step shape its requests need.
#[derive(Debug, Clone)]
pub struct Decoder {
    /// KV-cache block in tokens.
    pub kv_block: usize,
    /// Each step shape's pass and its latency alone on the accelerator.
    passes: BTreeMap<StepShape, (Pass, Cycles)>,
}

impl Decoder {
    /// The shape of step `step` of a request of `prompt` tokens with blocks of `kv_block`:
    /// the prefill (`step` 0) runs the prompt padded to whole blocks over an empty cache;
    /// decode step `s` runs one token over a cache of `prompt + s − 1` tokens, the two
    /// together rounded up to whole blocks.
    pub fn shape(kv_block: usize, prompt: usize, step: usize) -> StepShape {
        let blocks = |n: usize| n.div_ceil(kv_block.max(1)) * kv_block.max(1);
        match step {
            0 => StepShape {
                seq: blocks(prompt),
                past: 0,
            },
            s => StepShape {
                seq: 1,
                past: blocks(prompt + s) - 1,
            },
        }
    }

    /// Lowers `model` for every step of requests of the given (prompt, generate) lengths
    /// (in parallel) and measures each pass alone. Returns the decoder and the program of
    /// its first pass, whose nodes every pass shares.
    ///
    /// # Errors
    /// The model lacks the dims `seq`, `past` or `total`, a pass does not lower, or two
    /// passes differ in their nodes; errors name the model.
    pub fn build(
        model: &Model,
        cfg: &AcceleratorConfig,
        precision: Precision,
        kv_block: usize,
        lengths: impl IntoIterator<Item = (usize, usize)>,
    ) -> Result<(Decoder, Program)> {
        let mut shapes: Vec<StepShape> = lengths
            .into_iter()
            .flat_map(|(prompt, generate)| {
                (0..generate).map(move |s| Decoder::shape(kv_block, prompt, s))
            })
            .collect();
        shapes.sort_unstable();
        shapes.dedup();
        // A pass is lowered for timing only: its values are never made, so the bound on
        // their total does not apply (each value's own bound still does).
        let mut graph = model.graph.clone();
        graph.limits.max_bytes = u64::MAX;
        let model = &Model {
            graph,
            label: model.label.clone(),
        };
        let lowered: Vec<(StepShape, Program, Pass, Cycles)> = shapes
            .par_iter()
            .map(|&shape| {
                let dims = [
                    ("seq", shape.seq),
                    ("past", shape.past),
                    ("total", shape.past + shape.seq),
                ]
                .map(|(n, v)| (n.to_string(), v));
                let bindings = model.declared_inputs_with(1, &dims)?;
                let program = model.lower(&bindings, cfg, precision)?;
                let pass = Pass::new(&program, cfg);
                let alone = TenantModel::new(TenantId(0), "", 1, 1.0, program, Vec::new(), cfg);
                let isolated = isolated_latency(cfg, &alone)?;
                Ok((shape, alone.program, pass, isolated))
            })
            .collect::<Result<_>>()?;
        let mut passes = BTreeMap::new();
        let mut first: Option<Program> = None;
        for (shape, program, pass, isolated) in lowered {
            match &first {
                None => first = Some(program),
                Some(p) if !same_nodes(p, &program) => {
                    return Err(Error::Invalid(format!(
                        "{}: the decoder's passes for {shape:?} and the first differ in their nodes",
                        model.label.display()
                    )));
                }
                Some(_) => {}
            }
            passes.insert(shape, (pass, isolated));
        }
        let program = first.ok_or_else(|| {
            Error::Invalid(format!(
                "{}: a decoder tenant without requests has no pass",
                model.label.display()
            ))
        })?;
        Ok((Decoder { kv_block, passes }, program))
    }

    /// The pass of step `step` of a request of `prompt` tokens, and its latency alone.
    pub fn pass(&self, prompt: usize, step: usize) -> Option<&(Pass, Cycles)> {
        self.passes
            .get(&Decoder::shape(self.kv_block, prompt, step))
    }

    /// The latency of a request of `prompt` and `generate` tokens alone: its steps' one
    /// after another (`None` when a step has no pass).
    pub fn isolated(&self, prompt: usize, generate: usize) -> Option<Cycles> {
        (0..generate)
            .map(|s| self.pass(prompt, s).map(|p| p.1))
            .sum()
    }

    /// Passes lowered.
    pub fn passes(&self) -> usize {
        self.passes.len()
    }
}

/// Whether two programs have the same nodes by name, in order.
fn same_nodes(a: &Program, b: &Program) -> bool {
    a.nodes.len() == b.nodes.len() && a.nodes.iter().zip(&b.nodes).all(|(x, y)| x.name == y.name)
}
