#!/usr/bin/env python3
"""Copy the ONNX backend node tests for the operators cdmsa supports.

Source: the node tests shipped inside the installed `onnx` package
(onnx/backend/test/data/node/, present in the onnx wheels up to 1.22.0).
Destination: <this directory>/onnx-node-tests/<test name>/ (model.onnx and
test_data_set_*/), plus PROVENANCE.md describing the selection.

Selection rule (a test is copied only if all hold):
  * its name does not contain "_expanded" (function-expanded variants);
  * every node of model.onnx is in the default domain ("" or "ai.onnx") and
    its op_type is in SUPPORTED_OPS; the model defines no local functions;
  * the model imports default-domain opset MIN_OPSET or later;
  * every graph input and output is a tensor (not a sequence, optional, map
    or sparse tensor) of an element type in SUPPORTED_DTYPES;
  * every node has exactly one output, except the ops in MULTI_OUTPUT (at
    most the number given there); BatchNormalization additionally must not be
    in training mode (training_mode=1 has three outputs).
    (This excludes e.g. MaxPool with the Indices output.)
  * no node uses an attribute value listed in UNSUPPORTED_ATTRS (features the
    emulator rejects with a clear error, e.g. Resize's cubic mode).
"""
import os
import shutil
import sys
from collections import Counter, defaultdict

import onnx
from onnx import TensorProto

SUPPORTED_OPS = [
    "Conv", "Gemm", "MatMul", "QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger",
    "Relu", "Clip", "Add", "Sub", "Mul", "Div", "BatchNormalization", "MaxPool", "AveragePool",
    "GlobalAveragePool", "Flatten", "Reshape", "Transpose", "Concat", "Softmax",
    "QuantizeLinear", "DequantizeLinear", "Identity",
    "GlobalMaxPool", "Shape", "Gather", "Unsqueeze", "Squeeze", "Cast", "Slice",
    "ConvTranspose", "Resize", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Erf", "Gelu",
    "LeakyRelu", "PRelu", "Pow", "Sqrt", "Exp", "Log", "Neg", "Abs", "Reciprocal", "Softplus",
    "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "LayerNormalization", "Split",
    "Expand", "Where", "Range", "ConstantOfShape", "Pad", "Min", "Max",
    "DynamicQuantizeLinear", "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual",
    "Not", "And", "Or", "Xor", "Floor", "Ceil", "Round", "LSTM", "GRU", "RNN",
]
# Ops with more than one output, and the most outputs each may have (None: any number).
MULTI_OUTPUT = {
    "Split": None, "DynamicQuantizeLinear": 3, "LayerNormalization": 3,
    "LSTM": 3, "GRU": 2, "RNN": 2,
}
# (op, attribute, value) combinations the emulator rejects, with the reason.
UNSUPPORTED_ATTRS = [
    ("Resize", "mode", b"cubic", "Resize mode=cubic is not supported"),
    ("Resize", "antialias", 1, "Resize antialias=1 is not supported"),
    ("Resize", "exclude_outside", 1, "Resize exclude_outside=1 is not supported"),
]
SUPPORTED_DTYPES = {
    TensorProto.FLOAT: "float32", TensorProto.FLOAT16: "float16", TensorProto.BFLOAT16: "bfloat16",
    TensorProto.INT8: "int8", TensorProto.UINT8: "uint8", TensorProto.INT32: "int32",
    TensorProto.INT64: "int64", TensorProto.BOOL: "bool",
}
DEFAULT_DOMAINS = ("", "ai.onnx")
MIN_OPSET = 7                           # the oldest default-domain opset cdmsa imports

HERE = os.path.dirname(os.path.abspath(__file__))
DEST = os.path.join(HERE, "onnx-node-tests")
SRC_REL = "onnx/backend/test/data/node"


def dtype_name(t):
    return TensorProto.DataType.Name(t).lower()


def io_problem(vi):
    """None if the value is a tensor of a supported dtype, else a reason."""
    kind = vi.type.WhichOneof("value")
    if kind != "tensor_type":
        return f"{kind} io"
    et = vi.type.tensor_type.elem_type
    if et not in SUPPORTED_DTYPES:
        return f"dtype {dtype_name(et)}"
    return None


def classify(model):
    """Return (ops, reason) where reason is None when the test is selected."""
    g = model.graph
    ops = sorted({n.op_type for n in g.node})
    for n in g.node:
        if n.domain not in DEFAULT_DOMAINS:
            return ops, f"domain {n.domain}"
    unsupported = sorted({n.op_type for n in g.node if n.op_type not in SUPPORTED_OPS})
    if unsupported:
        return ops, "op " + ",".join(unsupported)
    if len(model.functions):
        return ops, "local functions"
    opset = opset_of(model)
    if opset is not None and opset < MIN_OPSET:
        return ops, f"opset {opset}, older than the oldest supported ({MIN_OPSET})"
    for vi in list(g.input) + list(g.output):
        p = io_problem(vi)
        if p:
            return ops, p
    for n in g.node:
        if n.op_type == "BatchNormalization":
            for a in n.attribute:
                if a.name == "training_mode" and a.i == 1:
                    return ops, "BatchNormalization training_mode=1"
        for op, name, value, reason in UNSUPPORTED_ATTRS:
            for a in n.attribute:
                if n.op_type == op and a.name == name and value in (a.i, a.s):
                    return ops, reason
        outs = [o for o in n.output if o]
        if n.op_type in MULTI_OUTPUT:
            most = MULTI_OUTPUT[n.op_type]
            if most is not None and len(n.output) > most:
                return ops, f"{n.op_type} with {len(n.output)} outputs"
        elif len(outs) != 1 or len(n.output) != 1:
            return ops, f"{n.op_type} with {len(outs)} outputs"
    return ops, None


def opset_of(model):
    for o in model.opset_import:
        if o.domain in DEFAULT_DOMAINS:
            return o.version
    return None


def dir_size(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def main():
    if onnx.__version__ != "1.22.0":
        print(f"warning: expected onnx 1.22.0, found {onnx.__version__}", file=sys.stderr)
    src = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "node")
    if not os.path.isdir(src):
        sys.exit(f"no node tests in the installed onnx package ({src}); install onnx==1.22.0")

    if os.path.isdir(DEST):
        shutil.rmtree(DEST)
    os.makedirs(DEST)

    selected = []                       # (name, ops, opset, n_datasets)
    excluded = defaultdict(list)        # reason -> [name] (only tests touching a supported op)
    for name in sorted(os.listdir(src)):
        tdir = os.path.join(src, name)
        mpath = os.path.join(tdir, "model.onnx")
        if not os.path.isfile(mpath):
            continue
        model = onnx.load(mpath)
        ops, reason = classify(model)
        touches_supported = any(o in SUPPORTED_OPS for o in ops)
        if "_expanded" in name:
            if touches_supported and reason is None:
                excluded["expanded variant"].append(name)
            continue
        if reason is not None:
            if touches_supported:
                excluded[reason].append(name)
            continue
        onnx.checker.check_model(model)
        datasets = sorted(d for d in os.listdir(tdir) if d.startswith("test_data_set_"))
        dst = os.path.join(DEST, name)
        os.makedirs(dst)
        shutil.copyfile(mpath, os.path.join(dst, "model.onnx"))
        for d in datasets:
            shutil.copytree(os.path.join(tdir, d), os.path.join(dst, d))
        selected.append((name, ops, opset_of(model), len(datasets)))

    per_op = Counter()
    for _, ops, _, _ in selected:
        for o in ops:
            per_op[o] += 1

    size = dir_size(DEST)
    print(f"onnx {onnx.__version__}: copied {len(selected)} node tests, {size / 1024:.1f} KiB")
    print("\nper op (a test counts once for each op it uses):")
    for o in SUPPORTED_OPS:
        print(f"  {o:<20} {per_op.get(o, 0)}")
    print("\nexcluded tests that use a supported op:")
    for reason in sorted(excluded):
        names = excluded[reason]
        print(f"  [{reason}] {len(names)}")
        for n in names:
            print(f"      {n}")

    with open(os.path.join(DEST, "PROVENANCE.md"), "w") as f:
        f.write("# ONNX backend node tests (subset)\n\n")
        f.write(f"- Source: the `onnx` Python package, version {onnx.__version__} "
                f"(PyPI `onnx=={onnx.__version__}`), directory `{SRC_REL}/` inside the wheel. "
                "These tests are part of the ONNX project (Apache License 2.0); the files are "
                "copied unchanged.\n")
        f.write("- Produced by `models/fetch_node_tests.py`; regenerate with `models/regenerate.sh`.\n")
        f.write(f"- {len(selected)} tests, {size / 1024:.1f} KiB in total.\n\n")
        f.write("## Selection rule\n\n")
        f.write("A test directory is copied (its `model.onnx` and every `test_data_set_*/`) when all of "
                "these hold:\n\n")
        f.write("1. its name does not contain `_expanded` (the function-expanded variants are left out);\n")
        f.write("2. every node is in the default domain (`\"\"` / `ai.onnx`), the model has no local "
                "functions, and every op type is one of: " + ", ".join(SUPPORTED_OPS) + ";\n")
        f.write(f"3. the model imports default-domain opset {MIN_OPSET} or later (the oldest cdmsa "
                "supports), and every graph input and output is a tensor (no sequence, optional or map) whose "
                "element type is one of: " + ", ".join(SUPPORTED_DTYPES.values()) + ";\n")
        f.write("4. every node has exactly one output — except "
                + ", ".join(f"{o} (" + ("any number" if m is None else f"at most {m}") + ")"
                            for o, m in MULTI_OUTPUT.items())
                + " — and no BatchNormalization is in training mode "
                "(`training_mode=1`). This leaves out, e.g., MaxPool with its Indices output;\n")
        f.write("5. no node uses an attribute value the emulator rejects: "
                + "; ".join(r for _, _, _, r in UNSUPPORTED_ATTRS) + ".\n\n")
        f.write("## Tests per op\n\n| op | tests |\n| --- | ---: |\n")
        for o in SUPPORTED_OPS:
            f.write(f"| {o} | {per_op.get(o, 0)} |\n")
        f.write("\n## Copied tests\n\n| test | ops | opset | data sets |\n| --- | --- | ---: | ---: |\n")
        for name, ops, opset, nds in selected:
            f.write(f"| {name} | {', '.join(ops)} | {opset} | {nds} |\n")
        f.write("\n## Left out (tests that use a supported op)\n\n")
        for reason in sorted(excluded):
            names = excluded[reason]
            f.write(f"- {reason} ({len(names)}): " + ", ".join(f"`{n}`" for n in names) + "\n")


if __name__ == "__main__":
    main()
