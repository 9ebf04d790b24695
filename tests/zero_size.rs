//! Zero-size tensors: ONNX allows a dim of 0 anywhere. One node-test model per supported op,
//! with one dim of one input (declared input or initializer) set to 0, loads, lowers and runs
//! to `Ok` (empty outputs) or a typed error at every precision — never a panic. The outcomes
//! onnxruntime and the ONNX spec fix (empty reductions, Pad fills of an empty axis, empty
//! convolutions) are checked value by value.

use cdmsa::kernel::Precision;
use cdmsa::proto::type_proto::Value as TypeValue;
use cdmsa::proto::{ModelProto, TensorProto};
use cdmsa::tensor::pb::{read_pb, tensor_to_proto};
use cdmsa::verify::hostile::{hostile_limits, run_model_bytes};
use proptest::prelude::*;
use prost::Message;
use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::OnceLock;

const PRECISIONS: [Precision; 5] = [
    Precision::Native,
    Precision::Int8,
    Precision::Fp16,
    Precision::Bf16,
    Precision::Fp32,
];

/// One node-test model of an op: its integer inputs (shapes, axes, sizes, indices) and
/// Resize's roi and scales made initializers so that specialisation reads their values, and the declared output shapes
/// dropped (a zero-size input changes them).
struct OpModel {
    test: String,
    model: ModelProto,
}

impl OpModel {
    /// Every (input, rank) that can take a zero: declared inputs first, then initializers.
    fn slots(&self) -> Vec<(usize, usize)> {
        let g = self.model.graph.as_ref().expect("graph");
        let declared = g
            .input
            .iter()
            .map(|i| declared_dims(i).map_or(0, |d| d.len()));
        let stored = g.initializer.iter().map(|t| t.dims.len());
        declared.chain(stored).enumerate().collect()
    }

    /// The model with dim `dim` of input slot `slot` set to 0.
    fn with_zero(&self, slot: usize, dim: usize) -> Vec<u8> {
        let mut m = self.model.clone();
        let g = m.graph.as_mut().expect("graph");
        let declared = g.input.len();
        if slot < declared {
            if let Some(TypeValue::TensorType(t)) =
                g.input[slot].r#type.as_mut().and_then(|t| t.value.as_mut())
                && let Some(s) = t.shape.as_mut()
            {
                s.dim[dim].value =
                    Some(cdmsa::proto::tensor_shape_proto::dimension::Value::DimValue(0));
            }
        } else {
            let t = &mut g.initializer[slot - declared];
            let mut dims = t.dims.clone();
            dims[dim] = 0;
            *t = TensorProto {
                name: t.name.clone(),
                data_type: t.data_type,
                dims,
                ..TensorProto::default()
            };
        }
        m.encode_to_vec()
    }
}

fn declared_dims(
    v: &cdmsa::proto::ValueInfoProto,
) -> Option<&[cdmsa::proto::tensor_shape_proto::Dimension]> {
    match v.r#type.as_ref()?.value.as_ref()? {
        TypeValue::TensorType(t) => Some(&t.shape.as_ref()?.dim),
        _ => None,
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every single-node test under models/onnx-node-tests (every supported op, with its
/// attribute variants).
fn op_models() -> &'static [OpModel] {
    static MODELS: OnceLock<Vec<OpModel>> = OnceLock::new();
    MODELS.get_or_init(|| {
        let base = root().join("models/onnx-node-tests");
        let mut dirs: Vec<_> = std::fs::read_dir(&base)
            .expect("node tests")
            .map(|e| e.expect("entry").path())
            .collect();
        dirs.sort();
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for dir in dirs {
            let Ok(bytes) = std::fs::read(dir.join("model.onnx")) else {
                continue;
            };
            let mut model = ModelProto::decode(bytes.as_slice()).expect("node test decodes");
            let g = model.graph.as_mut().expect("graph");
            if g.node.len() != 1 {
                continue;
            }
            seen.insert(g.node[0].op_type.clone());
            let names: Vec<String> = g.input.iter().map(|i| i.name.clone()).collect();
            let resize = g.node[0].op_type == "Resize";
            let mut kept = Vec::new();
            for (i, (info, name)) in g.input.drain(..).zip(&names).enumerate() {
                // Resize's roi and scales, float, decide its output shape too.
                let shape_like =
                    |t: &cdmsa::tensor::Tensor| !t.dtype().is_float() || (resize && i > 0);
                match read_pb(&dir.join(format!("test_data_set_0/input_{i}.pb"))) {
                    Ok(t) if shape_like(&t) => g.initializer.push(tensor_to_proto(&t, name)),
                    _ => kept.push(info),
                }
            }
            g.input = kept;
            for o in &mut g.output {
                if let Some(TypeValue::TensorType(t)) =
                    o.r#type.as_mut().and_then(|t| t.value.as_mut())
                {
                    t.shape = None;
                }
            }
            let test = dir
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            out.push(OpModel { test, model });
        }
        assert!(seen.len() >= 70, "the node tests lost ops: {}", seen.len());
        out
    })
}

/// An error message that shows an internal failure rather than the rule the input broke.
fn leaks(msg: &str) -> bool {
    ["ShapeError", "OutOfBounds", "IncompatibleShape", "panicked"]
        .iter()
        .any(|w| msg.contains(w))
}

/// Runs one case; `Err` describes a panic.
fn run_case(m: &OpModel, slot: usize, dim: usize, p: Precision) -> Result<(), String> {
    let bytes = m.with_zero(slot, dim);
    catch_unwind(AssertUnwindSafe(|| {
        run_model_bytes(&bytes, &hostile_limits(), p)
    }))
    .map(|_| ())
    .map_err(|panic| {
        let msg = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        format!("{} input slot {slot} dim {dim} at {p:?}: {msg}", m.test)
    })
}

/// Every op, every input, every dim, every precision.
#[test]
fn a_zero_in_every_dim_of_every_op_gives_ok_or_a_typed_error() {
    std::panic::set_hook(Box::new(|_| {}));
    let models = op_models();
    let (mut cases, mut ok, mut failures) = (0, 0, Vec::new());
    for m in models {
        for (slot, rank) in m.slots() {
            for dim in 0..rank {
                for p in PRECISIONS {
                    cases += 1;
                    let bytes = m.with_zero(slot, dim);
                    let outcome = catch_unwind(AssertUnwindSafe(|| {
                        run_model_bytes(&bytes, &hostile_limits(), p)
                    }));
                    match outcome {
                        Ok(Ok(_)) => ok += 1,
                        Ok(Err(e)) => {
                            let msg = e.to_string();
                            if leaks(&msg) {
                                failures.push(format!("{} input slot {slot} dim {dim} at {p:?}: internal error leaked: {msg}", m.test));
                            }
                        }
                        Err(_) => failures.push(run_case(m, slot, dim, p).unwrap_err()),
                    }
                }
            }
        }
    }
    drop(std::panic::take_hook());
    println!(
        "zero-size sweep: {} node tests, {cases} cases, {ok} ran to the end, {} typed errors, {} panics",
        models.len(),
        cases - ok - failures.len(),
        failures.len()
    );
    assert!(
        models.len() >= 300,
        "the node tests lost models: {}",
        models.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {cases} cases panicked:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random op, input, dim and precision: never a panic.
    #[test]
    fn a_zero_anywhere_never_panics(op in any::<prop::sample::Index>(), slot in any::<prop::sample::Index>(), dim in any::<prop::sample::Index>(), p in 0..PRECISIONS.len()) {
        let m = op.get(op_models());
        let slots: Vec<(usize, usize)> = m.slots().into_iter().filter(|&(_, r)| r > 0).collect();
        prop_assume!(!slots.is_empty());
        let (s, rank) = *slot.get(&slots);
        prop_assert_eq!(run_case(m, s, dim.index(rank), PRECISIONS[p]), Ok(()));
    }
}

#[path = "one_node/mod.rs"]
mod one_node;

use one_node::*;

/// The output shape and values of `m` run on `x`, or the error.
fn outcome(m: OneNode, x: Option<cdmsa::tensor::Tensor>) -> Result<(Vec<usize>, Vec<f64>), String> {
    m.run(x.map(|x| vec![x]))
        .map(|o| {
            (
                o[0].shape().to_vec(),
                o[0].to_f64().iter().copied().collect(),
            )
        })
        .map_err(|e| e.to_string())
}

/// A reduction over an empty axis gives the reduction's identity, as onnxruntime 1.32 does
/// (ReduceSum 0, ReduceMax −∞, ReduceMin +∞; ReduceMean, undefined in the ONNX spec, 0).
#[test]
fn reductions_over_an_empty_axis_give_their_identity() {
    let inf = f64::INFINITY;
    for (op, v) in [
        ("ReduceSum", 0.0),
        ("ReduceMax", -inf),
        ("ReduceMin", inf),
        ("ReduceMean", 0.0),
    ] {
        let m = OneNode::new(op)
            .input("x", F32, &[2, 0])
            .init(i64s("axes", &[1], &[1]));
        assert_eq!(outcome(m, None), Ok((vec![2, 1], vec![v, v])), "{op}");
    }
}

/// Pad: edge and reflect cannot fill an empty axis they pad (onnxruntime: "Cannot use 'edge'
/// mode to pad dimension with a value of 0"), whatever the other axes; padding only other
/// axes gives an empty output; constant mode fills.
#[test]
fn pad_of_an_empty_axis_follows_onnxruntime() {
    let pad = |mode: &str, pads: &[i64]| {
        OneNode::new("Pad")
            .input("x", F32, &[0, 3])
            .init(i64s("pads", &[4], pads))
            .attr(string("mode", mode))
    };
    for mode in ["edge", "reflect", "wrap"] {
        for pads in [[1, 1, 1, 1], [1, 0, 0, 0], [0, 0, 1, 0], [1, -3, 0, 0]] {
            let e = outcome(pad(mode, &pads), None).expect_err("an empty axis padded");
            assert!(
                e.contains("node 'n' (Pad)") && e.contains("cannot pad axis 0"),
                "{mode} {pads:?}: {e}"
            );
        }
        assert_eq!(
            outcome(pad(mode, &[0, 1, 0, 1]), None),
            Ok((vec![0, 5], vec![])),
            "{mode}"
        );
    }
    assert_eq!(
        outcome(pad("constant", &[1, 1, 1, 1]), None),
        Ok((vec![2, 5], vec![0.0; 10]))
    );
}

/// Resize: scales keep an empty axis empty; sizes cannot make something of it (onnxruntime:
/// "Input dim is zero but required output dim is non-zero").
#[test]
fn resize_of_an_empty_axis_follows_onnxruntime() {
    for mode in ["nearest", "linear"] {
        let by_scales = OneNode::new("Resize")
            .input("x", F32, &[1, 1, 0, 4])
            .skip()
            .init(f32s("scales", &[4], &[1.0, 1.0, 2.0, 2.0]))
            .attr(string("mode", mode));
        assert_eq!(outcome(by_scales, None), Ok((vec![1, 1, 0, 8], vec![])));
        let by_sizes = OneNode::new("Resize")
            .input("x", F32, &[1, 1, 0, 4])
            .skip()
            .skip()
            .init(i64s("sizes", &[4], &[1, 1, 3, 8]))
            .attr(string("mode", mode));
        let e = outcome(by_sizes, None).expect_err("3 rows from none");
        assert!(
            e.contains("node 'n' (Resize)") && e.contains("axis 2 is empty"),
            "{e}"
        );
    }
}

/// Pooling and LayerNormalization: an empty batch gives an empty output; an empty channel,
/// spatial or normalised axis is refused (onnxruntime: "Only N can be zero"; "Size of
/// X.shape[axis:] must be at least 1").
#[test]
fn pooling_and_layer_norm_take_an_empty_batch_only() {
    let pool = |op: &str, x: &[i64]| {
        let m = OneNode::new(op).input("x", F32, x);
        match op {
            "MaxPool" | "AveragePool" => m.attr(ints("kernel_shape", &[2, 2])),
            _ => m,
        }
    };
    for op in [
        "MaxPool",
        "AveragePool",
        "GlobalMaxPool",
        "GlobalAveragePool",
    ] {
        let (shape, v) = outcome(pool(op, &[0, 2, 3, 3]), None).expect("empty batch");
        assert!(shape[..2] == [0, 2] && v.is_empty(), "{op}: {shape:?}");
        for x in [[1, 2, 0, 3], [1, 0, 3, 3]] {
            let e = outcome(pool(op, &x), None).expect_err("empty spatial or channel axis");
            assert!(
                e.contains(&format!("node 'n' ({op})"))
                    && e.contains("only the batch may be empty"),
                "{op}: {e}"
            );
        }
    }
    let ln = |x: &[i64], c: i64| {
        OneNode::new("LayerNormalization")
            .input("x", F32, x)
            .init(f32s("scale", &[c], &vec![1.0; c as usize]))
    };
    assert_eq!(outcome(ln(&[0, 4], 4), None), Ok((vec![0, 4], vec![])));
    let e = outcome(ln(&[2, 0], 0), None).expect_err("normalises over nothing");
    assert!(e.contains("node 'n' (LayerNormalization)"), "{e}");
}

/// Convolutions with an empty operand, as onnxruntime: zero output channels give an empty
/// output; zero input channels sum nothing (zeros); ConvTranspose of an empty spatial axis is
/// refused ("Computed output dimension is <= 0"). MatMul with an empty inner dim gives zeros.
#[test]
fn empty_convolutions_and_products_follow_onnxruntime() {
    let conv = |op: &str, w: &[i64]| {
        let n: i64 = w.iter().product();
        OneNode::new(op)
            .input("x", F32, &[1, w[1].max(1), 3, 3])
            .init(f32s("w", w, &vec![0.5; n as usize]))
    };
    assert_eq!(
        outcome(conv("Conv", &[0, 1, 3, 3]), None),
        Ok((vec![1, 0, 1, 1], vec![]))
    );
    assert_eq!(
        outcome(conv("ConvTranspose", &[1, 0, 3, 3]), None),
        Ok((vec![1, 0, 5, 5], vec![]))
    );
    let cin0 = OneNode::new("Conv")
        .input("x", F32, &[1, 0, 3, 3])
        .init(f32s("w", &[2, 0, 3, 3], &[]));
    assert_eq!(outcome(cin0, None), Ok((vec![1, 2, 1, 1], vec![0.0, 0.0])));
    let same_upper = OneNode::new("ConvTranspose")
        .input("x", F32, &[1, 1, 0, 3])
        .init(f32s("w", &[1, 2, 3, 3], &[0.5; 18]))
        .attr(string("auto_pad", "SAME_UPPER"))
        .attr(ints("strides", &[2, 2]));
    let e = outcome(same_upper, None).expect_err("empty spatial input");
    assert!(e.contains("node 'n' (ConvTranspose)"), "{e}");
    let mm = OneNode::new("MatMul")
        .input("a", F32, &[2, 0])
        .input("b", F32, &[0, 3]);
    assert_eq!(outcome(mm, None), Ok((vec![2, 3], vec![0.0; 6])));
}

/// `simulate --mode functional` with a zero-size tenant beside the digits model: one zero in
/// each dim of each input of the first node test of every op, under FCFS and CD-MSA, ends in
/// `Ok` without a mismatch or in a typed error.
#[test]
fn functional_simulation_of_zero_size_tenants_never_panics() {
    use cdmsa::sim::{Mode, requests, simulate, tenants_within};
    use cdmsa::workload::Workload;
    let dir = tempfile::tempdir().unwrap();
    let digits = root().join("models/digits/int8_qop/model.onnx");
    let mut seen = BTreeSet::new();
    let (mut cases, mut simulated, mut failures) = (0, 0, Vec::new());
    std::panic::set_hook(Box::new(|_| {}));
    for m in op_models() {
        let op = m.model.graph.as_ref().expect("graph").node[0]
            .op_type
            .clone();
        if !seen.insert(op) {
            continue;
        }
        for (slot, rank) in m.slots() {
            for dim in 0..rank {
                cases += 1;
                let path = dir.path().join(format!("{}_{slot}_{dim}.onnx", m.test));
                std::fs::write(&path, m.with_zero(slot, dim)).unwrap();
                let text = format!(
                    "seed = 1\nrequests = 4\naccel = \"tiny\"\n\
                     [[tenants]]\nname = \"zero\"\nmodel = {:?}\nsla_factor = 3.0\n\
                     arrival = {{ kind = \"poisson\", rate_per_s = 20000.0 }}\n\
                     [[tenants]]\nname = \"digits\"\nmodel = {:?}\nsla_factor = 3.0\n\
                     arrival = {{ kind = \"poisson\", rate_per_s = 20000.0 }}\n",
                    path.display().to_string(),
                    digits.display().to_string()
                );
                let outcome = catch_unwind(AssertUnwindSafe(|| -> cdmsa::Result<usize> {
                    let w = Workload::from_toml(&text, dir.path())?;
                    let cfg = w.accelerator()?;
                    let models = tenants_within(&w, &cfg, true, &hostile_limits())?;
                    let reqs = requests(&w, &models, &cfg)?;
                    let mut mismatches = 0;
                    for name in ["fcfs", "cd-msa"] {
                        let mut p = cdmsa::sched::by_name(name)?;
                        let out = simulate(
                            &cfg,
                            &models,
                            &reqs,
                            p.as_mut(),
                            Mode::Functional { fault: None },
                        )?;
                        mismatches += out.mismatches.len();
                    }
                    Ok(mismatches)
                }));
                match outcome {
                    Ok(Ok(0)) => simulated += 1,
                    Ok(Ok(n)) => {
                        failures.push(format!("{} slot {slot} dim {dim}: {n} mismatches", m.test))
                    }
                    Ok(Err(_)) => {}
                    Err(_) => failures.push(format!("{} slot {slot} dim {dim}: panicked", m.test)),
                }
            }
        }
    }
    drop(std::panic::take_hook());
    println!(
        "zero-size functional simulation: {cases} tenants, {simulated} simulated, {} refused, {} failures",
        cases - simulated - failures.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        simulated > 50,
        "too few zero-size tenants simulated: {simulated}"
    );
}
