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
//!
//! **Batched decode** (continuous batching, for a policy that [batches
//! decode](crate::sched::Policy::batches_decode)): a tenant's decode steps run in
//! iterations, as iteration-level batching servers run them. A request whose prefill or
//! decode step ends while an iteration of its tenant runs waits for that iteration to end;
//! when none runs, every request of the tenant waiting at a decode step joins one iteration,
//! one pass of the model over all of them as a batch: the batch padded to a power of two
//! (the batch sizes a server prepares its kernels for) and every cache to the longest's
//! blocks (the padding masked). The weight GEMMs then stream each weight block once for the
//! whole batch. Prefills run alone, as requests of their own. The iteration is shown to the
//! policy as its first request (by arrival) with the earliest of its members' deadlines.

use super::{Pass, TenantModel, isolated_latency};
use crate::config::AcceleratorConfig;
use crate::error::{Error, Result};
use crate::kernel::{Precision, Program};
use crate::pipeline::Model;
use crate::units::{Cycles, TenantId};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

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

/// A pass and its latency alone on the accelerator.
pub type Timed = (Pass, Cycles);

/// A decoder tenant's passes, one per distinct step shape its requests need, and its
/// batched decode passes, made on first use.
#[derive(Debug, Clone)]
pub struct Decoder {
    /// KV-cache block in tokens.
    pub kv_block: usize,
    /// KV-cache bytes per token of a request: every input with a `past` dim, per token.
    pub kv_bytes_per_token: u64,
    /// Each step shape's pass and its latency alone on the accelerator.
    passes: BTreeMap<StepShape, Timed>,
    /// Batched decode passes by (padded batch, cached tokens), made on first use (the error
    /// of one that does not lower, as text).
    batched: BTreeMap<(usize, usize), OnceLock<std::result::Result<Timed, String>>>,
    /// What batched passes are lowered from.
    lowering: Arc<Lowering>,
}

/// A decoder's model and how its passes are lowered.
#[derive(Debug)]
struct Lowering {
    model: Model,
    cfg: AcceleratorConfig,
    precision: Precision,
    /// The tenant's node numbers by name (of its pass with the most nodes).
    index: HashMap<String, usize>,
}

/// The batch sizes a batched pass is padded to: powers of two from 2 to this.
pub const MAX_BATCH: usize = 64;

/// The most passes (distinct step shapes) one decoder tenant lowers, so that no workload can
/// exhaust memory with lengths: with blocks of 16 tokens, contexts to 16 384 tokens.
pub const MAX_PASSES: usize = 1024;

impl Lowering {
    /// The program for `batch` requests of step shape `shape`, its pass and its latency
    /// alone.
    fn lower(&self, batch: usize, shape: StepShape) -> Result<(Program, Timed)> {
        let dims = [
            ("seq", shape.seq),
            ("past", shape.past),
            ("total", shape.past + shape.seq),
        ]
        .map(|(n, v)| (n.to_string(), v));
        let bindings = self.model.declared_inputs_with(batch, &dims)?;
        let program = self.model.lower(&bindings, &self.cfg, self.precision)?;
        let alone = TenantModel::new(TenantId(0), "", 1, 1.0, program, Vec::new(), &self.cfg);
        let isolated = isolated_latency(&self.cfg, &alone)?;
        let TenantModel {
            program,
            layers,
            profile,
            outlook,
            ..
        } = alone;
        let pass = Pass {
            layers,
            profile,
            outlook,
        };
        Ok((program, (pass, isolated)))
    }
}

impl Decoder {
    /// The shape of step `step` of a request of `prompt` tokens with blocks of `kv_block`:
    /// the prefill (`step` 0) runs the prompt padded to whole blocks over an empty cache;
    /// decode step `s` runs one token over a cache of `prompt + s − 1` tokens, the two
    /// together rounded up to whole blocks.
    pub fn shape(kv_block: usize, prompt: usize, step: usize) -> StepShape {
        let blocks = |n| in_blocks(kv_block, n);
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
        if shapes.len() > MAX_PASSES {
            return Err(Error::Invalid(format!(
                "{}: the requests' lengths need {} passes (distinct step lengths in blocks of {kv_block} tokens), more than {MAX_PASSES}: give the tenant a larger kv_block",
                model.label.display(),
                shapes.len()
            )));
        }
        // A pass is lowered for timing only: its values are never made, so the bound on
        // their total does not apply (each value's own bound still does).
        let mut graph = model.graph.clone();
        graph.limits.max_bytes = u64::MAX;
        let lowering = Lowering {
            model: Model {
                graph,
                label: model.label.clone(),
            },
            cfg: cfg.clone(),
            precision,
            index: HashMap::new(),
        };
        let lowered: Vec<(StepShape, Program, Timed)> = shapes
            .par_iter()
            .map(|&shape| {
                let (program, timed) = lowering.lower(1, shape)?;
                Ok((shape, program, timed))
            })
            .collect::<Result<_>>()?;
        // Constant folding is bounded by size, so a larger pass may keep nodes a smaller
        // one folds: the pass with the most nodes names them, and every pass's layers are
        // renumbered to its nodes.
        let program = lowered
            .iter()
            .map(|(_, p, _)| p)
            .max_by_key(|p| p.nodes.len())
            .cloned()
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "{}: a decoder tenant without requests has no pass",
                    model.label.display()
                ))
            })?;
        let index: HashMap<String, usize> = (program.nodes.iter().enumerate())
            .map(|(i, n)| (n.name.clone(), i))
            .collect();
        let mut passes = BTreeMap::new();
        for (shape, own, (pass, isolated)) in lowered {
            let pass = renumber(pass, &own, &index, &model.label)?;
            passes.insert(shape, (pass, isolated));
        }
        let batched = passes
            .keys()
            .filter(|s| s.seq == 1)
            .flat_map(|s| {
                let sizes = std::iter::successors(Some(2), |b| Some(b * 2));
                sizes
                    .take_while(|&b| b <= MAX_BATCH)
                    .map(|b| ((b, s.past), OnceLock::new()))
            })
            .collect();
        let lowering = Lowering { index, ..lowering };
        let decoder = Decoder {
            kv_block,
            kv_bytes_per_token: kv_bytes_per_token(&lowering.model.graph),
            passes,
            batched,
            lowering: Arc::new(lowering),
        };
        Ok((decoder, program))
    }

    /// The pass of one decode iteration of `members` requests whose longest cache (with
    /// the new token, in whole blocks) holds `past + 1` tokens, and its latency alone: a
    /// single request's own pass, else the batched pass for `members` padded to a power of
    /// two, lowered on first use.
    ///
    /// # Errors
    /// No such decode step among the tenant's requests, more than [`MAX_BATCH`] members, or
    /// a batched pass that does not lower.
    pub fn iteration(&self, members: usize, past: usize) -> Result<&Timed> {
        let shape = StepShape { seq: 1, past };
        let missing = || {
            Error::Invalid(format!(
                "{}: no decode pass of {members} requests over {past} cached tokens",
                self.lowering.model.label.display()
            ))
        };
        if members <= 1 {
            return self.passes.get(&shape).ok_or_else(missing);
        }
        let batch = members.next_power_of_two();
        let cell = self.batched.get(&(batch, past)).ok_or_else(missing)?;
        let l = &self.lowering;
        cell.get_or_init(|| {
            l.lower(batch, shape)
                .and_then(|(own, (pass, isolated))| {
                    Ok((renumber(pass, &own, &l.index, &l.model.label)?, isolated))
                })
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::Invalid(e.clone()))
    }

    /// The pass of step `step` of a request of `prompt` tokens, and its latency alone.
    pub fn pass(&self, prompt: usize, step: usize) -> Option<&Timed> {
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

/// `pass` of program `own` with its layers numbered by the tenant's `index` of node names.
fn renumber(
    mut pass: Pass,
    own: &Program,
    index: &HashMap<String, usize>,
    label: &std::path::Path,
) -> Result<Pass> {
    for layer in &mut pass.layers {
        let name = &own.nodes[layer.node].name;
        layer.node = *index.get(name).ok_or_else(|| {
            Error::Invalid(format!(
                "{}: node '{name}' of one decoder pass is folded away in its largest",
                label.display()
            ))
        })?;
    }
    Ok(pass)
}

/// The bytes per cached token of `graph`'s inputs with a dim named `past` (the KV cache): the
/// product of their other fixed dims (symbolic ones, the batch, as 1) times their element size.
fn kv_bytes_per_token(graph: &crate::ir::Graph) -> u64 {
    use crate::ir::Dim;
    graph
        .inputs
        .iter()
        .map(|&i| graph.value(i))
        .filter_map(|v| {
            let shape = v.shape.as_ref()?;
            let is_past = |d: &Dim| matches!(d, Dim::Symbolic(s) if s == "past");
            shape.iter().any(is_past).then(|| {
                let elements: u64 = shape
                    .iter()
                    .map(|d| match d {
                        Dim::Fixed(n) => *n as u64,
                        Dim::Symbolic(_) => 1,
                    })
                    .product();
                elements * v.dtype.map_or(0, |t| t.size_bytes() as u64)
            })
        })
        .sum()
}

/// `tokens` rounded up to whole blocks of `kv_block` tokens.
pub fn in_blocks(kv_block: usize, tokens: usize) -> usize {
    tokens.div_ceil(kv_block.max(1)) * kv_block.max(1)
}
