#!/usr/bin/env python3
"""Generates one model of each class that benches/compare_onnxruntime.py reports on.

The committed models lack some of the classes a user of the emulator runs: an fp16
classifier, a per-channel int8 QOperator CNN, a small int8 QDQ CNN, a text-detection CNN with
transposed convolutions, a CRNN recogniser, and ResNet-50 converted to fp16 and quantized to
int8 QDQ. This script builds them (random He-scaled weights, fixed seeds, so the files are
the same on every run), converts and quantizes them with onnxruntime's own tools, and writes
each in the ONNX backend-test layout with onnxruntime's outputs as the reference:

    OUT/NAME/model.onnx
    OUT/NAME/test_data_set_0/{input_i.pb, output_i.pb}      (onnxruntime, default options)
    OUT/NAME/reference_disable_all/output_i.pb              (onnxruntime, no graph rewrites)

Usage: python3 benches/make_class_models.py [--out DIR] [NAME ...]
       (default OUT: target/class-models; no NAME: every recipe)
Then:  python3 benches/compare_onnxruntime.py target/class-models/*
Needs: numpy, onnx, onnxruntime; the ResNet-50 variants need models/real/open-nsfw-resnet50
(python3 models/realmodels/fetch.py).
"""
import collections
import json
import os
import shutil
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "target", "class-models")
SRC_RESNET = os.path.join(ROOT, "models", "real", "open-nsfw-resnet50")
OPSET = 17
IR = 8
SEED = 1234


# --------------------------------------------------------------------------- graph builder
class G:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []
        self.n = 0

    def name(self, p):
        self.n += 1
        return f"{p}_{self.n}"

    def init(self, arr, p="w"):
        nm = self.name(p)
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), nm))
        return nm

    def node(self, op, inputs, p=None, n_out=1, **attrs):
        outs = [self.name(p or op.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=self.name("n_" + op), **attrs))
        return outs[0] if n_out == 1 else outs

    def conv(self, x, cin, cout, k=3, s=1, group=1, act="relu", pad=None, gain=None):
        kh, kw = (k, k) if isinstance(k, int) else k
        sh, sw = (s, s) if isinstance(s, int) else s
        if pad is None:
            pad = [kh // 2, kw // 2, kh // 2, kw // 2]
        fan_in = (cin // group) * kh * kw
        g = gain if gain is not None else (2.0 if act in ("relu", "clip") else 1.0)
        w = self.rng.standard_normal((cout, cin // group, kh, kw)).astype(np.float32) * np.sqrt(g / fan_in)
        # folded BatchNorm: small bias
        b = (self.rng.standard_normal(cout) * 0.05).astype(np.float32)
        y = self.node("Conv", [x, self.init(w), self.init(b, "b")], kernel_shape=[kh, kw],
                      strides=[sh, sw], pads=pad, group=group)
        if act == "relu":
            y = self.node("Relu", [y])
        elif act == "clip":  # relu6
            y = self.node("Clip", [y, self.init(np.array(0, np.float32), "lo"),
                                   self.init(np.array(6, np.float32), "hi")])
        return y

    def convT(self, x, cin, cout, k=2, s=2, act="relu"):
        w = self.rng.standard_normal((cin, cout, k, k)).astype(np.float32) * np.sqrt(2.0 / (cin))
        b = (self.rng.standard_normal(cout) * 0.05).astype(np.float32)
        y = self.node("ConvTranspose", [x, self.init(w), self.init(b, "b")], kernel_shape=[k, k], strides=[s, s])
        return self.node("Relu", [y]) if act == "relu" else y

    def upsample(self, x, f=2):
        scales = self.init(np.array([1, 1, f, f], np.float32), "scales")
        return self.node("Resize", [x, "", scales], mode="nearest",
                         coordinate_transformation_mode="asymmetric", nearest_mode="floor")

    def model(self, inputs, outputs, name):
        g = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="perfmodels")
        m.ir_version = IR
        inf = onnx.shape_inference.infer_shapes(m, strict_mode=True)
        known = {v.name: v for v in list(inf.graph.value_info) + list(inf.graph.output)}
        for o in m.graph.output:
            if not o.type.tensor_type.HasField("shape") and o.name in known:
                o.CopyFrom(known[o.name])
        onnx.checker.check_model(m, full_check=True)
        return m


def vi(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


# --------------------------------------------------------------------------- model 1: text detection
def build_textdet():
    g = G(SEED + 1)
    x = "input"
    c1 = g.conv(x, 3, 16, 3, 2)          # 160
    c2 = g.conv(c1, 16, 24, 3, 2)        # 80
    c2 = g.conv(c2, 24, 24, 3, 1)
    c3 = g.conv(c2, 24, 48, 3, 2)        # 40
    c3 = g.conv(c3, 48, 48, 3, 1)
    c4 = g.conv(c3, 48, 96, 3, 2)        # 20
    c4 = g.conv(c4, 96, 96, 3, 1)
    c5 = g.conv(c4, 96, 192, 3, 2)       # 10
    c5 = g.conv(c5, 192, 192, 3, 1)
    F = 32
    in5 = g.conv(c5, 192, F, 1, act=None, gain=1.0)
    in4 = g.conv(c4, 96, F, 1, act=None, gain=1.0)
    in3 = g.conv(c3, 48, F, 1, act=None, gain=1.0)
    in2 = g.conv(c2, 24, F, 1, act=None, gain=1.0)
    out4 = g.node("Add", [g.upsample(in5), in4])
    out3 = g.node("Add", [g.upsample(out4), in3])
    out2 = g.node("Add", [g.upsample(out3), in2])
    p5 = g.upsample(g.conv(in5, F, F // 4, 3, act=None, gain=1.0), 8)
    p4 = g.upsample(g.conv(out4, F, F // 4, 3, act=None, gain=1.0), 4)
    p3 = g.upsample(g.conv(out3, F, F // 4, 3, act=None, gain=1.0), 2)
    p2 = g.conv(out2, F, F // 4, 3, act=None, gain=1.0)
    fuse = g.node("Concat", [p5, p4, p3, p2], axis=1)   # 1x32x80x80
    outs = []
    for _ in range(2):  # probability map and threshold map heads (DBNet)
        h = g.conv(fuse, F, F // 4, 3)
        h = g.convT(h, F // 4, F // 4, 2, 2)             # 160
        h = g.convT(h, F // 4, 1, 2, 2, act=None)        # 320
        outs.append(g.node("Sigmoid", [h], p="map"))
    m = g.model([vi("input", TensorProto.FLOAT, [1, 3, 320, 320])],
                [vi(outs[0], TensorProto.FLOAT, None), vi(outs[1], TensorProto.FLOAT, None)], "textdet")
    x = np.random.default_rng(SEED).random((1, 3, 320, 320), dtype=np.float32) * 2 - 1
    return m, [x]


# --------------------------------------------------------------------------- model 2: CRNN
def build_crnn():
    g = G(SEED + 2)
    x = "input"
    y = g.conv(x, 1, 64, 3)
    y = g.node("MaxPool", [y], kernel_shape=[2, 2], strides=[2, 2])           # 16x64
    y = g.conv(y, 64, 128, 3)
    y = g.node("MaxPool", [y], kernel_shape=[2, 2], strides=[2, 2])           # 8x32
    y = g.conv(y, 128, 256, 3)
    y = g.conv(y, 256, 256, 3)
    y = g.node("MaxPool", [y], kernel_shape=[2, 1], strides=[2, 1])           # 4x32
    y = g.conv(y, 256, 256, 3)
    y = g.conv(y, 256, 256, 3)
    y = g.node("MaxPool", [y], kernel_shape=[2, 1], strides=[2, 1])           # 2x32
    y = g.conv(y, 256, 256, (2, 1), pad=[0, 0, 0, 0])                         # 1x32
    y = g.node("Reshape", [y, g.init(np.array([1, 256, 32], np.int64), "shape")])
    seq = g.node("Transpose", [y], perm=[2, 0, 1])                            # [32,1,256]
    H = 128
    inp = 256
    for layer in range(2):
        lim = 1.0 / np.sqrt(H)
        W = g.rng.uniform(-lim, lim, (2, 4 * H, inp)).astype(np.float32)
        R = g.rng.uniform(-lim, lim, (2, 4 * H, H)).astype(np.float32)
        B = g.rng.uniform(-lim, lim, (2, 8 * H)).astype(np.float32)
        Y = g.node("LSTM", [seq, g.init(W), g.init(R), g.init(B, "b")], p="lstm",
                   hidden_size=H, direction="bidirectional")                 # [32,2,1,H]
        Y = g.node("Transpose", [Y], perm=[0, 2, 1, 3])                       # [32,1,2,H]
        seq = g.node("Reshape", [Y, g.init(np.array([32, 1, 2 * H], np.int64), "shape")])
        inp = 2 * H
    y = g.node("Reshape", [seq, g.init(np.array([32, 2 * H], np.int64), "shape")])
    NC = 97
    Wc = (g.rng.standard_normal((2 * H, NC)) * np.sqrt(1.0 / (2 * H))).astype(np.float32)
    bc = (g.rng.standard_normal(NC) * 0.05).astype(np.float32)
    logits = g.node("Gemm", [y, g.init(Wc), g.init(bc, "b")])
    prob = g.node("Softmax", [logits], axis=-1, p="prob")
    m = g.model([vi("input", TensorProto.FLOAT, [1, 1, 32, 128])], [vi(prob, TensorProto.FLOAT, None)], "crnn")
    x = np.random.default_rng(SEED).random((1, 1, 32, 128), dtype=np.float32) * 2 - 1
    return m, [x]


# --------------------------------------------------------------------------- model 3 float source: MobileNetV1 @160
def build_mobilenet_v1(res=160, n_cls=1000):
    g = G(SEED + 3)
    y = g.conv("input", 3, 32, 3, 2, act="clip")
    cfg = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    c = 32
    for cout, s in cfg:
        y = g.conv(y, c, c, 3, s, group=c, act="clip")   # depthwise
        y = g.conv(y, c, cout, 1, 1, act="clip")         # pointwise
        c = cout
    y = g.node("GlobalAveragePool", [y])
    y = g.conv(y, c, n_cls, 1, act=None, gain=1.0)      # classifier as 1x1 conv (QLinearConv)
    # Output: logits (no float Softmax tail: with one, cdmsa's `exact` verdict for int8 models
    # fails on <=3-ulp differences of the float softmax; the logits are bit-exact).
    y = g.node("Flatten", [y], axis=1, p="logits")
    m = g.model([vi("input", TensorProto.FLOAT, [1, 3, res, res])], [vi(y, TensorProto.FLOAT, None)], "mobilenetv1")
    return m


# --------------------------------------------------------------------------- model 4 float source: ResNet-ish
def build_resnet_small(n_cls=1000):
    g = G(SEED + 4)
    y = g.conv("input", 3, 32, 7, 2)                                   # 112
    y = g.node("MaxPool", [y], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])  # 56
    c = 32
    for cout, s in [(32, 1), (64, 2), (128, 2), (256, 2)]:
        for blk in range(2):
            st = s if blk == 0 else 1
            h = g.conv(y, c, cout, 3, st)
            h = g.conv(h, cout, cout, 3, 1, act=None, gain=1.0)
            sc = y if (st == 1 and c == cout) else g.conv(y, c, cout, 1, st, act=None, gain=1.0)
            y = g.node("Relu", [g.node("Add", [h, sc])])
            c = cout
    y = g.node("GlobalAveragePool", [y])
    y = g.node("Flatten", [y], axis=1)
    W = (g.rng.standard_normal((n_cls, c)) * np.sqrt(1.0 / c)).astype(np.float32)
    b = (g.rng.standard_normal(n_cls) * 0.05).astype(np.float32)
    y = g.node("Gemm", [y, g.init(W), g.init(b, "b")], transB=1)
    prob = g.node("Softmax", [y], axis=1, p="prob")
    return g.model([vi("input", TensorProto.FLOAT, [1, 3, 224, 224])], [vi(prob, TensorProto.FLOAT, None)], "resnet_small")


# --------------------------------------------------------------------------- model 5 float source: small CNN
def build_small_cnn(batch=8):
    g = G(SEED + 5)
    y = g.conv("input", 1, 16, 3)
    y = g.conv(y, 16, 32, 3, 2)   # 14
    y = g.conv(y, 32, 64, 3, 2)   # 7
    y = g.node("Flatten", [y], axis=1)
    W1 = (g.rng.standard_normal((64 * 49, 128)) * np.sqrt(2.0 / (64 * 49))).astype(np.float32)
    y = g.node("Relu", [g.node("Gemm", [y, g.init(W1), g.init(np.zeros(128, np.float32) + 0.01, "b")])])
    W2 = (g.rng.standard_normal((128, 10)) * np.sqrt(1.0 / 128)).astype(np.float32)
    y = g.node("Gemm", [y, g.init(W2), g.init(np.zeros(10, np.float32), "b")], p="logits")
    return g.model([vi("input", TensorProto.FLOAT, [batch, 1, 28, 28])], [vi(y, TensorProto.FLOAT, None)], "small_cnn")


# --------------------------------------------------------------------------- helpers
def run_ort(m_or_path, inputs, threads=None):
    so = ort.SessionOptions()
    if threads:
        so.intra_op_num_threads = threads
    src = m_or_path if isinstance(m_or_path, str) else m_or_path.SerializeToString()
    s = ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])
    feed = {i.name: x for i, x in zip(s.get_inputs(), inputs)}
    return s.run(None, feed), s, feed


def count_macs(model, inputs):
    """MACs of Conv/ConvTranspose/Gemm/MatMul/LSTM from concrete shapes: every value is
    exposed as an output of an unoptimised onnxruntime run of the float model."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for n in m.graph.node:
        for o in n.output:
            if o and o not in have:
                m.graph.output.append(helper.make_empty_tensor_value_info(o))  # noqa
                have.add(o)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    s = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    feed = {i.name: x for i, x in zip(s.get_inputs(), inputs)}
    vals = dict(zip([o.name for o in s.get_outputs()], s.run(None, feed)))
    shp = {k: v.shape for k, v in vals.items()}
    shp.update({k: x.shape for k, x in feed.items()})
    shp.update({t.name: tuple(t.dims) for t in m.graph.initializer})
    total = 0
    for n in m.graph.node:
        a = {x.name: helper.get_attribute_value(x) for x in n.attribute}
        if n.op_type == "Conv":
            w = shp[n.input[1]]
            total += int(np.prod(shp[n.output[0]])) * int(np.prod(w[1:]))
        elif n.op_type == "ConvTranspose":
            w = shp[n.input[1]]
            total += int(np.prod(shp[n.input[0]])) * int(np.prod(w[1:])) // a.get("group", 1)
        elif n.op_type in ("Gemm", "MatMul"):
            A = shp[n.input[0]]
            K = A[0] if a.get("transA", 0) else A[-1]
            total += int(np.prod(shp[n.output[0]])) * K
        elif n.op_type == "LSTM":
            X, W = shp[n.input[0]], shp[n.input[1]]
            H = W[1] // 4
            total += X[0] * X[1] * W[0] * 4 * H * (W[2] + H)
    return total


class Reader:
    def __init__(self, name, arrs):
        self.it = iter([{name: a} for a in arrs])

    def get_next(self):
        return next(self.it, None)


def quantize(float_model, inputs_for_calib, input_name, fmt, per_channel, op_types=None, extra=None):
    from onnxruntime.quantization import quantize_static, QuantFormat, QuantType
    import tempfile
    d = tempfile.mkdtemp()
    fp = os.path.join(d, "f.onnx")
    qp = os.path.join(d, "q.onnx")
    onnx.save(float_model, fp)
    kw = {}
    if op_types:
        kw["op_types_to_quantize"] = op_types
    quantize_static(fp, qp, Reader(input_name, inputs_for_calib),
                    quant_format=QuantFormat.QOperator if fmt == "qop" else QuantFormat.QDQ,
                    per_channel=per_channel, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    extra_options=extra or {}, **kw)
    q = onnx.load(qp)
    shutil.rmtree(d)
    return q


def to_fp16(m):
    from onnxruntime.transformers.float16 import convert_float_to_float16
    return convert_float_to_float16(m, keep_io_types=False)


def fix_versions(m):
    if m.ir_version > 9:
        m.ir_version = 9
    for o in m.opset_import:
        if o.domain in ("", "ai.onnx"):
            assert o.version <= 17, f"opset {o.version} > 17"
    bad = [(n.op_type, n.domain) for n in m.graph.node if n.domain not in ("", "ai.onnx")]
    assert not bad, f"non-standard domain ops: {bad}"
    return m


def write(name, m, inputs, macs):
    d = os.path.join(OUT, name)
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    fix_versions(m)
    onnx.save(m, os.path.join(d, "model.onnx"))
    outs, s, _ = run_ort(os.path.join(d, "model.onnx"), inputs)
    for i, (inp, x) in enumerate(zip(s.get_inputs(), inputs)):
        with open(os.path.join(d, "test_data_set_0", f"input_{i}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(x, inp.name).SerializeToString())
    for i, (o, y) in enumerate(zip(s.get_outputs(), outs)):
        with open(os.path.join(d, "test_data_set_0", f"output_{i}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(y, o.name).SerializeToString())
        assert np.all(np.isfinite(y.astype(np.float32))), f"{name}: non-finite output"
    # onnxruntime's output without graph rewrites, as a second reference
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    s2 = ort.InferenceSession(os.path.join(d, "model.onnx"), so, providers=["CPUExecutionProvider"])
    outs2 = s2.run(None, {i.name: x for i, x in zip(s2.get_inputs(), inputs)})
    os.makedirs(os.path.join(d, "reference_disable_all"))
    for i, (o, y) in enumerate(zip(s2.get_outputs(), outs2)):
        with open(os.path.join(d, "reference_disable_all", f"output_{i}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(y, o.name).SerializeToString())
    diff = max(float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max()) for a, b in zip(outs, outs2))
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump({"macs": int(macs), "enable_vs_disable_all_max_abs": diff}, f)
    print(f"[{name}] enable_all vs disable_all max abs diff {diff:.3g}")
    print(f"[{name}] written; ops={dict(collections.Counter(n.op_type for n in m.graph.node))} "
          f"macs={macs/1e6:.1f}M outputs={[ (y.shape, str(y.dtype), float(np.abs(y.astype(np.float32)).max())) for y in outs]}")


# --------------------------------------------------------------------------- recipes
def make_fp32_textdet():
    m, x = build_textdet()
    write("fp32_textdet", m, x, count_macs(m, x))


def make_fp32_crnn():
    m, x = build_crnn()
    write("fp32_crnn", m, x, count_macs(m, x))


def make_int8_qop_perchannel():
    res = 160
    f = build_mobilenet_v1(res)
    rng = np.random.default_rng(SEED + 30)
    calib = [rng.random((1, 3, res, res), dtype=np.float32) * 2 - 1 for _ in range(8)]
    x = [np.random.default_rng(SEED).random((1, 3, res, res), dtype=np.float32) * 2 - 1]
    q = quantize(f, calib, "input", "qop", True, op_types=["Conv", "MatMul", "Relu", "Clip", "MaxPool", "Flatten", "Reshape"])
    write("int8_qop_perchannel", q, x, count_macs(f, x))


def make_fp16_classifier():
    f = build_resnet_small()
    x = np.random.default_rng(SEED).random((1, 3, 224, 224), dtype=np.float32) * 2 - 1
    macs = count_macs(f, [x])
    h = to_fp16(f)
    write("fp16_classifier", h, [x.astype(np.float16)], macs)


def make_int8_qdq_small():
    f = build_small_cnn(8)
    rng = np.random.default_rng(SEED + 50)
    calib = [rng.random((8, 1, 28, 28), dtype=np.float32) for _ in range(8)]
    x = [np.random.default_rng(SEED).random((8, 1, 28, 28), dtype=np.float32)]
    q = quantize(f, calib, "input", "qdq", False)
    write("int8_qdq_small", q, x, count_macs(f, x))


def resnet_src():
    m = onnx.load(os.path.join(SRC_RESNET, "model.onnx"))
    t = onnx.TensorProto()
    with open(os.path.join(SRC_RESNET, "test_data_set_0", "input_0.pb"), "rb") as fh:
        t.ParseFromString(fh.read())
    return m, numpy_helper.to_array(t)


def make_resnet50_fp32():
    """Verbatim copy of the source model and its test data (reference for the variants)."""
    m, x = resnet_src()
    d = os.path.join(OUT, "resnet50_fp32")
    if os.path.exists(d):
        shutil.rmtree(d)
    shutil.copytree(SRC_RESNET, d)
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump({"macs": int(count_macs(m, [x]))}, f)
    print("[resnet50_fp32] copied")


def make_resnet50_fp16():
    m, x = resnet_src()
    macs = count_macs(m, [x])
    write("resnet50_fp16", to_fp16(m), [x.astype(np.float16)], macs)


def make_resnet50_int8_qdq():
    m, x = resnet_src()
    macs = count_macs(m, [x])
    rng = np.random.default_rng(SEED + 70)
    lo, hi = float(x.min()), float(x.max())
    calib = [x] + [(rng.random(x.shape, dtype=np.float32) * (hi - lo) + lo).astype(np.float32) for _ in range(4)]
    # onnxruntime's recommended pre-processing (shape inference + basic graph optimisation:
    # drops the source's ~300 no-op Casts and most layout Transposes; standard ops only)
    from onnxruntime.quantization.shape_inference import quant_pre_process
    import tempfile
    d = tempfile.mkdtemp()
    quant_pre_process(os.path.join(SRC_RESNET, "model.onnx"), os.path.join(d, "pp.onnx"))
    pp = onnx.load(os.path.join(d, "pp.onnx"))
    shutil.rmtree(d)
    q = quantize(pp, calib, pp.graph.input[0].name, "qdq", True)
    del q.opset_import[:]
    q.opset_import.append(helper.make_opsetid("", 17))
    write("resnet50_int8_qdq", q, [x], macs)


RECIPES = {k[5:]: v for k, v in globals().items() if k.startswith("make_") and callable(v)}

if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--out"]:
        OUT = os.path.abspath(args[1])
        args = args[2:]
    failed = False
    for n in args or list(RECIPES):
        try:
            RECIPES[n]()
        except Exception as e:  # report and go on with the other recipes
            import traceback
            traceback.print_exc()
            print(f"[{n}] FAILED: {type(e).__name__}: {e}")
            failed = True
    sys.exit(1 if failed else 0)
