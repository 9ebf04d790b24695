#!/usr/bin/env python3
"""Build the committed digits models and their onnxruntime reference outputs.

Deterministic: fixed seeds, single-threaded JAX on CPU, single-threaded
onnxruntime for the references. Run from anywhere; writes into
<this directory>/digits/.

Steps
  1. load scikit-learn's bundled 8x8 digits (1797 images), scale to [0,1];
     seeded split: 360 held-out test images, 1437 training images;
  2. train a small CNN (Conv-BN-Relu-MaxPool-Conv-Relu-Flatten-Gemm) with JAX;
  3. export the fp32 ONNX model (opset 17, BatchNormalization kept as a node);
  4. quantize statically with onnxruntime (QOperator and QDQ, per-channel
     int8 weights, uint8 activations, MinMax calibration);
  5. convert the fp32 model to fp16;
  6. write onnx-backend-test-style directories with onnxruntime references
     (ORT_ENABLE_ALL and ORT_DISABLE_ALL), the labels, accuracy.json and the
     small embedded default set.
"""
import os

# Determinism: single-threaded CPU JAX, no GPU probing.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import json
import shutil
import sys
import tempfile
from collections import Counter

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process
from sklearn.datasets import load_digits

import jax
import jax.numpy as jnp

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "digits")

SPLIT_SEED = 0
INIT_SEED = 1
SHUFFLE_SEED = 2
N_TEST = 360
N_CALIB = 300
EPOCHS = 40
BATCH = 64
LR = 2e-3
BN_EPS = 1e-5
BN_MOMENTUM = 0.9  # running = m * running + (1 - m) * batch
OPSET = 17
N_DEFAULT = 16


# --------------------------------------------------------------------------- data
def load_data():
    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    y = d.target.astype(np.int64)
    perm = np.random.default_rng(SPLIT_SEED).permutation(len(x))
    test_idx = np.sort(perm[:N_TEST])
    train_idx = np.sort(perm[N_TEST:])
    return x[train_idx], y[train_idx], x[test_idx], y[test_idx]


# --------------------------------------------------------------------------- model
def init_params(key):
    k1, k2, k3 = jax.random.split(key, 3)

    def he(k, shape, fan_in):
        return jax.random.normal(k, shape, jnp.float32) * np.sqrt(2.0 / fan_in)

    params = {
        "conv1_w": he(k1, (8, 1, 3, 3), 9),
        "conv1_b": jnp.zeros((8,), jnp.float32),
        "bn_gamma": jnp.ones((8,), jnp.float32),
        "bn_beta": jnp.zeros((8,), jnp.float32),
        "conv2_w": he(k2, (16, 8, 3, 3), 72),
        "conv2_b": jnp.zeros((16,), jnp.float32),
        "fc_w": he(k3, (10, 256), 256) * 0.5,
        "fc_b": jnp.zeros((10,), jnp.float32),
    }
    state = {"bn_mean": jnp.zeros((8,), jnp.float32), "bn_var": jnp.ones((8,), jnp.float32)}
    return params, state


def conv(x, w, b):
    y = jax.lax.conv_general_dilated(
        x, w, window_strides=(1, 1), padding=((1, 1), (1, 1)),
        dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return y + b[None, :, None, None]


def forward(params, state, x, train):
    h = conv(x, params["conv1_w"], params["conv1_b"])
    if train:
        mean = h.mean(axis=(0, 2, 3))
        var = h.var(axis=(0, 2, 3))
        n = h.shape[0] * h.shape[2] * h.shape[3]
        new_state = {
            "bn_mean": BN_MOMENTUM * state["bn_mean"] + (1 - BN_MOMENTUM) * mean,
            # running variance uses the unbiased estimate, as common frameworks do
            "bn_var": BN_MOMENTUM * state["bn_var"] + (1 - BN_MOMENTUM) * var * n / (n - 1),
        }
    else:
        mean, var = state["bn_mean"], state["bn_var"]
        new_state = state
    h = (h - mean[None, :, None, None]) / jnp.sqrt(var[None, :, None, None] + BN_EPS)
    h = h * params["bn_gamma"][None, :, None, None] + params["bn_beta"][None, :, None, None]
    h = jax.nn.relu(h)
    h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
    h = jax.nn.relu(conv(h, params["conv2_w"], params["conv2_b"]))
    h = h.reshape(h.shape[0], -1)
    return h @ params["fc_w"].T + params["fc_b"], new_state


def loss_fn(params, state, x, y):
    logits, new_state = forward(params, state, x, True)
    logp = jax.nn.log_softmax(logits)
    loss = -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))
    return loss, new_state


@jax.jit
def train_step(params, state, opt, x, y, step):
    (loss, new_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, state, x, y)
    b1, b2, eps = 0.9, 0.999, 1e-8
    m, v = opt
    m = jax.tree_util.tree_map(lambda a, g: b1 * a + (1 - b1) * g, m, grads)
    v = jax.tree_util.tree_map(lambda a, g: b2 * a + (1 - b2) * g * g, v, grads)
    t = step + 1.0
    params = jax.tree_util.tree_map(
        lambda p, a, s: p - LR * (a / (1 - b1 ** t)) / (jnp.sqrt(s / (1 - b2 ** t)) + eps),
        params, m, v)
    return params, new_state, (m, v), loss


def train(x_tr, y_tr, x_te, y_te):
    params, state = init_params(jax.random.PRNGKey(INIT_SEED))
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    opt = (zeros, zeros)
    rng = np.random.default_rng(SHUFFLE_SEED)
    step = 0
    n = len(x_tr)
    for epoch in range(EPOCHS):
        perm = rng.permutation(n)
        losses = []
        for i in range(0, n - BATCH + 1, BATCH):  # drop the last partial batch
            idx = perm[i:i + BATCH]
            params, state, opt, loss = train_step(
                params, state, opt, jnp.asarray(x_tr[idx]), jnp.asarray(y_tr[idx]), float(step))
            losses.append(float(loss))
            step += 1
        if epoch % 10 == 9 or epoch == EPOCHS - 1:
            logits, _ = forward(params, state, jnp.asarray(x_te), False)
            acc = float((np.asarray(logits).argmax(1) == y_te).mean())
            print(f"epoch {epoch + 1:3d}  loss {np.mean(losses):.4f}  test acc (jax) {acc:.4f}")
    p = {k: np.asarray(v, dtype=np.float32) for k, v in params.items()}
    p.update({k: np.asarray(v, dtype=np.float32) for k, v in state.items()})
    return p


# --------------------------------------------------------------------------- ONNX
def build_fp32(p):
    """fp32 model exactly as specified: ... -> Flatten -> Gemm(transB=1)."""
    inits = [
        numpy_helper.from_array(p["conv1_w"], "conv1.weight"),
        numpy_helper.from_array(p["conv1_b"], "conv1.bias"),
        numpy_helper.from_array(p["bn_gamma"], "bn1.scale"),
        numpy_helper.from_array(p["bn_beta"], "bn1.bias"),
        numpy_helper.from_array(p["bn_mean"], "bn1.running_mean"),
        numpy_helper.from_array(p["bn_var"], "bn1.running_var"),
        numpy_helper.from_array(p["conv2_w"], "conv2.weight"),
        numpy_helper.from_array(p["conv2_b"], "conv2.bias"),
        numpy_helper.from_array(p["fc_w"], "fc.weight"),
        numpy_helper.from_array(p["fc_b"], "fc.bias"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["conv1_out"], name="conv1",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("BatchNormalization",
                         ["conv1_out", "bn1.scale", "bn1.bias", "bn1.running_mean", "bn1.running_var"],
                         ["bn1_out"], name="bn1", epsilon=BN_EPS),
        helper.make_node("Relu", ["bn1_out"], ["relu1_out"], name="relu1"),
        helper.make_node("MaxPool", ["relu1_out"], ["pool1_out"], name="pool1",
                         kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["pool1_out", "conv2.weight", "conv2.bias"], ["conv2_out"], name="conv2",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("Relu", ["conv2_out"], ["relu2_out"], name="relu2"),
        helper.make_node("Flatten", ["relu2_out"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="fc",
                         alpha=1.0, beta=1.0, transA=0, transB=1),
    ]
    graph = helper.make_graph(
        nodes, "digits_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="cdmsa-models", producer_version="1")
    model.ir_version = 8
    model.doc_string = "8x8 digits CNN (scikit-learn bundled digits), fp32"
    onnx.checker.check_model(model, full_check=True)
    return model


def build_quant_source(p):
    """Float source graph for the quantizer.

    Mathematically the fp32 model, with two rewrites so that the QOperator
    quantizer emits only standard-domain operators:
      * BatchNormalization folded into conv1 (weights and bias);
      * Gemm(transB=1) written as MatMul(flat, W^T) + Add(b), because the
        QOperator quantizer turns Gemm into com.microsoft QGemm. Add is kept
        in float (not in op_types_to_quantize), as QLinearAdd is also a
        com.microsoft operator.
    """
    s = p["bn_gamma"] / np.sqrt(p["bn_var"] + BN_EPS)
    w1 = (p["conv1_w"] * s[:, None, None, None]).astype(np.float32)
    b1 = ((p["conv1_b"] - p["bn_mean"]) * s + p["bn_beta"]).astype(np.float32)
    inits = [
        numpy_helper.from_array(w1, "conv1.weight"),
        numpy_helper.from_array(b1, "conv1.bias"),
        numpy_helper.from_array(p["conv2_w"], "conv2.weight"),
        numpy_helper.from_array(p["conv2_b"], "conv2.bias"),
        numpy_helper.from_array(np.ascontiguousarray(p["fc_w"].T), "fc.weight_t"),
        numpy_helper.from_array(p["fc_b"], "fc.bias"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["conv1_out"], name="conv1",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("Relu", ["conv1_out"], ["relu1_out"], name="relu1"),
        helper.make_node("MaxPool", ["relu1_out"], ["pool1_out"], name="pool1",
                         kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["pool1_out", "conv2.weight", "conv2.bias"], ["conv2_out"], name="conv2",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("Relu", ["conv2_out"], ["relu2_out"], name="relu2"),
        helper.make_node("Flatten", ["relu2_out"], ["flat"], name="flatten", axis=1),
        helper.make_node("MatMul", ["flat", "fc.weight_t"], ["fc_mm"], name="fc_matmul"),
        helper.make_node("Add", ["fc_mm", "fc.bias"], ["logits"], name="fc_bias"),
    ]
    graph = helper.make_graph(
        nodes, "digits_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="cdmsa-models", producer_version="1")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


class DigitsReader(CalibrationDataReader):
    def __init__(self, x, batch=1):
        self.batches = [x[i:i + batch] for i in range(0, len(x), batch)]
        self.i = 0

    def get_next(self):
        if self.i >= len(self.batches):
            return None
        b = self.batches[self.i]
        self.i += 1
        return {"input": b}

    def rewind(self):
        self.i = 0


def quantize(src_model, calib, fmt, path, tmp):
    src = os.path.join(tmp, "src.onnx")
    pre = os.path.join(tmp, "pre.onnx")
    onnx.save(src_model, src)
    # Shape inference only: BN is already folded in the source graph, and the
    # ORT graph optimiser would fuse MatMul+Add back into Gemm.
    quant_pre_process(src, pre, skip_optimization=True, skip_onnx_shape=False, skip_symbolic_shape=False)
    quantize_static(
        pre, path, DigitsReader(calib),
        quant_format=fmt,
        op_types_to_quantize=["Conv", "MatMul", "Relu", "MaxPool", "Flatten"],
        per_channel=True,
        reduce_range=False,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
        extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
    )
    m = onnx.load(path)
    m.doc_string = ("8x8 digits CNN (scikit-learn bundled digits), int8 "
                    + ("QOperator" if fmt == QuantFormat.QOperator else "QDQ")
                    + " static quantization (per-channel int8 weights, uint8 activations, MinMax)")
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)
    return m


def to_fp16(model):
    from onnxconverter_common import float16
    m = float16.convert_float_to_float16(model, keep_io_types=False, disable_shape_infer=False)
    m.doc_string = "8x8 digits CNN (scikit-learn bundled digits), fp16 (converted from the fp32 model)"
    for n in m.graph.node:
        if n.op_type == "Cast":
            raise RuntimeError("fp16 conversion left a Cast node: " + n.name)
    for vi in list(m.graph.input) + list(m.graph.output):
        assert vi.type.tensor_type.elem_type == TensorProto.FLOAT16, vi.name
    for t in m.graph.initializer:
        assert t.data_type == TensorProto.FLOAT16, t.name
    onnx.checker.check_model(m, full_check=True)
    return m


# --------------------------------------------------------------------------- references
def run(path, x, level):
    so = ort.SessionOptions()
    so.graph_optimization_level = level
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": x})[0]


def save_pb(arr, path, name):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(arr, name=name).SerializeToString())


def read_pb(path):
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def op_list(model):
    c = Counter((n.op_type, n.domain or "ai.onnx") for n in model.graph.node)
    return [{"op_type": k[0], "domain": k[1], "count": v} for k, v in sorted(c.items())]


def io_desc(model):
    def one(vi):
        tt = vi.type.tensor_type
        dims = [d.dim_param if d.dim_param else d.dim_value for d in tt.shape.dim]
        dt = {TensorProto.FLOAT: "float32", TensorProto.FLOAT16: "float16"}.get(
            tt.elem_type, TensorProto.DataType.Name(tt.elem_type).lower())
        return {"name": vi.name, "dtype": dt, "shape": dims}
    return {"inputs": [one(v) for v in model.graph.input],
            "outputs": [one(v) for v in model.graph.output]}


def main():
    np.random.seed(0)
    x_tr, y_tr, x_te, y_te = load_data()
    print(f"train {x_tr.shape}  test {x_te.shape}")
    p = train(x_tr, y_tr, x_te, y_te)

    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)

    models = {}
    models["fp32"] = build_fp32(p)
    calib = x_tr[:N_CALIB]
    with tempfile.TemporaryDirectory() as tmp:
        qsrc = build_quant_source(p)
        for name, fmt in (("int8_qop", QuantFormat.QOperator), ("int8_qdq", QuantFormat.QDQ)):
            path = os.path.join(tmp, name + ".onnx")
            models[name] = quantize(qsrc, calib, fmt, path, tmp)
    models["fp16"] = to_fp16(models["fp32"])

    save_pb(y_te, os.path.join(OUT, "labels.pb"), "labels")
    levels = {"ORT_ENABLE_ALL": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
              "ORT_DISABLE_ALL": ort.GraphOptimizationLevel.ORT_DISABLE_ALL}
    report = {
        "test_set": {"images": int(len(x_te)), "source": "sklearn.datasets.load_digits, x/16, "
                     f"seeded permutation (numpy default_rng({SPLIT_SEED})), first {N_TEST} indices held out"},
        "onnxruntime": ort.__version__,
        "models": {},
    }
    for name, model in models.items():
        d = os.path.join(OUT, name)
        os.makedirs(d)
        mpath = os.path.join(d, "model.onnx")
        onnx.save(model, mpath)
        onnx.checker.check_model(onnx.load(mpath), full_check=True)
        x = x_te.astype(np.float16) if name == "fp16" else x_te
        outs = {lvl: run(mpath, x, code) for lvl, code in levels.items()}
        save_pb(x, os.path.join(d, "test_data_set_0", "input_0.pb"), "input")
        save_pb(outs["ORT_ENABLE_ALL"], os.path.join(d, "test_data_set_0", "output_0.pb"), "logits")
        save_pb(outs["ORT_DISABLE_ALL"], os.path.join(d, "reference_disable_all", "output_0.pb"), "logits")
        a, b = outs["ORT_ENABLE_ALL"], outs["ORT_DISABLE_ALL"]
        diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
        report["models"][name] = {
            "path": f"digits/{name}/model.onnx",
            "accuracy": {lvl: float((o.argmax(1) == y_te).mean()) for lvl, o in outs.items()},
            "correct": {lvl: int((o.argmax(1) == y_te).sum()) for lvl, o in outs.items()},
            "enable_vs_disable": {
                "elements_total": int(a.size),
                "elements_differing": int((a != b).sum()),
                "rows_differing": int((a != b).any(axis=1).sum()),
                "argmax_differing": int((a.argmax(1) != b.argmax(1)).sum()),
                "max_abs_diff": float(diff.max()),
            },
            "ops": op_list(model),
            "io": io_desc(model),
        }
        print(f"\n== {name}: {mpath}")
        for o in op_list(model):
            print(f"   {o['op_type']:<18} {o['domain']:<14} x{o['count']}")
        print("   accuracy", report["models"][name]["accuracy"])
        print("   enable vs disable", report["models"][name]["enable_vs_disable"])

    # The two int8 models encode the same quantized network; record how their
    # references relate (QDQ under ORT_ENABLE_ALL runs fused integer kernels).
    cross = {}
    for a_name, a_lvl, b_name, b_lvl in (
            ("int8_qop", "ORT_ENABLE_ALL", "int8_qdq", "ORT_ENABLE_ALL"),
            ("int8_qop", "ORT_ENABLE_ALL", "int8_qdq", "ORT_DISABLE_ALL")):
        a = read_pb(os.path.join(OUT, a_name, "test_data_set_0" if a_lvl == "ORT_ENABLE_ALL"
                                 else "reference_disable_all", "output_0.pb"))
        b = read_pb(os.path.join(OUT, b_name, "test_data_set_0" if b_lvl == "ORT_ENABLE_ALL"
                                 else "reference_disable_all", "output_0.pb"))
        cross[f"{a_name}:{a_lvl} vs {b_name}:{b_lvl}"] = {
            "elements_differing": int((a != b).sum()),
            "max_abs_diff": float(np.abs(a.astype(np.float64) - b).max()),
        }
        print("  ", f"{a_name}:{a_lvl} vs {b_name}:{b_lvl}", cross[f"{a_name}:{a_lvl} vs {b_name}:{b_lvl}"])
    report["int8_cross_check"] = cross

    with open(os.path.join(OUT, "accuracy.json"), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")

    # Small embedded default set: the int8 QOperator model and 16 test images.
    dd = os.path.join(OUT, "default")
    os.makedirs(dd)
    shutil.copyfile(os.path.join(OUT, "int8_qop", "model.onnx"), os.path.join(dd, "model.onnx"))
    xs = np.ascontiguousarray(x_te[:N_DEFAULT])
    save_pb(xs, os.path.join(dd, "input_0.pb"), "input")
    save_pb(run(os.path.join(dd, "model.onnx"), xs, ort.GraphOptimizationLevel.ORT_ENABLE_ALL),
            os.path.join(dd, "output_0.pb"), "logits")
    save_pb(y_te[:N_DEFAULT], os.path.join(dd, "labels.pb"), "labels")

    worst = min(min(m["accuracy"].values()) for m in report["models"].values())
    print(f"\nlowest accuracy over models and modes: {worst:.4f}")
    if worst < 0.95:
        print("accuracy below 0.95", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
