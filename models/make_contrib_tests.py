"""Small onnxruntime contrib-op tests in the ONNX backend-test layout.

Writes models/contrib-tests/<name>/model.onnx and test_data_set_0/{input,output}_<i>.pb
for onnxruntime's `com.microsoft` DynamicQuantizeLSTM: forward, reverse and bidirectional,
with and without bias and initial states, input_forget, int8 and uint8 weights, per-tensor
and per-column scales. Inputs are seeded random values; the outputs are onnxruntime's
(CPU, ORT_DISABLE_ALL, checked equal to ORT_ENABLE_ALL).
Usage: python3 models/make_contrib_tests.py
"""
import os
import shutil

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
DEST = os.path.join(HERE, "contrib-tests")
SEQ, BATCH, INPUT, HIDDEN = 5, 3, 6, 8

CASES = [
    # name, direction, bias, states, input_forget, weight type, per-column scales
    ("dynamic_quantize_lstm_bidirectional", "bidirectional", True, True, 0, np.int8, False),
    ("dynamic_quantize_lstm_forward_bare", "forward", False, False, 0, np.int8, False),
    ("dynamic_quantize_lstm_reverse_input_forget", "reverse", True, True, 1, np.int8, False),
    ("dynamic_quantize_lstm_uint8_per_column", "bidirectional", True, False, 0, np.uint8, True),
]


def case(name, direction, bias, states, input_forget, wtype, per_column, rng):
    dirs = 2 if direction == "bidirectional" else 1
    g4 = 4 * HIDDEN
    lo, hi, zp = (-127, 128, 0) if wtype == np.int8 else (0, 256, 128)
    w = rng.integers(lo, hi, size=(dirs, INPUT, g4)).astype(wtype)
    r = rng.integers(lo, hi, size=(dirs, HIDDEN, g4)).astype(wtype)
    scale_shape = (dirs, g4) if per_column else (dirs,)
    w_scale = rng.uniform(0.002, 0.01, size=scale_shape).astype(np.float32)
    r_scale = rng.uniform(0.002, 0.01, size=scale_shape).astype(np.float32)
    w_zp = np.full(scale_shape, zp, dtype=wtype)
    r_zp = np.full(scale_shape, zp, dtype=wtype)
    inits = [
        numpy_helper.from_array(w, "W"),
        numpy_helper.from_array(r, "R"),
        numpy_helper.from_array(w_scale, "W_scale"),
        numpy_helper.from_array(w_zp, "W_zero_point"),
        numpy_helper.from_array(r_scale, "R_scale"),
        numpy_helper.from_array(r_zp, "R_zero_point"),
    ]
    names = ["X", "W", "R", "", "", "", "", "", "W_scale", "W_zero_point", "R_scale", "R_zero_point"]
    feeds = {"X": rng.normal(0, 1.5, size=(SEQ, BATCH, INPUT)).astype(np.float32)}
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, [SEQ, BATCH, INPUT])]
    if bias:
        b = rng.normal(0, 0.5, size=(dirs, 2 * g4)).astype(np.float32)
        inits.append(numpy_helper.from_array(b, "B"))
        names[3] = "B"
    if states:
        for i, s in ((5, "initial_h"), (6, "initial_c")):
            names[i] = s
            feeds[s] = rng.normal(0, 0.7, size=(dirs, BATCH, HIDDEN)).astype(np.float32)
            inputs.append(helper.make_tensor_value_info(s, TensorProto.FLOAT, [dirs, BATCH, HIDDEN]))
    node = helper.make_node(
        "DynamicQuantizeLSTM", names, ["Y", "Y_h", "Y_c"], domain="com.microsoft",
        hidden_size=HIDDEN, direction=direction, input_forget=input_forget,
    )
    outputs = [
        helper.make_tensor_value_info("Y", TensorProto.FLOAT, [SEQ, dirs, BATCH, HIDDEN]),
        helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [dirs, BATCH, HIDDEN]),
        helper.make_tensor_value_info("Y_c", TensorProto.FLOAT, [dirs, BATCH, HIDDEN]),
    ]
    graph = helper.make_graph([node], name, inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8
    results = []
    for level in (ort.GraphOptimizationLevel.ORT_DISABLE_ALL, ort.GraphOptimizationLevel.ORT_ENABLE_ALL):
        so = ort.SessionOptions()
        so.graph_optimization_level = level
        so.intra_op_num_threads = 1
        sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        results.append(sess.run(None, feeds))
    for a, b in zip(*results):
        assert a.tobytes() == b.tobytes(), f"{name}: the optimisation levels differ"
    out = os.path.join(DEST, name)
    data = os.path.join(out, "test_data_set_0")
    os.makedirs(data)
    onnx.save(model, os.path.join(out, "model.onnx"))
    for i, vi in enumerate(inputs):
        t = numpy_helper.from_array(feeds[vi.name], vi.name)
        open(os.path.join(data, f"input_{i}.pb"), "wb").write(t.SerializeToString())
    for i, (vi, y) in enumerate(zip(outputs, results[0])):
        t = numpy_helper.from_array(y, vi.name)
        open(os.path.join(data, f"output_{i}.pb"), "wb").write(t.SerializeToString())


def main():
    shutil.rmtree(DEST, ignore_errors=True)
    rng = np.random.default_rng(20261125)
    for c in CASES:
        case(*c, rng)
    print(f"{len(CASES)} tests in {DEST} (onnxruntime {ort.__version__})")


if __name__ == "__main__":
    main()
