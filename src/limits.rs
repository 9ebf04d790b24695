//! Resource bounds on what a model may ask for: elements per tensor, nodes per graph and total
//! bytes. They are checked before anything is allocated — when a file is read, when a tensor is
//! decoded, when a shape is declared and when specialisation infers a shape from a runtime value
//! (Reshape, Expand, ConstantOfShape, Range, Pad, Resize, ...) — so a small hostile file that
//! claims a huge tensor is refused with [`Error::Limit`] instead of exhausting memory.

use crate::error::{Error, Result};

/// The bounds a model is loaded and run within; see [`Limits::default`] for the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most elements any one tensor may have (decoded, declared or inferred).
    pub max_tensor_elements: usize,
    /// The most nodes (and, separately, initializers) a graph may have.
    pub max_nodes: usize,
    /// The most bytes a model file may have, and the most bytes all the tensors of one run
    /// (constants plus every inferred value) may take together.
    pub max_bytes: u64,
}

impl Default for Limits {
    /// 2^28 elements per tensor (1 GiB of f32), 100 000 nodes, 8 GiB in all: every committed
    /// and real model fits with room to spare, and no single run can take more than about a
    /// third of a 24 GiB machine.
    fn default() -> Self {
        Limits {
            max_tensor_elements: 1 << 28,
            max_nodes: 100_000,
            max_bytes: 8 << 30,
        }
    }
}

impl Limits {
    /// The number of elements of `shape`, or [`Error::Limit`] naming `what` when it exceeds
    /// [`Limits::max_tensor_elements`]. Zero-sized dims do not lift the bound: the product of
    /// the non-zero dims must fit too, so no dim of an empty tensor is absurd.
    pub fn elements(&self, shape: &[usize], what: &str) -> Result<usize> {
        let nonzero = shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d.max(1)));
        match nonzero {
            Some(n) if n <= self.max_tensor_elements => Ok(shape.iter().product()),
            _ => Err(Error::Limit(format!(
                "{what} has shape {shape:?}, {} elements, more than the limit of {} (--max-tensor-elements)",
                describe_product(shape),
                self.max_tensor_elements
            ))),
        }
    }

    /// The bytes of a tensor of `shape` with elements of `element_bytes`, checking its
    /// elements (see [`Limits::elements`]).
    pub fn bytes(&self, element_bytes: usize, shape: &[usize], what: &str) -> Result<u64> {
        let n = self.elements(shape, what)?;
        Ok((n as u64).saturating_mul(element_bytes as u64))
    }

    /// Checks a count of nodes (or initializers) against [`Limits::max_nodes`].
    pub fn nodes(&self, count: usize, what: &str) -> Result<()> {
        if count > self.max_nodes {
            return Err(Error::Limit(format!(
                "the graph has {count} {what}, more than the limit of {} (--max-nodes)",
                self.max_nodes
            )));
        }
        Ok(())
    }

    /// Adds `bytes` to a running `total`, or [`Error::Limit`] naming `what` when the sum
    /// exceeds [`Limits::max_bytes`].
    pub fn add_bytes(&self, total: &mut u64, bytes: u64, what: &str) -> Result<()> {
        match total.checked_add(bytes) {
            Some(t) if t <= self.max_bytes => {
                *total = t;
                Ok(())
            }
            _ => Err(Error::Limit(format!(
                "{what} would bring the total to more than {} bytes (--max-bytes)",
                self.max_bytes
            ))),
        }
    }
}

/// The product of `shape` as a decimal number, exact even beyond `usize` (as a u128, or
/// "more than 2^128").
fn describe_product(shape: &[usize]) -> String {
    shape
        .iter()
        .try_fold(1u128, |n, &d| n.checked_mul(d as u128))
        .map_or_else(|| "more than 2^128".to_string(), |n| n.to_string())
}
