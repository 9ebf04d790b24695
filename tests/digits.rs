//! The digits CNN in four numeric forms against onnxruntime's committed references.

use cdmsa::config::AcceleratorConfig;
use cdmsa::onnx::load_model;
use cdmsa::tensor::Tensor;
use cdmsa::tensor::pb::read_pb;
use cdmsa::verify::{RunRequest, Tolerance, argmax_rows, verified_run};
use std::path::{Path, PathBuf};

fn dir(variant: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models/digits")
        .join(variant)
}

/// Runs a digits variant on the full held-out set and compares with the given reference file.
fn run(
    variant: &str,
    reference: &str,
    tol: Tolerance,
    preset: &str,
) -> (cdmsa::verify::RunReport, Tensor) {
    let d = dir(variant);
    let graph = load_model(&d.join("model.onnx")).unwrap();
    let input = read_pb(&d.join("test_data_set_0/input_0.pb")).unwrap();
    let want = read_pb(&d.join(reference)).unwrap();
    let labels = read_pb(&dir("labels.pb")).unwrap();
    let req = RunRequest {
        model: variant.into(),
        graph: &graph,
        inputs: &[input],
        references: std::slice::from_ref(&want),
        tolerance: Some(tol),
        labels: Some(&labels),
        precision: cdmsa::kernel::Precision::Native,
    };
    let (report, _) = verified_run(&req, &AcceleratorConfig::preset(preset).unwrap()).unwrap();
    (report, want)
}

fn ort_correct(variant: &str) -> usize {
    let text = std::fs::read_to_string(dir("accuracy.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["models"][variant]["correct"]["ORT_ENABLE_ALL"]
        .as_u64()
        .unwrap() as usize
}

#[test]
fn int8_qoperator_is_bit_identical_to_onnxruntime_in_both_modes() {
    for reference in [
        "test_data_set_0/output_0.pb",
        "reference_disable_all/output_0.pb",
    ] {
        let (r, _) = run("int8_qop", reference, Tolerance::Exact, "tpu-msa");
        assert!(r.outputs[0].exact, "{reference}: {:?}", r.outputs[0]);
        assert_eq!(r.accuracy.unwrap(), (ort_correct("int8_qop"), 360));
    }
}

#[test]
fn int8_qdq_is_bit_identical_to_onnxruntimes_integer_path() {
    // ORT_ENABLE_ALL fuses the QDQ groups into integer kernels, as the accelerator does.
    let (r, _) = run(
        "int8_qdq",
        "test_data_set_0/output_0.pb",
        Tolerance::Exact,
        "tpu-msa",
    );
    assert!(r.outputs[0].exact, "{:?}", r.outputs[0]);
    assert_eq!(r.accuracy.unwrap().0, ort_correct("int8_qdq"));
}

#[test]
fn int8_results_do_not_depend_on_the_array_shape() {
    // Integer sums are order-independent: the 2 × 8×8 `tiny` preset (many K-tiles and
    // tile jobs) must give the bits of the 4 × 128×128 preset.
    let (r, _) = run(
        "int8_qop",
        "test_data_set_0/output_0.pb",
        Tolerance::Exact,
        "tiny",
    );
    assert!(r.outputs[0].exact);
}

#[test]
fn fp32_matches_onnxruntime_within_rtol_1e4() {
    for reference in [
        "test_data_set_0/output_0.pb",
        "reference_disable_all/output_0.pb",
    ] {
        let (r, _) = run(
            "fp32",
            reference,
            Tolerance::Close {
                rtol: 1e-4,
                atol: 1e-5,
            },
            "tpu-msa",
        );
        assert!(r.pass, "{reference}: {:?}", r.outputs[0]);
        assert_eq!(r.accuracy.unwrap().0, ort_correct("fp32"));
    }
}

#[test]
fn fp16_is_within_the_documented_bound_and_keeps_every_top1() {
    // onnxruntime's own fp16 logits differ from its fp32 ones by up to 1.3e-3 of the largest
    // logit; the emulator's fp16 datapath must stay within 1e-2 of onnxruntime's fp16 output.
    let (r, want) = run(
        "fp16",
        "test_data_set_0/output_0.pb",
        Tolerance::Norm { rel: 1e-2 },
        "tpu-msa",
    );
    assert!(r.pass, "{:?}", r.outputs[0]);
    let d = dir("fp16");
    let graph = load_model(&d.join("model.onnx")).unwrap();
    let input = read_pb(&d.join("test_data_set_0/input_0.pb")).unwrap();
    let req = RunRequest {
        model: "fp16".into(),
        graph: &graph,
        inputs: &[input],
        references: &[],
        tolerance: None,
        labels: None,
        precision: cdmsa::kernel::Precision::Native,
    };
    let (_, outs) = verified_run(&req, &AcceleratorConfig::preset("tpu-msa").unwrap()).unwrap();
    assert_eq!(argmax_rows(&outs[0]).unwrap(), argmax_rows(&want).unwrap());
}

#[test]
fn fp32_model_on_the_fp16_and_bf16_datapaths_stays_close_and_keeps_top1() {
    let d = dir("fp32");
    let graph = load_model(&d.join("model.onnx")).unwrap();
    let input = read_pb(&d.join("test_data_set_0/input_0.pb")).unwrap();
    let want = read_pb(&d.join("test_data_set_0/output_0.pb")).unwrap();
    let cfg = AcceleratorConfig::preset("tpu-msa").unwrap();
    let top1 = argmax_rows(&want).unwrap();
    for (precision, rel) in [
        (cdmsa::kernel::Precision::Fp16, 1e-2),
        (cdmsa::kernel::Precision::Bf16, 4e-2),
    ] {
        let req = RunRequest {
            model: "fp32".into(),
            graph: &graph,
            inputs: std::slice::from_ref(&input),
            references: std::slice::from_ref(&want),
            tolerance: None,
            labels: None,
            precision,
        };
        let (r, outs) = verified_run(&req, &cfg).unwrap();
        let c = &r.outputs[0];
        // Rounding at the array boundary really happens (the fp32 path is within 1e-5)...
        assert!(!c.exact && c.max_abs_error > 1e-4, "{precision:?}: {c:?}");
        // ...and stays within the documented normwise bound.
        assert_eq!(c.tolerance, Tolerance::Norm { rel });
        assert!(c.pass, "{precision:?}: {c:?}");
        let same = argmax_rows(&outs[0])
            .unwrap()
            .iter()
            .zip(&top1)
            .filter(|(a, b)| a == b)
            .count();
        assert!(same >= 358, "{precision:?}: top-1 agrees on {same} of 360");
    }
    // int8 of a float model can be costed but not computed.
    let req = RunRequest {
        model: "fp32".into(),
        graph: &graph,
        inputs: std::slice::from_ref(&input),
        references: &[],
        tolerance: None,
        labels: None,
        precision: cdmsa::kernel::Precision::Int8,
    };
    let err = verified_run(&req, &cfg).unwrap_err().to_string();
    assert!(err.contains("timing-only"), "{err}");
}
