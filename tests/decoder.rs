//! A GPT-2-style decoder with a KV cache (models/make_decoder.py) against onnxruntime, step by
//! step: the prompt's prefill, then greedy decode steps, each fed the cache it produced itself.

use cdmsa::config::AcceleratorConfig;
use cdmsa::onnx::load_model;
use cdmsa::tensor::Tensor;
use cdmsa::tensor::pb::read_pb;
use cdmsa::verify::{RunRequest, Tolerance, verified_run};
use std::path::{Path, PathBuf};

/// The bound for every output. The values are of magnitude about 1 and come from reductions
/// of 64 to 256 products of such values, summed in the array's order (a chain per K-tile)
/// rather than onnxruntime's: their differences scale with the products, about 1e-6, not with
/// the result, so an element that cancels to near zero needs an absolute bound above the
/// backend tests' 1e-7.
const BOUND: Tolerance = Tolerance::Close {
    rtol: 1e-4,
    atol: 1e-5,
};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/decoder")
}

/// The tensors `{prefix}_{k}.pb` of step `step`, in order.
fn tensors(step: usize, prefix: &str) -> Vec<Tensor> {
    let d = dir().join(format!("step_{step}"));
    (0..)
        .map(|k| d.join(format!("{prefix}_{k}.pb")))
        .take_while(|p| p.exists())
        .map(|p| read_pb(&p).unwrap())
        .collect()
}

fn tokens() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join("tokens.json")).unwrap()).unwrap()
}

/// The index of the largest of the last position's logits (`[1, seq, vocab]`).
fn greedy(logits: &Tensor) -> usize {
    let v: Vec<f32> = logits.to_f32().iter().copied().collect();
    let vocab = *logits.shape().last().unwrap();
    let last = &v[v.len() - vocab..];
    (0..vocab)
        .max_by(|&a, &b| last[a].total_cmp(&last[b]))
        .unwrap()
}

/// Runs one step and checks every output against onnxruntime's within the default tolerance.
fn step(graph: &cdmsa::ir::Graph, s: usize, inputs: &[Tensor]) -> Vec<Tensor> {
    let want = tensors(s, "output");
    let req = RunRequest {
        model: format!("decoder step {s}"),
        graph,
        inputs,
        references: &want,
        tolerance: Some(BOUND),
        labels: None,
        precision: cdmsa::kernel::Precision::Native,
    };
    let (report, outputs) = verified_run(&req, &AcceleratorConfig::preset("tpu-msa").unwrap())
        .unwrap_or_else(|e| panic!("step {s}: {e}"));
    assert!(report.pass, "step {s}: {:#?}", report.outputs);
    outputs
}

#[test]
fn every_step_matches_onnxruntime_on_its_recorded_inputs() {
    let graph = load_model(&dir().join("model.onnx")).unwrap();
    let steps = tokens()["greedy"].as_array().unwrap().len();
    for s in 0..steps {
        step(&graph, s, &tensors(s, "input"));
    }
}

/// The decode loop as a server runs it: each step's present becomes the next step's past, and
/// the next token is the greedy one of cdmsa's own logits.
#[test]
fn greedy_decode_on_its_own_cache_follows_onnxruntime() {
    let graph = load_model(&dir().join("model.onnx")).unwrap();
    let want: Vec<usize> = tokens()["greedy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap() as usize)
        .collect();
    let mut inputs = tensors(0, "input");
    let mut got = Vec::new();
    for s in 0..want.len() {
        let recorded = tensors(s, "input");
        // The token, mask and positions come from the recording (checked equal to the loop's
        // own below); the cache is the previous step's output.
        inputs[..3].clone_from_slice(&recorded[..3]);
        let outputs = step(&graph, s, &inputs);
        let token = greedy(&outputs[0]);
        got.push(token);
        if s + 1 < want.len() {
            let next = tensors(s + 1, "input");
            let ids = next[0].to_i64_vec().unwrap();
            assert_eq!(
                ids,
                vec![token as i64],
                "step {s}: the next input is our token"
            );
            inputs = [&next[..3], &outputs[1..]].concat();
            // The mask covers the cache and the new token.
            assert_eq!(outputs[1].shape()[2] + 1, next[1].shape()[1], "step {s}");
        }
    }
    assert_eq!(got, want);
}

/// The decoder specialised by dim name for its prefill (6 tokens, empty cache) and a decode
/// step (1 token over a cache of 6): the attention-score GEMMs, one per head, and their tile
/// cycles on `tpu-msa` (128×128 weight-stationary, pipelined), worked by hand from the
/// closed form `R + (F−1)·max(m, R) + m + R + C − 2` with `F = ⌈k/R⌉ = 1`.
#[test]
fn prefill_and_decode_attention_cost_their_gemm_shapes() {
    use cdmsa::kernel::{GemmShape, Kernel, Precision};
    use cdmsa::pipeline::Model;
    let cfg = AcceleratorConfig::preset("tpu-msa").unwrap();
    let model = Model::load(&dir().join("model.onnx"), &Default::default()).unwrap();
    let spec = cdmsa::array::ArraySpec::from_config(&cfg);
    for (seq, past, want, cycles) in [
        (6, 0, (6, 16, 6), 128 + 6 + 128 + 128 - 2),
        (1, 6, (1, 16, 7), 128 + 1 + 128 + 128 - 2),
    ] {
        let dims =
            [("seq", seq), ("past", past), ("total", past + seq)].map(|(n, v)| (n.to_string(), v));
        let bindings = model.declared_inputs_with(1, &dims).unwrap();
        let program = model.lower(&bindings, &cfg, Precision::Native).unwrap();
        let scores: Vec<_> = program
            .nodes
            .iter()
            .zip(&program.kernels)
            .filter(|(n, _)| n.name.starts_with("h.0.attn.scores"))
            .collect();
        assert_eq!(scores.len(), 1);
        let Kernel::Gemm(g) = scores[0].1 else {
            panic!("the scores are a GEMM")
        };
        let (m, k, n) = want;
        assert_eq!(
            (g.shape, g.problems),
            (GemmShape { m, k, n }, 4),
            "seq {seq}"
        );
        assert_eq!(cdmsa::array::tile_cycles(&spec, g.shape).0, cycles as u64);
    }
    let err = model
        .declared_inputs_with(1, &[("sek".to_string(), 1)])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no input of the model has a dimension named 'sek'"),
        "{err}"
    );
}
