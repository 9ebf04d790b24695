//! `Program`: a specialised graph with, per node, the kernel it runs as.

use crate::ir::{Facts, Graph};
use crate::kernel::Kernel;

/// A lowered model: the specialised graph, its facts, and one kernel per node.
#[derive(Debug, Clone)]
pub struct Program {
    /// The graph after fusion and constant folding, specialised to the input shapes.
    pub graph: Graph,
    /// Types and shapes of every value.
    pub facts: Facts,
    /// `kernels[i]` runs `graph.nodes[i]`.
    pub kernels: Vec<Kernel>,
}
