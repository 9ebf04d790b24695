//! The cost of one vector-unit node of a lowered program, for the tests of cost rules.

use cdmsa::kernel::{Kernel, Program, VectorKernel};

/// (work, reads, writes) of the vector kernel of the node named `name`.
pub fn costs(p: &Program, name: &str) -> (u64, u64, u64) {
    let i = p.nodes.iter().position(|n| n.name == name).unwrap();
    match &p.kernels[i] {
        Kernel::Vector(VectorKernel {
            work,
            reads,
            writes,
            ..
        }) => (*work, *reads, *writes),
        Kernel::Gemm(_) => panic!("{name} lowered to a GEMM"),
    }
}
