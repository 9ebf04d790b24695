#!/usr/bin/env python3
"""SCALE-Sim v3's per-layer memory traffic of single GEMM layers, as reference data for
cdmsa's `array::scalesim_traffic` (tests/scalesim_traffic.rs).

Each row is one GEMM (M, K, N) run alone by SCALE-Sim v3 (PyPI `scalesim==3.0.0`, pinned with
its dependencies in benches/scalesim/requirements-v3.txt and installed into
target/bench-venv/scalesim3 unless --python names an interpreter that has it) in GEMM-topology
mode on one array: the dataflow, array rows and columns and the three SRAM sizes (KiB) of the
row; the rest of the configuration is fixed (CONFIG below): bandwidth mode CALC (memory never
stalls reads; the ofmap drain may stall), no sparsity, no custom layout, no Ramulator trace.
The row records SCALE-Sim's DETAILED_ACCESS_REPORT counts (SRAM IFMAP/Filter reads, SRAM
OFMAP writes, DRAM IFMAP/Filter reads, DRAM OFMAP writes) and its COMPUTE_REPORT stall and
total cycles.

Sets: `gemm` (hand-picked shapes: non-multiples of the array, K and N below and above it,
ifmap fitting and not fitting), `resnet50` (a handful of ResNet-50 conv layers as im2col GEMMs,
shapes from `cdmsa inspect zoo:resnet50`, smaller SRAMs so that they do not fit), `random`
(seeded random shapes and settings). Each is run for WS and OS (and IS for `gemm`).

SCALE-Sim 3.0.0 calls `int()` and `max()` on one-element NumPy arrays in
`double_buffered_scratchpad_mem.py`, which NumPy 2.4 rejects; the worker binds that module's
`max` to one that takes such arrays' single value, nothing else.

Usage: python3 benches/scalesim/make_traffic_reference.py [--python PY] [--seed S]
       [--random N] [--sets gemm,resnet50,random] [--out FILE] [--jobs J]
Default: all sets, seed 1, 30 random rows, out tests/data/scalesim_traffic/reference.csv
(about ten minutes on two cores). With --check, compares cdmsa (examples/scalesim_traffic)
with the fresh rows instead of writing them and exits 1 on any difference.
"""

import argparse
import csv
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
REQUIREMENTS = ROOT / "benches/scalesim/requirements-v3.txt"
VENV = ROOT / "target/bench-venv/scalesim3"
OUT = ROOT / "tests/data/scalesim_traffic/reference.csv"

CONFIG = """[general]
run_name = traffic

[architecture_presets]
ArrayHeight:    {rows}
ArrayWidth:     {cols}
IfmapSramSzkB:    {ifmap_kib}
FilterSramSzkB:   {filter_kib}
OfmapSramSzkB:    {ofmap_kib}
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : {dataflow}
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""

SETTING = ["dataflow", "rows", "cols", "ifmap_kib", "filter_kib", "ofmap_kib"]
SHAPE = ["m", "k", "n"]
COUNTS = ["sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes", "dram_ifmap_reads",
          "dram_filter_reads", "dram_ofmap_writes", "stall_cycles", "total_cycles"]
COLUMNS = ["set", "name"] + SETTING + SHAPE + COUNTS

# Hand-picked shapes (name, M, K, N) for 8x8 and 16x16 arrays.
GEMMS = [
    ("tiny", 4, 8, 4),
    ("k_below_rows", 100, 5, 40),
    ("n_below_cols", 100, 50, 3),
    ("square_multiple", 64, 64, 64),
    ("odd_all", 37, 29, 23),
    ("m_one", 1, 200, 70),
    ("k_one", 90, 1, 33),
    ("tall", 700, 20, 12),
    ("wide", 30, 40, 300),
    ("deep", 20, 500, 20),
    ("ifmap_fits", 20, 20, 40),
    ("ifmap_spills", 100, 50, 40),
    ("medium", 200, 150, 90),
]
GEMM_SETTINGS = [(8, 8, 1, 1, 1), (16, 16, 2, 1, 4), (16, 8, 8, 8, 8), (8, 16, 64, 64, 64)]

# ResNet-50 layers (the fallback when `cdmsa inspect` is not available) and their settings.
RESNET_LAYERS = {
    "conv1": (12544, 147, 64),
    "layer1.0.conv2": (3136, 576, 64),
    "layer2.0.conv2": (784, 1152, 128),
    "layer3.0.conv2": (196, 2304, 256),
    "layer4.0.conv3": (49, 512, 2048),
    "fc": (1, 2048, 1000),
}
# (setting, layers, dataflows): SCALE-Sim takes one to two minutes per layer on 32x32 and
# about four times as long on 16x16, so the smaller array runs only two layers, WS.
RESNET_RUNS = [
    ((32, 32, 64, 64, 64), list(RESNET_LAYERS), ("ws", "os")),
    ((16, 16, 16, 32, 8), ["conv1", "layer1.0.conv2"], ("ws",)),
]


def worker(job):
    """Runs one row in SCALE-Sim (inside the SCALE-Sim interpreter)."""
    import contextlib
    import builtins
    import numpy as np
    import scalesim.memory.double_buffered_scratchpad_mem as dbsp
    from scalesim.scale_sim import scalesim

    def one_element_max(*args):
        seq = args[0] if len(args) == 1 else args
        return builtins.max(float(np.asarray(x).reshape(-1)[0]) for x in seq)

    dbsp.max = one_element_max
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "scalesim.cfg")
        with open(cfg, "w") as f:
            f.write(CONFIG.format(**job))
        topo = os.path.join(d, "topology.csv")
        with open(topo, "w") as f:
            f.write("Layer, M, N, K,\n%s, %d, %d, %d,\n"
                    % (job["name"], job["m"], job["n"], job["k"]))
        layout = os.path.join(d, "layout.csv")
        with open(layout, "w") as f:
            f.write("Layer name, unused,\n")
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            s = scalesim(save_disk_space=True, verbose=False, config=cfg, topology=topo,
                         layout=layout, input_type_gemm=True)
            s.run_scale(top_path=d)
        seconds = time.perf_counter() - start

        def report(name):
            with open(os.path.join(d, "traffic", name)) as f:
                return [c.strip() for c in f.read().splitlines()[1].split(",")]

        detail = report("DETAILED_ACCESS_REPORT.csv")
        compute = report("COMPUTE_REPORT.csv")
    row = dict(job)
    # Reads/writes are the 3rd of each (start, stop, count) triple after the layer id.
    for i, key in enumerate(COUNTS[:6]):
        row[key] = int(float(detail[3 + 3 * i]))
    row["stall_cycles"] = int(compute[3])
    row["total_cycles"] = int(compute[2])
    row["seconds"] = round(seconds, 2)
    return row


def run_worker_process(jobs_file, out_file, parallel):
    """Worker entry: runs the jobs of `jobs_file` in parallel, appending each row to
    `out_file` as one JSON line as soon as it is done."""
    jobs = json.loads(Path(jobs_file).read_text())
    with ProcessPoolExecutor(max_workers=parallel) as pool, open(out_file, "a") as out:
        for done in as_completed([pool.submit(worker, job) for job in jobs]):
            row = done.result()
            print("  %-8s %-22s %s %2dx%-2d sram %4d/%4d/%4d  %6d x %5d x %5d: %7.1f s"
                  % (row["set"], row["name"], row["dataflow"], row["rows"], row["cols"],
                     row["ifmap_kib"], row["filter_kib"], row["ofmap_kib"], row["m"], row["k"],
                     row["n"], row["seconds"]), file=sys.stderr, flush=True)
            out.write(json.dumps(row) + "\n")
            out.flush()


def resnet_layers():
    """The ResNet-50 layers of RESNET_LAYERS with shapes from `cdmsa inspect` when it runs."""
    cdmsa = ROOT / "target/release/cdmsa"
    try:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "cdmsa"], cwd=ROOT,
                       check=True)
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / "inspect.json"
            subprocess.run([str(cdmsa), "inspect", "zoo:resnet50", "--json", str(out)],
                           check=True, stdout=subprocess.DEVNULL)
            layers = {l["name"]: l["gemm"] for l in json.loads(out.read_text())["layers"]
                      if l["unit"] == "array"}
        return [(name, layers[name]["m"], layers[name]["k"], layers[name]["n"])
                for name in RESNET_LAYERS]
    except (subprocess.CalledProcessError, OSError, KeyError) as e:
        print(f"cdmsa inspect unavailable ({e}): the well-known shapes", file=sys.stderr)
        return [(name, *shape) for name, shape in RESNET_LAYERS.items()]


def demand_rows(dataflow, r, c, m, k, n):
    """The cycles SCALE-Sim simulates for a GEMM (its demand matrices' rows)."""
    up = lambda a, b: -(-a // b)
    if dataflow == "ws":
        return up(n, c) * up(k, r) * (2 * r + c + m - 2)
    if dataflow == "is":
        return up(m, c) * up(k, r) * (2 * r + c + n - 2)
    return up(m, r) * up(n, c) * (r + c + k - 2)


def jobs_for(sets, seed, count):
    jobs = []

    def add(set_name, name, dataflow, setting, shape):
        rows, cols, ifmap_kib, filter_kib, ofmap_kib = setting
        m, k, n = shape
        jobs.append(dict(index=len(jobs), set=set_name, name=name, dataflow=dataflow, rows=rows, cols=cols,
                         ifmap_kib=ifmap_kib, filter_kib=filter_kib, ofmap_kib=ofmap_kib,
                         m=m, k=k, n=n))

    # The long ResNet-50 runs first, for a balanced pool.
    if "resnet50" in sets:
        shapes = {name: (m, k, n) for name, m, k, n in resnet_layers()}
        for setting, names, dataflows in RESNET_RUNS:
            for name in names:
                for df in dataflows:
                    add("resnet50", name, df, setting, shapes[name])
    if "gemm" in sets:
        for setting in GEMM_SETTINGS:
            for name, m, k, n in GEMMS:
                for df in ("ws", "os", "is"):
                    add("gemm", name, df, setting, (m, k, n))
    if "random" in sets:
        rng = random.Random(seed)
        i = 0
        while i < count:
            rows, cols = rng.choice([4, 8, 16, 32]), rng.choice([4, 8, 16, 32])
            sizes = [rng.choice([1, 2, 3, 8, 32]) for _ in range(3)]
            shape = (rng.randint(1, 400), rng.randint(1, 400), rng.randint(1, 200))
            dataflow = rng.choice(["ws", "os", "is"])
            # SCALE-Sim takes about half a millisecond per cycle: keep each run short.
            if demand_rows(dataflow, rows, cols, *shape) <= 40000:
                add("random", f"seed{seed}_{i}", dataflow, (rows, cols, *sizes), shape)
                i += 1
    return jobs


def venv_python():
    """The SCALE-Sim v3 venv's interpreter, created and filled from the pinned list if needed."""
    py = VENV / "bin/python"
    stamp = VENV / ".requirements"
    wanted = REQUIREMENTS.read_text()
    if not py.exists() or not stamp.exists() or stamp.read_text() != wanted:
        print(f"installing SCALE-Sim v3 (pinned, {REQUIREMENTS.relative_to(ROOT)}) into "
              f"{VENV.relative_to(ROOT)} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
                       check=True)
        stamp.write_text(wanted)
    return py


def write_csv(rows, path, seed):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        f.write("# SCALE-Sim v3 (scalesim==3.0.0) per-layer traffic of single GEMM layers, "
                "written by benches/scalesim/make_traffic_reference.py\n")
        f.write(f"# (random set: seed {seed}). Per row: dataflow, array rows and cols, "
                "Ifmap/Filter/OfmapSramSzkB; fixed: InterfaceBandwidth CALC, no sparsity, "
                "no custom layout, no Ramulator trace.\n")
        w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def check(rows):
    """cdmsa's counts (examples/scalesim_traffic) against the rows: the number that differ."""
    subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "scalesim_traffic"],
                   cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "rows.csv"
        write_csv(rows, path, "-")
        ours = subprocess.run([str(ROOT / "target/release/examples/scalesim_traffic"),
                               str(path)], check=True, capture_output=True, text=True).stdout
    ours = list(csv.DictReader(ln for ln in ours.splitlines() if not ln.startswith("#")))
    bad = 0
    for theirs, mine in zip(rows, ours):
        diff = {k: (theirs[k], int(mine[k])) for k in COUNTS if int(theirs[k]) != int(mine[k])}
        if diff:
            bad += 1
            print(f"DIFF {theirs['set']} {theirs['name']} {theirs['dataflow']} "
                  f"{theirs['rows']}x{theirs['cols']}: (SCALE-Sim, cdmsa) {diff}")
    print(f"{len(rows) - bad} of {len(rows)} rows equal in all {len(COUNTS)} counts")
    return bad


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        run_worker_process(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--python", help="an interpreter with scalesim==3.0.0 (default: the venv)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the random set")
    ap.add_argument("--random", type=int, default=30, help="rows of the random set")
    ap.add_argument("--sets", default="gemm,resnet50,random")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--jobs", type=int, default=2, help="SCALE-Sim runs in parallel")
    ap.add_argument("--rows-file", type=Path,
                    help="keep the rows here as JSON lines while they come (default: temporary)")
    ap.add_argument("--check", action="store_true",
                    help="compare cdmsa with the fresh rows instead of writing them")
    args = ap.parse_args()
    py = args.python or str(venv_python())
    jobs = jobs_for(args.sets.split(","), args.seed, args.random)
    print(f"SCALE-Sim v3 on {len(jobs)} GEMM rows ...", flush=True)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        jobs_file = Path(d) / "jobs.json"
        rows_file = args.rows_file or Path(d) / "rows.jsonl"
        jobs_file.write_text(json.dumps(jobs))
        subprocess.run([py, str(Path(__file__).resolve()), "--worker", str(jobs_file),
                        str(rows_file), str(args.jobs)], check=True)
        rows = sorted((json.loads(line) for line in rows_file.read_text().splitlines()),
                      key=lambda row: row["index"])
    print(f"done in {time.perf_counter() - start:.0f} s", flush=True)
    if args.check:
        sys.exit(1 if check(rows) else 0)
    write_csv(rows, args.out, args.seed)
    print(f"wrote {len(rows)} rows to {args.out}")


if __name__ == "__main__":
    main()
