//! The unrolled graph's builder: fresh values and nodes named after the recurrent node, and
//! the slices, columns and transposes of its inputs (derived once per model from constants,
//! else computed by nodes).

use super::super::{Graph, Node, Op, Value, ValueId};
use crate::error::{Error, Result};
use crate::tensor::{Constant, DType, Tensor};
use ndarray::{ArrayD, IxDyn};

/// How a constant of the unrolled graph is derived from one of the model's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Derivation {
    /// Entry `index` along `axis`.
    Pick { axis: usize, index: usize },
    /// Columns `start..end` of the last of `rank` axes.
    Part {
        rank: usize,
        start: usize,
        end: usize,
    },
    /// The two axes swapped.
    Transposed,
}

/// Appends nodes and values named after the node being unrolled.
pub(super) struct Builder<'a> {
    pub(super) g: &'a mut Graph,
    pub(super) nodes: &'a mut Vec<Node>,
    prefix: String,
    next: usize,
    /// The recurrence's float type (X's).
    pub(super) dtype: DType,
}

impl<'a> Builder<'a> {
    /// A builder appending to `nodes`, naming what it makes after `prefix`.
    pub(super) fn new(
        g: &'a mut Graph,
        nodes: &'a mut Vec<Node>,
        prefix: String,
        dtype: DType,
    ) -> Builder<'a> {
        Builder {
            g,
            nodes,
            prefix,
            next: 0,
            dtype,
        }
    }

    fn name(&mut self, what: &str) -> String {
        self.next += 1;
        format!("{}/{what}_{}", self.prefix, self.next)
    }

    pub(super) fn value(&mut self, what: &str, constant: Option<Tensor>) -> ValueId {
        let name = self.name(what);
        self.g.add_value(Value {
            name,
            dtype: constant.as_ref().map(Tensor::dtype),
            shape: None,
            constant: constant.map(Tensor::into),
        })
    }

    /// Appends `op` over `inputs` with `outputs` fresh values, or onto the given ones.
    pub(super) fn node_into(&mut self, op: Op, inputs: &[Option<ValueId>], outputs: Vec<ValueId>) {
        let name = self.name(op.name());
        self.nodes.push(Node {
            name,
            op,
            inputs: inputs.to_vec(),
            outputs,
        });
    }

    pub(super) fn node(&mut self, op: Op, inputs: &[ValueId], outputs: usize) -> Vec<ValueId> {
        let outs: Vec<ValueId> = (0..outputs).map(|_| self.value(op.name(), None)).collect();
        let inputs: Vec<Option<ValueId>> = inputs.iter().copied().map(Some).collect();
        self.node_into(op, &inputs, outs.clone());
        outs
    }

    pub(super) fn one(&mut self, op: Op, inputs: &[ValueId]) -> ValueId {
        self.node(op, inputs, 1)[0]
    }

    pub(super) fn ints(&mut self, v: &[i64]) -> ValueId {
        let t = Tensor::I64(ArrayD::from_shape_vec(IxDyn(&[v.len()]), v.to_vec()).expect("1-D"));
        self.value("const", Some(t))
    }

    pub(super) fn scalar_index(&mut self, i: usize) -> ValueId {
        let t = Tensor::I64(ArrayD::from_elem(IxDyn(&[]), i as i64));
        self.value("index", Some(t))
    }

    /// A constant of the recurrence's type filled with `v`.
    pub(super) fn filled(&mut self, what: &str, v: f32, shape: &[usize]) -> ValueId {
        let t = Tensor::F32(ArrayD::from_elem(IxDyn(shape), v)).cast(self.dtype);
        self.value(what, Some(t))
    }

    /// A constant derived from constant `v` by `make`, kept with `v`'s values under `key`
    /// (see [`Constant::derived`]): every lowering of the model shares it, and what the
    /// arrays prepare from it in turn. `None` when `v` is not a constant.
    fn derived(
        &mut self,
        v: ValueId,
        key: Derivation,
        make: impl FnOnce(&Tensor) -> Result<Tensor>,
    ) -> Result<Option<ValueId>> {
        let Some(c) = self.g.values[v.0].constant.clone() else {
            return Ok(None);
        };
        let made = c.derived(key, |t| make(t).map(Constant::from))?;
        let name = self.name("derived");
        Ok(Some(self.g.add_value(Value {
            name,
            dtype: Some(made.dtype()),
            shape: None,
            constant: Some(Constant::clone(&made)),
        })))
    }

    /// Entry `index` of `v` along `axis` (the axis dropped): computed once when `v` is a
    /// constant, else by a Gather node.
    pub(super) fn pick(
        &mut self,
        v: ValueId,
        axis: usize,
        index: usize,
        what: &str,
    ) -> Result<ValueId> {
        let key = Derivation::Pick { axis, index };
        let picked = self.derived(v, key, |t| {
            let s = t.shape();
            if s.get(axis).is_none_or(|&n| n <= index) {
                return Err(Error::Shape(format!("{what} {s:?} has no entry {index}")));
            }
            Ok(t.index_axis(axis, index))
        })?;
        if let Some(p) = picked {
            return Ok(p);
        }
        let i = self.scalar_index(index);
        Ok(self.one(Op::Gather { axis: axis as i64 }, &[v, i]))
    }

    /// `v[.., start..end]` along its last of `rank` axes: computed once when `v` is a
    /// constant, else by a Slice node.
    pub(super) fn part(
        &mut self,
        v: ValueId,
        rank: usize,
        start: usize,
        end: usize,
    ) -> Result<ValueId> {
        let key = Derivation::Part { rank, start, end };
        let part = self.derived(v, key, |t| {
            let n = t.shape().get(rank - 1).copied().unwrap_or(0);
            if t.shape().len() != rank || end > n {
                return Err(Error::Shape(format!(
                    "{:?} has no columns {start}..{end}",
                    t.shape()
                )));
            }
            Ok(t.slice_axis(rank - 1, start as isize, end as isize, 1))
        })?;
        if let Some(p) = part {
            return Ok(p);
        }
        let (s, e, a) = (
            self.ints(&[start as i64]),
            self.ints(&[end as i64]),
            self.ints(&[rank as i64 - 1]),
        );
        Ok(self.one(Op::Slice, &[v, s, e, a]))
    }

    /// `v` with its two axes swapped: computed once when `v` is a constant, else by a
    /// Transpose node (which the arrays' operand loader absorbs).
    pub(super) fn transposed(&mut self, v: ValueId) -> Result<ValueId> {
        if let Some(t) = self.derived(v, Derivation::Transposed, |t| t.transpose(&[1, 0]))? {
            return Ok(t);
        }
        Ok(self.one(Op::Transpose { perm: None }, &[v]))
    }

    /// Concat of `parts` along `axis`, into `out` or a fresh value.
    pub(super) fn concat(
        &mut self,
        parts: Vec<ValueId>,
        axis: i64,
        out: Option<ValueId>,
    ) -> ValueId {
        let inputs: Vec<Option<ValueId>> = parts.into_iter().map(Some).collect();
        let out = out.unwrap_or_else(|| self.value("Concat", None));
        self.node_into(Op::Concat { axis }, &inputs, vec![out]);
        out
    }
}
