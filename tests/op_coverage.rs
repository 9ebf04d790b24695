//! Every op the IR has is complete: named once, decoded, inferred, evaluated, costed and
//! tested against outside references.
//!
//! [`OpKind::ALL`] is generated from the same list as the enum, so it holds every kind.
//! `Op::kind`, the ONNX decoder (`onnx::ops::parse`, on [`OpKind`]), shape inference
//! (`ir::infer`), the vector unit's evaluation and cost (`array::vector`) and lowering to the
//! arrays (`lower`) each dispatch with an exhaustive `match` and no catch-all arm: a variant
//! that lacks one of them does not compile. This test checks what the compiler cannot: every
//! name reaches its parser, and every kind is run by an ONNX backend node test
//! (models/onnx-node-tests, all of which `cdmsa conformance` must pass, tests/cli.rs), an
//! onnxruntime contrib-op test (models/contrib-tests, tests/contrib_ops.rs), or a reference
//! test here against values worked from the ONNX specification.

use cdmsa::Error;
use cdmsa::config::AcceleratorConfig;
use cdmsa::exec::execute;
use cdmsa::ir::{InputBinding, OpKind};
use cdmsa::lower::lower;
use cdmsa::onnx::{decode_model, load_model};
use cdmsa::proto::tensor_shape_proto::{Dimension, dimension};
use cdmsa::proto::*;
use cdmsa::tensor::Tensor;
use ndarray::{ArrayD, IxDyn};
use prost::Message;
use std::collections::BTreeSet;
use std::path::Path;

/// Kinds no backend test runs (ONNX's Not tests are opset 1, older than the oldest
/// supported), each with the test in this file that checks it against the specification.
const REFERENCE_TESTS: &[(OpKind, &str)] = &[(OpKind::Not, "not_is_the_truth_table")];

#[test]
fn every_kind_has_one_name_that_finds_it() {
    let mut names = BTreeSet::new();
    for &k in OpKind::ALL {
        assert!(names.insert((k.domain(), k.name())), "{k:?} named twice");
        assert_eq!(OpKind::from_name(k.domain(), k.name()), Some(k));
    }
    assert_eq!(OpKind::from_name("", "DynamicQuantizeLSTM"), None);
    assert_eq!(OpKind::from_name("", "Constant"), None);
}

/// A model of one node of type `op` in `domain` from input `x` to output `y`, `x` declared
/// of element type `x_type` and shape `x_shape` when given.
fn one_node(domain: &str, op: &str, x_type: Option<(i32, &[i64])>) -> ModelProto {
    let value = |name: &str, ty: Option<(i32, &[i64])>| ValueInfoProto {
        name: name.into(),
        r#type: ty.map(|(elem_type, dims)| TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|&d| Dimension {
                            value: Some(dimension::Value::DimValue(d)),
                        })
                        .collect(),
                }),
            })),
        }),
    };
    let graph = GraphProto {
        node: vec![NodeProto {
            input: vec!["x".into()],
            output: vec!["y".into()],
            name: "n".into(),
            op_type: op.into(),
            domain: domain.into(),
            ..Default::default()
        }],
        input: vec![value("x", x_type)],
        output: vec![value("y", None)],
        ..Default::default()
    };
    ModelProto {
        graph: Some(graph),
        opset_import: [("", 21), ("com.microsoft", 1)]
            .map(|(domain, version)| OperatorSetIdProto {
                domain: domain.into(),
                version,
            })
            .into(),
        ..Default::default()
    }
}

/// Decodes a model of one node of type `op` in `domain`.
fn decode_one(domain: &str, op: &str) -> cdmsa::Result<()> {
    let model = one_node(domain, op, None);
    decode_model(&model.encode_to_vec(), None).map(|_| ())
}

#[test]
fn every_kind_reaches_its_parser() {
    for &k in OpKind::ALL {
        // The node's arity or attributes may be refused, but never its op type.
        let r = decode_one(k.domain(), k.name());
        assert!(!matches!(r, Err(Error::Unsupported { .. })), "{k:?}: {r:?}");
    }
    assert!(matches!(
        decode_one("", "NoSuchOp"),
        Err(Error::Unsupported { .. })
    ));
}

#[test]
fn every_kind_is_run_by_a_backend_or_contrib_test() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut tested = BTreeSet::new();
    for suite in ["onnx-node-tests", "contrib-tests"] {
        for entry in std::fs::read_dir(root.join(suite)).unwrap() {
            let model = entry.unwrap().path().join("model.onnx");
            // A test of an op outside the IR (kept to document it) does not load.
            if let Ok(g) = load_model(&model) {
                tested.extend(g.nodes.iter().map(|n| n.op.kind()));
            }
        }
    }
    let here = include_str!("op_coverage.rs");
    for (kind, test) in REFERENCE_TESTS {
        assert!(
            here.contains(&format!("fn {test}()")),
            "{kind:?}: no test {test}"
        );
        tested.insert(*kind);
    }
    let untested: Vec<OpKind> = OpKind::ALL
        .iter()
        .copied()
        .filter(|k| !tested.contains(k))
        .collect();
    assert!(
        untested.is_empty(),
        "no backend or reference test runs {untested:?}"
    );
}

/// ONNX's element type code of bool (`TensorProto.DataType.BOOL`).
const BOOL: i32 = 9;

#[test]
fn not_is_the_truth_table() {
    // ONNX Not: `y = ¬x` elementwise on bool; decoded, lowered and run on the vector unit.
    let model = one_node("", "Not", Some((BOOL, &[2, 2])));
    let graph = decode_model(&model.encode_to_vec(), None).unwrap();
    let x = Tensor::Bool(
        ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![true, false, false, true]).unwrap(),
    );
    let cfg = AcceleratorConfig::default_preset();
    let program = lower(&graph, &[InputBinding::of(&x)], &cfg).unwrap();
    let y = execute(&program, &[x], &cfg).unwrap().outputs;
    let want = Tensor::Bool(
        ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![false, true, true, false]).unwrap(),
    );
    assert_eq!(y, vec![want]);
}
