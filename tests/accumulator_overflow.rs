//! The int32 accumulator of the int8 datapath wraps as hardware does, and a run reports the
//! nodes where it did (DESIGN section 2): checked at the boundary with sums computed here in
//! i64.

use cdmsa::config::AcceleratorConfig;
use cdmsa::kernel::Precision;
use cdmsa::onnx::decode_model;
use cdmsa::proto::type_proto::{Tensor as TensorType, Value as TypeValue};
use cdmsa::proto::*;
use cdmsa::tensor::Tensor;
use cdmsa::verify::{RunRequest, verified_run};
use ndarray::{ArrayD, IxDyn};
use prost::Message;

/// `y = MatMulInteger(a, b)` with `a` a runtime u8 `[1, k]` and `b` a constant i8 `[k, 1]`
/// of `-128`s.
fn matmul_integer(k: usize) -> Vec<u8> {
    let info = |name: &str, elem_type: i32| ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(TypeValue::TensorType(TensorType {
                elem_type,
                shape: None,
            })),
        }),
    };
    ModelProto {
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(GraphProto {
            node: vec![NodeProto {
                name: "mm".into(),
                op_type: "MatMulInteger".into(),
                input: vec!["a".into(), "b".into()],
                output: vec!["y".into()],
                ..NodeProto::default()
            }],
            input: vec![info("a", 2)],
            output: vec![info("y", 6)],
            initializer: vec![TensorProto {
                name: "b".into(),
                data_type: 3,
                dims: vec![k as i64, 1],
                raw_data: vec![0x80; k].into(),
                ..TensorProto::default()
            }],
            ..GraphProto::default()
        }),
        ..ModelProto::default()
    }
    .encode_to_vec()
}

fn run(k: usize) -> (Vec<String>, i32) {
    let graph = decode_model(&matmul_integer(k), None).unwrap();
    let a = Tensor::U8(ArrayD::from_elem(IxDyn(&[1, k]), 255));
    let cfg = AcceleratorConfig::preset("tiny").unwrap();
    let (report, outputs) = verified_run(
        &RunRequest {
            model: "matmul".into(),
            graph: &graph,
            inputs: &[a],
            references: &[],
            tolerance: None,
            labels: None,
            precision: Precision::Native,
        },
        &cfg,
    )
    .unwrap();
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["accumulator_overflows"].as_array().unwrap().len(),
        report.accumulator_overflows.len(),
        "the JSON report carries the overflows"
    );
    let y = outputs[0].to_i64_vec().unwrap();
    (report.accumulator_overflows, y[0] as i32)
}

#[test]
fn a_wrapped_int32_accumulator_is_reported_and_wraps_like_hardware() {
    // 255 · (−128) per product: 65 793 products stay above −2^31, 65 794 do not.
    let fits = (i32::MIN as i64 / (255 * -128)) as usize;
    for k in [fits, fits + 1, 100_000] {
        let exact = k as i64 * 255 * -128;
        let (overflows, y) = run(k);
        let wrapped = exact.rem_euclid(1 << 32) as u32 as i32;
        assert_eq!(y, wrapped, "k = {k}: the accumulator wraps modulo 2^32");
        let overflowed = i32::try_from(exact).is_err();
        assert_eq!(
            overflows.len(),
            usize::from(overflowed),
            "k = {k}: {overflows:?}"
        );
        if overflowed {
            assert_eq!(overflows, ["mm"]);
        }
    }
}
