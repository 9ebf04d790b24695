//! The zoo's transformers: the BERT-base encoder and one GPT-2-small decoder block, at
//! sequence 128.

use super::net::{Attr, Dim, Net, ZooModel};

const SEQ: usize = 128;
const HIDDEN: usize = 768;
const HEADS: usize = 12;
const FFN: usize = 3072;

impl Net {
    /// x[..., fin] · W[fin, fout] + b as MatMul + Add.
    pub(super) fn linear(&mut self, x: &str, name: &str, fin: usize, fout: usize) -> String {
        let w = self.weight(&format!("{name}.weight"), &[fin, fout], fin);
        let y = self.node("MatMul", &[x, &w], &format!("{name}.matmul"), vec![]);
        let b = self.bias(&format!("{name}.bias"), fout);
        self.node("Add", &[&y, &b], name, vec![])
    }

    pub(super) fn layer_norm(&mut self, x: &str, name: &str, dim: usize, eps: f32) -> String {
        let scale = self.filled(&format!("{name}.weight"), dim, 1.0);
        let shift = self.filled(&format!("{name}.bias"), dim, 0.0);
        let attrs = vec![("axis", Attr::Int(-1)), ("epsilon", Attr::Float(eps))];
        self.node("LayerNormalization", &[x, &scale, &shift], name, attrs)
    }

    /// [N, S, H·D] → [N, H, S, D], or [N, H, D, S] for the key.
    fn split_heads(&mut self, x: &str, name: &str, transpose_key: bool) -> String {
        let hd = self.int64s(&[0, 0, HEADS as i64, -1]);
        let x = self.node("Reshape", &[x, &hd], &format!("{name}.reshape"), vec![]);
        let perm = if transpose_key {
            vec![0, 2, 3, 1]
        } else {
            vec![0, 2, 1, 3]
        };
        let attrs = vec![("perm", Attr::Ints(perm))];
        self.node("Transpose", &[&x], &format!("{name}.transpose"), attrs)
    }

    /// Multi-head self-attention with separate Q, K and V projections.
    fn attention(&mut self, x: &str, name: &str, mask: Option<&str>) -> String {
        let q = self.linear(x, &format!("{name}.query"), HIDDEN, HIDDEN);
        let q = self.split_heads(&q, &format!("{name}.q"), false);
        let k = self.linear(x, &format!("{name}.key"), HIDDEN, HIDDEN);
        let k = self.split_heads(&k, &format!("{name}.k"), true);
        let v = self.linear(x, &format!("{name}.value"), HIDDEN, HIDDEN);
        let v = self.split_heads(&v, &format!("{name}.v"), false);
        let s = self.node("MatMul", &[&q, &k], &format!("{name}.scores"), vec![]);
        let d = self.scalar(((HIDDEN / HEADS) as f32).sqrt());
        let mut s = self.node("Div", &[&s, &d], &format!("{name}.scale"), vec![]);
        if let Some(mask) = mask {
            s = self.node("Add", &[&s, mask], &format!("{name}.mask"), vec![]);
        }
        let axis = vec![("axis", Attr::Int(-1))];
        let p = self.node("Softmax", &[&s], &format!("{name}.softmax"), axis);
        let c = self.node("MatMul", &[&p, &v], &format!("{name}.context"), vec![]);
        let perm = vec![("perm", Attr::Ints(vec![0, 2, 1, 3]))];
        let c = self.node("Transpose", &[&c], &format!("{name}.merge.transpose"), perm);
        let merged = self.int64s(&[0, 0, HIDDEN as i64]);
        let c = self.node("Reshape", &[&c, &merged], &format!("{name}.merge"), vec![]);
        self.linear(&c, &format!("{name}.output"), HIDDEN, HIDDEN)
    }

    fn mlp(&mut self, x: &str, name: &str, approximate: &'static str) -> String {
        let h = self.linear(x, &format!("{name}.fc1"), HIDDEN, FFN);
        let attrs = vec![("approximate", Attr::Str(approximate))];
        let h = self.node("Gelu", &[&h], &format!("{name}.gelu"), attrs);
        self.linear(&h, &format!("{name}.fc2"), FFN, HIDDEN)
    }
}

const TOKENS: [Dim; 3] = [Dim::Batch, Dim::Fixed(SEQ), Dim::Fixed(HIDDEN)];

/// BERT-base encoder (post-LayerNorm, erf GELU), sequence 128. The input is the sum of the
/// word, position and token-type embeddings (the table lookups are not GEMMs); no padding
/// mask; the pooler is left out.
pub(super) fn bert_base() -> ZooModel {
    let mut n = Net::new("bert_base", 110, 20);
    let mut x = n.layer_norm("embeddings", "embeddings.LayerNorm", HIDDEN, 1e-12);
    for i in 0..12 {
        let name = format!("encoder.layer.{i}");
        let a = n.attention(&x, &format!("{name}.attention"), None);
        let r = n.node(
            "Add",
            &[&a, &x],
            &format!("{name}.attention.residual"),
            vec![],
        );
        x = n.layer_norm(&r, &format!("{name}.attention.LayerNorm"), HIDDEN, 1e-12);
        let m = n.mlp(&x, &format!("{name}.mlp"), "none");
        let r = n.node("Add", &[&m, &x], &format!("{name}.mlp.residual"), vec![]);
        x = n.layer_norm(&r, &format!("{name}.output.LayerNorm"), HIDDEN, 1e-12);
    }
    n.model(
        &[("embeddings", &TOKENS)],
        &[(&x, &TOKENS)],
        "BERT-base encoder, 12 layers, hidden 768, 12 heads, FFN 3072, sequence 128.",
    )
}

/// One GPT-2-small decoder block (pre-LayerNorm, tanh GELU) and the final LayerNorm,
/// sequence 128; the causal mask is an Add of a constant (0 on and below the diagonal,
/// -10000 above). No token embedding and no LM head.
pub(super) fn gpt_block() -> ZooModel {
    let mut n = Net::new("gpt_block", 2019, 20);
    let causal: Vec<f32> = (0..SEQ * SEQ)
        .map(|i| if i % SEQ > i / SEQ { -10000.0 } else { 0.0 })
        .collect();
    let mask = n.floats("causal_mask", &[1, 1, SEQ, SEQ], causal);
    let x = "hidden_states".to_string();
    let h = n.layer_norm(&x, "h.0.ln_1", HIDDEN, 1e-5);
    let a = n.attention(&h, "h.0.attn", Some(&mask));
    let x = n.node("Add", &[&x, &a], "h.0.attn.residual", vec![]);
    let h = n.layer_norm(&x, "h.0.ln_2", HIDDEN, 1e-5);
    let m = n.mlp(&h, "h.0.mlp", "tanh");
    let x = n.node("Add", &[&x, &m], "h.0.mlp.residual", vec![]);
    let y = n.layer_norm(&x, "ln_f", HIDDEN, 1e-5);
    n.model(
        &[("hidden_states", &TOKENS)],
        &[(&y, &TOKENS)],
        "GPT-2-small decoder block (hidden 768, 12 heads, FFN 3072), sequence 128.",
    )
}
