"""A small GPT-2-style decoder with a KV-cache interface, and onnxruntime's outputs for a
prompt and several greedy decode steps.

The model has the interface Hugging Face Optimum exports decoder-only transformers with:
inputs `input_ids [batch, seq]` (int64), `attention_mask [batch, past + seq]` (int64),
`position_ids [batch, seq]` (int64) and, per layer i, `past_key_values.{i}.key` and
`past_key_values.{i}.value [batch, heads, past, head_dim]`; outputs `logits
[batch, seq, vocab]` and `present.{i}.key`, `present.{i}.value [batch, heads, past + seq,
head_dim]`. Pre-LayerNorm blocks, tanh GELU, causal attention masked by the attention mask,
and a language-model head. The causal mask is built inside the graph
from the shapes (Shape, Range, LessOrEqual, And, Where), as exporters do.

Weights are seeded normals (no accuracy is claimed: the test checks values against
onnxruntime, step by step). The prompt runs in one step (prefill, past of length 0), then
each decode step feeds the greedy token of the previous step and the previous step's
present as past.

Writes models/decoder/: model.onnx, and per step `step_{s}/input_{k}.pb` (every graph input
in order, with onnxruntime's own past) and `step_{s}/output_{k}.pb` (every graph output), and
tokens.json (prompt and greedy tokens, and the smallest top-1 margin of any step).

Usage: python3 models/make_decoder.py   (onnx 1.22, onnxruntime 1.32, numpy; models/requirements.txt)
"""

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OUT = Path(__file__).resolve().parent / "decoder"
SEED = 20261206
VOCAB, D, HEADS, LAYERS, CTX, MLP = 96, 64, 4, 2, 64, 256
HEAD_DIM = D // HEADS
PROMPT = [11, 42, 7, 73, 5, 29]
DECODE_STEPS = 5
OPSET = 20


class Builder:
    def __init__(self, rng):
        self.rng = rng
        self.nodes, self.inits = [], []
        self.count = 0

    def name(self, base):
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(self, name, shape, std):
        return self.const(name, (self.rng.standard_normal(shape) * std).astype(np.float32))

    def node(self, op, inputs, name, **attrs):
        out = self.name(name)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def layer_norm(self, x, name):
        scale = self.const(f"{name}.weight", (1.0 + 0.1 * self.rng.standard_normal(D)).astype(np.float32))
        bias = self.const(f"{name}.bias", (0.1 * self.rng.standard_normal(D)).astype(np.float32))
        return self.node("LayerNormalization", [x, scale, bias], name, axis=-1, epsilon=1e-5)

    def linear(self, x, name, fan_in, fan_out):
        w = self.weight(f"{name}.weight", (fan_in, fan_out), 1.0 / np.sqrt(fan_in))
        b = self.weight(f"{name}.bias", (fan_out,), 0.05)
        return self.node("Add", [self.node("MatMul", [x, w], f"{name}.matmul"), b], f"{name}.add")


def build():
    rng = np.random.default_rng(SEED)
    b = Builder(rng)
    wte = b.weight("wte", (VOCAB, D), 0.5)
    wpe = b.weight("wpe", (CTX, D), 1.0)
    i64 = lambda name, v: b.const(name, np.array(v, dtype=np.int64))
    zero, one = i64("zero", 0), i64("one", 1)
    ax0, ax1 = i64("axes0", [0]), i64("axes1", [1])

    # The additive mask [batch, 1, seq, past + seq]: 0 where key j may be attended by query i
    # (j ≤ past + i and the mask is set), a large negative number elsewhere.
    total = b.node("Gather", [b.node("Shape", ["attention_mask"], "mask.shape"), one], "total", axis=0)
    seq = b.node("Gather", [b.node("Shape", ["input_ids"], "ids.shape"), one], "seq", axis=0)
    past = b.node("Sub", [total, seq], "past")
    rows = b.node("Range", [past, total, one], "rows")
    cols = b.node("Range", [zero, total, one], "cols")
    causal = b.node("LessOrEqual", [b.node("Unsqueeze", [cols, ax0], "cols.row"),
                                    b.node("Unsqueeze", [rows, ax1], "rows.col")], "causal")
    keep = b.node("Cast", [b.node("Unsqueeze", ["attention_mask", i64("axes12", [1, 2])], "mask.4d")],
                  "mask.bool", to=TensorProto.BOOL)
    allowed = b.node("And", [causal, keep], "allowed")
    bias = b.node("Where", [allowed, b.const("attend", np.array(0.0, dtype=np.float32)),
                            b.const("masked", np.array(-1e9, dtype=np.float32))], "mask.bias")

    h = b.node("Add", [b.node("Gather", [wte, "input_ids"], "embed.tokens", axis=0),
                       b.node("Gather", [wpe, "position_ids"], "embed.positions", axis=0)], "embed")
    split_heads = i64("split_heads", [0, 0, HEADS, HEAD_DIM])
    merge_heads = i64("merge_heads", [0, 0, D])
    scale = b.const("scale", np.array(1.0 / np.sqrt(HEAD_DIM), dtype=np.float32))
    outputs = []
    for i in range(LAYERS):
        p = f"h.{i}"
        x = b.layer_norm(h, f"{p}.ln_1")
        heads = {}
        for part in ("query", "key", "value"):
            y = b.linear(x, f"{p}.attn.{part}", D, D)
            y = b.node("Reshape", [y, split_heads], f"{p}.attn.{part}.split")
            heads[part] = b.node("Transpose", [y], f"{p}.attn.{part}.heads", perm=[0, 2, 1, 3])
        key = b.node("Concat", [f"past_key_values.{i}.key", heads["key"]], f"{p}.attn.key.cache", axis=2)
        value = b.node("Concat", [f"past_key_values.{i}.value", heads["value"]], f"{p}.attn.value.cache", axis=2)
        b.nodes.append(helper.make_node("Identity", [key], [f"present.{i}.key"], name=f"present.{i}.key"))
        b.nodes.append(helper.make_node("Identity", [value], [f"present.{i}.value"], name=f"present.{i}.value"))
        outputs += [f"present.{i}.key", f"present.{i}.value"]
        key_t = b.node("Transpose", [key], f"{p}.attn.key.t", perm=[0, 1, 3, 2])
        scores = b.node("Mul", [b.node("MatMul", [heads["query"], key_t], f"{p}.attn.scores"), scale], f"{p}.attn.scaled")
        probs = b.node("Softmax", [b.node("Add", [scores, bias], f"{p}.attn.masked")], f"{p}.attn.probs", axis=-1)
        ctx = b.node("MatMul", [probs, value], f"{p}.attn.context")
        ctx = b.node("Reshape", [b.node("Transpose", [ctx], f"{p}.attn.merge", perm=[0, 2, 1, 3]), merge_heads], f"{p}.attn.merged")
        h = b.node("Add", [h, b.linear(ctx, f"{p}.attn.proj", D, D)], f"{p}.residual_1")
        x = b.layer_norm(h, f"{p}.ln_2")
        x = b.node("Gelu", [b.linear(x, f"{p}.mlp.fc", D, MLP)], f"{p}.mlp.gelu", approximate="tanh")
        h = b.node("Add", [h, b.linear(x, f"{p}.mlp.proj", MLP, D)], f"{p}.residual_2")
    h = b.layer_norm(h, "ln_f")
    head = b.weight("lm_head.weight", (D, VOCAB), 1.0 / np.sqrt(D))
    b.nodes.append(helper.make_node("MatMul", [h, head], ["logits"], name="lm_head"))

    cache = lambda name: helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", HEADS, "past", HEAD_DIM])
    present = lambda name: helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", HEADS, "total", HEAD_DIM])
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "total"]),
        helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch", "seq"]),
    ]
    for i in range(LAYERS):
        inputs += [cache(f"past_key_values.{i}.key"), cache(f"past_key_values.{i}.value")]
    graph_outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "seq", VOCAB])]
    graph_outputs += [present(n) for n in outputs]
    graph = helper.make_graph(b.nodes, "tiny_gpt_decoder", inputs, graph_outputs, b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="cdmsa models/make_decoder.py")
    model.ir_version = 9
    onnx.checker.check_model(model, full_check=True)
    return model


def main():
    model = build()
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("step_*"):
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    onnx.save(model, OUT / "model.onnx")
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(OUT / "model.onnx"), opts, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    past = {f"past_key_values.{i}.{kv}": np.zeros((1, HEADS, 0, HEAD_DIM), np.float32)
            for i in range(LAYERS) for kv in ("key", "value")}
    ids, generated, margins = list(PROMPT), [], []
    step_ids = ids
    for step in range(DECODE_STEPS + 1):
        done = len(ids) - len(step_ids)
        feed = {
            "input_ids": np.array([step_ids], np.int64),
            "attention_mask": np.ones((1, len(ids)), np.int64),
            "position_ids": np.arange(done, len(ids), dtype=np.int64)[None, :],
            **past,
        }
        out = session.run(None, feed)
        d = OUT / f"step_{step}"
        d.mkdir()
        for k, name in enumerate(names):
            onnx.save_tensor(numpy_helper.from_array(feed[name], name), d / f"input_{k}.pb")
        for k, (o, value) in enumerate(zip(session.get_outputs(), out)):
            onnx.save_tensor(numpy_helper.from_array(value, o.name), d / f"output_{k}.pb")
        last = out[0][0, -1]
        top = np.sort(last)[::-1]
        margins.append(float(top[0] - top[1]))
        token = int(np.argmax(last))
        generated.append(token)
        past = {n.name: v for n, v in zip(session.get_outputs()[1:], out[1:])}
        past = {n.replace("present", "past_key_values"): v for n, v in past.items()}
        ids.append(token)
        step_ids = [token]
    (OUT / "tokens.json").write_text(json.dumps({
        "prompt": PROMPT, "greedy": generated, "smallest_top1_margin": min(margins),
        "onnxruntime": ort.__version__, "onnx": onnx.__version__,
        "graph_optimization_level": "ORT_DISABLE_ALL",
    }, indent=1) + "\n")
    print(f"prompt {PROMPT} -> greedy {generated}, smallest top-1 margin {min(margins):.4f}")


if __name__ == "__main__":
    main()
