//! The zoo's decoder-only language models with a KV cache: GPT-2 small and OPT-1.3B, their
//! real layer shapes behind the interface Hugging Face Optimum exports them with, so one
//! model serves the prompt's prefill and every decode step, specialised by the symbolic
//! dims `seq` (new tokens), `past` (cached tokens) and `total` (`past + seq`).

use super::net::{Attr, Dim, Net, ZooModel};

/// A decoder's hyper-parameters.
struct Shape {
    name: &'static str,
    seed: u64,
    hidden: usize,
    heads: usize,
    layers: usize,
    ffn: usize,
    vocab: usize,
    /// The MLP's activation: `Gelu` (tanh approximation) or `Relu`.
    activation: &'static str,
    doc: &'static str,
}

/// GPT-2 small (124 M parameters): 12 layers, hidden 768, 12 heads, FFN 3072, vocabulary
/// 50 257, tanh GELU, the LM head tied to the token embedding (no bias).
pub(super) fn gpt2_small() -> ZooModel {
    decoder(&Shape {
        name: "gpt2_small",
        seed: 124,
        hidden: 768,
        heads: 12,
        layers: 12,
        ffn: 3072,
        vocab: 50257,
        activation: "Gelu",
        doc: "GPT-2 small decoder with a KV cache: 12 layers, hidden 768, 12 heads, FFN 3072, vocabulary 50257.",
    })
}

/// OPT-1.3B: 24 layers, hidden 2048, 32 heads, FFN 8192, vocabulary 50 272, ReLU,
/// pre-LayerNorm, the LM head tied to the token embedding (no bias).
pub(super) fn opt_1_3b() -> ZooModel {
    decoder(&Shape {
        name: "opt_1_3b",
        seed: 1300,
        hidden: 2048,
        heads: 32,
        layers: 24,
        ffn: 8192,
        vocab: 50272,
        activation: "Relu",
        doc: "OPT-1.3B decoder with a KV cache: 24 layers, hidden 2048, 32 heads, FFN 8192, vocabulary 50272.",
    })
}

/// A pre-LayerNorm decoder. Inputs: `hidden_states [N, seq, hidden]` (the token and position
/// embeddings summed: table lookups, not GEMMs), `attention_bias [N, 1, seq, total]` (the
/// causal and padding mask, additive) and per layer `past_key_values.{i}.key` and `.value
/// [N, heads, past, head_dim]`. Outputs: `logits [N, seq, vocab]` and per layer
/// `present.{i}.key` and `.value [N, heads, total, head_dim]`, the cache with this step's
/// tokens appended.
fn decoder(s: &Shape) -> ZooModel {
    let mut n = Net::new(s.name, s.seed, 20);
    let head_dim = s.hidden / s.heads;
    let tokens = [Dim::Batch, Dim::Named("seq"), Dim::Fixed(s.hidden)];
    let bias = [
        Dim::Batch,
        Dim::Fixed(1),
        Dim::Named("seq"),
        Dim::Named("total"),
    ];
    let cache = |len| {
        [
            Dim::Batch,
            Dim::Fixed(s.heads),
            Dim::Named(len),
            Dim::Fixed(head_dim),
        ]
    };
    let mut inputs: Vec<(String, [Dim; 4])> = Vec::new();
    let mut outputs: Vec<(String, [Dim; 4])> = Vec::new();
    let mut x = "hidden_states".to_string();
    for i in 0..s.layers {
        let name = format!("h.{i}");
        let h = n.layer_norm(&x, &format!("{name}.ln_1"), s.hidden, 1e-5);
        let a = format!("{name}.attn");
        let q = n.linear(&h, &format!("{a}.query"), s.hidden, s.hidden);
        let q = heads(&mut n, &q, &format!("{a}.q"), s.heads);
        let mut kv = Vec::new();
        for which in ["key", "value"] {
            let y = n.linear(&h, &format!("{a}.{which}"), s.hidden, s.hidden);
            let y = heads(&mut n, &y, &format!("{a}.{which}.heads"), s.heads);
            let past = format!("past_key_values.{i}.{which}");
            let present = n.node(
                "Concat",
                &[&past, &y],
                &format!("present.{i}.{which}"),
                vec![("axis", Attr::Int(2))],
            );
            inputs.push((past, cache("past")));
            outputs.push((present.clone(), cache("total")));
            kv.push(present);
        }
        let perm = vec![("perm", Attr::Ints(vec![0, 1, 3, 2]))];
        let kt = n.node("Transpose", &[&kv[0]], &format!("{a}.key.transpose"), perm);
        let scores = n.node("MatMul", &[&q, &kt], &format!("{a}.scores"), vec![]);
        let d = n.scalar((head_dim as f32).sqrt());
        let scaled = n.node("Div", &[&scores, &d], &format!("{a}.scale"), vec![]);
        let masked = n.node(
            "Add",
            &[&scaled, "attention_bias"],
            &format!("{a}.mask"),
            vec![],
        );
        let axis = vec![("axis", Attr::Int(-1))];
        let p = n.node("Softmax", &[&masked], &format!("{a}.softmax"), axis);
        let c = n.node("MatMul", &[&p, &kv[1]], &format!("{a}.context"), vec![]);
        let perm = vec![("perm", Attr::Ints(vec![0, 2, 1, 3]))];
        let c = n.node("Transpose", &[&c], &format!("{a}.merge.transpose"), perm);
        let merged = n.int64s(&[0, 0, s.hidden as i64]);
        let c = n.node("Reshape", &[&c, &merged], &format!("{a}.merge"), vec![]);
        let o = n.linear(&c, &format!("{a}.output"), s.hidden, s.hidden);
        x = n.node("Add", &[&x, &o], &format!("{name}.attn.residual"), vec![]);
        let h = n.layer_norm(&x, &format!("{name}.ln_2"), s.hidden, 1e-5);
        let m = format!("{name}.mlp");
        let h = n.linear(&h, &format!("{m}.fc1"), s.hidden, s.ffn);
        let act = match s.activation {
            "Gelu" => vec![("approximate", Attr::Str("tanh"))],
            _ => vec![],
        };
        let h = n.node(s.activation, &[&h], &format!("{m}.act"), act);
        let m = n.linear(&h, &format!("{m}.fc2"), s.ffn, s.hidden);
        x = n.node("Add", &[&x, &m], &format!("{name}.mlp.residual"), vec![]);
    }
    let x = n.layer_norm(&x, "ln_f", s.hidden, 1e-5);
    let w = n.weight("lm_head.weight", &[s.hidden, s.vocab], s.hidden);
    let logits = n.node("MatMul", &[&x, &w], "logits", vec![]);
    let logits_dims = [Dim::Batch, Dim::Named("seq"), Dim::Fixed(s.vocab)];
    let mut ins: Vec<(&str, &[Dim])> = vec![("hidden_states", &tokens), ("attention_bias", &bias)];
    ins.extend(inputs.iter().map(|(name, d)| (name.as_str(), &d[..])));
    let mut outs: Vec<(&str, &[Dim])> = vec![(&logits, &logits_dims)];
    outs.extend(outputs.iter().map(|(name, d)| (name.as_str(), &d[..])));
    n.model(&ins, &outs, s.doc)
}

/// [N, S, heads·D] → [N, heads, S, D].
fn heads(n: &mut Net, x: &str, name: &str, heads: usize) -> String {
    let hd = n.int64s(&[0, 0, heads as i64, -1]);
    let x = n.node("Reshape", &[x, &hd], &format!("{name}.reshape"), vec![]);
    let perm = vec![("perm", Attr::Ints(vec![0, 2, 1, 3]))];
    n.node("Transpose", &[&x], &format!("{name}.transpose"), perm)
}
