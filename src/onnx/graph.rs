//! GraphProto → [`Graph`]: values (runtime inputs, initializers, `Constant` nodes, node
//! outputs) with their declared types, nodes with their ops, in topological order.

use super::constant::constant;
use super::ctx::NodeCtx;
use super::opset::is_default_domain;
use super::topo::{self, Cycle};
use super::types::declared;
use super::{WHAT, ops};
use crate::error::{Error, Result};
use crate::ir::{CONTRIB_DOMAIN, Dim, Graph, Node, Op, OpKind, Value, ValueId};
use crate::limits::Limits;
use crate::proto::{GraphProto, NodeProto, TensorProto};
use crate::tensor::pb::constant_from_proto_within;
use crate::tensor::{Constant, DType};
use std::collections::HashMap;
use std::path::Path;

/// Builds the IR graph of `g` for the default-domain `opset`; external tensor data is
/// read relative to `base_dir`, and initializers without data named in `supplied` take
/// those constants' values.
/// Nothing larger than `limits` is allocated: node and initializer counts, every tensor's
/// elements and the constants' total bytes are checked first.
pub(super) fn build(
    g: &GraphProto,
    opset: i64,
    base_dir: Option<&Path>,
    limits: &Limits,
    supplied: &HashMap<String, Constant>,
) -> Result<Graph> {
    if !g.sparse_initializer.is_empty() {
        return Err(Error::Invalid(
            "sparse initializers are not supported".into(),
        ));
    }
    limits.nodes(g.node.len(), "nodes")?;
    limits.nodes(g.initializer.len(), "initializers")?;
    limits.nodes(
        g.input.len() + g.output.len() + g.value_info.len(),
        "declared values",
    )?;
    let mut b = Builder {
        graph: Graph {
            opset,
            limits: *limits,
            ..Graph::default()
        },
        ids: HashMap::new(),
        constant_bytes: 0,
        supplied,
    };
    b.inputs_and_initializers(g, base_dir)?;
    let pending = b.nodes(g, base_dir)?;
    b.declared_types(g)?;
    b.sorted_nodes(pending)?;
    Ok(b.graph)
}

/// The supplied value of initializer `t`, which must declare its type and shape, hold no data
/// of its own and lie within `limits` like any decoded tensor.
fn supplied_constant(t: &TensorProto, c: &Constant, limits: &Limits) -> Result<Constant> {
    limits.elements(c.shape(), &format!("tensor '{}'", t.name))?;
    let shape: Vec<i64> = c.shape().iter().map(|&d| d as i64).collect();
    let empty = t.raw_data.is_empty()
        && t.float_data.is_empty()
        && t.int32_data.is_empty()
        && t.int64_data.is_empty()
        && t.external_data.is_empty();
    if !empty || DType::from_onnx_code(t.data_type) != Some(c.dtype()) || t.dims != shape {
        return Err(Error::malformed(
            WHAT,
            format!(
                "initializer '{}' does not match its supplied value ({} {:?})",
                t.name,
                c.dtype(),
                c.shape()
            ),
        ));
    }
    Ok(c.clone())
}

/// A non-Constant node whose op is parsed but whose inputs are not resolved yet.
struct Pending<'a> {
    name: String,
    op: Op,
    proto: &'a NodeProto,
    outputs: Vec<ValueId>,
}

/// The graph under construction and the id of every value name defined so far.
struct Builder<'s> {
    graph: Graph,
    ids: HashMap<String, ValueId>,
    /// Bytes of the constants decoded so far (bounded by [`Limits::max_bytes`]).
    constant_bytes: u64,
    /// Values of initializers declared without data (see [`build`]).
    supplied: &'s HashMap<String, Constant>,
}

impl Builder<'_> {
    /// Adds a value; `None` when its name is already defined.
    fn define(&mut self, value: Value) -> Option<ValueId> {
        if self.ids.contains_key(&value.name) {
            return None;
        }
        let name = value.name.clone();
        let id = self.graph.add_value(value);
        self.ids.insert(name, id);
        Some(id)
    }

    /// Checks a tensor within the graph's limits, counting its bytes; its values are decoded
    /// when first read.
    fn decode(&mut self, t: &TensorProto, base_dir: Option<&Path>) -> Result<Constant> {
        let limits = self.graph.limits;
        let tensor = match self.supplied.get(&t.name) {
            Some(c) => supplied_constant(t, c, &limits)?,
            None => constant_from_proto_within(t, base_dir, &limits)?,
        };
        let bytes = (tensor.len() * tensor.dtype().size_bytes()) as u64;
        limits.add_bytes(
            &mut self.constant_bytes,
            bytes,
            &format!("tensor '{}'", t.name),
        )?;
        Ok(tensor)
    }

    /// Adds a constant value.
    fn constant(&mut self, name: &str, t: Constant) -> Option<ValueId> {
        self.define(Value {
            name: name.to_string(),
            dtype: Some(t.dtype()),
            shape: Some(t.shape().iter().map(|&d| Dim::Fixed(d)).collect()),
            constant: Some(t),
        })
    }

    /// Graph inputs in order (those with an initializer become constants, the others the
    /// runtime inputs), then the initializers not listed as inputs.
    fn inputs_and_initializers(&mut self, g: &GraphProto, base_dir: Option<&Path>) -> Result<()> {
        let mut tensors: HashMap<&str, Constant> = HashMap::new();
        for t in &g.initializer {
            if t.name.is_empty() {
                return Err(Error::malformed(WHAT, "an initializer has no name"));
            }
            let tensor = self.decode(t, base_dir)?;
            if tensors.insert(&t.name, tensor).is_some() {
                return Err(defined_twice(&t.name));
            }
        }
        for info in &g.input {
            if info.name.is_empty() {
                return Err(Error::malformed(WHAT, "a graph input has no name"));
            }
            let (dtype, shape) = declared(info, &self.graph.limits)?;
            let Some(t) = tensors.remove(info.name.as_str()) else {
                let value = Value {
                    name: info.name.clone(),
                    dtype,
                    shape,
                    constant: None,
                };
                let id = self
                    .define(value)
                    .ok_or_else(|| defined_twice(&info.name))?;
                self.graph.inputs.push(id);
                continue;
            };
            if dtype.is_some_and(|d| d != t.dtype()) {
                return Err(Error::malformed(
                    WHAT,
                    format!(
                        "input '{}' is declared with another type than its initializer",
                        info.name
                    ),
                ));
            }
            self.constant(&info.name, t)
                .ok_or_else(|| defined_twice(&info.name))?;
        }
        for t in &g.initializer {
            if let Some(tensor) = tensors.remove(t.name.as_str()) {
                self.constant(&t.name, tensor)
                    .ok_or_else(|| defined_twice(&t.name))?;
            }
        }
        Ok(())
    }

    /// Parses every node in file order: `Constant` nodes become constant values, the others
    /// define their output value and are returned for ordering.
    fn nodes<'a>(
        &mut self,
        g: &'a GraphProto,
        base_dir: Option<&Path>,
    ) -> Result<Vec<Pending<'a>>> {
        let mut pending = Vec::new();
        for (i, proto) in g.node.iter().enumerate() {
            let name = if proto.name.is_empty() {
                format!("{}_{i}", proto.op_type)
            } else {
                proto.name.clone()
            };
            let contrib = proto.domain == CONTRIB_DOMAIN
                && OpKind::from_name(CONTRIB_DOMAIN, &proto.op_type).is_some();
            if !is_default_domain(&proto.domain) && !contrib {
                return Err(Error::Unsupported {
                    node: name,
                    op: proto.op_type.clone(),
                    domain: proto.domain.clone(),
                });
            }
            let mut cx = NodeCtx::new(proto, &name, self.graph.opset)?;
            if proto.op_type == "Constant" {
                let limits = self.graph.limits;
                let t = constant(&mut cx, base_dir, &limits)?;
                let bytes = (t.len() * t.dtype().size_bytes()) as u64;
                limits.add_bytes(
                    &mut self.constant_bytes,
                    bytes,
                    &format!("node '{name}' (Constant)"),
                )?;
                let output = cx
                    .finish()?
                    .into_iter()
                    .flatten()
                    .next()
                    .unwrap_or_default();
                self.constant(output, t.into())
                    .ok_or_else(|| output_defined_twice(&name, "Constant", output))?;
                continue;
            }
            let op = ops::parse(&mut cx, if contrib { CONTRIB_DOMAIN } else { "" })?;
            // An omitted output before a given one keeps its position with a placeholder value.
            let outputs = cx
                .finish()?
                .into_iter()
                .enumerate()
                .map(|(i, output)| {
                    let output =
                        output.map_or_else(|| format!("{name}/omitted_output_{i}"), str::to_string);
                    let value = Value {
                        name: output.clone(),
                        dtype: None,
                        shape: None,
                        constant: None,
                    };
                    self.define(value)
                        .ok_or_else(|| output_defined_twice(&name, &proto.op_type, &output))
                })
                .collect::<Result<Vec<_>>>()?;
            pending.push(Pending {
                name,
                op,
                proto,
                outputs,
            });
        }
        Ok(pending)
    }

    /// Records the types declared in `value_info` and for the graph outputs (on values
    /// that are not constants and have none yet), and the graph outputs.
    fn declared_types(&mut self, g: &GraphProto) -> Result<()> {
        for info in g.value_info.iter().chain(&g.output) {
            let Some(v) = self
                .ids
                .get(&info.name)
                .and_then(|id| self.graph.values.get_mut(id.0))
            else {
                continue;
            };
            if v.constant.is_none() {
                let (dtype, shape) = declared(info, &self.graph.limits)?;
                v.dtype = v.dtype.or(dtype);
                if v.shape.is_none() {
                    v.shape = shape;
                }
            }
        }
        for info in &g.output {
            let id = self.ids.get(&info.name).copied().ok_or_else(|| {
                Error::malformed(
                    WHAT,
                    format!(
                        "graph output '{}' is not produced by any node, initializer or graph input",
                        info.name
                    ),
                )
            })?;
            self.graph.outputs.push(id);
        }
        Ok(())
    }

    /// Resolves the nodes' inputs and adds the nodes in topological order.
    fn sorted_nodes(&mut self, pending: Vec<Pending>) -> Result<()> {
        let inputs = pending
            .iter()
            .map(|p| self.resolve_inputs(p))
            .collect::<Result<Vec<_>>>()?;
        let producer: HashMap<ValueId, usize> = pending
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.outputs.iter().map(move |&o| (o, i)))
            .collect();
        let deps: Vec<Vec<usize>> = inputs
            .iter()
            .map(|ins| {
                ins.iter()
                    .flatten()
                    .filter_map(|id| producer.get(id).copied())
                    .collect()
            })
            .collect();
        let order = topo::sort(&deps).map_err(|c| self.cycle_error(&pending, c))?;
        let mut slots: Vec<_> = pending.into_iter().zip(inputs).map(Some).collect();
        for i in order {
            if let Some((p, inputs)) = slots.get_mut(i).and_then(Option::take) {
                self.graph.nodes.push(Node {
                    name: p.name,
                    op: p.op,
                    inputs,
                    outputs: p.outputs,
                });
            }
        }
        Ok(())
    }

    /// The values a node reads (`None` for an omitted optional input).
    fn resolve_inputs(&self, p: &Pending) -> Result<Vec<Option<ValueId>>> {
        p.proto
            .input
            .iter()
            .map(|name| {
                if name.is_empty() {
                    return Ok(None);
                }
                self.ids.get(name).copied().map(Some).ok_or_else(|| {
                    Error::node(
                        &p.name,
                        &p.proto.op_type,
                        format!(
                            "input '{name}' is not produced by any node, initializer or graph input"
                        ),
                    )
                })
            })
            .collect()
    }

    /// The error for a dependency cycle, naming a node on it and the value that closes it.
    fn cycle_error(&self, pending: &[Pending], c: Cycle) -> Error {
        let (Some(node), Some(producer)) = (pending.get(c.node), pending.get(c.producer)) else {
            return Error::malformed(WHAT, "the nodes form a cycle");
        };
        let read = producer
            .outputs
            .iter()
            .map(|&o| self.graph.value(o).name.as_str())
            .find(|name| node.proto.input.iter().any(|i| i == name))
            .unwrap_or_default();
        Error::node(
            &node.name,
            &node.proto.op_type,
            format!(
                "its input '{read}' comes from node '{}', which depends on this node's output (a cycle)",
                producer.name
            ),
        )
    }
}

fn defined_twice(name: &str) -> Error {
    Error::malformed(WHAT, format!("value '{name}' is defined twice"))
}

fn output_defined_twice(node: &str, op: &str, output: &str) -> Error {
    Error::node(
        node,
        op,
        format!(
            "output '{output}' is already defined by an initializer, graph input or another node"
        ),
    )
}
