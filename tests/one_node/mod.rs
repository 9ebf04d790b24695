//! One-node ONNX models built from the prost types, and running them through the library
//! (load, lower for `tiny`, execute) on given or seeded inputs.

#![allow(dead_code)]

use cdmsa::config::AcceleratorConfig;
use cdmsa::exec::execute;
use cdmsa::kernel::Precision;
use cdmsa::limits::Limits;
use cdmsa::lower::lower_at;
use cdmsa::onnx::load_model_bytes;
use cdmsa::proto::attribute_proto::AttributeType;
use cdmsa::proto::tensor_shape_proto::{Dimension, dimension::Value as Dim};
use cdmsa::proto::type_proto::{Tensor as TensorType, Value as TypeValue};
use cdmsa::proto::*;
use cdmsa::tensor::{DType, Tensor};
use prost::Message;

/// ONNX element type codes.
pub const F32: i32 = 1;
pub const U8: i32 = 2;
pub const I8: i32 = 3;
pub const I32: i32 = 6;
pub const I64: i32 = 7;
pub const F16: i32 = 10;

/// A one-node model under construction.
pub struct OneNode {
    pub op: String,
    pub name: String,
    pub attrs: Vec<AttributeProto>,
    /// Input names in position order ("" for an omitted optional input).
    pub inputs: Vec<String>,
    /// Graph inputs: name, element type, shape.
    pub declared: Vec<(String, i32, Vec<i64>)>,
    pub initializers: Vec<TensorProto>,
    pub outputs: usize,
    pub opset: i64,
}

impl OneNode {
    /// Op `op` in node "n" at opset 19.
    pub fn new(op: &str) -> OneNode {
        OneNode {
            op: op.into(),
            name: "n".into(),
            attrs: Vec::new(),
            inputs: Vec::new(),
            declared: Vec::new(),
            initializers: Vec::new(),
            outputs: 1,
            opset: 19,
        }
    }

    /// The next input, a graph input of type `ty` and shape `dims`.
    pub fn input(mut self, name: &str, ty: i32, dims: &[i64]) -> Self {
        self.inputs.push(name.into());
        self.declared.push((name.into(), ty, dims.to_vec()));
        self
    }

    /// The next input, an initializer.
    pub fn init(mut self, t: TensorProto) -> Self {
        self.inputs.push(t.name.clone());
        self.initializers.push(t);
        self
    }

    /// The next input omitted.
    pub fn skip(mut self) -> Self {
        self.inputs.push(String::new());
        self
    }

    pub fn attr(mut self, a: AttributeProto) -> Self {
        self.attrs.push(a);
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        let info = |(name, ty, dims): &(String, i32, Vec<i64>)| ValueInfoProto {
            name: name.clone(),
            r#type: Some(TypeProto {
                value: Some(TypeValue::TensorType(TensorType {
                    elem_type: *ty,
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
        };
        let outputs: Vec<String> = (0..self.outputs).map(|i| format!("y{i}")).collect();
        let graph = GraphProto {
            node: vec![NodeProto {
                input: self.inputs.clone(),
                output: outputs.clone(),
                name: self.name.clone(),
                op_type: self.op.clone(),
                attribute: self.attrs.clone(),
                domain: String::new(),
            }],
            input: self.declared.iter().map(info).collect(),
            output: outputs
                .iter()
                .map(|o| ValueInfoProto {
                    name: o.clone(),
                    r#type: None,
                })
                .collect(),
            initializer: self.initializers.clone(),
            ..GraphProto::default()
        };
        ModelProto {
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: self.opset,
            }],
            graph: Some(graph),
            ..ModelProto::default()
        }
        .encode_to_vec()
    }

    /// Loads, lowers (for `tiny`, native precision) and executes on `inputs` (seeded values
    /// for the declared inputs when `None`); the outputs.
    pub fn run(&self, inputs: Option<Vec<Tensor>>) -> cdmsa::Result<Vec<Tensor>> {
        let graph = load_model_bytes(&self.bytes(), &Limits::default())?;
        let bindings = graph.declared_inputs(1)?;
        let cfg = AcceleratorConfig::preset("tiny")?;
        let program = lower_at(&graph, &bindings, &cfg, Precision::Native)?;
        let inputs = inputs.unwrap_or_else(|| {
            bindings
                .iter()
                .enumerate()
                .map(|(i, b)| Tensor::seeded(b.dtype, &b.shape, i as u64))
                .collect()
        });
        Ok(execute(&program, &inputs, &cfg)?.outputs)
    }
}

pub fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: v.to_vec(),
        ..AttributeProto::default()
    }
}

pub fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i: v,
        ..AttributeProto::default()
    }
}

pub fn string(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::String as i32,
        s: v.as_bytes().to_vec(),
        ..AttributeProto::default()
    }
}

/// A tensor of element type `ty` and shape `dims` from little-endian bytes.
pub fn raw(name: &str, ty: i32, dims: &[i64], raw: Vec<u8>) -> TensorProto {
    TensorProto {
        name: name.into(),
        data_type: ty,
        dims: dims.to_vec(),
        raw_data: raw.into(),
        ..TensorProto::default()
    }
}

pub fn f32s(name: &str, dims: &[i64], v: &[f32]) -> TensorProto {
    raw(
        name,
        F32,
        dims,
        v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    )
}

pub fn i64s(name: &str, dims: &[i64], v: &[i64]) -> TensorProto {
    raw(
        name,
        I64,
        dims,
        v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    )
}

pub fn i32s(name: &str, dims: &[i64], v: &[i32]) -> TensorProto {
    raw(
        name,
        I32,
        dims,
        v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    )
}

pub fn u8s(name: &str, dims: &[i64], v: &[u8]) -> TensorProto {
    raw(name, U8, dims, v.to_vec())
}

pub fn i8s(name: &str, dims: &[i64], v: &[i8]) -> TensorProto {
    raw(name, I8, dims, v.iter().map(|&x| x as u8).collect())
}

/// An f32 tensor of shape `shape` holding `v`.
pub fn tensor(shape: &[usize], v: Vec<f32>) -> Tensor {
    Tensor::from_f32(
        ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), v).expect("shape fits"),
        DType::F32,
    )
}
