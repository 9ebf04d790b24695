#!/usr/bin/env python3
"""cdmsa's timing mode against SCALE-Sim v2 on the same GEMM/conv layers.

The layers are the array layers of a real ONNX model as cdmsa lowers it (`cdmsa inspect
--json`, default: ResNet-50 of the zoo), each an (M, K, N) GEMM (a conv by im2col). Both
simulators cost them on one 32x32 weight-stationary array (benches/scalesim/ws32-scalesim.toml;
SCALE-Sim with the same array, bandwidth mode CALC so that memory never stalls the array):

* SCALE-Sim v2 (PyPI `scalesim==2.0.2`, installed with pinned dependencies into
  target/bench-venv/scalesim) runs each layer's GEMM in GEMM-topology mode; its compute
  report's "Total Cycles" is read per layer, and its wall time is measured per layer
  (Python start-up and imports excluded).
* cdmsa (`timing = "scalesim"`) costs the same layers with examples/scalesim_layers.rs: each
  layer cut into tile jobs as the lowering cuts it and each tile job costed by
  `array::tile_cycles`; its time is the mean over many passes. The whole `cdmsa inspect` run
  on the ONNX file (model loading, lowering and costing all layers, one process) is timed too.

Parity: SCALE-Sim's Total Cycles is Σ folds − 1 (DESIGN section 4), so cdmsa's layer cycles
must equal SCALE-Sim's + 1. Where cdmsa's lowering cuts a layer into several M-blocks (at
most 4096 rows of A per tile job, to bound preemption latency), SCALE-Sim is run on each
distinct M-block instead and cdmsa must equal Σ over blocks of (SCALE-Sim + 1).

Usage: python3 benches/compare_scalesim.py [--full] [--layers a,b] [--model FILE]
Default: a subset of six layers (a few minutes); --full: every array layer of the model
(SCALE-Sim needs about half an hour for ResNet-50). Exit status 1 when any layer's cycles
differ.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACCEL = ROOT / "benches/scalesim/ws32-scalesim.toml"
REQUIREMENTS = ROOT / "benches/scalesim/requirements.txt"
VENV = ROOT / "target/bench-venv/scalesim"
DEFAULT_LAYERS = [
    "conv1",
    "layer1.0.conv2",
    "layer2.0.conv2",
    "layer3.0.conv2",
    "layer4.0.conv3",
    "fc",
]

# SCALE-Sim's configuration matching ACCEL: one 32x32 WS array, scratchpads large enough,
# bandwidth computed (CALC) so that compute cycles are not stalled.
SCALESIM_CFG = """[general]
run_name = cdmsa_parity

[architecture_presets]
ArrayHeight:    32
ArrayWidth:     32
IfmapSramSzkB:    4096
FilterSramSzkB:   4096
OfmapSramSzkB:    4096
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : ws

[run_presets]
InterfaceBandwidth: CALC
"""

# Runs in the SCALE-Sim venv: each row in its own run, timed; prints JSON.
DRIVER = r"""
import json, os, sys, time, io, contextlib
from scalesim.scale_sim import scalesim
cfg, rows_file, out = sys.argv[1], sys.argv[2], sys.argv[3]
rows = json.load(open(rows_file))
results = []
for i, (name, m, n, k) in enumerate(rows):
    d = os.path.join(out, "run%d" % i)
    os.makedirs(d)
    topo = os.path.join(d, "topology.csv")
    with open(topo, "w") as f:
        f.write("Layer, M, N, K,\n%s, %d, %d, %d,\n" % (name, m, n, k))
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        s = scalesim(save_disk_space=True, verbose=False, config=cfg, topology=topo,
                     input_type_gemm=True)
        s.run_scale(top_path=d)
    seconds = time.perf_counter() - start
    with open(os.path.join(d, "cdmsa_parity", "COMPUTE_REPORT.csv")) as f:
        line = f.read().splitlines()[1]
    cols = [c.strip() for c in line.split(",")]
    results.append({"name": name, "m": m, "k": k, "n": n, "total_cycles": int(cols[1]),
                    "stall_cycles": int(cols[2]), "seconds": seconds})
    print("  SCALE-Sim %-24s %6d x %5d x %5d: %9d cycles in %7.2f s"
          % (name, m, k, n, int(cols[1]), seconds), file=sys.stderr, flush=True)
print(json.dumps(results))
"""


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def venv_python():
    """The SCALE-Sim venv's interpreter, created and filled from the pinned list if needed."""
    py = VENV / "bin/python"
    stamp = VENV / ".requirements"
    wanted = REQUIREMENTS.read_text()
    if not py.exists() or not stamp.exists() or stamp.read_text() != wanted:
        print(f"installing SCALE-Sim (pinned, {REQUIREMENTS.relative_to(ROOT)}) into "
              f"{VENV.relative_to(ROOT)} ...", flush=True)
        run([sys.executable, "-m", "venv", str(VENV)])
        run([str(py), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)])
        stamp.write_text(wanted)
    return py


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="zoo:resnet50", help="an .onnx file or zoo:NAME")
    ap.add_argument("--full", action="store_true", help="every array layer of the model")
    ap.add_argument("--layers", help="comma-separated layer names (default: a subset)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()

    model = args.model if args.model.startswith("zoo:") else Path(args.model)
    if isinstance(model, Path) and not model.exists():
        sys.exit(f"{model} not found")
    # The name reports use: the zoo name, or the file's name.
    model_name = model.removeprefix("zoo:") if isinstance(model, str) else model.name
    py = venv_python()
    run(["cargo", "build", "--release", "--quiet", "--bin", "cdmsa", "--example",
         "scalesim_layers"], cwd=ROOT)
    cdmsa = ROOT / "target/release/cdmsa"
    example = ROOT / "target/release/examples/scalesim_layers"

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # 1. The model's layers as cdmsa lowers them; the whole inspect run timed (best of 3).
        inspect_json = tmp / "inspect.json"
        inspect_s = []
        for _ in range(3):
            start = time.perf_counter()
            run([str(cdmsa), "inspect", str(model), "--accel", str(ACCEL), "--json",
                 str(inspect_json)], stdout=subprocess.DEVNULL)
            inspect_s.append(time.perf_counter() - start)
        inspected = json.loads(inspect_json.read_text())
        array_layers = [l for l in inspected["layers"] if l["unit"] == "array"]
        if any(l["problems"] != 1 for l in array_layers):
            sys.exit("layers with several GEMM problems (grouped convs) are not compared")
        wanted = (None if args.full else
                  (args.layers.split(",") if args.layers else DEFAULT_LAYERS))
        layers = [l for l in array_layers if wanted is None or l["name"] in wanted]
        if wanted is not None and len(layers) != len(wanted):
            missing = set(wanted) - {l["name"] for l in layers}
            sys.exit(f"no array layer named {sorted(missing)} in {model}")

        # 2. cdmsa's timing model on those layers (tile jobs as lowered, tile_cycles each).
        topo = tmp / "layers.csv"
        topo.write_text("Layer, M, N, K,\n" + "".join(
            f"{l['name']}, {l['gemm']['m']}, {l['gemm']['n']}, {l['gemm']['k']},\n"
            for l in layers))
        ours = json.loads(subprocess.run(
            [str(example), str(topo), str(ACCEL), "2000"], check=True,
            capture_output=True, text=True).stdout)

        # 3. SCALE-Sim on every layer (on each distinct M-block when cdmsa cuts the layer).
        rows, owner = [], []
        for l, o in zip(layers, ours["layers"]):
            if o["cycles"] != l["compute_cycles"]:
                sys.exit(f"{l['name']}: the example gives {o['cycles']} cycles, inspect "
                         f"{l['compute_cycles']}: not the same costing")
            g = l["gemm"]
            for m, count in o["m_blocks"]:
                rows.append([l["name"] if len(o["m_blocks"]) == 1 else f"{l['name']}[m={m}]",
                             m, g["n"], g["k"]])
                owner.append((l["name"], count))
        cfg = tmp / "scalesim.cfg"
        cfg.write_text(SCALESIM_CFG)
        rows_file = tmp / "rows.json"
        rows_file.write_text(json.dumps(rows))
        out = tmp / "scalesim"
        out.mkdir()
        print(f"SCALE-Sim v2 on {len(rows)} GEMMs ({len(layers)} layers of {model_name}) ...",
              flush=True)
        theirs = json.loads(subprocess.run(
            [str(py), "-c", DRIVER, str(cfg), str(rows_file), str(out)], check=True,
            stdout=subprocess.PIPE, text=True).stdout)

    # 4. Parity layer by layer, and the times.
    expect = {l["name"]: 0 for l in layers}
    ss_seconds = {l["name"]: 0.0 for l in layers}
    ss_cycles = {l["name"]: 0 for l in layers}
    stalls = 0
    for (name, count), r in zip(owner, theirs):
        expect[name] += count * (r["total_cycles"] + 1)
        ss_cycles[name] += count * r["total_cycles"]
        ss_seconds[name] += r["seconds"]
        stalls += r["stall_cycles"]
    print(f"\n{'layer':<22} {'M x K x N':>20} {'blocks':>7} {'SCALE-Sim':>11} {'cdmsa':>11}"
          f"  parity   SCALE-Sim s")
    failures = 0
    results = []
    for l, o in zip(layers, ours["layers"]):
        name, g = l["name"], l["gemm"]
        ok = o["cycles"] == expect[name]
        failures += not ok
        blocks = sum(c for _, c in o["m_blocks"])
        print(f"{name:<22} {g['m']:>6} x {g['k']:>5} x {g['n']:>5} {blocks:>7} "
              f"{ss_cycles[name]:>11} {o['cycles']:>11}  {'equal' if ok else 'DIFFER':<7}"
              f"  {ss_seconds[name]:>10.2f}")
        results.append({"layer": name, "m": g["m"], "k": g["k"], "n": g["n"],
                        "m_blocks": o["m_blocks"], "scalesim_total_cycles": ss_cycles[name],
                        "cdmsa_cycles": o["cycles"], "equal": ok,
                        "scalesim_seconds": ss_seconds[name]})
    total_ss = sum(ss_seconds.values())
    ours_s = ours["seconds_per_pass"]
    best_inspect = min(inspect_s)
    print(f"\nparity: {len(layers) - failures}/{len(layers)} layers equal "
          f"(cdmsa = Σ over M-blocks of SCALE-Sim Total Cycles + 1); "
          f"SCALE-Sim stall cycles: {stalls}")
    print(f"SCALE-Sim v2:   {total_ss:10.2f} s for {len(layers)} layers")
    print(f"cdmsa timing:   {ours_s * 1e6:10.2f} µs for the same layers (in process, mean of "
          f"{ours['repeats']} passes)")
    print(f"cdmsa inspect:  {best_inspect:10.3f} s for all {len(array_layers)} array layers "
          f"of {model_name} (whole process: loading, lowering, costing; best of 3)")
    print(f"SCALE-Sim time / cdmsa time: {total_ss / ours_s:.3g}x (timing model), "
          f"{total_ss / best_inspect:.3g}x (whole inspect process)")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "model": model_name, "accelerator": ours["accelerator"], "layers": results,
            "scalesim_seconds": total_ss, "cdmsa_seconds": ours_s,
            "cdmsa_inspect_seconds": best_inspect, "scalesim_stall_cycles": stalls,
            "ratio_timing_model": total_ss / ours_s, "ratio_inspect": total_ss / best_inspect,
            "parity": failures == 0}, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
