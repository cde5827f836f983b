"""Generator latency: torch eager vs ONNX Runtime, DCGAN 32 and 64 px, batch 1 and 64.

    .venv/bin/python benchmarks/inference_latency.py [--runs 200] [--threads N] [--json out.json]

Freshly initialised DCGAN generators (paper sizes: latent 100, ngf 64, RGB) are exported with the
same code as `gan-studio export` (BatchNorm folded, parity-checked), then timed: the median of many
calls after a warm-up, per provider ONNX Runtime can really use here (TensorRT, CUDA, CPU), against
torch eager on the CPU (and on CUDA when torch sees a GPU). Ratios are ONNX Runtime / torch on the
same device; the target on a CPU is ONNX Runtime batch-1 <= 0.5 x torch eager. Timings on a shared
machine are noisy: compare ratios, not absolute milliseconds, and re-run before trusting a change.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from gan_studio.export.inference import CPU, OnnxGenerator, usable_providers
from gan_studio.export.onnx_export import export_model
from gan_studio.models import DataInfo, create_model, default_config

CPU_TARGET_RATIO = 0.5  # ONNX Runtime batch-1 time / torch eager time on a CPU
SHORT_NAMES = {"TensorrtExecutionProvider": "ORT TensorRT", "CUDAExecutionProvider": "ORT CUDA", CPU: "ORT CPU"}


def median_ms(call, runs: int, warmup: int) -> float:
    """Median wall time of `call()` in milliseconds, after `warmup` untimed calls."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def dcgan_generator(image_size: int) -> torch.nn.Module:
    config = default_config("dcgan")
    config.image_size = image_size
    return create_model("dcgan", config, DataInfo("images", (3, image_size, image_size))).eval()


def torch_call(model: torch.nn.Module, z: np.ndarray, device: torch.device):
    z_t = torch.from_numpy(z).to(device)

    def call():
        with torch.inference_mode():
            model.generate(z_t)
        if device.type == "cuda":
            torch.cuda.synchronize()

    return call


def benchmark(sizes, batches, runs: int, warmup: int, threads: int | None, folder: Path) -> list[dict]:
    rows = []
    torch_devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    for size in sizes:
        model = dcgan_generator(size)
        path = folder / f"dcgan-{size}.onnx"
        export_model(model, path, model_type="dcgan", check=False)
        generators = {p: OnnxGenerator(path, providers=[p], threads=threads) for p in usable_providers()}
        for batch in batches:
            z = np.random.default_rng(0).standard_normal((batch, model.latent_dim)).astype(np.float32)
            row = {"model": f"DCGAN {size}px", "batch": batch}
            n = runs if batch == 1 else max(10, runs // 8)
            for device in torch_devices:
                row[f"torch {device.type}"] = median_ms(torch_call(model.to(device), z, device), n, warmup)
            model.to("cpu")
            for provider, gen in generators.items():
                row[SHORT_NAMES[provider]] = median_ms(lambda gen=gen, z=z: gen.generate(z), n, warmup)
            rows.append(row)
    return rows


def ratio_columns(row: dict) -> dict[str, float]:
    """ONNX Runtime / torch ratios on the same kind of device."""
    ratios = {}
    for name in ("ORT CPU", "ORT CUDA", "ORT TensorRT"):
        base = row.get("torch cpu" if name == "ORT CPU" else "torch cuda")
        if name in row and base:
            ratios[f"{name} / torch"] = row[name] / base
    return ratios


def format_table(rows: list[dict]) -> str:
    columns = ["model", "batch"] + [k for k in rows[0] if k not in ("model", "batch")]
    columns += list(ratio_columns(rows[0]))
    cells = [[str(c) for c in columns]]
    for row in rows:
        values = {**row, **ratio_columns(row)}
        line = []
        for c in columns:
            v = values.get(c, "")
            line.append(f"{v:.3f}" if "/" in c else f"{v:.2f} ms" if isinstance(v, float) else str(v))
        cells.append(line)
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    out = [" | ".join(cell.rjust(w) for cell, w in zip(r, widths, strict=True)) for r in cells]
    out.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64], choices=[32, 64])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--runs", type=int, default=200, help="timed calls at batch 1 (batch 64: runs / 8)")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for both torch and ONNX Runtime [each one's default]")  # fmt: skip
    parser.add_argument("--json", default=None, help="also write the rows as JSON to this file")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}, providers usable: {', '.join(usable_providers())}")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        rows = benchmark(args.sizes, args.batches, args.runs, args.warmup, args.threads, Path(folder))
    print(format_table(rows))
    for row in rows:
        ratio = ratio_columns(row).get("ORT CPU / torch")
        if row["batch"] == 1 and ratio is not None:
            verdict = "met" if ratio <= CPU_TARGET_RATIO else "NOT met"
            print(
                f"target ORT CPU batch-1 <= {CPU_TARGET_RATIO} x torch eager, {row['model']}: {ratio:.2f} ({verdict})"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
