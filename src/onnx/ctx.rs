//! One node being imported: typed access to its attributes, and checks of its arity.
//!
//! Every attribute an op parser reads is marked as used; [`NodeCtx::finish`] then rejects
//! attributes no parser asked for (misspelt, or not part of the op at the model's opset), as
//! onnxruntime's schema check does, so a model never runs with an attribute silently ignored.

use crate::error::{Error, Result};
use crate::proto::attribute_proto::AttributeType;
use crate::proto::{AttributeProto, NodeProto, TensorProto};
use std::collections::HashSet;

/// Largest value accepted for a size-like attribute (kernel size, stride, pad, dilation, ...).
const MAX_SIZE_ATTR: i64 = i32::MAX as i64;

/// A node under import: its name, op type, the model's opset, and its attributes.
pub(super) struct NodeCtx<'a> {
    /// The node's name (given, or generated from the op type and position).
    pub name: &'a str,
    /// The op type.
    pub op: &'a str,
    /// The default-domain opset the model imports.
    pub opset: i64,
    node: &'a NodeProto,
    used: Vec<bool>,
    outputs: (usize, usize),
}

impl<'a> NodeCtx<'a> {
    /// Wraps a node; attribute names must be present and distinct.
    pub fn new(node: &'a NodeProto, name: &'a str, opset: i64) -> Result<Self> {
        let cx = NodeCtx {
            name,
            op: &node.op_type,
            opset,
            node,
            used: vec![false; node.attribute.len()],
            outputs: (1, 1),
        };
        let mut names = HashSet::new();
        for a in &node.attribute {
            if a.name.is_empty() {
                return Err(cx.err("an attribute has no name"));
            }
            if !names.insert(a.name.as_str()) {
                return Err(cx.err(format!("attribute '{}' appears twice", a.name)));
            }
        }
        Ok(cx)
    }

    /// An [`Error::Node`] naming this node.
    pub fn err(&self, msg: impl Into<String>) -> Error {
        Error::node(self.name, self.op, msg)
    }

    /// Fails unless the model's opset is at least `version` (the op's first version).
    pub fn since(&self, version: i64) -> Result<()> {
        if self.opset < version {
            return Err(self.err(format!(
                "{} needs opset {version} or later; the model imports opset {}",
                self.op, self.opset
            )));
        }
        Ok(())
    }

    /// Declares how many outputs the op has: at least `min` (named), at most `max`; checked
    /// by [`NodeCtx::finish`]. Without it an op has exactly one output.
    pub fn outputs(&mut self, min: usize, max: usize) {
        self.outputs = (min, max);
    }

    /// The number of inputs given (trailing omitted inputs do not count).
    pub fn input_count(&self) -> usize {
        count_given(&self.node.input)
    }

    /// The number of outputs given (trailing omitted outputs do not count).
    pub fn output_count(&self) -> usize {
        count_given(&self.node.output)
    }

    /// Checks the number of inputs (trailing omitted inputs do not count) and that the
    /// first `min` are given.
    pub fn inputs(&self, min: usize, max: usize) -> Result<()> {
        let given = &self.node.input;
        let n = count_given(given);
        if n < min || n > max {
            return Err(self.err(format!("expects {} inputs, has {n}", range(min, max))));
        }
        if let Some(i) = given.iter().take(min).position(String::is_empty) {
            return Err(self.err(format!("required input #{i} is missing")));
        }
        Ok(())
    }

    /// True when input `i` is given (present and not `""`).
    pub fn given(&self, i: usize) -> bool {
        self.node.input.get(i).is_some_and(|n| !n.is_empty())
    }

    /// True when the node has an attribute of this name.
    pub fn has(&self, name: &str) -> bool {
        self.node.attribute.iter().any(|a| a.name == name)
    }

    /// The attribute `name` if present, marked as used, after checking its type.
    fn take(&mut self, name: &str, ty: AttributeType) -> Result<Option<&'a AttributeProto>> {
        let node: &'a NodeProto = self.node;
        let Some((i, a)) = node
            .attribute
            .iter()
            .enumerate()
            .find(|(_, a)| a.name == name)
        else {
            return Ok(None);
        };
        if let Some(used) = self.used.get_mut(i) {
            *used = true;
        }
        if a.r#type != ty as i32 {
            return Err(self.err(format!(
                "attribute '{name}' must be of type {ty:?}, found {}",
                type_name(a.r#type)
            )));
        }
        Ok(Some(a))
    }

    /// An integer attribute.
    pub fn int(&mut self, name: &str) -> Result<Option<i64>> {
        Ok(self.take(name, AttributeType::Int)?.map(|a| a.i))
    }

    /// An integer attribute with a default.
    pub fn int_or(&mut self, name: &str, default: i64) -> Result<i64> {
        Ok(self.int(name)?.unwrap_or(default))
    }

    /// A 0/1 integer attribute as a bool.
    pub fn bool_or(&mut self, name: &str, default: bool) -> Result<bool> {
        match self.int(name)? {
            None => Ok(default),
            Some(0) => Ok(false),
            Some(1) => Ok(true),
            Some(v) => Err(self.err(format!("attribute '{name}' must be 0 or 1, found {v}"))),
        }
    }

    /// A float attribute.
    pub fn float(&mut self, name: &str) -> Result<Option<f32>> {
        Ok(self.take(name, AttributeType::Float)?.map(|a| a.f))
    }

    /// A float attribute with a default.
    pub fn float_or(&mut self, name: &str, default: f32) -> Result<f32> {
        Ok(self.float(name)?.unwrap_or(default))
    }

    /// A list-of-integers attribute.
    pub fn ints(&mut self, name: &str) -> Result<Option<&'a [i64]>> {
        Ok(self
            .take(name, AttributeType::Ints)?
            .map(|a| a.ints.as_slice()))
    }

    /// A list-of-floats attribute.
    pub fn floats(&mut self, name: &str) -> Result<Option<&'a [f32]>> {
        Ok(self
            .take(name, AttributeType::Floats)?
            .map(|a| a.floats.as_slice()))
    }

    /// A (UTF-8) string attribute.
    pub fn string(&mut self, name: &str) -> Result<Option<&'a str>> {
        match self.take(name, AttributeType::String)? {
            None => Ok(None),
            Some(a) => std::str::from_utf8(&a.s)
                .map(Some)
                .map_err(|_| self.err(format!("attribute '{name}' is not valid UTF-8"))),
        }
    }

    /// A list-of-strings attribute (each UTF-8).
    pub fn strings(&mut self, name: &str) -> Result<Option<Vec<&'a str>>> {
        let Some(a) = self.take(name, AttributeType::Strings)? else {
            return Ok(None);
        };
        a.strings
            .iter()
            .map(|s| {
                std::str::from_utf8(s)
                    .map_err(|_| self.err(format!("attribute '{name}' is not valid UTF-8")))
            })
            .collect::<Result<_>>()
            .map(Some)
    }

    /// A tensor attribute.
    pub fn tensor(&mut self, name: &str) -> Result<Option<&'a TensorProto>> {
        match self.take(name, AttributeType::Tensor)? {
            None => Ok(None),
            Some(a) => {
                a.t.as_ref()
                    .map(Some)
                    .ok_or_else(|| self.err(format!("attribute '{name}' holds no tensor")))
            }
        }
    }

    /// A list of sizes, each at least `min` (and at most 2^31 − 1).
    pub fn sizes(&mut self, name: &str, min: i64) -> Result<Option<Vec<usize>>> {
        let Some(values) = self.ints(name)? else {
            return Ok(None);
        };
        values
            .iter()
            .map(|&v| {
                usize::try_from(v)
                    .ok()
                    .filter(|_| (min..=MAX_SIZE_ATTR).contains(&v))
                    .ok_or_else(|| {
                        self.err(format!(
                            "attribute '{name}' has value {v}, outside [{min}, {MAX_SIZE_ATTR}]"
                        ))
                    })
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// Checks that every attribute was read and that the outputs fit what the op declared with
    /// [`NodeCtx::outputs`] (one, unless declared; further outputs may only be omitted, `""`);
    /// returns the output names up to the last one given, `None` for an omitted one.
    pub fn finish(self) -> Result<Vec<Option<&'a str>>> {
        let node: &'a NodeProto = self.node;
        if let Some(a) = node
            .attribute
            .iter()
            .zip(&self.used)
            .find_map(|(a, &u)| (!u).then_some(a))
        {
            let what = match AttributeType::try_from(a.r#type) {
                Ok(AttributeType::Graph | AttributeType::Graphs) => "subgraph attribute",
                _ => "attribute",
            };
            return Err(self.err(format!(
                "unexpected {what} '{}' ({} does not have it in opset {})",
                a.name, self.op, self.opset
            )));
        }
        let (min, max) = self.outputs;
        let given = &node.output;
        let n = count_given(given);
        if n == 0 {
            return Err(self.err(if given.is_empty() {
                "has no output"
            } else {
                "its output has no name"
            }));
        }
        if n > max {
            let extra = &given[max];
            let supported = if max == 1 {
                "only the first output is".to_string()
            } else {
                format!("{} has at most {max} outputs", self.op)
            };
            return Err(self.err(format!(
                "output #{max} '{extra}' is not supported ({supported})"
            )));
        }
        if n < min {
            return Err(self.err(format!("expects {} outputs, has {n}", range(min, max))));
        }
        if let Some(i) = given.iter().take(min).position(String::is_empty) {
            return Err(self.err(if i == 0 {
                "its output has no name".to_string()
            } else {
                format!("required output #{i} has no name")
            }));
        }
        Ok(given[..n]
            .iter()
            .map(|s| (!s.is_empty()).then_some(s.as_str()))
            .collect())
    }
}

/// The number of names given, trailing empty (omitted) ones not counted.
fn count_given(names: &[String]) -> usize {
    names
        .iter()
        .rposition(|s| !s.is_empty())
        .map_or(0, |i| i + 1)
}

/// "n", "at least n" or "n to m".
fn range(min: usize, max: usize) -> String {
    if min == max {
        format!("{min}")
    } else if max == usize::MAX {
        format!("at least {min}")
    } else {
        format!("{min} to {max}")
    }
}

/// A readable name of an `AttributeProto.type` code.
fn type_name(code: i32) -> String {
    match AttributeType::try_from(code) {
        Ok(t) => format!("{t:?}"),
        Err(_) => format!("unknown type {code}"),
    }
}
