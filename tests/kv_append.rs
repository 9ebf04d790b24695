//! KV-cache appends costed in place (`kv_append_in_place`): the decoder's
//! `present = Concat(past, new)` reads and writes only the new tokens, whatever the cache
//! length; off, it copies the whole cache. Every number is worked by hand from the shapes of
//! `models/decoder` (D = 64, 4 heads of 16, fp32).

use cdmsa::config::AcceleratorConfig;
use cdmsa::ir::{Graph, InputBinding, Node, Op, Value, ValueId};
use cdmsa::kernel::{Precision, Program};
use cdmsa::lower::lower;
use cdmsa::pipeline::Model;
use cdmsa::tensor::DType;
use std::path::Path;

#[path = "vector_costs/mod.rs"]
mod vector_costs;

use vector_costs::costs;

/// `tpu-msa` with 1 KiB of scratchpad per array: 2 KiB of activations stay on chip, so a
/// cache of 4 tokens or more (1 KiB per layer's keys) streams.
fn config(in_place: bool) -> AcceleratorConfig {
    AcceleratorConfig {
        sram_kib_per_array: 1,
        kv_append_in_place: in_place,
        ..AcceleratorConfig::preset("tpu-msa").unwrap()
    }
}

/// The decoder lowered for one new token over `past` cached ones.
fn decode_step(cfg: &AcceleratorConfig, past: usize) -> Program {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/decoder/model.onnx");
    let model = Model::load(&path, &Default::default()).unwrap();
    let dims = [("seq", 1), ("past", past), ("total", past + 1)].map(|(n, v)| (n.to_string(), v));
    let bindings = model.declared_inputs_with(1, &dims).unwrap();
    model.lower(&bindings, cfg, Precision::Native).unwrap()
}

/// Layer 0's key cache: `h.0.attn.key.cache_31 = Concat(past_key_values.0.key [1,4,P,16],
/// new [1,4,1,16], axis 2)`, named `present.0.key` by an Identity. In place, the append
/// works on the new token's 1·4·1·16 = 64 elements and reads and writes their 256 bytes,
/// whatever P; the Identity moves nothing.
#[test]
fn an_append_in_place_moves_only_the_new_token() {
    let cfg = config(true);
    for past in [7, 31] {
        let p = decode_step(&cfg, past);
        for layer in [0, 1] {
            let base = 31 + 33 * layer;
            for (which, at) in [("key", base), ("value", base + 1)] {
                let concat = format!("h.{layer}.attn.{which}.cache_{at}");
                assert_eq!(costs(&p, &concat), (64, 256, 256), "{concat} past {past}");
                let alias = format!("present.{layer}.{which}");
                assert_eq!(costs(&p, &alias), (0, 0, 0), "{alias} past {past}");
            }
        }
    }
}

/// Off, the append copies the whole cache: it reads the past's 4·P·16 elements (256·P
/// bytes) and the new token's 256 bytes, writes the 256·(P+1) bytes of the present cache
/// and works on its 64·(P+1) elements; the Identity reads and writes the cache once more.
#[test]
fn off_the_append_copies_the_whole_cache() {
    let cfg = config(false);
    for past in [7u64, 31] {
        let p = decode_step(&cfg, past as usize);
        let whole = 256 * (past + 1);
        assert_eq!(
            costs(&p, "h.0.attn.key.cache_31"),
            (64 * (past + 1), 256 * past + 256, whole)
        );
        assert_eq!(costs(&p, "present.0.key"), (0, whole, whole));
    }
}

/// A cache small enough to stay on chip (`tpu-msa`'s 12 MiB) crosses no DRAM either way.
#[test]
fn a_cache_on_chip_moves_no_bytes_either_way() {
    for in_place in [true, false] {
        let cfg = AcceleratorConfig {
            kv_append_in_place: in_place,
            ..AcceleratorConfig::preset("tpu-msa").unwrap()
        };
        let p = decode_step(&cfg, 31);
        let work = if in_place { 64 } else { 64 * 32 };
        assert_eq!(costs(&p, "h.0.attn.value.cache_32"), (work, 0, 0));
    }
}

fn value(g: &mut Graph, name: &str) -> ValueId {
    g.add_value(Value {
        name: name.into(),
        dtype: None,
        shape: None,
        constant: None,
    })
}

/// `c = Concat(a [1,4,8,16], b [1,4,1,16], axis 2)`; `y = Relu(c)` is the output, so the
/// Concat is no append: with the rule on it still reads a and b (2048 + 256 bytes), writes
/// c (2304 bytes) and works on c's 576 elements.
#[test]
fn a_concat_into_an_intermediate_is_a_copy() {
    let mut g = Graph::default();
    let [a, b, c, y] = ["a", "b", "c", "y"].map(|n| value(&mut g, n));
    g.nodes = vec![
        Node {
            name: "concat".into(),
            op: Op::Concat { axis: 2 },
            inputs: vec![Some(a), Some(b)],
            outputs: vec![c],
        },
        Node {
            name: "relu".into(),
            op: Op::Relu,
            inputs: vec![Some(c)],
            outputs: vec![y],
        },
    ];
    g.inputs = vec![a, b];
    g.outputs = vec![y];
    let bind = [
        InputBinding::shape_only(DType::F32, vec![1, 4, 8, 16]),
        InputBinding::shape_only(DType::F32, vec![1, 4, 1, 16]),
    ];
    let p = lower(&g, &bind, &config(true)).unwrap();
    assert_eq!(costs(&p, "concat"), (576, 2304, 2304));
}

/// The key is declared, on by default and off when a file says so.
#[test]
fn the_rule_is_on_by_default_and_a_file_turns_it_off() {
    let tiny = AcceleratorConfig::preset("tiny").unwrap();
    assert!(tiny.kv_append_in_place);
    let text = format!(
        "{}kv_append_in_place = false\n",
        cdmsa::config::PRESETS[3].1
    );
    assert!(
        !AcceleratorConfig::from_toml(&text)
            .unwrap()
            .kv_append_in_place
    );
}
