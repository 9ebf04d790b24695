//! Iteration-level batching of the committed decoder (models/make_decoder.py): two requests
//! with prompts of different lengths run as one batch, the way serving systems batch
//! generation (the shorter prompt left-padded, `attention_mask` 0 over its padding,
//! `position_ids` each request's own), must give each request the bits it gets alone.
//!
//! The oracle is the request run alone: tests/decoder.rs checks that run against onnxruntime
//! step by step and its greedy loop on its own cache, so a batched request bit-identical to
//! it is bit-identical to a verified decode. What makes identity possible: a padded key's
//! score plus the mask's −1e9 leaves `exp` exactly 0, so its probability is 0 and its
//! product with any finite value in the context GEMM is 0; zeros added before a request's
//! real keys leave every sum unchanged as long as they do not move where the array's K-tiles
//! (of as many keys as the array has rows) begin within the real keys: each K-tile's partial
//! sum is rounded before it is merged, so a padding that is not a whole number of K-tiles
//! regroups the real keys' products (see the ignored test at the end).

use cdmsa::config::AcceleratorConfig;
use cdmsa::exec::execute;
use cdmsa::ir::{Graph, InputBinding};
use cdmsa::kernel::Precision;
use cdmsa::lower::lower_at;
use cdmsa::onnx::load_model;
use cdmsa::tensor::Tensor;
use ndarray::{ArrayD, Axis, IxDyn, Slice};
use std::path::{Path, PathBuf};

/// Heads, head width and layers of the committed decoder.
const HEADS: usize = 4;
const HEAD_DIM: usize = 16;
const LAYERS: usize = 2;
/// The second request's prompt: shorter than the committed one, so it is padded in the batch.
const SHORT_PROMPT: [i64; 3] = [60, 3, 88];
/// The token written in the padding (any token of the vocabulary: its row is masked out).
const PAD: i64 = 0;
/// Decode steps after the prefill (as many as the committed references have).
const DECODE_STEPS: usize = 5;
/// Every step: the prefill and each decode step.
const ALL_STEPS: usize = DECODE_STEPS + 1;
/// The datapaths that compute values for an fp32 model's float GEMMs (`Fp32` is `Native`'s
/// datapath for it; `Int8` of a float model is timing only, see the test below).
const PRECISIONS: [Precision; 3] = [Precision::Native, Precision::Fp16, Precision::Bf16];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/decoder")
}

fn graph() -> Graph {
    load_model(&dir().join("model.onnx")).unwrap()
}

fn tokens() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join("tokens.json")).unwrap()).unwrap()
}

/// The committed prompt (6 tokens) and its greedy continuation by onnxruntime.
fn committed() -> (Vec<i64>, Vec<i64>) {
    let t = tokens();
    let ints = |k: &str| -> Vec<i64> {
        t[k].as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect()
    };
    (ints("prompt"), ints("greedy"))
}

fn ints(shape: &[usize], v: Vec<i64>) -> Tensor {
    Tensor::I64(ArrayD::from_shape_vec(IxDyn(shape), v).unwrap())
}

/// Runs the decoder once on `inputs` with cdmsa's interpreter: outputs as f32 arrays.
fn run(g: &Graph, inputs: &[Tensor], cfg: &AcceleratorConfig, p: Precision) -> Vec<ArrayD<f32>> {
    let bindings: Vec<InputBinding> = inputs.iter().map(InputBinding::of).collect();
    let program = lower_at(g, &bindings, cfg, p).unwrap();
    let exec = execute(&program, inputs, cfg).unwrap();
    exec.outputs.iter().map(Tensor::to_f32).collect()
}

/// One step of a decode: `logits [batch, seq, vocab]`, then every `present [batch, heads,
/// total, head_dim]`.
type Step = Vec<ArrayD<f32>>;

/// The greedy token of batch row `b`: the largest logit at its last position.
fn greedy(logits: &ArrayD<f32>, b: usize) -> i64 {
    let row = logits.index_axis(Axis(0), b);
    let last = row.index_axis(Axis(0), row.shape()[0] - 1);
    let best = (0..last.len())
        .max_by(|&x, &y| last[x].total_cmp(&last[y]))
        .unwrap();
    best as i64
}

/// Prefill and `DECODE_STEPS` greedy decode steps of `prompts` as one batch (a single prompt
/// is a request alone): prompts left-padded to the longest, the mask 0 over the padding,
/// positions counted from each prompt's first real token, each decode step fed the batch's
/// greedy tokens and the previous step's present as past. `unmask` sets the mask to 1 over
/// the padding too. Returns every step's outputs and each request's greedy tokens.
fn decode(
    g: &Graph,
    cfg: &AcceleratorConfig,
    p: Precision,
    prompts: &[&[i64]],
    unmask: bool,
) -> (Vec<Step>, Vec<Vec<i64>>) {
    let n = prompts.len();
    let len = prompts.iter().map(|q| q.len()).max().unwrap();
    let pads: Vec<usize> = prompts.iter().map(|q| len - q.len()).collect();
    let mask = |total: usize| -> Tensor {
        let v = pads
            .iter()
            .flat_map(|&pad| (0..total).map(move |j| i64::from(unmask || j >= pad)))
            .collect();
        ints(&[n, total], v)
    };
    let mut ids: Vec<i64> = prompts
        .iter()
        .flat_map(|q| std::iter::repeat_n(PAD, len - q.len()).chain(q.iter().copied()))
        .collect();
    let mut positions: Vec<i64> = pads
        .iter()
        .flat_map(|&pad| (0..len).map(move |j| j.saturating_sub(pad) as i64))
        .collect();
    let mut past: Vec<Tensor> = (0..2 * LAYERS)
        .map(|_| Tensor::F32(ArrayD::zeros(IxDyn(&[n, HEADS, 0, HEAD_DIM]))))
        .collect();
    let mut steps = Vec::new();
    let mut generated = vec![Vec::new(); n];
    for s in 0..=DECODE_STEPS {
        let seq = ids.len() / n;
        let total = len + s;
        let inputs: Vec<Tensor> = [
            ints(&[n, seq], ids),
            mask(total),
            ints(&[n, seq], positions),
        ]
        .into_iter()
        .chain(past)
        .collect();
        let out = run(g, &inputs, cfg, p);
        ids = (0..n).map(|b| greedy(&out[0], b)).collect();
        for (b, t) in ids.iter().enumerate() {
            generated[b].push(*t);
        }
        positions = prompts.iter().map(|q| (q.len() + s) as i64).collect();
        past = out[1..].iter().map(|a| Tensor::F32(a.clone())).collect();
        steps.push(out);
    }
    (steps, generated)
}

/// Batch row `b` of `batched`, its last `alone.shape()[axis]` entries along `axis` (the
/// request's real positions: its padding comes first), bit-compared with `alone`'s only row.
/// Returns a description of the first difference.
fn rows_differ(
    batched: &ArrayD<f32>,
    b: usize,
    alone: &ArrayD<f32>,
    axis: usize,
) -> Option<String> {
    let row = batched.index_axis(Axis(0), b);
    let keep = alone.shape()[axis];
    let real = row.slice_axis(Axis(axis - 1), Slice::from(row.shape()[axis - 1] - keep..));
    let one = alone.index_axis(Axis(0), 0);
    if real.shape() != one.shape() {
        return Some(format!("shapes {:?} and {:?}", real.shape(), one.shape()));
    }
    let mismatches: Vec<_> = real
        .indexed_iter()
        .zip(one.iter())
        .filter(|((_, x), y)| x.to_bits() != y.to_bits())
        .collect();
    mismatches.first().map(|((at, x), y)| {
        format!(
            "{} of {} elements differ, first at {at:?}: batched {x:e}, alone {y:e}",
            mismatches.len(),
            one.len(),
        )
    })
}

/// Runs the two requests alone and batched and asserts each request's logits and present
/// caches at its real positions, at each of the first `steps` steps, and its greedy tokens
/// there, are the same.
fn assert_batch_is_alone(
    cfg: &AcceleratorConfig,
    p: Precision,
    prompts: [&[i64]; 2],
    steps: usize,
) {
    let g = graph();
    let (batched, batched_tokens) = decode(&g, cfg, p, &prompts, false);
    for (b, prompt) in prompts.iter().enumerate() {
        let (alone, alone_tokens) = decode(&g, cfg, p, &[prompt], false);
        for (s, (bs, al)) in batched.iter().zip(&alone).take(steps).enumerate() {
            // Logits are [batch, seq, vocab]; presents [batch, heads, total, head_dim].
            for (k, (x, y)) in bs.iter().zip(al).enumerate() {
                let axis = if k == 0 { 1 } else { 2 };
                if let Some(d) = rows_differ(x, b, y, axis) {
                    panic!(
                        "{} {p:?}, request {b} (prompt of {}), step {s}, output {k}: {d}",
                        cfg.name,
                        prompt.len()
                    );
                }
            }
        }
        assert_eq!(
            batched_tokens[b][..steps],
            alone_tokens[0][..steps],
            "{} {p:?}, request {b}",
            cfg.name
        );
    }
}

/// The project's accelerator: 128-row arrays, so every cache here is one K-tile.
fn tpu() -> AcceleratorConfig {
    AcceleratorConfig::preset("tpu-msa").unwrap()
}

#[test]
fn batched_decode_gives_each_request_its_values_alone_bit_for_bit() {
    let (prompt, _) = committed();
    for p in PRECISIONS {
        assert_batch_is_alone(&tpu(), p, [&prompt, &SHORT_PROMPT], ALL_STEPS);
    }
}

/// The alone run of the committed prompt is the verified decode: its greedy tokens are
/// onnxruntime's (tests/decoder.rs checks every value of it).
#[test]
fn the_committed_request_alone_decodes_as_onnxruntime() {
    let (prompt, greedy) = committed();
    let (_, tokens) = decode(&graph(), &tpu(), Precision::Native, &[&prompt], false);
    assert_eq!(tokens, vec![greedy]);
}

/// The identity above is not vacuous: the padding does reach the short request unless the
/// mask removes it.
#[test]
fn unmasked_padding_changes_the_short_request() {
    let (prompt, _) = committed();
    let g = graph();
    let (batched, _) = decode(
        &g,
        &tpu(),
        Precision::Native,
        &[&prompt, &SHORT_PROMPT],
        true,
    );
    let (alone, _) = decode(&g, &tpu(), Precision::Native, &[&SHORT_PROMPT], true);
    assert!(rows_differ(&batched[0][0], 1, &alone[0][0], 1).is_some());
    // The long request has no padding: the mask's change leaves it as it was.
    let (long, _) = decode(&g, &tpu(), Precision::Native, &[&prompt], true);
    assert_eq!(rows_differ(&batched[0][0], 0, &long[0][0], 1), None);
}

/// `Int8` of an fp32 model is a timing assumption: it lowers, but computes no values, so no
/// identity is claimed for it.
#[test]
fn int8_of_the_float_decoder_is_timing_only() {
    let (prompt, _) = committed();
    let n = prompt.len();
    let inputs: Vec<Tensor> = [
        ints(&[1, n], prompt),
        ints(&[1, n], vec![1; n]),
        ints(&[1, n], (0..n as i64).collect()),
    ]
    .into_iter()
    .chain((0..2 * LAYERS).map(|_| Tensor::F32(ArrayD::zeros(IxDyn(&[1, HEADS, 0, HEAD_DIM])))))
    .collect();
    let bindings: Vec<InputBinding> = inputs.iter().map(InputBinding::of).collect();
    let cfg = tpu();
    let program = lower_at(&graph(), &bindings, &cfg, Precision::Int8).unwrap();
    let err = execute(&program, &inputs, &cfg).unwrap_err().to_string();
    assert!(err.contains("timing-only"), "{err}");
}

/// The 8-row arrays of `tiny`: a padding of exactly one K-tile (8 keys) contributes a partial
/// sum of +0, and the short request's real keys fall into the same K-tiles as alone, also
/// once its cache outgrows one K-tile (5 prompt tokens, 9 keys from the fourth decode step
/// on: a second K-tile alone, a third in the batch).
#[test]
fn padding_of_whole_k_tiles_keeps_identity_on_small_arrays() {
    let cfg = AcceleratorConfig::preset("tiny").unwrap();
    assert_eq!(cfg.rows, 8);
    let long: Vec<i64> = (0..13).map(|t| (7 * t + 5) % 96).collect();
    let short = [60, 3, 88, 17, 41];
    for p in PRECISIONS {
        assert_batch_is_alone(&cfg, p, [&long, &short], ALL_STEPS);
    }
}

/// On 8-row arrays a padding of 3 keys (the committed prompt of 6 and the short one of 3)
/// keeps identity while the batch's cache fits one K-tile: the prefill and the first two
/// decode steps (6 to 8 keys).
#[test]
fn padding_of_part_of_a_k_tile_keeps_identity_within_one_k_tile() {
    let (prompt, _) = committed();
    let cfg = AcceleratorConfig::preset("tiny").unwrap();
    assert_eq!(cfg.rows, 8);
    for p in PRECISIONS {
        assert_batch_is_alone(&cfg, p, [&prompt, &SHORT_PROMPT], 3);
    }
}

/// The same batch from the third decode step on (9 keys): the padding of 3 moves the short
/// request's keys across a K-tile boundary. Alone its context GEMM sums keys 0..5 in one
/// K-tile; batched, keys 0..4 fall in the first K-tile (after the 3 padded ones) and key 5 in
/// the second, and each K-tile's partial sum is rounded before the merge, so its attention
/// context, and then its logits, differ by rounding (a few ulps: 0.90559584 batched against
/// 0.90559596 alone in the first logit of that step). The long request, unpadded, stays
/// identical. A serving layout keeps identity by padding in whole K-tiles (the test above
/// with 8) or by keeping caches shorter than the array's rows (tpu-msa's 128).
#[test]
#[ignore = "a padding that is not a whole number of K-tiles regroups the context GEMM's \
            partial sums once a cache outgrows a K-tile: a rounding difference, not a fault"]
fn padding_of_part_of_a_k_tile_across_a_k_tile_boundary() {
    let (prompt, _) = committed();
    let cfg = AcceleratorConfig::preset("tiny").unwrap();
    assert_batch_is_alone(&cfg, Precision::Native, [&prompt, &SHORT_PROMPT], ALL_STEPS);
}
