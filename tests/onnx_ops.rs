//! Node → `Op`: attribute defaults, opset-dependent meaning and validation, per the ONNX
//! operator specification (docs/Operators.md and docs/Changelog.md of onnx/onnx).

use cdmsa::Error;
use cdmsa::ir::{
    AspectPolicy, AutoPad, Comparison, ConvAttrs, ConvTransposeAttrs, CoordinateTransform,
    EpilogueAct, GemmAttrs, Logic, NearestMode, Op, PadMode, PoolAttrs, ReduceAttrs, Reduction,
    ResizeAttrs, ResizeMode, Unary,
};
use cdmsa::onnx::decode_model;
use cdmsa::proto::attribute_proto::AttributeType;
use cdmsa::proto::*;
use cdmsa::tensor::DType;
use cdmsa::tensor::Tensor;
use ndarray::{ArrayD, IxDyn};
use prost::Message;

fn attr(name: &str, ty: AttributeType) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: ty as i32,
        ..Default::default()
    }
}

fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        i: v,
        ..attr(name, AttributeType::Int)
    }
}

fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        ints: v.to_vec(),
        ..attr(name, AttributeType::Ints)
    }
}

fn float(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        f: v,
        ..attr(name, AttributeType::Float)
    }
}

fn string(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        s: v.as_bytes().to_vec(),
        ..attr(name, AttributeType::String)
    }
}

/// Imports a model made of one node `n` (name "n") whose inputs are graph inputs.
fn import_with_outputs(
    opset: i64,
    op: &str,
    inputs: &[&str],
    outputs: &[&str],
    attrs: Vec<AttributeProto>,
) -> cdmsa::Result<Op> {
    let value = |name: &&str| ValueInfoProto {
        name: name.to_string(),
        r#type: None,
    };
    let graph = GraphProto {
        node: vec![NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            name: "n".into(),
            op_type: op.into(),
            attribute: attrs,
            domain: String::new(),
        }],
        input: inputs.iter().filter(|s| !s.is_empty()).map(value).collect(),
        output: vec![value(&outputs[0])],
        ..Default::default()
    };
    let model = ModelProto {
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: opset,
        }],
        ..Default::default()
    };
    let g = decode_model(&model.encode_to_vec(), None)?;
    Ok(g.nodes[0].op.clone())
}

fn import(opset: i64, op: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> cdmsa::Result<Op> {
    import_with_outputs(opset, op, inputs, &["y"], attrs)
}

fn ok(opset: i64, op: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> Op {
    import(opset, op, inputs, attrs).unwrap_or_else(|e| panic!("{op} at opset {opset}: {e}"))
}

/// The message of the node error the import gives; it must name node "n" and the op.
fn rejected(opset: i64, op: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> String {
    match import(opset, op, inputs, attrs) {
        Err(Error::Node { node, op: o, msg }) => {
            assert_eq!((node.as_str(), o.as_str()), ("n", op));
            msg
        }
        other => panic!("{op} at opset {opset}: expected a node error, got {other:?}"),
    }
}

const X: &[&str] = &["x"];
const XW: &[&str] = &["x", "w"];

#[test]
fn conv_defaults_and_attributes() {
    let expected = ConvAttrs {
        group: 1,
        ..ConvAttrs::default()
    };
    assert_eq!(ok(11, "Conv", XW, vec![]), Op::Conv(expected));
    let attrs = vec![
        ints("kernel_shape", &[3, 1]),
        ints("strides", &[2, 1]),
        ints("pads", &[1, 0, 2, 0]),
        ints("dilations", &[1, 2]),
        int("group", 4),
        string("auto_pad", "NOTSET"),
    ];
    let expected = ConvAttrs {
        kernel_shape: Some(vec![3, 1]),
        strides: vec![2, 1],
        pads: vec![1, 0, 2, 0],
        dilations: vec![1, 2],
        group: 4,
        auto_pad: AutoPad::NotSet,
    };
    assert_eq!(
        ok(22, "Conv", &["x", "w", "b"], attrs.clone()),
        Op::Conv(expected.clone())
    );
    let qconv = ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"];
    assert_eq!(
        ok(10, "QLinearConv", &qconv, attrs.clone()),
        Op::QLinearConv(expected.clone(), EpilogueAct::None)
    );
    assert_eq!(
        ok(10, "ConvInteger", &["x", "w", "", "wz"], attrs),
        Op::ConvInteger(expected)
    );
    for (text, mode) in [
        ("VALID", AutoPad::Valid),
        ("SAME_UPPER", AutoPad::SameUpper),
        ("SAME_LOWER", AutoPad::SameLower),
    ] {
        let Op::Conv(a) = ok(13, "Conv", XW, vec![string("auto_pad", text)]) else {
            panic!()
        };
        assert_eq!(a.auto_pad, mode);
    }
}

#[test]
fn conv_validation() {
    let msg = rejected(13, "Conv", XW, vec![int("group", 0)]);
    assert!(msg.contains("group must be at least 1"), "{msg}");
    assert!(rejected(13, "Conv", XW, vec![ints("strides", &[1, -1])]).contains("-1"));
    assert!(rejected(13, "Conv", XW, vec![ints("kernel_shape", &[0])]).contains("value 0"));
    assert!(rejected(13, "Conv", XW, vec![ints("kernel_shape", &[])]).contains("empty"));
    assert!(
        rejected(13, "Conv", XW, vec![ints("pads", &[1, 1, 1])]).contains("two per spatial dim")
    );
    let msg = rejected(
        13,
        "Conv",
        XW,
        vec![ints("kernel_shape", &[3, 3]), ints("strides", &[1])],
    );
    assert!(msg.contains("disagree"), "{msg}");
    assert!(
        rejected(13, "Conv", XW, vec![string("auto_pad", "SAME")])
            .contains("unknown auto_pad 'SAME'")
    );
    let msg = rejected(
        13,
        "Conv",
        XW,
        vec![string("auto_pad", "VALID"), ints("pads", &[1, 1, 1, 1])],
    );
    assert!(msg.contains("cannot be combined"), "{msg}");
    assert!(
        rejected(13, "Conv", XW, vec![int("kernel_shape", 3)])
            .contains("must be of type Ints, found Int")
    );
    assert!(rejected(13, "Conv", X, vec![]).contains("expects 2 to 3 inputs, has 1"));
    assert!(rejected(13, "Conv", &["", "w"], vec![]).contains("required input #0 is missing"));
    assert!(rejected(9, "ConvInteger", XW, vec![]).contains("needs opset 10"));
}

#[test]
fn pooling() {
    let window = || vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])];
    let expected = PoolAttrs {
        kernel_shape: vec![2, 2],
        strides: vec![2, 2],
        ..PoolAttrs::default()
    };
    assert_eq!(ok(8, "MaxPool", X, window()), Op::MaxPool(expected.clone()));
    assert_eq!(
        ok(7, "AveragePool", X, window()),
        Op::AveragePool(expected.clone())
    );
    let mut attrs = window();
    attrs.extend([
        int("ceil_mode", 1),
        ints("dilations", &[2, 2]),
        int("storage_order", 1),
    ]);
    let with = PoolAttrs {
        ceil_mode: true,
        dilations: vec![2, 2],
        ..expected.clone()
    };
    assert_eq!(
        ok(12, "MaxPool", X, attrs.clone()),
        Op::MaxPool(with.clone())
    );
    // ceil_mode and dilations arrive in MaxPool-10.
    assert!(rejected(9, "MaxPool", X, attrs).contains("unexpected attribute"));
    // AveragePool has dilations from opset 19 only.
    let mut attrs = window();
    attrs.extend([ints("dilations", &[2, 2]), int("count_include_pad", 1)]);
    let with = PoolAttrs {
        dilations: vec![2, 2],
        count_include_pad: true,
        ..expected
    };
    assert_eq!(
        ok(19, "AveragePool", X, attrs.clone()),
        Op::AveragePool(with)
    );
    let msg = rejected(18, "AveragePool", X, attrs);
    assert!(msg.contains("unexpected attribute 'dilations'"), "{msg}");
    assert!(rejected(13, "MaxPool", X, vec![]).contains("kernel_shape is required"));
    assert!(
        rejected(
            13,
            "AveragePool",
            X,
            [window(), vec![int("count_include_pad", 2)]].concat()
        )
        .contains("0 or 1")
    );
    assert_eq!(
        ok(13, "GlobalAveragePool", X, vec![]),
        Op::GlobalAveragePool
    );
    assert_eq!(ok(13, "GlobalMaxPool", X, vec![]), Op::GlobalMaxPool);
}

#[test]
fn max_pool_indices_output_is_rejected() {
    let attrs = vec![ints("kernel_shape", &[2, 2])];
    match import_with_outputs(12, "MaxPool", X, &["y", "indices"], attrs.clone()) {
        Err(Error::Node { node, op, msg }) => {
            assert_eq!((node.as_str(), op.as_str()), ("n", "MaxPool"));
            assert!(msg.contains("'indices'"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    // An omitted optional output is fine.
    assert!(import_with_outputs(12, "MaxPool", X, &["y", ""], attrs).is_ok());
}

#[test]
fn gemm_and_matmuls() {
    let defaults = GemmAttrs {
        alpha: 1.0,
        beta: 1.0,
        trans_a: false,
        trans_b: false,
    };
    assert_eq!(ok(13, "Gemm", &["a", "b"], vec![]), Op::Gemm(defaults));
    let attrs = vec![
        float("alpha", 0.25),
        float("beta", 0.0),
        int("transA", 1),
        int("transB", 1),
    ];
    let expected = GemmAttrs {
        alpha: 0.25,
        beta: 0.0,
        trans_a: true,
        trans_b: true,
    };
    assert_eq!(ok(9, "Gemm", &["a", "b", "c"], attrs), Op::Gemm(expected));
    // C is optional from Gemm-11.
    assert!(rejected(10, "Gemm", &["a", "b"], vec![]).contains("expects 3 inputs"));
    assert!(rejected(13, "Gemm", &["a", "b"], vec![int("transA", 2)]).contains("must be 0 or 1"));
    assert!(rejected(13, "Gemm", &["a", "b"], vec![int("alpha", 2)]).contains("type Float"));
    assert_eq!(ok(13, "MatMul", &["a", "b"], vec![]), Op::MatMul);
    assert_eq!(
        ok(10, "MatMulInteger", &["a", "b", "az"], vec![]),
        Op::MatMulInteger
    );
    let q = ["a", "as", "az", "b", "bs", "bz", "ys", "yz"];
    assert_eq!(
        ok(21, "QLinearMatMul", &q, vec![]),
        Op::QLinearMatMul(EpilogueAct::None)
    );
    assert!(rejected(21, "QLinearMatMul", &q[..7], vec![]).contains("expects 8 inputs, has 7"));
}

#[test]
fn elementwise() {
    assert_eq!(ok(14, "Relu", X, vec![]), Op::Relu);
    for (name, op) in [
        ("Add", Op::Add),
        ("Sub", Op::Sub),
        ("Mul", Op::Mul),
        ("Div", Op::Div),
    ] {
        assert_eq!(ok(14, name, &["a", "b"], vec![]), op);
        assert!(rejected(14, name, &["a", "b", "c"], vec![]).contains("expects 2 inputs, has 3"));
    }
    // Clip-6: bounds are attributes, defaulting to the float32 range.
    let full = Op::Clip {
        min: Some(f32::MIN),
        max: Some(f32::MAX),
    };
    assert_eq!(ok(7, "Clip", X, vec![]), full);
    let lo = Op::Clip {
        min: Some(0.0),
        max: Some(f32::MAX),
    };
    assert_eq!(ok(10, "Clip", X, vec![float("min", 0.0)]), lo);
    // Clip-11: bounds are inputs.
    let none = Op::Clip {
        min: None,
        max: None,
    };
    assert_eq!(ok(11, "Clip", &["x", "lo", "hi"], vec![]), none);
    assert!(
        rejected(11, "Clip", X, vec![float("min", 0.0)]).contains("unexpected attribute 'min'")
    );
    assert!(rejected(10, "Clip", &["x", "lo"], vec![]).contains("expects 1 inputs"));
}

#[test]
fn normalization_and_softmax() {
    let five = ["x", "s", "b", "m", "v"];
    assert_eq!(
        ok(15, "BatchNormalization", &five, vec![]),
        Op::BatchNormalization { epsilon: 1e-5 }
    );
    let attrs = vec![
        float("epsilon", 0.01),
        float("momentum", 0.8),
        int("training_mode", 0),
    ];
    assert_eq!(
        ok(15, "BatchNormalization", &five, attrs),
        Op::BatchNormalization { epsilon: 0.01 }
    );
    let msg = rejected(
        14,
        "BatchNormalization",
        &five,
        vec![int("training_mode", 1)],
    );
    assert!(msg.contains("training_mode=1"), "{msg}");
    assert!(
        rejected(7, "BatchNormalization", &five, vec![int("spatial", 0)]).contains("spatial=0")
    );
    assert!(
        rejected(9, "BatchNormalization", &five, vec![int("spatial", 1)])
            .contains("unexpected attribute")
    );
    assert!(
        rejected(
            15,
            "BatchNormalization",
            &five,
            vec![float("epsilon", f32::NAN)]
        )
        .contains("epsilon")
    );
    let training = import_with_outputs(
        15,
        "BatchNormalization",
        &five,
        &["y", "mean", "var"],
        vec![],
    );
    assert!(matches!(training, Err(Error::Node { msg, .. }) if msg.contains("'mean'")));

    assert_eq!(
        ok(11, "Softmax", X, vec![]),
        Op::Softmax {
            axis: 1,
            coerce_2d: true
        }
    );
    assert_eq!(
        ok(13, "Softmax", X, vec![]),
        Op::Softmax {
            axis: -1,
            coerce_2d: false
        }
    );
    assert_eq!(
        ok(13, "Softmax", X, vec![int("axis", 0)]),
        Op::Softmax {
            axis: 0,
            coerce_2d: false
        }
    );
}

#[test]
fn quantize_and_dequantize() {
    let q = |axis, block_size, output_dtype| Op::QuantizeLinear {
        axis,
        block_size,
        output_dtype,
    };
    assert_eq!(
        ok(10, "QuantizeLinear", &["x", "s", "z"], vec![]),
        q(1, 0, None)
    );
    assert!(
        rejected(10, "QuantizeLinear", &["x", "s"], vec![int("axis", 0)])
            .contains("unexpected attribute 'axis'")
    );
    assert_eq!(
        ok(13, "QuantizeLinear", &["x", "s"], vec![int("axis", 0)]),
        q(0, 0, None)
    );
    assert!(
        rejected(19, "QuantizeLinear", &["x", "s"], vec![int("saturate", 2)]).contains("0 or 1")
    );
    let attrs = vec![
        int("axis", -1),
        int("block_size", 32),
        int("output_dtype", 3),
        int("saturate", 1),
    ];
    assert_eq!(
        ok(21, "QuantizeLinear", &["x", "s"], attrs),
        q(-1, 32, Some(DType::I8))
    );
    let msg = rejected(
        21,
        "QuantizeLinear",
        &["x", "s"],
        vec![int("output_dtype", 5)],
    );
    assert!(msg.contains("int16"), "{msg}");
    assert!(
        rejected(
            21,
            "QuantizeLinear",
            &["x", "s"],
            vec![int("block_size", -2)]
        )
        .contains("non-negative")
    );
    assert!(
        rejected(23, "QuantizeLinear", &["x", "s"], vec![int("precision", 1)])
            .contains("precision")
    );
    assert!(rejected(9, "QuantizeLinear", &["x", "s"], vec![]).contains("needs opset 10"));

    let dq = |axis, block_size| Op::DequantizeLinear { axis, block_size };
    assert_eq!(
        ok(10, "DequantizeLinear", &["x", "s", "z"], vec![]),
        dq(1, 0)
    );
    assert_eq!(
        ok(
            21,
            "DequantizeLinear",
            &["x", "s"],
            vec![int("axis", 0), int("block_size", 4)]
        ),
        dq(0, 4)
    );
    assert!(
        rejected(
            19,
            "DequantizeLinear",
            &["x", "s"],
            vec![int("block_size", 4)]
        )
        .contains("unexpected")
    );
    assert_eq!(
        ok(
            25,
            "DequantizeLinear",
            &["x", "s"],
            vec![int("output_dtype", 0)]
        ),
        dq(1, 0)
    );
    assert!(
        rejected(
            23,
            "DequantizeLinear",
            &["x", "s"],
            vec![int("output_dtype", 1)]
        )
        .contains("output_dtype")
    );
}

#[test]
fn shape_ops() {
    assert_eq!(ok(13, "Identity", X, vec![]), Op::Identity);
    assert_eq!(
        ok(13, "Reshape", &["x", "s"], vec![]),
        Op::Reshape { allowzero: false }
    );
    assert_eq!(
        ok(14, "Reshape", &["x", "s"], vec![int("allowzero", 1)]),
        Op::Reshape { allowzero: true }
    );
    assert!(rejected(13, "Reshape", &["x", "s"], vec![int("allowzero", 1)]).contains("unexpected"));
    assert_eq!(ok(13, "Flatten", X, vec![]), Op::Flatten { axis: 1 });
    assert_eq!(
        ok(13, "Flatten", X, vec![int("axis", -2)]),
        Op::Flatten { axis: -2 }
    );
    assert_eq!(ok(13, "Transpose", X, vec![]), Op::Transpose { perm: None });
    let perm = Op::Transpose {
        perm: Some(vec![2, 0, 1]),
    };
    assert_eq!(ok(13, "Transpose", X, vec![ints("perm", &[2, 0, 1])]), perm);
    for bad in [&[0, 0][..], &[0, 2], &[-1, 0]] {
        assert!(rejected(13, "Transpose", X, vec![ints("perm", bad)]).contains("perm"));
    }
    assert_eq!(
        ok(13, "Concat", &["a", "b", "c"], vec![int("axis", -1)]),
        Op::Concat { axis: -1 }
    );
    assert!(rejected(13, "Concat", &["a"], vec![]).contains("'axis' is required"));
    assert!(
        rejected(13, "Concat", &[""], vec![int("axis", 0)]).contains("at least 1 inputs, has 0")
    );
    assert_eq!(
        ok(13, "Shape", X, vec![]),
        Op::Shape {
            start: 0,
            end: None
        }
    );
    let sliced = Op::Shape {
        start: 1,
        end: Some(-1),
    };
    assert_eq!(
        ok(15, "Shape", X, vec![int("start", 1), int("end", -1)]),
        sliced
    );
    assert!(rejected(14, "Shape", X, vec![int("start", 1)]).contains("unexpected"));
    assert_eq!(
        ok(13, "Gather", &["x", "i"], vec![]),
        Op::Gather { axis: 0 }
    );
    assert_eq!(
        ok(13, "Gather", &["x", "i"], vec![int("axis", 1)]),
        Op::Gather { axis: 1 }
    );
    assert_eq!(
        ok(11, "Unsqueeze", X, vec![ints("axes", &[0, -1])]),
        Op::Unsqueeze {
            axes: Some(vec![0, -1])
        }
    );
    assert!(rejected(11, "Unsqueeze", X, vec![]).contains("'axes' is required"));
    assert_eq!(
        ok(13, "Unsqueeze", &["x", "a"], vec![]),
        Op::Unsqueeze { axes: None }
    );
    assert!(rejected(13, "Unsqueeze", X, vec![]).contains("expects 2 inputs"));
    assert_eq!(ok(11, "Squeeze", X, vec![]), Op::Squeeze { axes: None });
    assert_eq!(
        ok(11, "Squeeze", X, vec![ints("axes", &[1])]),
        Op::Squeeze {
            axes: Some(vec![1])
        }
    );
    assert_eq!(
        ok(13, "Squeeze", &["x", "a"], vec![]),
        Op::Squeeze { axes: None }
    );
    assert!(rejected(13, "Squeeze", X, vec![ints("axes", &[1])]).contains("unexpected"));
    assert_eq!(
        ok(13, "Cast", X, vec![int("to", 3)]),
        Op::Cast { to: DType::I8 }
    );
    assert_eq!(
        ok(
            24,
            "Cast",
            X,
            vec![int("to", 16), string("round_mode", "up")]
        ),
        Op::Cast { to: DType::BF16 }
    );
    assert!(rejected(13, "Cast", X, vec![int("to", 11)]).contains("double"));
    assert!(rejected(13, "Cast", X, vec![]).contains("'to' is required"));
    assert!(
        rejected(
            24,
            "Cast",
            X,
            vec![int("to", 1), string("round_mode", "odd")]
        )
        .contains("round_mode")
    );
    assert_eq!(ok(10, "Slice", &["x", "s", "e"], vec![]), Op::Slice);
    assert_eq!(
        ok(13, "Slice", &["x", "s", "e", "a", "st"], vec![]),
        Op::Slice
    );
    assert!(rejected(9, "Slice", X, vec![ints("starts", &[0])]).contains("before opset 10"));
}

#[test]
fn attribute_bookkeeping() {
    let msg = rejected(13, "Relu", X, vec![float("alpha", 0.1)]);
    assert!(msg.contains("unexpected attribute 'alpha'"), "{msg}");
    let twice = vec![int("axis", 0), int("axis", 1)];
    assert!(rejected(13, "Flatten", X, twice).contains("appears twice"));
    let graph_attr = attr("body", AttributeType::Graph);
    assert!(
        rejected(13, "Relu", X, vec![graph_attr]).contains("unexpected subgraph attribute 'body'")
    );
    let untyped = AttributeProto {
        name: "axis".into(),
        i: 1,
        ..Default::default()
    };
    assert!(rejected(13, "Flatten", X, vec![untyped]).contains("found Undefined"));
    let mut bad_utf8 = string("auto_pad", "");
    bad_utf8.s = vec![0xFF];
    assert!(rejected(13, "Conv", XW, vec![bad_utf8]).contains("UTF-8"));
}

#[test]
fn subgraph_ops_are_unsupported() {
    let then = attr("then_branch", AttributeType::Graph);
    match import(13, "If", &["cond"], vec![then]) {
        Err(Error::Unsupported { node, op, .. }) => {
            assert_eq!((node.as_str(), op.as_str()), ("n", "If"))
        }
        other => panic!("{other:?}"),
    }
}

/// The message of the node error an import with these outputs gives.
fn rejected_outputs(
    opset: i64,
    op: &str,
    inputs: &[&str],
    outputs: &[&str],
    attrs: Vec<AttributeProto>,
) -> String {
    match import_with_outputs(opset, op, inputs, outputs, attrs) {
        Err(Error::Node { msg, .. }) => msg,
        other => panic!("{op}: expected a node error, got {other:?}"),
    }
}

#[test]
fn activations_and_their_attributes() {
    for (name, u) in [
        ("Sigmoid", Unary::Sigmoid),
        ("Tanh", Unary::Tanh),
        ("Erf", Unary::Erf),
        ("Sqrt", Unary::Sqrt),
        ("Exp", Unary::Exp),
        ("Log", Unary::Log),
        ("Neg", Unary::Neg),
        ("Abs", Unary::Abs),
        ("Reciprocal", Unary::Reciprocal),
        ("Softplus", Unary::Softplus),
        ("HardSwish", Unary::HardSwish),
    ] {
        assert_eq!(ok(20, name, X, vec![]), Op::Unary(u));
    }
    assert!(rejected(13, "HardSwish", X, vec![]).contains("needs opset 14"));
    assert!(rejected(8, "Erf", X, vec![]).contains("needs opset 9"));
    assert_eq!(
        ok(13, "HardSigmoid", X, vec![]),
        Op::Unary(Unary::HardSigmoid {
            alpha: 0.2,
            beta: 0.5
        })
    );
    assert_eq!(
        ok(13, "LeakyRelu", X, vec![float("alpha", 0.1)]),
        Op::Unary(Unary::LeakyRelu { alpha: 0.1 })
    );
    assert_eq!(
        ok(13, "LeakyRelu", X, vec![]),
        Op::Unary(Unary::LeakyRelu { alpha: 0.01 })
    );
    assert!(rejected(13, "LeakyRelu", X, vec![float("alpha", f32::INFINITY)]).contains("finite"));
    assert_eq!(
        ok(20, "Gelu", X, vec![]),
        Op::Unary(Unary::Gelu { tanh: false })
    );
    assert_eq!(
        ok(20, "Gelu", X, vec![string("approximate", "tanh")]),
        Op::Unary(Unary::Gelu { tanh: true })
    );
    assert!(rejected(20, "Gelu", X, vec![string("approximate", "fast")]).contains("'fast'"));
    assert!(rejected(19, "Gelu", X, vec![]).contains("needs opset 20"));
}

#[test]
fn binary_logic_and_variadic_ops() {
    assert_eq!(ok(15, "Pow", XW, vec![]), Op::Pow);
    assert_eq!(ok(16, "PRelu", XW, vec![]), Op::PRelu);
    assert_eq!(ok(13, "Max", &["a", "b", "c"], vec![]), Op::Max);
    assert_eq!(ok(13, "Min", X, vec![]), Op::Min);
    assert!(rejected(13, "Min", &[], vec![]).contains("at least 1"));
    assert_eq!(ok(13, "Equal", XW, vec![]), Op::Compare(Comparison::Equal));
    assert_eq!(
        ok(16, "GreaterOrEqual", XW, vec![]),
        Op::Compare(Comparison::GreaterOrEqual)
    );
    assert!(rejected(11, "LessOrEqual", XW, vec![]).contains("needs opset 12"));
    assert_eq!(ok(7, "Xor", XW, vec![]), Op::Logic(Logic::Xor));
    assert_eq!(ok(7, "Not", X, vec![]), Op::Not);
    assert_eq!(ok(16, "Where", &["c", "a", "b"], vec![]), Op::Where);
    assert!(rejected(16, "Where", XW, vec![]).contains("expects 3 inputs"));
}

#[test]
fn reductions_move_axes_from_attribute_to_input() {
    let attrs = |axes: Option<Vec<i64>>, keepdims, noop| {
        Op::Reduce(ReduceAttrs {
            kind: Reduction::Mean,
            axes,
            keepdims,
            noop_with_empty_axes: noop,
        })
    };
    assert_eq!(
        ok(
            13,
            "ReduceMean",
            X,
            vec![ints("axes", &[1]), int("keepdims", 0)]
        ),
        attrs(Some(vec![1]), false, false)
    );
    assert_eq!(ok(13, "ReduceMean", X, vec![]), attrs(None, true, false));
    assert_eq!(
        ok(18, "ReduceMean", XW, vec![int("noop_with_empty_axes", 1)]),
        attrs(None, true, true)
    );
    assert!(rejected(18, "ReduceMean", X, vec![ints("axes", &[1])]).contains("'axes'"));
    assert!(rejected(13, "ReduceMean", XW, vec![]).contains("expects 1 inputs"));
    // ReduceSum takes its axes as an input already from opset 13.
    let Op::Reduce(r) = ok(13, "ReduceSum", XW, vec![]) else {
        panic!()
    };
    assert_eq!((r.kind, r.axes), (Reduction::Sum, None));
    assert!(rejected(13, "ReduceSum", X, vec![ints("axes", &[0])]).contains("'axes'"));
    let Op::Reduce(r) = ok(11, "ReduceMax", X, vec![ints("axes", &[0])]) else {
        panic!()
    };
    assert_eq!((r.kind, r.axes), (Reduction::Max, Some(vec![0])));
}

#[test]
fn layer_normalization_has_up_to_three_outputs() {
    let three = ["y", "mean", "inv_std"];
    let Ok(op) = import_with_outputs(17, "LayerNormalization", XW, &three, vec![]) else {
        panic!()
    };
    assert_eq!(
        op,
        Op::LayerNormalization {
            axis: -1,
            epsilon: 1e-5
        }
    );
    // An omitted output in the middle keeps the positions of the later ones.
    assert!(import_with_outputs(17, "LayerNormalization", XW, &["y", "", "inv"], vec![]).is_ok());
    let four = ["y", "m", "i", "extra"];
    let msg = rejected_outputs(17, "LayerNormalization", XW, &four, vec![]);
    assert!(msg.contains("at most 3 outputs"), "{msg}");
    let msg = rejected(17, "LayerNormalization", XW, vec![int("stash_type", 11)]);
    assert!(msg.contains("stash_type 11"), "{msg}");
    assert!(rejected(16, "LayerNormalization", XW, vec![]).contains("needs opset 17"));
}

#[test]
fn split_forms_by_opset() {
    let outs = ["a", "b", "c"];
    let split =
        |opset, inputs: &[&str], attrs| import_with_outputs(opset, "Split", inputs, &outs, attrs);
    assert_eq!(
        split(11, X, vec![ints("split", &[1, 2, 3]), int("axis", 1)]).unwrap(),
        Op::Split {
            axis: 1,
            split: Some(vec![1, 2, 3]),
            parts: 3,
            uneven: false
        }
    );
    assert_eq!(
        split(13, X, vec![]).unwrap(),
        Op::Split {
            axis: 0,
            split: None,
            parts: 3,
            uneven: false
        }
    );
    assert_eq!(
        split(18, X, vec![int("num_outputs", 3)]).unwrap(),
        Op::Split {
            axis: 0,
            split: None,
            parts: 3,
            uneven: true
        }
    );
    assert_eq!(
        split(18, XW, vec![]).unwrap(),
        Op::Split {
            axis: 0,
            split: None,
            parts: 3,
            uneven: false
        }
    );
    let msg = |r: cdmsa::Result<Op>| match r {
        Err(Error::Node { msg, .. }) => msg,
        other => panic!("{other:?}"),
    };
    assert!(msg(split(18, X, vec![])).contains("num_outputs"));
    assert!(msg(split(18, X, vec![int("num_outputs", 2)])).contains("3 outputs"));
    assert!(msg(split(18, XW, vec![int("num_outputs", 3)])).contains("cannot be combined"));
    assert!(msg(import_with_outputs(13, "Split", X, &["a", "", "c"], vec![])).contains("#1"));
}

#[test]
fn movement_and_generators() {
    assert_eq!(ok(13, "Expand", XW, vec![]), Op::Expand);
    assert!(rejected(7, "Expand", XW, vec![]).contains("needs opset 8"));
    let zero = Tensor::F32(ArrayD::zeros(IxDyn(&[])));
    assert_eq!(
        ok(20, "ConstantOfShape", X, vec![]),
        Op::ConstantOfShape { value: zero }
    );
    let two = AttributeProto {
        t: Some(TensorProto {
            dims: vec![2],
            data_type: 1,
            float_data: vec![1.0, 2.0],
            ..Default::default()
        }),
        ..attr("value", AttributeType::Tensor)
    };
    assert!(rejected(20, "ConstantOfShape", X, vec![two]).contains("one element"));
    assert_eq!(ok(11, "Range", &["s", "l", "d"], vec![]), Op::Range);
    assert!(
        rejected(27, "Range", &["s", "l", "d"], vec![int("stash_type", 11)]).contains("stash_type")
    );
    assert!(
        rejected(11, "Range", &["s", "l", "d"], vec![int("stash_type", 1)]).contains("unexpected")
    );
    let pad = |mode, pads| Op::Pad {
        mode,
        pads,
        value: 0.0,
    };
    assert_eq!(ok(13, "Pad", XW, vec![]), pad(PadMode::Constant, None));
    assert_eq!(
        ok(
            19,
            "Pad",
            &["x", "p", "v", "a"],
            vec![string("mode", "wrap")]
        ),
        pad(PadMode::Wrap, None)
    );
    assert!(rejected(18, "Pad", XW, vec![string("mode", "wrap")]).contains("'wrap'"));
    assert!(rejected(17, "Pad", &["x", "p", "v", "a"], vec![]).contains("2 to 3 inputs"));
    assert_eq!(
        ok(
            10,
            "Pad",
            X,
            vec![ints("pads", &[1, 1]), string("mode", "edge")]
        ),
        pad(PadMode::Edge, Some(vec![1, 1]))
    );
    assert!(rejected(10, "Pad", X, vec![]).contains("'pads' is required"));
}

#[test]
fn resize_modes_and_mappings() {
    let defaults = ResizeAttrs {
        mode: ResizeMode::Nearest(NearestMode::RoundPreferFloor),
        transform: CoordinateTransform::HalfPixel,
        extrapolation_value: 0.0,
        axes: None,
        aspect: AspectPolicy::Stretch,
    };
    assert_eq!(
        ok(19, "Resize", &["x", "", "s"], vec![]),
        Op::Resize(defaults.clone())
    );
    let attrs = vec![
        string("mode", "linear"),
        string("coordinate_transformation_mode", "tf_crop_and_resize"),
        float("extrapolation_value", 10.0),
        ints("axes", &[2, 3]),
        string("keep_aspect_ratio_policy", "not_larger"),
    ];
    assert_eq!(
        ok(18, "Resize", &["x", "r", "", "sizes"], attrs),
        Op::Resize(ResizeAttrs {
            mode: ResizeMode::Linear,
            transform: CoordinateTransform::TfCropAndResize,
            extrapolation_value: 10.0,
            axes: Some(vec![2, 3]),
            aspect: AspectPolicy::NotLarger,
        })
    );
    let Op::Resize(a) = ok(
        11,
        "Resize",
        &["x", "r", "s"],
        vec![string("nearest_mode", "ceil")],
    ) else {
        panic!()
    };
    assert_eq!(a.mode, ResizeMode::Nearest(NearestMode::Ceil));
    assert!(rejected(11, "Resize", X, vec![]).contains("3 to 4 inputs"));
    assert!(rejected(13, "Resize", X, vec![string("mode", "cubic")]).contains("cubic"));
    assert!(rejected(18, "Resize", X, vec![int("antialias", 1)]).contains("antialias"));
    assert!(rejected(13, "Resize", X, vec![int("exclude_outside", 1)]).contains("exclude_outside"));
    assert!(rejected(17, "Resize", X, vec![ints("axes", &[0])]).contains("unexpected"));
    let sym = vec![string(
        "coordinate_transformation_mode",
        "half_pixel_symmetric",
    )];
    assert!(rejected(18, "Resize", X, sym.clone()).contains("unknown"));
    assert!(ok(19, "Resize", X, sym) != Op::Resize(defaults));
    assert!(rejected(10, "Resize", XW, vec![]).contains("needs opset 11"));
}

#[test]
fn conv_transpose_and_dynamic_quantization() {
    let attrs = vec![
        ints("strides", &[3, 2]),
        ints("output_padding", &[1, 1]),
        ints("output_shape", &[10, 8]),
        int("group", 2),
    ];
    assert_eq!(
        ok(22, "ConvTranspose", XW, attrs),
        Op::ConvTranspose(ConvTransposeAttrs {
            conv: ConvAttrs {
                strides: vec![3, 2],
                group: 2,
                ..ConvAttrs::default()
            },
            output_padding: vec![1, 1],
            output_shape: vec![10, 8],
        })
    );
    assert!(rejected(22, "ConvTranspose", XW, vec![ints("output_padding", &[-1])]).contains("-1"));
    let three = ["y", "scale", "zp"];
    assert_eq!(
        import_with_outputs(11, "DynamicQuantizeLinear", X, &three, vec![]).unwrap(),
        Op::DynamicQuantizeLinear
    );
    let msg = rejected(11, "DynamicQuantizeLinear", X, vec![]);
    assert!(msg.contains("expects 3 outputs"), "{msg}");
}
