//! Arithmetic safety: extreme dims, strides, pads, dilations, kernel sizes, axes, Range bounds
//! and shape values — and extreme workload numbers — give typed errors (or valid results),
//! never a panic, a wrapped product or a huge allocation.

use cdmsa::Error;
use cdmsa::kernel::Precision;
use cdmsa::limits::Limits;
use cdmsa::proto::attribute_proto::AttributeType;
use cdmsa::proto::tensor_shape_proto::{Dimension, dimension::Value as Dim};
use cdmsa::proto::type_proto::{Tensor as TensorType, Value as TypeValue};
use cdmsa::proto::*;
use cdmsa::verify::hostile::{hostile_limits, run_model_bytes};
use prost::Message;
use std::panic::{AssertUnwindSafe, catch_unwind};

const BIG: i64 = i64::MAX;
const I32: i64 = i32::MAX as i64;

fn info(name: &str, elem_type: i32, dims: &[i64]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(TypeValue::TensorType(TensorType {
                elem_type,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|&v| Dimension {
                            value: Some(Dim::DimValue(v)),
                        })
                        .collect(),
                }),
            })),
        }),
    }
}

fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: v.to_vec(),
        ..AttributeProto::default()
    }
}

fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i: v,
        ..AttributeProto::default()
    }
}

fn tensor(name: &str, data_type: i32, dims: &[i64], raw: Vec<u8>) -> TensorProto {
    TensorProto {
        name: name.into(),
        data_type,
        dims: dims.to_vec(),
        raw_data: raw.into(),
        ..TensorProto::default()
    }
}

fn i64s(name: &str, v: &[i64]) -> TensorProto {
    tensor(
        name,
        7,
        &[v.len() as i64],
        v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    )
}

fn f32s(name: &str, dims: &[i64], v: &[f32]) -> TensorProto {
    tensor(
        name,
        1,
        dims,
        v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    )
}

/// A model with float input `x` of `x_dims`, one node `op(inputs) -> y` with `attrs`, and
/// `inits` as initializers.
fn model(
    op: &str,
    x_dims: &[i64],
    inputs: &[&str],
    attrs: Vec<AttributeProto>,
    inits: Vec<TensorProto>,
) -> Vec<u8> {
    ModelProto {
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(GraphProto {
            node: vec![NodeProto {
                name: "n".into(),
                op_type: op.into(),
                input: inputs.iter().map(|s| s.to_string()).collect(),
                output: vec!["y".into()],
                attribute: attrs,
                ..NodeProto::default()
            }],
            input: vec![info("x", 1, x_dims)],
            output: vec![ValueInfoProto {
                name: "y".into(),
                ..ValueInfoProto::default()
            }],
            initializer: inits,
            ..GraphProto::default()
        }),
        ..ModelProto::default()
    }
    .encode_to_vec()
}

fn conv(attrs: Vec<AttributeProto>) -> Vec<u8> {
    model(
        "Conv",
        &[1, 1, 8, 8],
        &["x", "w"],
        attrs,
        vec![f32s("w", &[1, 1, 3, 3], &[1.0; 9])],
    )
}

fn pool(attrs: Vec<AttributeProto>) -> Vec<u8> {
    model("MaxPool", &[1, 1, 8, 8], &["x"], attrs, vec![])
}

/// The cases: a name, the model, and whether a resource-limit error is the required outcome.
fn cases() -> Vec<(&'static str, Vec<u8>, bool)> {
    let k3 = || ints("kernel_shape", &[3, 3]);
    vec![
        (
            "conv strides i32::MAX",
            conv(vec![ints("strides", &[I32, I32])]),
            false,
        ),
        (
            "conv strides i64::MAX",
            conv(vec![ints("strides", &[BIG, BIG])]),
            false,
        ),
        (
            "conv strides 0",
            conv(vec![ints("strides", &[0, 0])]),
            false,
        ),
        (
            "conv pads i32::MAX",
            conv(vec![ints("pads", &[I32; 4])]),
            true,
        ),
        (
            "conv pads negative",
            conv(vec![ints("pads", &[-5; 4])]),
            false,
        ),
        (
            "conv dilations i32::MAX",
            conv(vec![ints("dilations", &[I32, I32])]),
            false,
        ),
        (
            "conv dilations 0",
            conv(vec![ints("dilations", &[0, 0])]),
            false,
        ),
        ("conv group 0", conv(vec![int("group", 0)]), false),
        (
            "conv group i64::MIN",
            conv(vec![int("group", i64::MIN)]),
            false,
        ),
        (
            "conv kernel_shape 10^9",
            conv(vec![ints("kernel_shape", &[1 << 30, 1 << 30])]),
            false,
        ),
        (
            "pool kernel 10^9",
            pool(vec![ints("kernel_shape", &[1_000_000_000; 2])]),
            false,
        ),
        (
            "pool kernel 0",
            pool(vec![ints("kernel_shape", &[0, 0])]),
            false,
        ),
        (
            // Pads stay below the kernel (onnxruntime refuses others): the output is huge.
            "pool pads i32::MAX - 1, kernel i32::MAX",
            pool(vec![
                ints("kernel_shape", &[I32, I32]),
                ints("pads", &[I32 - 1; 4]),
            ]),
            true,
        ),
        (
            "pool pads i32::MAX, kernel 3",
            pool(vec![k3(), ints("pads", &[I32; 4])]),
            false,
        ),
        (
            "pool strides i32::MAX",
            pool(vec![k3(), ints("strides", &[I32; 2])]),
            false,
        ),
        (
            "pool ceil mode huge dilation",
            pool(vec![
                k3(),
                int("ceil_mode", 1),
                ints("dilations", &[I32; 2]),
            ]),
            false,
        ),
        (
            "input dims i64::MAX",
            model("Relu", &[BIG, BIG], &["x"], vec![], vec![]),
            true,
        ),
        (
            "input dims negative",
            model("Relu", &[-1, 4], &["x"], vec![], vec![]),
            false,
        ),
        (
            "input dims 2^31 × 2^31",
            model("Relu", &[1 << 31, 1 << 31], &["x"], vec![], vec![]),
            true,
        ),
        (
            "initializer dims i64::MAX",
            model(
                "Add",
                &[1],
                &["x", "w"],
                vec![],
                vec![tensor("w", 1, &[BIG], vec![])],
            ),
            true,
        ),
        (
            "initializer dims overflow u64",
            model(
                "Add",
                &[1],
                &["x", "w"],
                vec![],
                vec![tensor("w", 1, &[1 << 40, 1 << 40, 1 << 40], vec![])],
            ),
            true,
        ),
        (
            "initializer dims negative",
            model(
                "Add",
                &[1],
                &["x", "w"],
                vec![],
                vec![tensor("w", 1, &[-3], vec![])],
            ),
            false,
        ),
        (
            "reshape to i64::MAX",
            model(
                "Reshape",
                &[4],
                &["x", "s"],
                vec![],
                vec![i64s("s", &[BIG])],
            ),
            false,
        ),
        (
            "reshape to -1, 0",
            model(
                "Reshape",
                &[4],
                &["x", "s"],
                vec![],
                vec![i64s("s", &[-1, 0])],
            ),
            false,
        ),
        (
            "reshape to -2",
            model(
                "Reshape",
                &[4],
                &["x", "s"],
                vec![],
                vec![i64s("s", &[-2, 2])],
            ),
            false,
        ),
        (
            "expand to i64::MAX",
            model("Expand", &[1], &["x", "s"], vec![], vec![i64s("s", &[BIG])]),
            false,
        ),
        (
            "expand to 10^6 × 10^6",
            model(
                "Expand",
                &[1],
                &["x", "s"],
                vec![],
                vec![i64s("s", &[1_000_000, 1_000_000])],
            ),
            true,
        ),
        (
            "constant of shape -1",
            model(
                "ConstantOfShape",
                &[1],
                &["s"],
                vec![],
                vec![i64s("s", &[-1])],
            ),
            false,
        ),
        (
            "constant of shape 2^31 × 2^31",
            model(
                "ConstantOfShape",
                &[1],
                &["s"],
                vec![],
                vec![i64s("s", &[1 << 31, 1 << 31])],
            ),
            true,
        ),
        (
            "range 0..i64::MAX",
            model(
                "Range",
                &[1],
                &["a", "b", "d"],
                vec![],
                vec![i64s("a", &[0]), i64s("b", &[BIG]), i64s("d", &[1])],
            ),
            true,
        ),
        (
            "range i64::MIN..i64::MAX",
            model(
                "Range",
                &[1],
                &["a", "b", "d"],
                vec![],
                vec![i64s("a", &[i64::MIN]), i64s("b", &[BIG]), i64s("d", &[1])],
            ),
            false,
        ),
        (
            "range delta 0",
            model(
                "Range",
                &[1],
                &["a", "b", "d"],
                vec![],
                vec![i64s("a", &[0]), i64s("b", &[5]), i64s("d", &[0])],
            ),
            false,
        ),
        (
            "range float to inf",
            model(
                "Range",
                &[1],
                &["a", "b", "d"],
                vec![],
                vec![
                    f32s("a", &[], &[0.0]),
                    f32s("b", &[], &[f32::INFINITY]),
                    f32s("d", &[], &[1.0]),
                ],
            ),
            false,
        ),
        (
            "range float 1e30 steps",
            model(
                "Range",
                &[1],
                &["a", "b", "d"],
                vec![],
                vec![
                    f32s("a", &[], &[0.0]),
                    f32s("b", &[], &[1e30]),
                    f32s("d", &[], &[1e-3]),
                ],
            ),
            true,
        ),
        (
            "pad 10^9",
            model(
                "Pad",
                &[2, 2],
                &["x", "p"],
                vec![],
                vec![i64s("p", &[1_000_000_000; 4])],
            ),
            true,
        ),
        (
            "pad i64::MAX",
            model(
                "Pad",
                &[2, 2],
                &["x", "p"],
                vec![],
                vec![i64s("p", &[BIG; 4])],
            ),
            false,
        ),
        (
            "pad i64::MIN",
            model(
                "Pad",
                &[2, 2],
                &["x", "p"],
                vec![],
                vec![i64s("p", &[i64::MIN; 4])],
            ),
            false,
        ),
        (
            "resize scales 1e9",
            model(
                "Resize",
                &[1, 1, 2, 2],
                &["x", "", "s"],
                vec![],
                vec![f32s("s", &[4], &[1.0, 1.0, 1e9, 1e9])],
            ),
            true,
        ),
        (
            "resize scales inf",
            model(
                "Resize",
                &[1, 1, 2, 2],
                &["x", "", "s"],
                vec![],
                vec![f32s("s", &[4], &[1.0, 1.0, f32::INFINITY, 1.0])],
            ),
            false,
        ),
        (
            "resize sizes i64::MAX",
            model(
                "Resize",
                &[1, 1, 2, 2],
                &["x", "", "", "z"],
                vec![],
                vec![i64s("z", &[1, 1, BIG, BIG])],
            ),
            false,
        ),
        (
            "slice extremes",
            model(
                "Slice",
                &[8],
                &["x", "a", "b", "c", "d"],
                vec![],
                vec![
                    i64s("a", &[i64::MIN]),
                    i64s("b", &[BIG]),
                    i64s("c", &[0]),
                    i64s("d", &[i64::MIN]),
                ],
            ),
            false,
        ),
        (
            "slice step 0",
            model(
                "Slice",
                &[8],
                &["x", "a", "b", "c", "d"],
                vec![],
                vec![
                    i64s("a", &[0]),
                    i64s("b", &[8]),
                    i64s("c", &[0]),
                    i64s("d", &[0]),
                ],
            ),
            false,
        ),
        (
            "gather axis 10^9",
            model(
                "Gather",
                &[4],
                &["x", "i"],
                vec![int("axis", 1_000_000_000)],
                vec![i64s("i", &[0])],
            ),
            false,
        ),
        (
            "gather index i64::MIN",
            model(
                "Gather",
                &[4],
                &["x", "i"],
                vec![],
                vec![i64s("i", &[i64::MIN])],
            ),
            false,
        ),
        (
            "concat axis i64::MIN",
            model(
                "Concat",
                &[4],
                &["x", "x"],
                vec![int("axis", i64::MIN)],
                vec![],
            ),
            false,
        ),
        (
            "softmax axis i64::MAX",
            model("Softmax", &[4], &["x"], vec![int("axis", BIG)], vec![]),
            false,
        ),
        (
            "flatten axis i64::MIN",
            model("Flatten", &[4], &["x"], vec![int("axis", i64::MIN)], vec![]),
            false,
        ),
        (
            "transpose perm 10^9",
            model(
                "Transpose",
                &[4, 4],
                &["x"],
                vec![ints("perm", &[1_000_000_000, 0])],
                vec![],
            ),
            false,
        ),
        (
            "unsqueeze axis i64::MAX",
            model(
                "Unsqueeze",
                &[4],
                &["x", "a"],
                vec![],
                vec![i64s("a", &[BIG])],
            ),
            false,
        ),
        (
            "split lengths i64::MAX",
            model(
                "Split",
                &[4],
                &["x", "s"],
                vec![],
                vec![i64s("s", &[BIG, -BIG + 4])],
            ),
            false,
        ),
        (
            "reduce axes i64::MIN",
            model(
                "ReduceSum",
                &[4],
                &["x", "a"],
                vec![],
                vec![i64s("a", &[i64::MIN])],
            ),
            false,
        ),
        (
            "per-axis quantization of a scalar",
            model(
                "QuantizeLinear",
                &[],
                &["x", "s", "z"],
                vec![],
                vec![
                    f32s("s", &[2], &[1.0, 2.0]),
                    tensor("z", 2, &[2], vec![0, 0]),
                ],
            ),
            false,
        ),
        (
            "per-axis dequantization of a scalar",
            model(
                "DequantizeLinear",
                &[],
                &["q", "s"],
                vec![],
                vec![tensor("q", 2, &[], vec![7]), f32s("s", &[2], &[1.0, 2.0])],
            ),
            false,
        ),
        (
            "softmax of a scalar",
            model("Softmax", &[], &["x"], vec![int("axis", 0)], vec![]),
            false,
        ),
        (
            "broadcast 2^16 × 2^16 of constants",
            model(
                "Add",
                &[1],
                &["a", "b"],
                vec![],
                vec![
                    f32s("a", &[1 << 16, 1], &[0.0; 1 << 16]),
                    f32s("b", &[1, 1 << 16], &[0.0; 1 << 16]),
                ],
            ),
            true,
        ),
    ]
}

#[test]
fn extreme_shapes_and_attributes_give_typed_errors() {
    let mut failures = Vec::new();
    let (mut limited, mut errors, mut ok) = (0, 0, 0);
    for limits in [hostile_limits(), Limits::default()] {
        for (name, bytes, must_limit) in cases() {
            let got = catch_unwind(AssertUnwindSafe(|| {
                run_model_bytes(&bytes, &limits, Precision::Native)
            }));
            let root = |e: &Error| match e {
                Error::Node { msg, .. } => msg.contains("resource limit"),
                Error::Limit(_) => true,
                _ => false,
            };
            match got {
                Err(_) => failures.push(format!("{name}: panicked")),
                Ok(Err(e)) if root(&e) => limited += 1,
                Ok(Err(_)) if must_limit => {
                    failures.push(format!("{name}: not a resource-limit error"));
                }
                Ok(Err(_)) => errors += 1,
                Ok(Ok(_)) if must_limit => failures.push(format!("{name}: accepted")),
                Ok(Ok(_)) => ok += 1,
            }
        }
    }
    println!(
        "extreme shapes: {limited} refused by a limit, {errors} other typed errors, {ok} valid"
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(errors >= 40, "most cases are invalid models: {errors}");
}

#[test]
fn extreme_workload_numbers_saturate_or_are_refused() {
    use cdmsa::sim::{requests, tenants};
    use cdmsa::workload::Workload;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let make = |stop: &str, sla: &str, arrival: &str| {
        format!(
            "{stop}\naccel = \"tiny\"\n[[tenants]]\nname = \"a\"\nmodel = \"models/digits/int8_qop/model.onnx\"\n{sla}\narrival = {arrival}\n"
        )
    };
    let cases = [
        make(
            "requests = 1000000",
            "sla_ms = 1e300",
            "{ kind = \"periodic\", period_ms = 1e-300 }",
        ),
        make(
            "duration_ms = 1e300",
            "sla_factor = 1e300",
            "{ kind = \"poisson\", rate_per_s = 1e-300 }",
        ),
        make(
            "duration_ms = 1e300",
            "sla_ms = 1e-300",
            "{ kind = \"periodic\", period_ms = 1e300, offset_ms = 1e300 }",
        ),
        make(
            "duration_ms = 1.0",
            "sla_ms = 1.0",
            "{ kind = \"poisson\", rate_per_s = 1e300 }",
        ),
        make(
            "requests = 18446744073709551615",
            "sla_ms = 1.0",
            "{ kind = \"poisson\", rate_per_s = 1.0 }",
        ),
        make(
            "requests = 3",
            "sla_ms = 1.0",
            "{ kind = \"periodic\", period_ms = 5e-324 }",
        ),
    ];
    let cfg = cdmsa::config::AcceleratorConfig::preset("tiny").unwrap();
    let mut accepted = Vec::new();
    for (i, text) in cases.iter().enumerate() {
        let Ok(w) = Workload::from_toml(text, root) else {
            continue;
        };
        let models = tenants(&w, &cfg, false).unwrap();
        match requests(&w, &models, &cfg) {
            Ok(reqs) => {
                accepted.push(i);
                assert!(reqs.len() <= 1_000_000, "case {i}");
                for r in &reqs {
                    assert!(r.deadline >= r.arrival, "case {i}: a deadline wrapped");
                }
            }
            Err(e) => {
                // Times past 2^64 cycles (a duration, a period, a Poisson rate's mean gap)
                // are refused rather than saturated into an empty run.
                let e = e.to_string();
                if i == 1 || i == 2 {
                    assert!(e.contains("beyond the 2^64 cycles"), "case {i}: {e}");
                }
                assert!(!e.is_empty());
            }
        }
    }
    assert_eq!(accepted, [0, 5]);
}

/// Inputs the fuzzer found crashing (`tests/fuzz-regressions/`), kept as cases.
#[test]
fn fuzz_regressions_give_typed_errors() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let got = catch_unwind(AssertUnwindSafe(|| {
            run_model_bytes(&bytes, &hostile_limits(), Precision::Native)
        }));
        assert!(
            matches!(got, Ok(Err(_))),
            "{}: {:?}",
            f.display(),
            got.map(|r| r.map_err(|e| e.to_string()))
        );
    }
}
