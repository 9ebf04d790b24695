//! Parallel execution gives one thread's results: the outputs and cycle counts of the digits
//! models are identical in rayon pools of one and two threads, and the functional run (every
//! tile job of a node in one fast-datapath call) equals the tile-by-tile recording.

use cdmsa::config::AcceleratorConfig;
use cdmsa::exec::{execute, layer_costs, record};
use cdmsa::ir::InputBinding;
use cdmsa::kernel::Precision;
use cdmsa::lower::lower_at;
use cdmsa::onnx::load_model;
use cdmsa::tensor::Tensor;
use cdmsa::tensor::pb::read_pb;
use std::path::Path;

/// Bit patterns of a tensor's values (NaN payloads included), with its shape.
fn bits(t: &Tensor) -> (Vec<usize>, Vec<u64>) {
    let v = match t {
        Tensor::F32(a) => a.iter().map(|v| u64::from(v.to_bits())).collect(),
        Tensor::F16(a) => a.iter().map(|v| u64::from(v.to_bits())).collect(),
        Tensor::BF16(a) => a.iter().map(|v| u64::from(v.to_bits())).collect(),
        other => other
            .to_i64_vec()
            .expect("integer")
            .into_iter()
            .map(|v| v as u64)
            .collect(),
    };
    (t.shape().to_vec(), v)
}

#[test]
fn one_and_two_threads_give_the_same_outputs_and_cycles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/digits");
    for preset in ["tpu-msa", "tiny"] {
        let cfg = AcceleratorConfig::load(preset).expect("preset");
        for variant in ["fp32", "fp16", "int8_qop", "int8_qdq"] {
            let dir = root.join(variant);
            let graph = load_model(&dir.join("model.onnx")).expect("model");
            let input = read_pb(&dir.join("test_data_set_0/input_0.pb")).expect("input");
            let inputs = [input];
            let bindings: Vec<InputBinding> = inputs.iter().map(InputBinding::of).collect();
            let program = lower_at(&graph, &bindings, &cfg, Precision::Native).expect("lowered");
            let run = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .expect("a thread pool");
                pool.install(|| {
                    let exec = execute(&program, &inputs, &cfg).expect("executed");
                    let rec = record(&program, &inputs, &cfg).expect("recorded");
                    let cycles: Vec<u64> = layer_costs(&program, &cfg)
                        .iter()
                        .map(|l| l.cycles.0)
                        .collect();
                    (exec, rec, cycles)
                })
            };
            let (one, one_rec, one_cycles) = run(1);
            let (two, two_rec, two_cycles) = run(2);
            let what = format!("{variant} on {preset}");
            assert!(!one.outputs.is_empty(), "{what}");
            for (((a, b), c), d) in one
                .outputs
                .iter()
                .zip(&two.outputs)
                .zip(&one_rec.outputs)
                .zip(&two_rec.outputs)
            {
                assert_eq!(bits(a), bits(b), "{what}: 1 vs 2 threads");
                assert_eq!(bits(a), bits(c), "{what}: whole nodes vs tile by tile");
                assert_eq!(bits(c), bits(d), "{what}: tile by tile, 1 vs 2 threads");
            }
            assert_eq!(one.overflowed, two.overflowed, "{what}");
            assert_eq!(one_rec.tiles, two_rec.tiles, "{what}: tile values");
            assert_eq!(one_cycles, two_cycles, "{what}: cycles");
            assert!(one_cycles.iter().any(|&c| c > 0), "{what}");
        }
    }
}

/// The first `n` items of a batch.
fn first(t: &Tensor, n: usize) -> Tensor {
    match t {
        Tensor::F32(a) => Tensor::F32(
            a.slice_axis(ndarray::Axis(0), ndarray::Slice::from(0..n))
                .to_owned(),
        ),
        Tensor::F16(a) => Tensor::F16(
            a.slice_axis(ndarray::Axis(0), ndarray::Slice::from(0..n))
                .to_owned(),
        ),
        other => panic!("a float input, not {:?}", other.dtype()),
    }
}

/// A constant's weights are prepared once per kernel and kept with it: one loaded
/// graph lowered at two batch sizes (two kernels over the same constants) and run
/// alternately, each run again on the kept preparations, gives every bit of runs on freshly
/// loaded graphs (nothing kept yet).
#[test]
fn kept_weight_preparations_give_fresh_results() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/digits");
    let cfg = AcceleratorConfig::load("tpu-msa").expect("preset");
    for variant in ["int8_qop", "int8_qdq", "fp32", "fp16"] {
        let dir = root.join(variant);
        let batch = read_pb(&dir.join("test_data_set_0/input_0.pb")).expect("input");
        let one = first(&batch, 1);
        let run = |graph: &cdmsa::ir::Graph, input: &Tensor| {
            let inputs = [input.clone()];
            let bindings: Vec<InputBinding> = inputs.iter().map(InputBinding::of).collect();
            let program = lower_at(graph, &bindings, &cfg, Precision::Native).expect("lowered");
            let exec = execute(&program, &inputs, &cfg).expect("executed");
            exec.outputs.iter().map(bits).collect::<Vec<_>>()
        };
        let fresh = |input: &Tensor| run(&load_model(&dir.join("model.onnx")).unwrap(), input);
        let (want_batch, want_one) = (fresh(&batch), fresh(&one));
        let graph = load_model(&dir.join("model.onnx")).expect("model");
        for (input, want, what) in [
            (&batch, &want_batch, "batch"),
            (&one, &want_one, "one image"),
            (&batch, &want_batch, "batch again"),
            (&one, &want_one, "one image again"),
        ] {
            assert_eq!(&run(&graph, input), want, "{variant}: {what}");
        }
    }
}
