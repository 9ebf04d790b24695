"""ONNX LSTM, GRU and RNN against onnxruntime, in the ONNX backend-test layout.

The ONNX backend node tests (models/onnx-node-tests) cover each cell's defaults, biases,
peepholes and the batch-first layout, one direction at a time. These cases cover the rest
of the specification that exported models use: both directions, sequence_lens shorter than
the sequence (forward and reverse), initial states, GRU's linear_before_reset (what
PyTorch exports), input_forget, clip, and activations with parameters.

Writes models/recurrent-tests/<name>/model.onnx and test_data_set_0/{input,output}_<i>.pb.
Weights are initializers in the even cases and graph inputs in the odd ones (the two ways
the emulator reads them). Inputs are seeded random values; the outputs are onnxruntime's
(CPU, ORT_DISABLE_ALL). onnxruntime's CPU kernels refuse the batch-first layout, so those
cases' references are onnxruntime's on the same node in the sequence-first layout, their
inputs and outputs transposed.
Usage: python3 models/make_recurrent_tests.py
"""
import os
import shutil

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
DEST = os.path.join(HERE, "recurrent-tests")
SEQ, BATCH, INPUT, HIDDEN = 6, 3, 5, 4
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}

# name, op, attributes, extras (sequence_lens, initial states, peepholes)
CASES = [
    ("lstm_bidirectional_sequence_lens", "LSTM",
     dict(direction="bidirectional"), dict(lens=[6, 3, 1], states=True)),
    ("lstm_peepholes_input_forget_clip", "LSTM",
     dict(input_forget=1, clip=1.5), dict(peepholes=True, states=True)),
    ("lstm_reverse_activations", "LSTM",
     dict(direction="reverse", activations=["HardSigmoid", "LeakyRelu", "Tanh"],
          activation_alpha=[0.3, 0.05], activation_beta=[0.4]), dict(lens=[4, 6, 2])),
    ("gru_linear_before_reset_bidirectional", "GRU",
     dict(direction="bidirectional", linear_before_reset=1), dict(states=True)),
    ("gru_reverse_sequence_lens", "GRU",
     dict(direction="reverse"), dict(lens=[2, 6, 5])),
    ("gru_batch_first_bidirectional", "GRU",
     dict(direction="bidirectional", linear_before_reset=1, layout=1), dict(states=True)),
    ("rnn_relu_clip_bidirectional", "RNN",
     dict(direction="bidirectional", activations=["Relu", "Tanh"], clip=2.0),
     dict(states=True, lens=[5, 6, 3])),
    ("rnn_softplus_batch_first", "RNN",
     dict(activations=["Softplus"], layout=1), dict()),
]


def case(index, name, op, attrs, extras, rng):
    dirs = 2 if attrs.get("direction") == "bidirectional" else 1
    batch_first = attrs.get("layout", 0) == 1
    rows = GATES[op] * HIDDEN
    x_shape = (BATCH, SEQ, INPUT) if batch_first else (SEQ, BATCH, INPUT)
    state_shape = (BATCH, dirs, HIDDEN) if batch_first else (dirs, BATCH, HIDDEN)
    tensors = {
        "X": rng.normal(0, 1.2, size=x_shape).astype(np.float32),
        "W": rng.normal(0, 0.5, size=(dirs, rows, INPUT)).astype(np.float32),
        "R": rng.normal(0, 0.5, size=(dirs, rows, HIDDEN)).astype(np.float32),
        "B": rng.normal(0, 0.4, size=(dirs, 2 * rows)).astype(np.float32),
    }
    names = ["X", "W", "R", "B", "", "", "", ""]
    if "lens" in extras:
        tensors["sequence_lens"] = np.array(extras["lens"], dtype=np.int32)
        names[4] = "sequence_lens"
    if extras.get("states"):
        tensors["initial_h"] = rng.normal(0, 0.6, size=state_shape).astype(np.float32)
        names[5] = "initial_h"
        if op == "LSTM":
            tensors["initial_c"] = rng.normal(0, 0.6, size=state_shape).astype(np.float32)
            names[6] = "initial_c"
    if extras.get("peepholes"):
        tensors["P"] = rng.normal(0, 0.5, size=(dirs, 3 * HIDDEN)).astype(np.float32)
        names[7] = "P"
    while names[-1] == "":
        names.pop()
    outputs = ["Y", "Y_h", "Y_c"][: 3 if op == "LSTM" else 2]
    node = helper.make_node(op, names, outputs, name=name, hidden_size=HIDDEN, **attrs)
    weights_are_inputs = index % 2 == 1
    graph_inputs, inits, feeds = [], [], {}
    for n in (n for n in names if n):
        t = tensors[n]
        ty = TensorProto.INT32 if t.dtype == np.int32 else TensorProto.FLOAT
        if n in ("W", "R", "B", "P") and not weights_are_inputs:
            inits.append(numpy_helper.from_array(t, n))
        else:
            graph_inputs.append(helper.make_tensor_value_info(n, ty, list(t.shape)))
            feeds[n] = t
    y_shape = [BATCH, SEQ, dirs, HIDDEN] if batch_first else [SEQ, dirs, BATCH, HIDDEN]
    out_shapes = [y_shape, list(state_shape), list(state_shape)]
    graph = helper.make_graph(
        [node], name, graph_inputs,
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, s) for o, s in zip(outputs, out_shapes)],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    results = reference(model, feeds, batch_first)
    d = os.path.join(DEST, name)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    onnx.save(model, os.path.join(d, "model.onnx"))
    for i, vi in enumerate(graph_inputs):
        write(d, f"input_{i}", feeds[vi.name], vi.name)
    for i, (o, r) in enumerate(zip(outputs, results)):
        write(d, f"output_{i}", r, o)
    source = "onnxruntime, in layout 0 with transposed inputs and outputs" if batch_first else "onnxruntime"
    print(f"{name}: {op} {attrs} {extras}, weights {'inputs' if weights_are_inputs else 'initializers'}, "
          f"reference {source}")


def reference(model, feeds, batch_first):
    """onnxruntime's outputs. Its CPU kernels refuse layout = 1, so a batch-first case runs
    as the same node in layout 0, its batch-first inputs and outputs transposed around it."""
    if batch_first:
        seq_first = onnx.ModelProto()
        seq_first.CopyFrom(model)
        node = seq_first.graph.node[0]
        kept = [a for a in node.attribute if a.name != "layout"]
        del node.attribute[:]
        node.attribute.extend(kept)
        for vi in list(seq_first.graph.input) + list(seq_first.graph.output):
            vi.type.tensor_type.ClearField("shape")
        feeds = {k: v.swapaxes(0, 1) if k in ("X", "initial_h", "initial_c") else v
                 for k, v in feeds.items()}
        model = seq_first
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    results = sess.run(None, feeds)
    if batch_first:
        # Y [seq, dirs, batch, hidden] -> [batch, seq, dirs, hidden]; states swap their first axes.
        results = [results[0].transpose(2, 0, 1, 3)] + [r.swapaxes(0, 1) for r in results[1:]]
    return results


def write(d, stem, array, name):
    with open(os.path.join(d, "test_data_set_0", f"{stem}.pb"), "wb") as f:
        f.write(numpy_helper.from_array(np.asarray(array), name).SerializeToString())


def main():
    if os.path.isdir(DEST):
        shutil.rmtree(DEST)
    os.makedirs(DEST)
    rng = np.random.default_rng(20261207)
    for i, (name, op, attrs, extras) in enumerate(CASES):
        case(i, name, op, attrs, extras, rng)


if __name__ == "__main__":
    main()
