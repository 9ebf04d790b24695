#!/usr/bin/env python3
"""cdmsa's functional run against onnxruntime on the same models and inputs.

For each model directory (ONNX backend-test layout: model.onnx and test_data_set_0/
input_<i>.pb), times

* onnxruntime (PyPI `onnxruntime`, CPU provider, intra-op threads = --threads, inter-op 1,
  default graph optimisations): `InferenceSession.run` on the inputs, session creation
  excluded;
* cdmsa: `examples/time_run.rs` with RAYON_NUM_THREADS = --threads, which reads the model
  and inputs once and times lower + execute on the emulated arrays + compare with the
  reference + per-layer cycle costs (process start and model loading excluded);
* and, for context, the wall time of the whole `target/release/cdmsa run DIR` process
  (process start, model loading and report included),

each the median of --reps runs after one warm-up, and prints cdmsa time / onnxruntime time.

Each model is reported under its class (datapath and kind of network, read from the graph),
and the largest ratio of each class closes the report.

Default models: the committed digits models and models/real/open-nsfw-resnet50 (ResNet-50,
fetched by `python3 models/realmodels/fetch.py`; reported as SKIPPED when absent).

Usage: python3 benches/compare_onnxruntime.py [--threads 2] [--reps 10] [--preset tpu-msa]
                                              [--json out.json] [MODEL_DIR ...]
Needs: numpy, onnx, onnxruntime (pip install onnxruntime), and cargo on PATH.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODELS = [
    "models/digits/fp32",
    "models/digits/fp16",
    "models/digits/int8_qop",
    "models/digits/int8_qdq",
    "models/real/open-nsfw-resnet50",
]
TIME_RUN = ROOT / "target/release/examples/time_run"
CLI = ROOT / "target/release/cdmsa"


def read_inputs(model_dir: Path):
    import onnx
    from onnx import numpy_helper

    data = model_dir / "test_data_set_0"
    inputs = []
    i = 0
    while (data / f"input_{i}.pb").exists():
        t = onnx.TensorProto()
        t.ParseFromString((data / f"input_{i}.pb").read_bytes())
        inputs.append(numpy_helper.to_array(t))
        i += 1
    if not inputs:
        raise SystemExit(f"{data}: no input_0.pb")
    return inputs


def model_class(model_dir: Path) -> str:
    """The class a model's numbers are reported under: its datapath (int8 QOperator, int8
    QDQ, fp16, fp32) and its kind of network (CNN, transformer, recurrent)."""
    import onnx

    m = onnx.load(str(model_dir / "model.onnx"), load_external_data=False)
    ops = {n.op_type for n in m.graph.node}
    if ops & {"QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger"}:
        datapath = "int8 QOperator"
    elif {"QuantizeLinear", "DequantizeLinear"} <= ops:
        datapath = "int8 QDQ"
    elif any(t.data_type == onnx.TensorProto.FLOAT16 for t in m.graph.initializer):
        datapath = "fp16"
    else:
        datapath = "fp32"
    if ops & {"LSTM", "GRU", "RNN"}:
        kind = "recurrent"
    elif ops & {"Conv", "QLinearConv", "ConvInteger"}:
        kind = "CNN"
    else:
        kind = "transformer"
    return f"{datapath} {kind}"


def median_seconds(f, reps: int) -> float:
    f()  # warm-up
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_onnxruntime(model_dir: Path, threads: int, reps: int) -> float:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(
        str(model_dir / "model.onnx"), so, providers=["CPUExecutionProvider"]
    )
    feed = {i.name: x for i, x in zip(sess.get_inputs(), read_inputs(model_dir))}
    return median_seconds(lambda: sess.run(None, feed), reps)


def time_cdmsa(model_dir: Path, threads: int, reps: int, preset: str) -> dict:
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    out = subprocess.run(
        [str(TIME_RUN), str(model_dir), str(reps), preset],
        env=env, check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_cli(model_dir: Path, threads: int, reps: int, preset: str) -> float:
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    cmd = [str(CLI), "run", str(model_dir), "--accel", preset]

    def once() -> None:
        # Exit 1 is a verdict (outputs not bit-exact, e.g. the T5 encoder's float attention);
        # the run is complete and timed all the same. Exit 2 is an error.
        if subprocess.run(cmd, env=env, capture_output=True).returncode not in (0, 1):
            raise SystemExit(f"{' '.join(cmd)} failed")

    return median_seconds(once, reps)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*", help="model directories (default: digits + ResNet-50)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--preset", default="tpu-msa")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()

    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--bin", "cdmsa", "--example", "time_run"],
        cwd=ROOT, check=True,
    )
    import onnxruntime

    print(f"onnxruntime {onnxruntime.__version__}, {args.threads} threads, "
          f"median of {args.reps} runs, accelerator preset {args.preset}")
    print(f"{'model':<34} {'class':<24} {'ort ms':>9} {'cdmsa ms':>9} {'cdmsa/ort':>10} "
          f"{'cli ms':>9} {'GMAC':>7}")
    results, missing = [], False
    for name in args.models or DEFAULT_MODELS:
        d = (ROOT / name) if not Path(name).is_absolute() else Path(name)
        if not (d / "model.onnx").exists():
            print(f"{name:<34} SKIPPED: {d / 'model.onnx'} is absent "
                  f"(python3 models/realmodels/fetch.py fetches the real models)")
            missing = True
            continue
        ort_s = time_onnxruntime(d, args.threads, args.reps)
        emu = time_cdmsa(d, args.threads, args.reps, args.preset)
        cli_s = time_cli(d, args.threads, min(args.reps, 5), args.preset)
        ratio = emu["run_s"] / ort_s
        cls = model_class(d)
        print(f"{name:<34} {cls:<24} {ort_s * 1e3:>9.2f} {emu['run_s'] * 1e3:>9.2f} {ratio:>9.2f}× "
              f"{cli_s * 1e3:>9.1f} {emu['macs'] / 1e9:>7.3f}"
              + ("" if emu["pass"] else "   (outputs did NOT match the reference)"))
        results.append({"model": name, "class": cls, "onnxruntime_s": ort_s, "cdmsa_run_s": emu["run_s"],
                        "cdmsa_execute_s": emu["execute_s"], "cdmsa_cli_s": cli_s,
                        "ratio": ratio, "macs": emu["macs"], "pass": emu["pass"],
                        "threads": args.threads})
    if results:
        print("\nper class, the largest cdmsa/ort (goal: at most 1.5×):")
        for cls in sorted({r["class"] for r in results}):
            worst = max((r for r in results if r["class"] == cls), key=lambda r: r["ratio"])
            print(f"  {cls:<24} {worst['ratio']:>6.2f}×  ({worst['model']})")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 1 if missing and not results else 0


if __name__ == "__main__":
    sys.exit(main())
