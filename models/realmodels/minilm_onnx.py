"""Writes all-MiniLM-L6-v2 (a 6-layer BERT sentence encoder) as ONNX from its safetensors weights.

The graph is the one the model's Hugging Face / sentence-transformers code computes, written
node by node as an opset-17 export of it looks: BertModel (embeddings, 6 encoder layers of
12-head self-attention and a GELU feed-forward block, post-LayerNorm), then the
sentence-transformers head, mean pooling over the attention mask and L2 normalisation.

Inputs: input_ids, attention_mask, token_type_ids, int64 [batch, sequence].
Outputs: last_hidden_state float32 [batch, sequence, 384];
         sentence_embedding float32 [batch, 384] (unit length).
"""

import json
import struct
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HIDDEN, HEADS, LAYERS, EPS = 384, 12, 6, 1e-12
HEAD = HIDDEN // HEADS


def read_safetensors(path: Path) -> dict:
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header.pop("__metadata__", None)
    dtypes = {"F32": np.float32, "I64": np.int64}
    return {
        name: np.frombuffer(data, dtypes[t["dtype"]], offset=8 + n + t["data_offsets"][0],
                            count=int(np.prod(t["shape"]))).reshape(t["shape"])
        for name, t in header.items()
    }


class Builder:
    def __init__(self, weights: dict):
        self.w, self.nodes, self.inits, self.count = weights, [], [], 0

    def const(self, name: str, value) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def weight(self, name: str, transpose: bool = False) -> str:
        v = self.w[name]
        return self.const(name, np.ascontiguousarray(v.T) if transpose else v)

    def op(self, op_type: str, *inputs: str, out: str = "", **attrs) -> str:
        self.count += 1
        out = out or f"{op_type.lower()}_{self.count}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out

    def linear(self, x: str, prefix: str) -> str:
        y = self.op("MatMul", x, self.weight(f"{prefix}.weight", transpose=True))
        return self.op("Add", y, self.weight(f"{prefix}.bias"))

    def layer_norm(self, x: str, prefix: str) -> str:
        return self.op("LayerNormalization", x, self.weight(f"{prefix}.weight"),
                       self.weight(f"{prefix}.bias"), axis=-1, epsilon=EPS)

    def heads(self, x: str, perm: list) -> str:
        """[B, S, 384] -> [B, 12, S, 32] (perm 0,2,1,3) or [B, 12, 32, S] (perm 0,2,3,1)."""
        return self.op("Transpose", self.op("Reshape", x, "heads_shape"), perm=perm)

    def attention(self, x: str, mask: str, prefix: str) -> str:
        q = self.heads(self.linear(x, f"{prefix}.self.query"), [0, 2, 1, 3])
        k = self.heads(self.linear(x, f"{prefix}.self.key"), [0, 2, 3, 1])
        v = self.heads(self.linear(x, f"{prefix}.self.value"), [0, 2, 1, 3])
        scores = self.op("Div", self.op("MatMul", q, k), "sqrt_head")
        probs = self.op("Softmax", self.op("Add", scores, mask), axis=-1)
        ctx = self.op("Transpose", self.op("MatMul", probs, v), perm=[0, 2, 1, 3])
        ctx = self.linear(self.op("Reshape", ctx, "hidden_shape"), f"{prefix}.output.dense")
        return self.layer_norm(self.op("Add", ctx, x), f"{prefix}.output.LayerNorm")

    def gelu(self, x: str) -> str:
        """Exact GELU, x * 0.5 * (1 + erf(x / sqrt 2))."""
        erf = self.op("Erf", self.op("Div", x, "sqrt_2"))
        return self.op("Mul", self.op("Mul", x, self.op("Add", erf, "one")), "half")

    def encoder_layer(self, x: str, mask: str, i: int) -> str:
        p = f"encoder.layer.{i}"
        x = self.attention(x, mask, f"{p}.attention")
        h = self.gelu(self.linear(x, f"{p}.intermediate.dense"))
        h = self.linear(h, f"{p}.output.dense")
        return self.layer_norm(self.op("Add", h, x), f"{p}.output.LayerNorm")

    def graph(self) -> onnx.ModelProto:
        f32 = lambda v: np.array(v, np.float32)  # noqa: E731
        self.const("heads_shape", np.array([0, 0, HEADS, HEAD], np.int64))
        self.const("hidden_shape", np.array([0, 0, HIDDEN], np.int64))
        self.const("sqrt_head", f32(np.sqrt(HEAD)))
        self.const("sqrt_2", f32(np.sqrt(2.0)))
        self.const("one", f32(1.0))
        self.const("half", f32(0.5))
        self.const("mask_min", f32(np.finfo(np.float32).min))
        self.const("pooling_eps", f32(1e-9))
        self.const("norm_eps", f32(1e-12))
        self.const("axis_1", np.array([1], np.int64))
        self.const("axis_last", np.array([-1], np.int64))
        self.const("zero_i", np.array(0, np.int64))
        self.const("one_i", np.array(1, np.int64))

        # Embeddings: word + token type + position, then LayerNorm.
        seq = self.op("Gather", self.op("Shape", "input_ids"), "one_i", axis=0)
        positions = self.op("Range", "zero_i", seq, "one_i")
        x = self.op("Add", self.op("Gather", self.weight("embeddings.word_embeddings.weight"),
                                   "input_ids", axis=0),
                    self.op("Gather", self.weight("embeddings.token_type_embeddings.weight"),
                            "token_type_ids", axis=0))
        x = self.op("Add", x, self.op("Gather", self.weight("embeddings.position_embeddings.weight"),
                                      positions, axis=0))
        x = self.layer_norm(x, "embeddings.LayerNorm")

        # Additive attention mask [B, 1, 1, S]: 0 where attended, float32 min where padded.
        mask_f = self.op("Cast", "attention_mask", to=TensorProto.FLOAT)
        additive = self.op("Mul", self.op("Sub", "one", mask_f), "mask_min")
        additive = self.op("Unsqueeze", additive, self.const("mask_axes", np.array([1, 2], np.int64)))

        for i in range(LAYERS):
            x = self.encoder_layer(x, additive, i)
        self.op("Identity", x, out="last_hidden_state")

        # Mean pooling over the attended tokens, then L2 normalisation.
        m = self.op("Unsqueeze", mask_f, "axis_last")
        summed = self.op("ReduceSum", self.op("Mul", "last_hidden_state", m), "axis_1", keepdims=0)
        count = self.op("Max", self.op("ReduceSum", m, "axis_1", keepdims=0), "pooling_eps")
        pooled = self.op("Div", summed, count)
        norm = self.op("Sqrt", self.op("ReduceSum", self.op("Mul", pooled, pooled), "axis_last",
                                       keepdims=1))
        self.op("Div", pooled, self.op("Max", norm, "norm_eps"), out="sentence_embedding")

        ids = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"])
               for n in ("input_ids", "attention_mask", "token_type_ids")]
        outs = [
            helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT,
                                          ["batch", "sequence", HIDDEN]),
            helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT,
                                          ["batch", HIDDEN]),
        ]
        g = helper.make_graph(self.nodes, "all-MiniLM-L6-v2", ids, outs, self.inits)
        model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)],
                                  producer_name="cdmsa models/realmodels/minilm_onnx.py")
        model.ir_version = 8
        return model


def write_model(weights: Path, out: Path) -> None:
    model = Builder(read_safetensors(weights)).graph()
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, out)
