//! [`Net`]: builds a zoo model's ONNX graph node by node, with seeded synthetic weights that
//! are declared at once and made only when something reads them.

use super::weights::Synthetic;
use crate::proto::attribute_proto::AttributeType;
use crate::proto::tensor_shape_proto::{Dimension, dimension};
use crate::proto::type_proto::{self, Value};
use crate::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use crate::tensor::{DType, Tensor, pb::tensor_to_proto};
use ndarray::{ArrayD, IxDyn};
use std::collections::HashSet;

/// A model input or output dimension: fixed, the symbolic batch `N`, or another symbolic
/// dimension by name (a decoder's `seq`, `past` and `total`).
#[derive(Debug, Clone, Copy)]
pub(super) enum Dim {
    /// The batch dimension, named `N`.
    Batch,
    /// A fixed size.
    Fixed(usize),
    /// A symbolic dimension of this name.
    Named(&'static str),
}

/// A zoo model: its ONNX graph with every synthetic weight declared (type and shape, no
/// data) and the weights' generators beside it.
pub struct ZooModel {
    /// The model; its synthetic weights are initializers without data.
    pub proto: ModelProto,
    /// The synthetic weights, in initializer order.
    pub(super) weights: Vec<Synthetic>,
}

/// Accumulates nodes and initializers; every tensor and node name is unique.
pub(super) struct Net {
    name: &'static str,
    seed: u64,
    opset: i64,
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    weights: Vec<Synthetic>,
    names: HashSet<String>,
    /// Small shared constants by (type, shape, bytes), named `const0`, `const1`, ...
    consts: Vec<(TensorProto, String)>,
}

/// An attribute value.
pub(super) enum Attr {
    Int(i64),
    Ints(Vec<i64>),
    Float(f32),
    Str(&'static str),
}

impl Net {
    /// An empty model `name` whose weights are drawn from streams of `seed`, at `opset`.
    pub(super) fn new(name: &'static str, seed: u64, opset: i64) -> Net {
        Net {
            name,
            seed,
            opset,
            nodes: Vec::new(),
            inits: Vec::new(),
            weights: Vec::new(),
            names: HashSet::new(),
            consts: Vec::new(),
        }
    }

    fn claim(&mut self, name: &str) -> String {
        assert!(
            self.names.insert(name.to_string()),
            "zoo model {}: duplicate name {name}",
            self.name
        );
        name.to_string()
    }

    /// An initializer holding `t`.
    fn init(&mut self, name: &str, t: &Tensor) -> String {
        let name = self.claim(name);
        self.inits.push(tensor_to_proto(t, &name));
        name
    }

    /// A synthetic float32 initializer of `shape`: normal values times `scale`, made on read.
    fn synthetic(&mut self, name: &str, shape: &[usize], scale: f32) -> String {
        let name = self.claim(name);
        let stream = self.weights.len() as u64;
        self.inits.push(TensorProto {
            dims: shape.iter().map(|&d| d as i64).collect(),
            data_type: DType::F32.onnx_code(),
            name: name.clone(),
            ..TensorProto::default()
        });
        self.weights.push(Synthetic {
            name: name.clone(),
            shape: shape.to_vec(),
            scale,
            seed: self.seed,
            stream,
        });
        name
    }

    /// He-scaled normal weights (standard deviation √(2 / fan_in)), so activations stay of
    /// order one if anyone runs the model.
    pub(super) fn weight(&mut self, name: &str, shape: &[usize], fan_in: usize) -> String {
        self.synthetic(name, shape, (2.0 / fan_in as f64).sqrt() as f32)
    }

    /// A bias of `n` normal values times 0.01.
    pub(super) fn bias(&mut self, name: &str, n: usize) -> String {
        self.synthetic(name, &[n], 0.01)
    }

    /// A float32 initializer of `n` copies of `value` (LayerNorm's scale and shift).
    pub(super) fn filled(&mut self, name: &str, n: usize, value: f32) -> String {
        let t = Tensor::F32(ArrayD::from_elem(IxDyn(&[n]), value));
        self.init(name, &t)
    }

    /// A float32 initializer with the given values and shape (a mask, say).
    pub(super) fn floats(&mut self, name: &str, shape: &[usize], values: Vec<f32>) -> String {
        let a = ArrayD::from_shape_vec(IxDyn(shape), values).expect("values fill the shape");
        self.init(name, &Tensor::F32(a))
    }

    /// A shared float32 scalar constant.
    pub(super) fn scalar(&mut self, value: f32) -> String {
        self.constant(Tensor::F32(ArrayD::from_elem(IxDyn(&[]), value)))
    }

    /// A shared int64 vector constant (a Reshape target, say).
    pub(super) fn int64s(&mut self, values: &[i64]) -> String {
        let a = ArrayD::from_shape_vec(IxDyn(&[values.len()]), values.to_vec())
            .expect("a vector of its own length");
        self.constant(Tensor::I64(a))
    }

    fn constant(&mut self, t: Tensor) -> String {
        let proto = tensor_to_proto(&t, "");
        if let Some((_, name)) = self.consts.iter().find(|(p, _)| *p == proto) {
            return name.clone();
        }
        let name = self.init(&format!("const{}", self.consts.len()), &t);
        self.consts.push((proto, name.clone()));
        name
    }

    /// A node `op` named `name` whose single output is also called `name`.
    pub(super) fn node(
        &mut self,
        op: &str,
        inputs: &[&str],
        name: &str,
        attrs: Vec<(&str, Attr)>,
    ) -> String {
        let out = self.claim(name);
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.clone()],
            name: out.clone(),
            op_type: op.to_string(),
            attribute: attrs.into_iter().map(attribute).collect(),
            domain: String::new(),
        });
        out
    }

    /// The finished model with float32 `inputs` and `outputs`.
    pub(super) fn model(
        self,
        inputs: &[(&str, &[Dim])],
        outputs: &[(&str, &[Dim])],
        doc: &str,
    ) -> ZooModel {
        let graph = GraphProto {
            node: self.nodes,
            name: self.name.to_string(),
            initializer: self.inits,
            input: inputs.iter().map(|(n, s)| value_info(n, s)).collect(),
            output: outputs.iter().map(|(n, s)| value_info(n, s)).collect(),
            ..GraphProto::default()
        };
        ZooModel {
            proto: ModelProto {
                ir_version: ir_version(self.opset),
                producer_name: "cdmsa zoo".to_string(),
                doc_string: format!("Synthetic seeded weights: for timing only. {doc}"),
                graph: Some(graph),
                opset_import: vec![OperatorSetIdProto {
                    domain: String::new(),
                    version: self.opset,
                }],
            },
            weights: self.weights,
        }
    }
}

/// The IR version of the ONNX release that introduced each default-domain opset used here.
fn ir_version(opset: i64) -> i64 {
    match opset {
        17 => 8,
        20 => 9,
        _ => unreachable!("the zoo uses opsets 17 and 20"),
    }
}

fn attribute((name, value): (&str, Attr)) -> AttributeProto {
    let mut a = AttributeProto {
        name: name.to_string(),
        ..AttributeProto::default()
    };
    let kind = match value {
        Attr::Int(i) => {
            a.i = i;
            AttributeType::Int
        }
        Attr::Ints(v) => {
            a.ints = v;
            AttributeType::Ints
        }
        Attr::Float(f) => {
            a.f = f;
            AttributeType::Float
        }
        Attr::Str(s) => {
            a.s = s.as_bytes().to_vec();
            AttributeType::String
        }
    };
    a.r#type = kind as i32;
    a
}

fn value_info(name: &str, shape: &[Dim]) -> ValueInfoProto {
    let dim = |d: &Dim| Dimension {
        value: Some(match *d {
            Dim::Batch => dimension::Value::DimParam("N".to_string()),
            Dim::Fixed(n) => dimension::Value::DimValue(n as i64),
            Dim::Named(name) => dimension::Value::DimParam(name.to_string()),
        }),
    };
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            value: Some(Value::TensorType(type_proto::Tensor {
                elem_type: DType::F32.onnx_code(),
                shape: Some(TensorShapeProto {
                    dim: shape.iter().map(dim).collect(),
                }),
            })),
        }),
    }
}
