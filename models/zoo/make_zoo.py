#!/usr/bin/env python3
"""Writes the timing model zoo: seven real-shaped networks as ONNX files in this directory.

Each model has the layer shapes of the published network (batch `N`, bound to 1 by the
tests) and synthetic weights: seeded random float32 values, so the files are for timing
only. The files are not committed; this script rebuilds them byte for byte. After writing
a model it counts its MACs the way cdmsa does (GEMM-class ops only) and checks the count
against `expected_macs.json`: equal to `generated_macs`, and within `tolerance` of the
published figure.

Usage: python3 models/zoo/make_zoo.py [--only NAME ...] [--out DIR]
Needs onnx (1.22) and numpy; see README.md.
"""

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, shape_inference

HERE = Path(__file__).resolve().parent
EXPECTED = HERE / "expected_macs.json"

# IR version of the onnx release that introduced each default-domain opset used here.
IR_VERSION = {17: 8, 20: 9}

SYNTHETIC = "Synthetic seeded weights: for timing only. "


# ---------------------------------------------------------------- graph building blocks


class Net:
    """Accumulates nodes and initializers; every tensor and node name is unique."""

    def __init__(self, name, seed, opset=17):
        self.name = name
        self.opset = opset
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self.names = set()
        self.consts = {}

    def _claim(self, name):
        if name in self.names:
            raise ValueError(f"duplicate name {name}")
        self.names.add(name)
        return name

    def init(self, name, array):
        self.inits.append(numpy_helper.from_array(array, self._claim(name)))
        return name

    def weight(self, name, shape, fan_in):
        """He-scaled normal values, so activations stay O(1) if anyone runs the model."""
        w = self.rng.standard_normal(shape, dtype=np.float32) * np.float32(math.sqrt(2.0 / fan_in))
        return self.init(name, w)

    def bias(self, name, n):
        return self.init(name, self.rng.standard_normal(n, dtype=np.float32) * np.float32(0.01))

    def const(self, value, dtype=np.float32):
        """A shared scalar or small constant (ints for shapes)."""
        array = np.array(value, dtype=dtype)
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self.consts:
            self.consts[key] = self.init(f"const{len(self.consts)}", array)
        return self.consts[key]

    def node(self, op, inputs, name, **attrs):
        out = self._claim(name)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    # --- CNN pieces

    def conv(self, x, name, cin, cout, k, stride=1, pad=None, group=1, act="relu"):
        """Conv with bias (BatchNormalization folded in), then Relu, Relu6 (Clip) or nothing."""
        pad = k // 2 if pad is None else pad
        w = self.weight(f"{name}.weight", (cout, cin // group, k, k), fan_in=cin // group * k * k)
        b = self.bias(f"{name}.bias", cout)
        attrs = dict(kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4)
        if group != 1:
            attrs["group"] = group
        y = self.node("Conv", [x, w, b], name, **attrs)
        if act == "relu":
            return self.node("Relu", [y], f"{name}.relu")
        if act == "relu6":
            return self.node("Clip", [y, self.const(0.0), self.const(6.0)], f"{name}.relu6")
        return y

    def max_pool(self, x, name, k, stride, pad=0, ceil=False):
        attrs = dict(kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4)
        if ceil:
            attrs["ceil_mode"] = 1
        return self.node("MaxPool", [x], name, **attrs)

    def classifier(self, x, name, fin, classes=1000):
        """GlobalAveragePool → Flatten → Gemm (the usual ImageNet head)."""
        x = self.node("GlobalAveragePool", [x], f"{name}.pool")
        x = self.node("Flatten", [x], f"{name}.flatten", axis=1)
        return self.fc(x, name, fin, classes)

    def fc(self, x, name, fin, fout):
        """Fully connected layer on [N, fin] as Gemm with the PyTorch weight layout."""
        w = self.weight(f"{name}.weight", (fout, fin), fan_in=fin)
        b = self.bias(f"{name}.bias", fout)
        return self.node("Gemm", [x, w, b], name, transB=1)

    # --- transformer pieces

    def linear(self, x, name, fin, fout):
        """x[..., fin] · W[fin, fout] + b as MatMul + Add."""
        w = self.weight(f"{name}.weight", (fin, fout), fan_in=fin)
        y = self.node("MatMul", [x, w], f"{name}.matmul")
        return self.node("Add", [y, self.bias(f"{name}.bias", fout)], name)

    def layer_norm(self, x, name, dim, eps):
        scale = self.init(f"{name}.weight", np.ones(dim, dtype=np.float32))
        shift = self.init(f"{name}.bias", np.zeros(dim, dtype=np.float32))
        return self.node("LayerNormalization", [x, scale, shift], name, axis=-1, epsilon=eps)

    def split_heads(self, x, name, heads, transpose_key=False):
        """[N, S, H·D] → [N, H, S, D], or [N, H, D, S] for the key."""
        hd = self.const([0, 0, heads, -1], np.int64)
        x = self.node("Reshape", [x, hd], f"{name}.reshape")
        perm = [0, 2, 3, 1] if transpose_key else [0, 2, 1, 3]
        return self.node("Transpose", [x], f"{name}.transpose", perm=perm)

    def attention(self, x, name, hidden, heads, mask=None):
        """Multi-head self-attention with separate Q, K and V projections."""
        q = self.split_heads(self.linear(x, f"{name}.query", hidden, hidden), f"{name}.q", heads)
        k = self.split_heads(
            self.linear(x, f"{name}.key", hidden, hidden), f"{name}.k", heads, transpose_key=True
        )
        v = self.split_heads(self.linear(x, f"{name}.value", hidden, hidden), f"{name}.v", heads)
        s = self.node("MatMul", [q, k], f"{name}.scores")
        s = self.node("Div", [s, self.const(math.sqrt(hidden // heads))], f"{name}.scale")
        if mask is not None:
            s = self.node("Add", [s, mask], f"{name}.mask")
        p = self.node("Softmax", [s], f"{name}.softmax", axis=-1)
        c = self.node("MatMul", [p, v], f"{name}.context")
        c = self.node("Transpose", [c], f"{name}.merge.transpose", perm=[0, 2, 1, 3])
        c = self.node("Reshape", [c, self.const([0, 0, hidden], np.int64)], f"{name}.merge")
        return self.linear(c, f"{name}.output", hidden, hidden)

    def mlp(self, x, name, hidden, ffn, approximate):
        h = self.linear(x, f"{name}.fc1", hidden, ffn)
        h = self.node("Gelu", [h], f"{name}.gelu", approximate=approximate)
        return self.linear(h, f"{name}.fc2", ffn, hidden)

    # --- the model

    def model(self, inputs, outputs, doc):
        graph = helper.make_graph(
            self.nodes,
            self.name,
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs],
            initializer=self.inits,
        )
        return helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", self.opset)],
            producer_name="cdmsa models/zoo/make_zoo.py",
            ir_version=IR_VERSION[self.opset],
            doc_string=SYNTHETIC + doc,
        )


def image(size):
    return [("input", ["N", 3, size, size])]


def classes(y):
    return [(y, ["N", 1000])]


# ---------------------------------------------------------------- the seven networks


def resnet50():
    """torchvision resnet50 (ResNet v1.5: stride on the 3×3 conv of each bottleneck)."""
    n = Net("resnet50", seed=50)
    x = n.conv("input", "conv1", 3, 64, 7, stride=2)
    x = n.max_pool(x, "maxpool", 3, 2, pad=1)
    cin = 64
    stages = [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]  # width, blocks, stride
    for i, (width, blocks, stride) in enumerate(stages):
        for b in range(blocks):
            x = bottleneck(n, x, f"layer{i + 1}.{b}", cin, width, stride if b == 0 else 1)
            cin = width * 4
    y = n.classifier(x, "fc", 2048)
    return n.model(image(224), classes(y), "ResNet-50 v1.5, torchvision layer shapes.")


def bottleneck(n, x, name, cin, width, stride):
    y = n.conv(x, f"{name}.conv1", cin, width, 1)
    y = n.conv(y, f"{name}.conv2", width, width, 3, stride=stride)
    y = n.conv(y, f"{name}.conv3", width, width * 4, 1, act=None)
    if stride != 1 or cin != width * 4:
        x = n.conv(x, f"{name}.downsample", cin, width * 4, 1, stride=stride, act=None)
    y = n.node("Add", [y, x], f"{name}.add")
    return n.node("Relu", [y], f"{name}.relu")


def mobilenet_v2():
    """torchvision mobilenet_v2 (width 1.0): ReLU6 as Clip(0, 6)."""
    n = Net("mobilenet_v2", seed=2)
    x = n.conv("input", "features.0", 3, 32, 3, stride=2, act="relu6")
    cin, i = 32, 1
    for t, c, reps, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                          (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        for r in range(reps):
            x = inverted_residual(n, x, f"features.{i}", cin, c, s if r == 0 else 1, t)
            cin, i = c, i + 1
    x = n.conv(x, f"features.{i}", 320, 1280, 1, act="relu6")
    y = n.classifier(x, "classifier", 1280)
    return n.model(image(224), classes(y), "MobileNetV2 1.0, torchvision layer shapes.")


def inverted_residual(n, x, name, cin, cout, stride, expand):
    hidden = cin * expand
    y = x
    if expand != 1:
        y = n.conv(y, f"{name}.expand", cin, hidden, 1, act="relu6")
    y = n.conv(y, f"{name}.depthwise", hidden, hidden, 3, stride=stride, group=hidden, act="relu6")
    y = n.conv(y, f"{name}.project", hidden, cout, 1, act=None)
    if stride == 1 and cin == cout:
        y = n.node("Add", [y, x], f"{name}.add")
    return y


def googlenet():
    """torchvision googlenet (Inception v1, no auxiliary heads at inference). Like
    torchvision, the "5×5" branch uses a 3×3 kernel (pytorch/vision issue 906)."""
    n = Net("googlenet", seed=1)
    x = n.conv("input", "conv1", 3, 64, 7, stride=2)
    x = n.max_pool(x, "maxpool1", 3, 2, ceil=True)
    x = n.conv(x, "conv2", 64, 64, 1)
    x = n.conv(x, "conv3", 64, 192, 3)
    x = n.max_pool(x, "maxpool2", 3, 2, ceil=True)
    x = inception(n, x, "inception3a", 192, 64, 96, 128, 16, 32, 32)
    x = inception(n, x, "inception3b", 256, 128, 128, 192, 32, 96, 64)
    x = n.max_pool(x, "maxpool3", 3, 2, ceil=True)
    x = inception(n, x, "inception4a", 480, 192, 96, 208, 16, 48, 64)
    x = inception(n, x, "inception4b", 512, 160, 112, 224, 24, 64, 64)
    x = inception(n, x, "inception4c", 512, 128, 128, 256, 24, 64, 64)
    x = inception(n, x, "inception4d", 512, 112, 144, 288, 32, 64, 64)
    x = inception(n, x, "inception4e", 528, 256, 160, 320, 32, 128, 128)
    x = n.max_pool(x, "maxpool4", 2, 2, ceil=True)
    x = inception(n, x, "inception5a", 832, 256, 160, 320, 32, 128, 128)
    x = inception(n, x, "inception5b", 832, 384, 192, 384, 48, 128, 128)
    y = n.classifier(x, "fc", 1024)
    return n.model(image(224), classes(y), "GoogLeNet (Inception v1), torchvision layer shapes.")


def inception(n, x, name, cin, c1, c3r, c3, c5r, c5, pool_proj):
    b1 = n.conv(x, f"{name}.branch1", cin, c1, 1)
    b2 = n.conv(n.conv(x, f"{name}.branch2.0", cin, c3r, 1), f"{name}.branch2.1", c3r, c3, 3)
    b3 = n.conv(n.conv(x, f"{name}.branch3.0", cin, c5r, 1), f"{name}.branch3.1", c5r, c5, 3)
    b4 = n.max_pool(x, f"{name}.branch4.pool", 3, 1, pad=1, ceil=True)
    b4 = n.conv(b4, f"{name}.branch4.1", cin, pool_proj, 1)
    return n.node("Concat", [b1, b2, b3, b4], name, axis=1)


def vgg16():
    """torchvision vgg16 (configuration D, no batch norm)."""
    n = Net("vgg16", seed=16)
    x, cin, i = "input", 3, 0
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    for v in cfg:
        if v == "M":
            x = n.max_pool(x, f"features.{i}", 2, 2)
        else:
            x = n.conv(x, f"features.{i}", cin, v, 3)
            cin = v
        i += 1
    x = n.node("Flatten", [x], "flatten", axis=1)
    x = n.node("Relu", [n.fc(x, "classifier.0", 512 * 7 * 7, 4096)], "classifier.1")
    x = n.node("Relu", [n.fc(x, "classifier.3", 4096, 4096)], "classifier.4")
    y = n.fc(x, "classifier.6", 4096, 1000)
    return n.model(image(224), classes(y), "VGG-16, torchvision layer shapes.")


def ssd_resnet34():
    """MLPerf Inference SSD-ResNet34 at 1200×1200 (mlcommons/inference ssd_r34.py): the
    ResNet-34 trunk up to conv4_x with its first block's stride set to 1, five extra
    feature blocks and 3×3 stride-3 loc/conf heads over six feature maps (50², 25², 13²,
    7², 3², 3²; 15130 default boxes). Box decoding and NMS are not part of the graph."""
    n = Net("ssd_resnet34", seed=34)
    x = n.conv("input", "backbone.conv1", 3, 64, 7, stride=2)
    x = n.max_pool(x, "backbone.maxpool", 3, 2, pad=1)
    cin = 64
    for i, (width, blocks, stride) in enumerate([(64, 3, 1), (128, 4, 2), (256, 6, 1)]):
        for b in range(blocks):
            name = f"backbone.layer{i + 1}.{b}"
            x = basic_block(n, x, name, cin, width, stride if b == 0 else 1)
            cin = width
    features = [x]
    chans = [256, 512, 512, 256, 256, 256]
    extra = [(256, 2, 1), (256, 2, 1), (128, 2, 1), (128, 2, 0), (128, 1, 0)]  # mid, stride, pad
    for i, (mid, stride, pad) in enumerate(extra):
        y = n.conv(features[-1], f"additional.{i}.0", chans[i], mid, 1)
        y = n.conv(y, f"additional.{i}.2", mid, chans[i + 1], 3, stride=stride, pad=pad)
        features.append(y)
    locs, confs = [], []
    for i, (f, c, boxes) in enumerate(zip(features, chans, [4, 6, 6, 6, 4, 4])):
        locs.append(head(n, f, f"loc.{i}", c, boxes * 4, 4))
        confs.append(head(n, f, f"conf.{i}", c, boxes * 81, 81))
    loc = n.node("Concat", locs, "locs", axis=2)
    conf = n.node("Concat", confs, "confs", axis=2)
    outputs = [(loc, ["N", 4, 15130]), (conf, ["N", 81, 15130])]
    return n.model(image(1200), outputs, "SSD-ResNet34 1200x1200, MLPerf reference layer shapes.")


def basic_block(n, x, name, cin, width, stride):
    y = n.conv(x, f"{name}.conv1", cin, width, 3, stride=stride)
    y = n.conv(y, f"{name}.conv2", width, width, 3, act=None)
    if stride != 1 or cin != width:
        x = n.conv(x, f"{name}.downsample", cin, width, 1, stride=stride, act=None)
    y = n.node("Add", [y, x], f"{name}.add")
    return n.node("Relu", [y], f"{name}.relu")


def head(n, x, name, cin, cout, per_box):
    """3×3 stride-3 prediction conv, viewed as [N, per_box, boxes]."""
    y = n.conv(x, name, cin, cout, 3, stride=3, act=None)
    return n.node("Reshape", [y, n.const([0, per_box, -1], np.int64)], f"{name}.view")


def bert_base(layers=12, seq=128, hidden=768, heads=12, ffn=3072):
    """BERT-base encoder (post-LayerNorm, erf GELU), sequence 128. The input is the sum of
    the word, position and token-type embeddings (the table lookups are not GEMMs); no
    padding mask; the pooler is left out."""
    n = Net("bert_base", seed=110, opset=20)
    x = n.layer_norm("embeddings", "embeddings.LayerNorm", hidden, 1e-12)
    for i in range(layers):
        name = f"encoder.layer.{i}"
        a = n.attention(x, f"{name}.attention", hidden, heads)
        x = n.layer_norm(n.node("Add", [a, x], f"{name}.attention.residual"),
                         f"{name}.attention.LayerNorm", hidden, 1e-12)
        m = n.mlp(x, f"{name}.mlp", hidden, ffn, approximate="none")
        x = n.layer_norm(n.node("Add", [m, x], f"{name}.mlp.residual"),
                         f"{name}.output.LayerNorm", hidden, 1e-12)
    return n.model([("embeddings", ["N", seq, hidden])], [(x, ["N", seq, hidden])],
                   "BERT-base encoder, 12 layers, hidden 768, 12 heads, FFN 3072, sequence 128.")


def gpt_block(seq=128, hidden=768, heads=12, ffn=3072):
    """One GPT-2-small decoder block (pre-LayerNorm, tanh GELU) and the final LayerNorm,
    sequence 128; the causal mask is an Add of a constant (0 on and below the diagonal,
    -10000 above). No token embedding and no LM head."""
    n = Net("gpt_block", seed=2019, opset=20)
    causal = np.triu(np.full((seq, seq), -10000.0, dtype=np.float32), k=1).reshape(1, 1, seq, seq)
    mask = n.init("causal_mask", causal)
    x = "hidden_states"
    a = n.attention(n.layer_norm(x, "h.0.ln_1", hidden, 1e-5), "h.0.attn", hidden, heads, mask)
    x = n.node("Add", [x, a], "h.0.attn.residual")
    m = n.mlp(n.layer_norm(x, "h.0.ln_2", hidden, 1e-5), "h.0.mlp", hidden, ffn, approximate="tanh")
    x = n.node("Add", [x, m], "h.0.mlp.residual")
    y = n.layer_norm(x, "ln_f", hidden, 1e-5)
    return n.model([("hidden_states", ["N", seq, hidden])], [(y, ["N", seq, hidden])],
                   "GPT-2-small decoder block (hidden 768, 12 heads, FFN 3072), sequence 128.")


MODELS = {
    "resnet50": resnet50,
    "mobilenet_v2": mobilenet_v2,
    "googlenet": googlenet,
    "vgg16": vgg16,
    "ssd_resnet34": ssd_resnet34,
    "bert_base": bert_base,
    "gpt_block": gpt_block,
}


# ---------------------------------------------------------------- MAC count


def count_macs(model):
    """MACs of the GEMM-class nodes as cdmsa counts them, with every symbolic dim bound
    to 1: Conv N·OH·OW·(Cin/g)·KH·KW·Cout, MatMul and Gemm M·K·N per batch."""
    shapes = {t.name: list(t.dims) for t in model.graph.initializer}
    # Shape inference on a copy without the weights: large initializers become typed
    # graph inputs (small ones, such as Reshape targets, keep their values).
    g = model.graph
    light = helper.make_model(
        helper.make_graph(g.node, g.name, g.input, g.output),
        opset_imports=model.opset_import,
        ir_version=model.ir_version,
    )
    for d in (d for v in light.graph.input for d in v.type.tensor_type.shape.dim):
        if not d.HasField("dim_value"):
            d.dim_value = 1
    for t in model.graph.initializer:
        if math.prod(t.dims) <= 64:
            light.graph.initializer.append(t)
        else:
            light.graph.input.append(helper.make_tensor_value_info(t.name, t.data_type, t.dims))
    inferred = shape_inference.infer_shapes(light, check_type=True, strict_mode=True)
    g = inferred.graph
    for v in list(g.input) + list(g.value_info) + list(g.output):
        shapes[v.name] = [d.dim_value for d in v.type.tensor_type.shape.dim]
    total = 0
    for node in g.node:
        out = shapes[node.output[0]]
        if node.op_type == "Conv":
            w = shapes[node.input[1]]  # [Cout, Cin/g, KH, KW]
            total += math.prod(out) * math.prod(w[1:])
        elif node.op_type == "MatMul":
            total += math.prod(out) * shapes[node.input[0]][-1]
        elif node.op_type == "Gemm":
            a = shapes[node.input[0]]
            trans_a = any(at.name == "transA" and at.i for at in node.attribute)
            total += math.prod(out) * (a[0] if trans_a else a[1])
    return total


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="+", choices=sorted(MODELS), help="build only these models")
    ap.add_argument("--out", type=Path, default=HERE, help="output directory (default: this one)")
    args = ap.parse_args()
    expected = json.loads(EXPECTED.read_text())
    tol = expected["tolerance"]
    args.out.mkdir(parents=True, exist_ok=True)
    failures = []
    print(f"{'model':<14} {'MACs':>16} {'published':>16} {'diff':>7} {'size':>9} {'time':>6}")
    for name in args.only or MODELS:
        start = time.perf_counter()
        model = MODELS[name]()
        entry = expected["models"][name]
        path = args.out / entry["file"]
        onnx.save(model, path)
        onnx.checker.check_model(str(path), full_check=True)
        macs = count_macs(model)
        elapsed = time.perf_counter() - start
        published = entry["published_macs"]
        diff = macs / published - 1
        print(f"{name:<14} {macs:>16,} {published:>16,} {diff:>+7.2%} "
              f"{path.stat().st_size / 2**20:>7.1f}Mi {elapsed:>5.1f}s", flush=True)
        if macs != entry["generated_macs"]:
            failures.append(f"{name}: counted {macs} MACs, expected_macs.json says "
                            f"{entry['generated_macs']}")
        if abs(diff) > tol:
            failures.append(f"{name}: {diff:+.2%} from the published figure (tolerance {tol:.0%})")
    for f in failures:
        print("error:", f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
