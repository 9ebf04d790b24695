//! Model import: models built here from the protobuf messages (field numbers checked
//! separately against hand-encoded bytes), a model written by the ONNX tools, and every way a
//! graph can be malformed. Expected graphs follow the ONNX IR specification.

use cdmsa::Error;
use cdmsa::ir::{AutoPad, ConvAttrs, Dim, GemmAttrs, Graph, Op, ValueId};
use cdmsa::onnx::{decode_model, load_model};
use cdmsa::proto::attribute_proto::AttributeType;
use cdmsa::proto::tensor_shape_proto::{Dimension, dimension};
use cdmsa::proto::type_proto::{self, Value as TypeValue};
use cdmsa::proto::*;
use cdmsa::tensor::pb::read_pb;
use cdmsa::tensor::{DType, Tensor};
use ndarray::{ArrayD, IxDyn};
use prost::Message;
use std::path::Path;

fn arr<T: Clone>(shape: &[usize], v: &[T]) -> ArrayD<T> {
    ArrayD::from_shape_vec(IxDyn(shape), v.to_vec()).unwrap()
}

fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: v.to_vec(),
        r#type: AttributeType::Ints as i32,
        ..Default::default()
    }
}

fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i: v,
        r#type: AttributeType::Int as i32,
        ..Default::default()
    }
}

fn float(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        f: v,
        r#type: AttributeType::Float as i32,
        ..Default::default()
    }
}

fn floats(name: &str, v: &[f32]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        floats: v.to_vec(),
        r#type: AttributeType::Floats as i32,
        ..Default::default()
    }
}

fn tensor_attr(name: &str, t: TensorProto) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        t: Some(t),
        r#type: AttributeType::Tensor as i32,
        ..Default::default()
    }
}

fn node(
    op: &str,
    name: &str,
    inputs: &[&str],
    outputs: &[&str],
    attrs: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        name: name.into(),
        op_type: op.into(),
        attribute: attrs,
        domain: String::new(),
    }
}

/// A dimension: a number, a name, or `""` for one with neither.
fn dim(d: &str) -> Dimension {
    let value = match d.parse::<i64>() {
        Ok(v) => Some(dimension::Value::DimValue(v)),
        Err(_) if d.is_empty() => None,
        Err(_) => Some(dimension::Value::DimParam(d.into())),
    };
    Dimension { value }
}

fn info(name: &str, elem_type: i32, dims: Option<&[&str]>) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(TypeValue::TensorType(type_proto::Tensor {
                elem_type,
                shape: dims.map(|ds| TensorShapeProto {
                    dim: ds.iter().map(|d| dim(d)).collect(),
                }),
            })),
        }),
    }
}

fn f32_raw(name: &str, dims: &[i64], v: &[f32]) -> TensorProto {
    TensorProto {
        dims: dims.to_vec(),
        data_type: 1,
        raw_data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        name: name.into(),
        ..Default::default()
    }
}

fn model(graph: GraphProto, opset: i64) -> Vec<u8> {
    ModelProto {
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: opset,
        }],
        ..Default::default()
    }
    .encode_to_vec()
}

/// One node reading graph inputs `x`... (float) and writing graph output of its first output.
fn single(n: NodeProto, opset: i64) -> Vec<u8> {
    let inputs = n
        .input
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| info(s, 1, None))
        .collect();
    let output = vec![info(&n.output[0], 1, None)];
    model(
        GraphProto {
            node: vec![n],
            input: inputs,
            output,
            ..Default::default()
        },
        opset,
    )
}

fn names(g: &Graph, ids: &[ValueId]) -> Vec<String> {
    ids.iter().map(|&i| g.value(i).name.clone()).collect()
}

/// input x [N,1,4,4] → Conv(x, w from a Constant node, b initializer) → Relu → y.
/// The nodes are listed out of order and the Relu and Constant have no name.
fn conv_relu_graph() -> GraphProto {
    let w: Vec<f32> = (0..18).map(|i| i as f32 - 9.0).collect();
    let w = TensorProto {
        dims: vec![2, 1, 3, 3],
        data_type: 1,
        float_data: w,
        ..Default::default()
    };
    GraphProto {
        node: vec![
            node("Relu", "", &["c"], &["y"], vec![]),
            node("Constant", "", &[], &["w"], vec![tensor_attr("value", w)]),
            node(
                "Conv",
                "conv",
                &["x", "w", "b"],
                &["c"],
                vec![ints("kernel_shape", &[3, 3]), ints("pads", &[1, 1, 1, 1])],
            ),
        ],
        initializer: vec![f32_raw("b", &[2], &[0.5, -0.5])],
        input: vec![info("x", 1, Some(&["N", "1", "4", "4"]))],
        output: vec![info("y", 1, Some(&["N", "2", "", "4"]))],
        ..Default::default()
    }
}

#[test]
fn conv_relu_with_a_constant_weight() {
    let g = decode_model(&model(conv_relu_graph(), 13), None).unwrap();
    assert_eq!(g.opset, 13);
    assert_eq!(names(&g, &g.inputs), ["x"]);
    assert_eq!(names(&g, &g.outputs), ["y"]);
    let x = g.value(g.inputs[0]);
    assert_eq!(x.dtype, Some(DType::F32));
    let fixed = |d| Dim::Fixed(d);
    let sym = |s: &str| Dim::Symbolic(s.into());
    assert_eq!(x.shape, Some(vec![sym("N"), fixed(1), fixed(4), fixed(4)]));
    assert_eq!(x.constant, None);

    // The Constant node is gone; Conv comes first; the unnamed Relu is named by position.
    assert_eq!(g.nodes.len(), 2);
    let (conv, relu) = (&g.nodes[0], &g.nodes[1]);
    assert_eq!(conv.name, "conv");
    let attrs = ConvAttrs {
        kernel_shape: Some(vec![3, 3]),
        strides: vec![],
        pads: vec![1, 1, 1, 1],
        dilations: vec![],
        group: 1,
        auto_pad: AutoPad::NotSet,
    };
    assert_eq!(conv.op, Op::Conv(attrs));
    let conv_inputs: Vec<ValueId> = conv.inputs.iter().map(|i| i.unwrap()).collect();
    assert_eq!(names(&g, &conv_inputs), ["x", "w", "b"]);
    let w: Vec<f32> = (0..18).map(|i| i as f32 - 9.0).collect();
    assert_eq!(
        g.constant(conv_inputs[1]),
        Some(&Tensor::F32(arr(&[2, 1, 3, 3], &w)))
    );
    assert_eq!(
        g.constant(conv_inputs[2]),
        Some(&Tensor::F32(arr(&[2], &[0.5, -0.5])))
    );
    let w_value = g.value(conv_inputs[1]);
    assert_eq!(
        w_value.shape,
        Some(vec![fixed(2), fixed(1), fixed(3), fixed(3)])
    );
    assert_eq!(names(&g, &conv.outputs), ["c"]);

    assert_eq!(relu.name, "Relu_0");
    assert_eq!(relu.op, Op::Relu);
    assert_eq!(relu.inputs, vec![Some(conv.outputs[0])]);
    assert_eq!(relu.outputs, g.outputs);
    let y = g.value(g.outputs[0]);
    assert_eq!(y.dtype, Some(DType::F32));
    assert_eq!(y.shape, Some(vec![sym("N"), fixed(2), sym("?"), fixed(4)]));
    assert_eq!(g.value(conv.outputs[0]).dtype, None);
}

#[test]
fn initializers_listed_as_inputs_are_constants() {
    let mut graph = conv_relu_graph();
    graph.input.push(info("b", 1, Some(&["2"])));
    // ValueInfo for an intermediate value is recorded.
    graph
        .value_info
        .push(info("c", 1, Some(&["N", "2", "4", "4"])));
    let g = decode_model(&model(graph, 13), None).unwrap();
    assert_eq!(names(&g, &g.inputs), ["x"]);
    let b = g.find("b").unwrap();
    assert!(g.constant(b).is_some());
    let c = g.value(g.find("c").unwrap());
    assert_eq!(c.dtype, Some(DType::F32));
    assert_eq!(c.shape.as_ref().map(Vec::len), Some(4));
}

#[test]
fn constant_attribute_forms() {
    let cases = [
        (float("value_float", 2.5), Tensor::F32(arr(&[], &[2.5]))),
        (
            floats("value_floats", &[1.0, 2.0]),
            Tensor::F32(arr(&[2], &[1.0, 2.0])),
        ),
        (int("value_int", -3), Tensor::I64(arr(&[], &[-3]))),
        (
            ints("value_ints", &[4, 5, 6]),
            Tensor::I64(arr(&[3], &[4, 5, 6])),
        ),
        (
            tensor_attr("value", f32_raw("", &[1], &[7.0])),
            Tensor::F32(arr(&[1], &[7.0])),
        ),
    ];
    for (attr, expected) in cases {
        let graph = GraphProto {
            node: vec![node("Constant", "k", &[], &["k_out"], vec![attr])],
            output: vec![info("k_out", 0, None)],
            ..Default::default()
        };
        let g = decode_model(&model(graph, 13), None).unwrap();
        assert!(g.nodes.is_empty());
        assert_eq!(g.constant(g.outputs[0]), Some(&expected));
    }
}

#[test]
fn omitted_optional_inputs_are_none() {
    // Clip(x, "", max): no min bound.
    let g = decode_model(
        &single(node("Clip", "clip", &["x", "", "hi"], &["y"], vec![]), 13),
        None,
    )
    .unwrap();
    let clip = &g.nodes[0];
    assert_eq!(clip.inputs.len(), 3);
    assert!(clip.inputs[0].is_some() && clip.inputs[1].is_none() && clip.inputs[2].is_some());
}

#[test]
fn ai_onnx_is_the_default_domain() {
    let mut n = node("Relu", "r", &["x"], &["y"], vec![]);
    n.domain = "ai.onnx".into();
    let mut bytes = ModelProto::decode(single(n, 14).as_slice()).unwrap();
    bytes.opset_import[0].domain = "ai.onnx".into();
    let g = decode_model(&bytes.encode_to_vec(), None).unwrap();
    assert_eq!(g.nodes[0].op, Op::Relu);
}

#[test]
fn a_model_written_by_the_onnx_tools() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/quantizelinear_blocked_asymmetric");
    let g = load_model(&dir.join("model.onnx")).unwrap();
    assert_eq!(g.opset, 25);
    assert_eq!(names(&g, &g.inputs), ["x", "y_scale", "y_zero_point"]);
    assert_eq!(names(&g, &g.outputs), ["y"]);
    assert_eq!(g.nodes.len(), 1);
    let op = Op::QuantizeLinear {
        axis: 1,
        block_size: 2,
        output_dtype: None,
    };
    assert_eq!(g.nodes[0].op, op);
    let zp = g.value(g.inputs[2]);
    assert_eq!(zp.dtype, Some(DType::U8));
    assert_eq!(zp.shape, Some(vec![Dim::Fixed(3), Dim::Fixed(2)]));

    let data = dir.join("test_data_set_0");
    let x = [
        6.0, 12.0, 50.0, 5.0, 1.0, 8.0, 4.0, 5.0, 0.0, 20.0, 10.0, 4.0,
    ];
    assert_eq!(
        read_pb(&data.join("input_0.pb")).unwrap(),
        Tensor::F32(arr(&[3, 4], &x))
    );
    let scale = [1.5, 2.5, 3.0, 4.9, 5.1, 6.9];
    assert_eq!(
        read_pb(&data.join("input_1.pb")).unwrap(),
        Tensor::F32(arr(&[3, 2], &scale))
    );
    let zp = [0, 1, 1, 0, 2, 3];
    assert_eq!(
        read_pb(&data.join("input_2.pb")).unwrap(),
        Tensor::U8(arr(&[3, 2], &zp))
    );
    let y = [4, 8, 21, 3, 1, 4, 1, 1, 2, 6, 4, 4];
    assert_eq!(
        read_pb(&data.join("output_0.pb")).unwrap(),
        Tensor::U8(arr(&[3, 4], &y))
    );
}

#[test]
fn external_initializer_data_is_read_next_to_the_model() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("onnx_external");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("b.bin"),
        [0.5f32, -0.5].map(f32::to_le_bytes).concat(),
    )
    .unwrap();
    let mut graph = conv_relu_graph();
    graph.initializer[0] = TensorProto {
        dims: vec![2],
        data_type: 1,
        name: "b".into(),
        data_location: 1,
        external_data: vec![StringStringEntryProto {
            key: "location".into(),
            value: "b.bin".into(),
        }],
        ..Default::default()
    };
    let path = dir.join("model.onnx");
    std::fs::write(&path, model(graph, 13)).unwrap();
    let g = load_model(&path).unwrap();
    let b = g.find("b").unwrap();
    assert_eq!(g.constant(b), Some(&Tensor::F32(arr(&[2], &[0.5, -0.5]))));
}

/// A model serialized by the official `onnx` Python package (1.22.0), from:
///
/// ```python
/// w = numpy_helper.from_array(np.array([[[[2.0]]]], dtype=np.float32), "w")  # raw_data
/// w2 = helper.make_tensor("w2", TensorProto.FLOAT, [2, 3], [1, 2, 3, 4, 5, 6])  # float_data
/// nodes = [
///     make_node("Constant", [], ["shape"], name="k", value=make_tensor("", INT64, [2], [1, -1])),
///     make_node("Conv", ["x", "w", ""], ["conv_out"], name="conv", kernel_shape=[1, 1],
///               auto_pad="VALID", group=1, dilations=[1, 1], domain="ai.onnx"),
///     make_node("Reshape", ["conv_out", "shape"], ["flat"], name="r"),
///     make_node("Gemm", ["flat", "w2t", "bias"], ["out"], alpha=0.5, transB=1, doc_string="unused"),
///     make_node("Constant", [], ["w2t"], name="kt", value_floats=[1, 0, 0, 1, 1, 1, 0.5, 0.5]),
///     make_node("Constant", [], ["bias"], value_float=0.25),
/// ]
/// graph = make_graph(nodes, "g", [make_tensor_value_info("x", FLOAT, ["N", 1, 2, 2])],
///     [make_tensor_value_info("out", FLOAT, ["N", None])], initializer=[w, w2],
///     value_info=[make_tensor_value_info("conv_out", FLOAT, ["N", 1, 2, 2])], doc_string="a graph")
/// model = make_model(graph, opset_imports=[make_opsetid("", 13)], producer_name="handmade")
/// model.metadata_props.add(key="k", value="v")
/// ```
const OFFICIAL_MODEL_HEX: &str = concat!(
    "080d120868616e646d6164653ab3040a35120573686170651a016b2208436f6e7374616e742a1f0a0576616c75652a13",
    "080210073a0b01ffffffffffffffffff014200a001040a760a01780a01770a001208636f6e765f6f75741a04636f6e76",
    "2204436f6e762a140a086175746f5f706164220556414c4944a001032a120a0964696c6174696f6e7340014001a00107",
    "2a0c0a0567726f75701801a001022a150a0c6b65726e656c5f736861706540014001a001073a0761692e6f6e6e780a23",
    "0a08636f6e765f6f75740a0573686170651204666c61741a01722207526573686170650a440a04666c61740a03773274",
    "0a046269617312036f7574220447656d6d2a0f0a05616c706861150000003fa001012a0d0a067472616e73421801a001",
    "023206756e757365640a4e12037732741a026b742208436f6e7374616e742a390a0c76616c75655f666c6f6174733d00",
    "00803f3d000000003d000000003d0000803f3d0000803f3d0000803f3d0000003f3d0000003fa001060a271204626961",
    "732208436f6e7374616e742a150a0b76616c75655f666c6f6174150000803ea001011201672a13080108010801080110",
    "014201774a04000000402a2408020803100122180000803f0000004000004040000080400000a0400000c04042027732",
    "5207612067726170685a1c0a017812170a15080112110a0312014e0a0208010a0208020a02080262140a036f7574120d",
    "0a0b080112070a0312014e0a006a230a08636f6e765f6f757412170a15080112110a0312014e0a0208010a0208020a02",
    "080242040a00100d72060a016b120176",
);

#[test]
fn a_model_serialized_by_the_official_onnx_package() {
    let hex = OFFICIAL_MODEL_HEX.as_bytes();
    let bytes: Vec<u8> = hex
        .chunks(2)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
        .collect();
    let g = decode_model(&bytes, None).unwrap();
    let sym = |s: &str| Dim::Symbolic(s.into());
    assert_eq!(g.opset, 13);
    assert_eq!(names(&g, &g.inputs), ["x"]);
    let x = g.value(g.inputs[0]);
    assert_eq!(
        x.shape,
        Some(vec![sym("N"), Dim::Fixed(1), Dim::Fixed(2), Dim::Fixed(2)])
    );
    assert_eq!(names(&g, &g.outputs), ["out"]);
    assert_eq!(g.value(g.outputs[0]).shape, Some(vec![sym("N"), sym("?")]));
    let conv_out = g.value(g.find("conv_out").unwrap());
    assert_eq!(
        (conv_out.dtype, conv_out.shape.as_ref().map(Vec::len)),
        (Some(DType::F32), Some(4))
    );

    let ops: Vec<(&str, &Op)> = g.nodes.iter().map(|n| (n.name.as_str(), &n.op)).collect();
    let conv = Op::Conv(ConvAttrs {
        kernel_shape: Some(vec![1, 1]),
        strides: vec![],
        pads: vec![],
        dilations: vec![1, 1],
        group: 1,
        auto_pad: AutoPad::Valid,
    });
    let gemm = Op::Gemm(GemmAttrs {
        alpha: 0.5,
        beta: 1.0,
        trans_a: false,
        trans_b: true,
    });
    let reshape = Op::Reshape { allowzero: false };
    assert_eq!(ops, [("conv", &conv), ("r", &reshape), ("Gemm_3", &gemm)]);
    let conv_inputs: Vec<Option<String>> = g.nodes[0]
        .inputs
        .iter()
        .map(|i| i.map(|i| g.value(i).name.clone()))
        .collect();
    assert_eq!(
        conv_inputs,
        [Some("x".to_string()), Some("w".to_string()), None]
    );

    let constant = |name: &str| g.constant(g.find(name).unwrap()).unwrap().clone();
    assert_eq!(constant("w"), Tensor::F32(arr(&[1, 1, 1, 1], &[2.0])));
    assert_eq!(
        constant("w2"),
        Tensor::F32(arr(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))
    );
    assert_eq!(constant("shape"), Tensor::I64(arr(&[2], &[1, -1])));
    let w2t = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.5, 0.5];
    assert_eq!(constant("w2t"), Tensor::F32(arr(&[8], &w2t)));
    assert_eq!(constant("bias"), Tensor::F32(arr(&[], &[0.25])));
}

fn node_error(bytes: &[u8]) -> (String, String, String) {
    match decode_model(bytes, None) {
        Err(Error::Node { node, op, msg }) => (node, op, msg),
        other => panic!("expected a node error, got {other:?}"),
    }
}

#[test]
fn unknown_ops_and_domains_are_unsupported() {
    let bytes = single(node("FooBar", "mystery", &["x"], &["y"], vec![]), 13);
    match decode_model(&bytes, None) {
        Err(Error::Unsupported { node, op, domain }) => {
            assert_eq!(
                (node.as_str(), op.as_str(), domain.as_str()),
                ("mystery", "FooBar", "")
            );
        }
        other => panic!("{other:?}"),
    }
    let mut n = node("QLinearSigmoid", "", &["x"], &["y"], vec![]);
    n.domain = "com.microsoft".into();
    let err = decode_model(&single(n, 13), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "node 'QLinearSigmoid_0': unsupported op 'QLinearSigmoid' in domain 'com.microsoft'"
    );
}

#[test]
fn cycles_name_a_node_and_the_value() {
    let graph = GraphProto {
        node: vec![
            node("Relu", "first", &["x"], &["a"], vec![]),
            node("Add", "second", &["a", "c"], &["b"], vec![]),
            node("Relu", "third", &["b"], &["c"], vec![]),
        ],
        input: vec![info("x", 1, None)],
        output: vec![info("c", 1, None)],
        ..Default::default()
    };
    let (name, op, msg) = node_error(&model(graph, 13));
    assert!(
        (name == "second" && op == "Add" && msg.contains("'c'") && msg.contains("'third'"))
            || (name == "third" && op == "Relu" && msg.contains("'b'") && msg.contains("'second'")),
        "{name} {op} {msg}"
    );
    assert!(msg.contains("cycle"));
    // A node reading its own output.
    let bytes = single(node("Add", "self", &["x", "y"], &["y"], vec![]), 13);
    let graph = ModelProto::decode(bytes.as_slice()).unwrap().graph.unwrap();
    let graph = GraphProto {
        input: vec![info("x", 1, None)],
        ..graph
    };
    let (name, _, msg) = node_error(&model(graph, 13));
    assert_eq!(name, "self");
    assert!(msg.contains("cycle"));
}

#[test]
fn missing_inputs_name_the_node_and_the_value() {
    let graph = GraphProto {
        node: vec![node("Add", "adder", &["x", "nowhere"], &["y"], vec![])],
        input: vec![info("x", 1, None)],
        output: vec![info("y", 1, None)],
        ..Default::default()
    };
    let (name, op, msg) = node_error(&model(graph, 13));
    assert_eq!((name.as_str(), op.as_str()), ("adder", "Add"));
    assert!(msg.contains("'nowhere'"), "{msg}");
}

#[test]
fn structural_errors() {
    let malformed = |graph: GraphProto, needle: &str| match decode_model(&model(graph, 13), None) {
        Err(
            e @ Error::Malformed {
                what: "ONNX model", ..
            },
        ) => {
            assert!(e.to_string().contains(needle), "{e}")
        }
        other => panic!("expected {needle:?}, got {other:?}"),
    };
    let mut g = conv_relu_graph();
    g.output.push(info("ghost", 1, None));
    malformed(g, "graph output 'ghost'");
    let mut g = conv_relu_graph();
    g.initializer.push(f32_raw("b", &[1], &[0.0]));
    malformed(g, "'b' is defined twice");
    let mut g = conv_relu_graph();
    g.input.push(info("x", 1, None));
    malformed(g, "'x' is defined twice");
    let mut g = conv_relu_graph();
    g.input.push(info("b", 6, None));
    malformed(g, "another type");

    let mut g = conv_relu_graph();
    g.node.push(node("Relu", "again", &["x"], &["c"], vec![]));
    let (name, _, msg) = node_error(&model(g, 13));
    assert_eq!(name, "again");
    assert!(msg.contains("'c' is already defined"));

    let mut g = conv_relu_graph();
    g.sparse_initializer.push(vec![]);
    assert!(matches!(
        decode_model(&model(g, 13), None),
        Err(Error::Invalid(_))
    ));
}

#[test]
fn non_tensor_and_unsupported_value_types_are_rejected() {
    let mut g = conv_relu_graph();
    g.input[0].r#type = Some(TypeProto {
        value: Some(TypeValue::SequenceType(type_proto::Sequence {})),
    });
    match decode_model(&model(g, 13), None) {
        Err(Error::DType(msg)) => assert!(msg.contains("'x' is a sequence"), "{msg}"),
        other => panic!("{other:?}"),
    }
    let mut g = conv_relu_graph();
    g.input[0] = info("x", 11, None);
    match decode_model(&model(g, 13), None) {
        Err(Error::DType(msg)) => assert!(msg.contains("double"), "{msg}"),
        other => panic!("{other:?}"),
    }
    for absurd in ["-1", "4294967296"] {
        let mut g = conv_relu_graph();
        g.input[0] = info("x", 1, Some(&["1", absurd]));
        let err = decode_model(&model(g, 13), None).unwrap_err().to_string();
        // Negative: malformed; too large: refused by the element limit.
        let why = if absurd == "-1" {
            "dimension -1"
        } else {
            "[1, 4294967296]"
        };
        assert!(err.contains(why), "{err}");
    }
}

#[test]
fn opset_bounds() {
    for opset in [6, 28] {
        match decode_model(&model(conv_relu_graph(), opset), None) {
            Err(Error::Invalid(msg)) => assert!(msg.contains(&format!("opset {opset}")), "{msg}"),
            other => panic!("{other:?}"),
        }
    }
    for opset in [7, 25] {
        assert!(decode_model(&model(conv_relu_graph(), opset), None).is_ok());
    }
    let mut m = ModelProto::decode(model(conv_relu_graph(), 13).as_slice()).unwrap();
    m.opset_import[0].domain = "com.microsoft".into();
    assert!(matches!(
        decode_model(&m.encode_to_vec(), None),
        Err(Error::Malformed { .. })
    ));
    m.graph = None;
    assert!(matches!(
        decode_model(&m.encode_to_vec(), None),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn huge_initializer_fails_before_allocating() {
    let mut g = conv_relu_graph();
    g.initializer.push(TensorProto {
        dims: vec![1_000_000, 1_000_000],
        data_type: 1,
        raw_data: vec![0; 30].into(),
        name: "huge".into(),
        ..Default::default()
    });
    let err = decode_model(&model(g, 13), None).unwrap_err();
    assert!(
        err.to_string().contains("'huge'") && err.to_string().contains("elements"),
        "{err}"
    );
}

#[test]
fn garbage_and_truncated_bytes_are_malformed() {
    let is_malformed = |bytes: &[u8]| {
        matches!(
            decode_model(bytes, None),
            Err(Error::Malformed {
                what: "ONNX model",
                ..
            })
        )
    };
    assert!(is_malformed(b"this is not a protobuf message"));
    assert!(is_malformed(&[0x3A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]));
    let good = model(conv_relu_graph(), 13);
    assert!(is_malformed(&good[..good.len() / 2]));
    for len in 0..good.len() {
        assert!(
            decode_model(&good[..len], None).is_err(),
            "prefix of {len} bytes accepted"
        );
    }
}

/// SplitMix64, so that the random inputs are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[test]
fn random_and_mutated_bytes_never_panic() {
    let mut rng = Rng(0x5EED);
    for _ in 0..200 {
        let len = (rng.next() % 512) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let _ = decode_model(&bytes, None);
    }
    let good = model(conv_relu_graph(), 13);
    for _ in 0..2000 {
        let mut bytes = good.clone();
        for _ in 0..1 + rng.next() % 4 {
            let i = (rng.next() % bytes.len() as u64) as usize;
            bytes[i] = rng.next() as u8;
        }
        let _ = decode_model(&bytes, None);
    }
}

#[test]
fn load_model_names_the_file() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("onnx_load");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broken.onnx");
    std::fs::write(&path, b"\x0A\x05abc").unwrap();
    match load_model(&path) {
        Err(Error::InFile { path: p, source }) => {
            assert_eq!(p, path);
            assert!(matches!(
                *source,
                Error::Malformed {
                    what: "ONNX model",
                    ..
                }
            ));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        load_model(&dir.join("absent.onnx")),
        Err(Error::Io { .. })
    ));
    // An empty file is an empty model (nothing to map), and a directory is not a model file.
    let empty = dir.join("empty.onnx");
    std::fs::write(&empty, b"").unwrap();
    assert!(
        matches!(load_model(&empty), Err(Error::InFile { path, .. }) if path == empty),
        "{:?}",
        load_model(&empty)
    );
    match load_model(&dir) {
        Err(e @ Error::InFile { .. }) => {
            assert_eq!(
                e.to_string(),
                format!("{}: a directory, not a regular file", dir.display())
            );
        }
        other => panic!("{other:?}"),
    }
}

/// Loading and lowering for timing read no weight that no rewrite needs: the weights of GEMM
/// nodes not followed by a BatchNormalization (whose folding rescales them) stay encoded
/// (slices of the file) until something reads them, and then hold the values an eager decode
/// gives.
#[test]
fn lowering_decodes_no_weight_and_a_run_decodes_them_exactly() {
    use cdmsa::config::AcceleratorConfig;
    use cdmsa::lower::lower;
    use cdmsa::tensor::pb::tensor_from_proto;
    use prost::Message;
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/digits/fp32/model.onnx");
    let g = load_model(&path).unwrap();
    let weights: Vec<ValueId> = g
        .nodes
        .iter()
        .filter(|n| n.op.is_gemm_class())
        .filter(|n| {
            !g.nodes.iter().any(|m| {
                matches!(m.op, Op::BatchNormalization { .. })
                    && m.inputs.first().copied().flatten() == n.outputs.first().copied()
            })
        })
        .filter_map(|n| n.inputs.get(1).copied().flatten())
        .filter(|&w| g.is_constant(w))
        .collect();
    assert!(!weights.is_empty());
    let cfg = AcceleratorConfig::preset("tiny").unwrap();
    let program = lower(&g, &g.declared_inputs(1).unwrap(), &cfg).unwrap();
    assert!(!program.kernels.is_empty());
    for &w in &weights {
        let c = g.values[w.0].constant.as_ref().unwrap();
        assert!(!c.is_decoded(), "'{}' was decoded", g.values[w.0].name);
    }
    let bytes = std::fs::read(&path).unwrap();
    let model = ModelProto::decode(&bytes[..]).unwrap();
    for &w in &weights {
        let name = &g.values[w.0].name;
        let proto = model
            .graph
            .as_ref()
            .unwrap()
            .initializer
            .iter()
            .find(|t| &t.name == name);
        assert_eq!(
            g.constant(w),
            Some(&tensor_from_proto(proto.unwrap(), None).unwrap())
        );
    }
}
