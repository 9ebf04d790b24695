//! Operand transposes folded into a GEMM's layout (`fold_operand_transposes`): GPT-2 small's
//! key transpose before the attention scores swaps the cache's last two axes and feeds only
//! the scores MatMul as its B operand, so it costs nothing; other transposes keep their cost.

use cdmsa::config::AcceleratorConfig;
use cdmsa::kernel::{Precision, Program};
use cdmsa::pipeline::Model;
use std::path::Path;

#[path = "vector_costs/mod.rs"]
mod vector_costs;

use vector_costs::costs;

/// GPT-2 small's decode step over 15 cached tokens on `tpu-msa`, with or without the fold.
fn decode_step(fold: bool) -> Program {
    let cfg = AcceleratorConfig {
        fold_operand_transposes: fold,
        ..AcceleratorConfig::preset("tpu-msa").unwrap()
    };
    let model = Model::load(Path::new("zoo:gpt2_small"), &Default::default()).unwrap();
    let dims = [("seq", 1), ("past", 15), ("total", 16)].map(|(n, v)| (n.to_string(), v));
    let bindings = model.declared_inputs_with(1, &dims).unwrap();
    model.lower(&bindings, &cfg, Precision::Int8).unwrap()
}

/// The key transpose (perm 0,1,3,2 of the [1, 12, 16, 64] cache) moves 12·16·64 = 12 288
/// elements on the vector unit unfolded, none folded; the query's head split (perm 0,2,1,3
/// of [1, 1, 12, 64]) moves its 768 elements either way. On-chip, neither crosses the DRAM.
#[test]
fn the_key_transpose_folds_into_the_scores_operand() {
    let (on, off) = (decode_step(true), decode_step(false));
    assert_eq!(costs(&off, "h.0.attn.key.transpose"), (12_288, 0, 0));
    assert_eq!(costs(&on, "h.0.attn.key.transpose"), (0, 0, 0));
    let q = "h.0.attn.q.transpose";
    assert_eq!(costs(&on, q), costs(&off, q));
    assert_eq!(costs(&on, q).0, 768);
}
