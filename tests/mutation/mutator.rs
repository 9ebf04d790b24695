//! A seeded mutator of ONNX models and workload files: byte-level damage (truncation, bit
//! flips, random bytes, spliced chunks) and structure-aware damage of decoded `ModelProto`s
//! (absurd dims, cycles, missing inputs, wrong types, absurd attribute values).

use cdmsa::proto::attribute_proto::AttributeType;
use cdmsa::proto::tensor_shape_proto::dimension::Value as DimValue;
use cdmsa::proto::type_proto::Value as TypeValue;
use cdmsa::proto::{AttributeProto, ModelProto, TensorProto, ValueInfoProto};
use prost::Message;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The seeded random stream every mutation draws from.
pub type Rng = ChaCha8Rng;

/// A fresh stream for one case.
pub fn rng(seed: u64) -> Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Dims and attribute values that break naive arithmetic.
const ABSURD: [i64; 14] = [
    -1,
    -2,
    0,
    1 << 20,
    1 << 31,
    1 << 40,
    1_000_000_000,
    1_000_000_000_000,
    i32::MAX as i64,
    i32::MIN as i64,
    i64::MAX,
    i64::MIN,
    i64::MAX / 2,
    -1_000_000_000,
];

fn absurd(r: &mut Rng) -> i64 {
    ABSURD[r.random_range(0..ABSURD.len())]
}

fn pick<T>(r: &mut Rng, v: &[T]) -> Option<usize> {
    (!v.is_empty()).then(|| r.random_range(0..v.len()))
}

fn pick_mut<'a, T>(r: &mut Rng, v: &'a mut [T]) -> Option<&'a mut T> {
    let i = pick(r, v)?;
    v.get_mut(i)
}

/// The model truncated to `len` bytes.
pub fn truncate(bytes: &[u8], len: usize) -> Vec<u8> {
    bytes[..len.min(bytes.len())].to_vec()
}

/// The model with 1 to 16 random bits flipped.
pub fn flip_bits(r: &mut Rng, bytes: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    if b.is_empty() {
        return b;
    }
    for _ in 0..r.random_range(1..=16) {
        let i = r.random_range(0..b.len());
        b[i] ^= 1 << r.random_range(0..8);
    }
    b
}

/// Random bytes of a random length up to 4 KiB.
pub fn random_bytes(r: &mut Rng) -> Vec<u8> {
    let n = r.random_range(0..4096);
    (0..n).map(|_| r.random::<u8>()).collect()
}

/// A chunk of the model copied over another place, or deleted, or duplicated.
pub fn splice(r: &mut Rng, bytes: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    if b.len() < 4 {
        return b;
    }
    let a = r.random_range(0..b.len());
    let len = r.random_range(1..=(b.len() - a).min(64));
    match r.random_range(0..3) {
        0 => {
            b.drain(a..a + len);
        }
        1 => {
            let chunk: Vec<u8> = b[a..a + len].to_vec();
            let at = r.random_range(0..b.len());
            b.splice(at..at, chunk);
        }
        _ => {
            let at = r.random_range(0..b.len() - len + 1);
            let chunk: Vec<u8> = b[a..a + len].to_vec();
            b[at..at + len].copy_from_slice(&chunk);
        }
    }
    b
}

fn dims_of(
    info: &mut ValueInfoProto,
) -> Option<&mut Vec<cdmsa::proto::tensor_shape_proto::Dimension>> {
    match info.r#type.as_mut()?.value.as_mut()? {
        TypeValue::TensorType(t) => t.shape.as_mut().map(|s| &mut s.dim),
        _ => None,
    }
}

fn elem_type_of(info: &mut ValueInfoProto) -> Option<&mut i32> {
    match info.r#type.as_mut()?.value.as_mut()? {
        TypeValue::TensorType(t) => Some(&mut t.elem_type),
        _ => None,
    }
}

/// Rewrites the int64 values of a small integer tensor (shapes, axes, pads, sizes) to absurd ones.
fn absurd_ints(r: &mut Rng, t: &mut TensorProto) -> bool {
    if t.data_type != 7 {
        return false;
    }
    if !t.raw_data.is_empty() && t.raw_data.len().is_multiple_of(8) {
        let n = t.raw_data.len() / 8;
        let i = r.random_range(0..n);
        let mut raw = t.raw_data.to_vec();
        raw[i * 8..i * 8 + 8].copy_from_slice(&absurd(r).to_le_bytes());
        t.raw_data = raw.into();
        return true;
    }
    if let Some(i) = pick(r, &t.int64_data) {
        t.int64_data[i] = absurd(r);
        return true;
    }
    false
}

/// One structure-aware mutation of a decoded model, named for the failure report; `None`
/// when the chosen mutation did not apply to this model.
pub fn mutate_model(r: &mut Rng, m: &mut ModelProto) -> Option<&'static str> {
    let g = m.graph.as_mut()?;
    match r.random_range(0..16) {
        0 => {
            let t = pick_mut(r, &mut g.initializer)?;
            let d = pick(r, &t.dims)?;
            t.dims[d] = absurd(r);
            Some("initializer dim")
        }
        1 => {
            let infos: Vec<&mut ValueInfoProto> = g
                .input
                .iter_mut()
                .chain(g.output.iter_mut())
                .chain(g.value_info.iter_mut())
                .collect();
            let n = infos.len();
            if n == 0 {
                return None;
            }
            let i = r.random_range(0..n);
            let dims = dims_of(infos.into_iter().nth(i)?)?;
            let d = pick(r, dims)?;
            dims[d].value = Some(DimValue::DimValue(absurd(r)));
            Some("declared dim")
        }
        2 => {
            // A declared input of 10^12 elements: [10^6, 10^6, ...].
            let info = pick_mut(r, &mut g.input)?;
            for d in dims_of(info)?.iter_mut() {
                d.value = Some(DimValue::DimValue(1_000_000));
            }
            Some("declared input of 10^12 elements")
        }
        3 => {
            // A cycle: some node reads the output of itself or of a later node.
            let n = g.node.len();
            if n == 0 {
                return None;
            }
            let (a, b) = (r.random_range(0..n), r.random_range(0..n));
            let (lo, hi) = (a.min(b), a.max(b));
            let out = g.node[hi].output.first()?.clone();
            let inp = pick(r, &g.node[lo].input)?;
            g.node[lo].input[inp] = out;
            Some("cycle")
        }
        4 => {
            let node = pick_mut(r, &mut g.node)?;
            let i = pick(r, &node.input)?;
            if r.random::<bool>() {
                node.input.remove(i);
            } else {
                node.input[i] = format!("missing_{i}");
            }
            Some("missing node input")
        }
        5 => {
            let i = pick(r, &g.initializer)?;
            g.initializer.remove(i);
            Some("deleted initializer")
        }
        6 => {
            let i = pick(r, &g.input)?;
            g.input.remove(i);
            Some("deleted graph input")
        }
        7 => {
            let code = r.random_range(-2..=30);
            if r.random::<bool>() {
                pick_mut(r, &mut g.initializer)?.data_type = code;
            } else {
                let info = pick_mut(r, &mut g.input)?;
                *elem_type_of(info)? = code;
            }
            Some("element type")
        }
        8..=10 => {
            let node = pick_mut(r, &mut g.node)?;
            let a = pick_mut(r, &mut node.attribute)?;
            absurd_attribute(r, a);
            Some("absurd attribute")
        }
        11 => {
            // An absurd attribute the op does not have, or a common one added.
            let node = pick_mut(r, &mut g.node)?;
            let name = [
                "kernel_shape",
                "strides",
                "pads",
                "dilations",
                "group",
                "axis",
                "axes",
                "perm",
            ][r.random_range(0..8)];
            node.attribute.retain(|a| a.name != name);
            let mut a = AttributeProto {
                name: name.into(),
                r#type: AttributeType::Ints as i32,
                ints: vec![absurd(r); r.random_range(0..5)],
                ..AttributeProto::default()
            };
            if matches!(name, "group" | "axis") {
                a.r#type = AttributeType::Int as i32;
                a.i = absurd(r);
                a.ints.clear();
            }
            node.attribute.push(a);
            Some("added attribute")
        }
        12 => {
            let t = pick_mut(r, &mut g.initializer)?;
            absurd_ints(r, t).then_some("absurd int64 initializer value")
        }
        13 => {
            let node = pick_mut(r, &mut g.node)?;
            node.op_type = [
                "Reshape",
                "Expand",
                "ConstantOfShape",
                "Range",
                "Tile",
                "Pad",
                "Conv",
                "MatMul",
                "Gemm",
                "Resize",
                "Loop",
                "FancyOp",
                "",
            ][r.random_range(0..13)]
            .into();
            Some("op type")
        }
        14 => {
            let set = pick_mut(r, &mut m.opset_import)?;
            set.version = [0, 1, 6, 7, 26, 28, -1, i64::MAX][r.random_range(0..8)];
            Some("opset")
        }
        _ => {
            let n = g.node.len();
            if n == 0 {
                return None;
            }
            let i = r.random_range(0..n);
            if r.random::<bool>() {
                let copy = g.node[i].clone();
                g.node.push(copy);
                Some("duplicated node")
            } else {
                g.node.remove(i);
                Some("deleted node")
            }
        }
    }
}

/// Sets an attribute to an absurd value of its own type (or of another type).
fn absurd_attribute(r: &mut Rng, a: &mut AttributeProto) {
    match r.random_range(0..6) {
        0 => {
            a.i = absurd(r);
        }
        1 => {
            if let Some(i) = pick(r, &a.ints) {
                a.ints[i] = absurd(r);
            } else {
                a.ints = vec![absurd(r)];
            }
        }
        2 => {
            let n = r.random_range(0..9);
            a.ints = (0..n).map(|_| absurd(r)).collect();
        }
        3 => {
            a.f = [f32::NAN, f32::INFINITY, -f32::INFINITY, 1e38, -0.0][r.random_range(0..5)];
            a.floats = vec![a.f; r.random_range(0..4)];
        }
        4 => {
            a.r#type = r.random_range(0..16);
        }
        _ => {
            if let Some(t) = a.t.as_mut() {
                if !absurd_ints(r, t) {
                    t.dims = vec![absurd(r)];
                }
            } else {
                a.s = vec![0xff; r.random_range(0..8)];
            }
        }
    }
}

/// One to three structure-aware mutations, re-encoded; the names of those applied.
pub fn structured(r: &mut Rng, model: &ModelProto) -> (Vec<u8>, Vec<&'static str>) {
    let mut m = model.clone();
    let mut applied = Vec::new();
    for _ in 0..r.random_range(1..=3) {
        if let Some(name) = mutate_model(r, &mut m) {
            applied.push(name);
        }
    }
    (m.encode_to_vec(), applied)
}

/// Values that break workload validation: signs, zero, huge, non-finite, wrong types.
const WORKLOAD_VALUES: [&str; 16] = [
    "0",
    "-1",
    "1e308",
    "-1e308",
    "nan",
    "inf",
    "-inf",
    "18446744073709551615",
    "9223372036854775807",
    "1000000000000",
    "1e-320",
    "\"x\"",
    "[]",
    "{}",
    "true",
    "0.0",
];

/// A workload text with one value replaced (numbers and strings after `=`), a line deleted or
/// duplicated, or a key renamed.
pub fn mutate_workload(r: &mut Rng, text: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        return String::new();
    }
    let i = r.random_range(0..lines.len());
    match r.random_range(0..5) {
        0 | 1 => {
            // Replace the last value on a `key = value` line (also inside inline tables).
            if let Some(eq) = lines[i].rfind('=') {
                let head = &lines[i][..=eq];
                let tail = &lines[i][eq + 1..];
                let close = if tail.trim_end().ends_with('}') {
                    " }"
                } else {
                    ""
                };
                let v = WORKLOAD_VALUES[r.random_range(0..WORKLOAD_VALUES.len())];
                lines[i] = format!("{head} {v}{close}");
            }
        }
        2 => {
            lines.remove(i);
        }
        3 => {
            let copy = lines[i].clone();
            lines.insert(i, copy);
        }
        _ => {
            lines[i] = lines[i].replacen('a', "zz", 1);
        }
    }
    lines.join("\n")
}
