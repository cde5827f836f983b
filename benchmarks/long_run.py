"""Long run: train for a set time and record resident memory and samples/s, to show memory does not grow.

Trains one model in this process with the same Trainer as `gan-studio train` (metrics appended to
metrics.jsonl, sample grids written to disk, checkpoints), and every `--interval` seconds records
the step, the resident set size (VmRSS) and the training throughput. At the end it prints the
table and compares memory after the warm-up with memory at the end.

    python benchmarks/long_run.py                      # 10 minutes, GAN on ring8
    nice -n 10 python benchmarks/long_run.py --minutes 3 --interval 15
    python benchmarks/long_run.py --model dcgan --data shapes --minutes 30
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

from gan_studio.config import apply_values
from gan_studio.engine.settings import TrainConfig
from gan_studio.engine.trainer import Trainer
from gan_studio.events import Metrics
from gan_studio.models import get_spec

GROWTH_TOLERANCE_MB = 10.0  # allocator noise; growth beyond this and 5 % counts as growth


def rss_mb() -> float:
    """Resident memory of this process now (Linux /proc), or its peak where /proc is absent."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def train_for(seconds: float, interval: float, model: str, data: str, out: Path, log=print) -> list[dict]:
    """Train until `seconds` have passed; a row (time, step, rss, samples/s) every `interval` seconds."""
    spec = get_spec(model)
    model_config = apply_values(spec.config_cls(), {})
    train_config = TrainConfig(data=data, steps=10**9, batch_size=64, device="cpu", log_every=10,
                               sample_every=500, checkpoint_every=2000, keep_checkpoints=2)  # fmt: skip
    trainer = Trainer.new(model, model_config, train_config, out=out)
    rows: list[dict] = []
    started = time.perf_counter()
    next_row = started
    rates: list[float] = []
    for event in trainer:
        if isinstance(event, Metrics) and event.get("samples_per_s"):
            rates.append(event.get("samples_per_s"))
        now = time.perf_counter()
        if now >= next_row:
            row = {"seconds": now - started, "step": trainer.step, "rss_mb": rss_mb(),
                   "samples_per_s": sum(rates) / len(rates) if rates else 0.0}  # fmt: skip
            rows.append(row)
            rates.clear()
            log(format_row(row))
            next_row += interval
        if now - started >= seconds:
            trainer.stop()
    return rows


def format_row(row: dict) -> str:
    return f"{row['seconds']:8.0f} {row['step']:>10} {row['rss_mb']:10.1f} {row['samples_per_s']:12.0f}"


def verdict(rows: list[dict], warmup: float) -> tuple[float, float, bool]:
    """(RSS after warm-up, RSS at the end, whether memory grew beyond noise)."""
    warm = next((r for r in rows if r["seconds"] >= warmup), rows[0])
    end = rows[-1]
    growth = end["rss_mb"] - warm["rss_mb"]
    return warm["rss_mb"], end["rss_mb"], growth > max(GROWTH_TOLERANCE_MB, 0.05 * warm["rss_mb"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to train [10]")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between rows of the table [30]")
    parser.add_argument("--warmup", type=float, default=None, help="seconds of warm-up before the baseline [20%%]")
    parser.add_argument("--model", default="gan", help="model to train [gan]")
    parser.add_argument("--data", default="ring8", help="dataset [ring8]")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads [1]")
    parser.add_argument("--out", help="run directory (default: a temp folder)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    seconds = args.minutes * 60
    warmup = args.warmup if args.warmup is not None else 0.2 * seconds
    with tempfile.TemporaryDirectory(prefix="gan-studio-long-run-") as tmp:
        out = Path(args.out) if args.out else Path(tmp) / "run"
        print(f"training {args.model} on {args.data} for {args.minutes:g} min (run: {out})")
        print(f"{'SECONDS':>8} {'STEP':>10} {'RSS MB':>10} {'SAMPLES/S':>12}")
        rows = train_for(seconds, args.interval, args.model, args.data, out)
    warm, end, grew = verdict(rows, warmup)
    print(f"RSS after {warmup:.0f} s warm-up: {warm:.1f} MB; at the end: {end:.1f} MB; "
          f"change {end - warm:+.1f} MB over {rows[-1]['step']} steps -> "
          f"{'MEMORY GREW' if grew else 'no growth'}")  # fmt: skip
    return 1 if grew else 0


if __name__ == "__main__":
    sys.exit(main())
