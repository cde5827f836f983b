"""Reproduce the quality table of the README: train the recipes in training/quality-*.toml, evaluate, print.

2D part: GAN and PacGAN4 (packing, Lin et al. 2018) on grid25 and ring8, several seeds each,
scored with the PacGAN/VEEGAN mode metrics (2,500 samples) next to the published rows of the
PacGAN paper's table 1. MNIST part: DCGAN, conditional DCGAN and a VAE, scored with the
evaluation classifier (Frechet distance, precision/recall, label accuracy) and the test ELBO /
IWAE NLL, beside the floor (real vs real) and ceiling (noise) of each metric. Every number
comes from `gan_studio.evaluate.report.evaluate_run`, as `gan-studio eval` prints it.

    python benchmarks/quality.py               # the full table (5 seeds)
    python benchmarks/quality.py --quick       # 1 seed, 10x shorter runs: checks the pipeline
    python benchmarks/quality.py --only 2d     # just the 2D part (or: --only mnist)

MNIST: only the 10k test set may be at hand (../shared/datasets/mnist); it is then split 8k/2k
(fixed), the models train on the 8k part and are judged on the 2k part. Runs, reports and the
table go to --out; a run that already finished there is not trained again (rerun to resume).
CPU time is measured with time.process_time (all threads of this process).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gan_studio.commands.train import configs_from_values, read_recipe  # noqa: E402
from gan_studio.engine.settings import TrainConfig  # noqa: E402
from gan_studio.engine.trainer import Trainer  # noqa: E402
from gan_studio.errors import GanStudioError  # noqa: E402
from gan_studio.evaluate.reference import reference_data  # noqa: E402
from gan_studio.evaluate.report import evaluate_run, format_value  # noqa: E402
from gan_studio.models import get_spec  # noqa: E402

RECIPES = REPO / "training"
LOCAL_MNIST = REPO.parent / "shared" / "datasets" / "mnist"
RUNS_2D = [  # (row name, recipe)
    ("GAN", "quality-gan-grid25.toml"),
    ("PacGAN4", "quality-pacgan4-grid25.toml"),
    ("GAN", "quality-gan-ring8.toml"),
    ("PacGAN4", "quality-pacgan4-ring8.toml"),
]
RUNS_MNIST = [("DCGAN", "quality-dcgan-mnist.toml"), ("cDCGAN", "quality-cdcgan-mnist.toml"),
              ("VAE", "quality-vae-mnist.toml")]  # fmt: skip
# PacGAN paper (Lin et al. 2018), table 1: modes and high-quality samples, mean +- std over 10 runs
PUBLISHED = {
    ("GAN", "grid25"): ("17.3 ± 0.8", "94.8 ± 0.7"),
    ("GAN", "ring8"): ("6.3 ± 0.5", "98.2 ± 0.2"),
    ("PacGAN4", "grid25"): ("24.8 ± 0.2", "93.6 ± 0.6"),
    ("PacGAN4", "ring8"): ("7.8 ± 0.1", "95.9 ± 1.4"),
}


@dataclass
class Recipe:
    """A training recipe: model name, model config, train config (the TOML of `gan-studio train --config`)."""

    path: Path
    model: str
    model_config: object
    train_config: TrainConfig


def load_recipe(path: Path, seed: int, steps_scale: float, data: str | None = None) -> Recipe:
    """A recipe as `gan-studio train --config` reads it, with this seed, scaled steps, on the CPU."""
    model, values, _ = read_recipe(str(path))
    values["seed"] = seed
    values["steps"] = max(1, round(int(values.get("steps", 1000)) * steps_scale))
    values["device"] = "cpu"
    if data is not None:
        values["data"] = data
    _, train_config, model_config = configs_from_values(model, values, source=str(path))
    return Recipe(path, model, model_config, train_config)


def train_and_evaluate(recipe: Recipe, out: Path, dataset=None, eval_n: int | None = None) -> dict:
    """Train (unless `out` already holds a finished run of this benchmark), evaluate; returns the result."""
    result_file = out / "benchmark.json"
    if result_file.is_file():
        return json.loads(result_file.read_text())
    if out.exists():  # an interrupted run: start it again
        import shutil

        shutil.rmtree(out)
    cpu, wall = time.process_time(), time.perf_counter()
    trainer = Trainer.new(recipe.model, recipe.model_config, recipe.train_config, out=out, dataset=dataset)
    final = {}
    for update in trainer:
        if update["kind"] in ("finished", "diverged", "failed"):
            final = update
    train_cpu, train_wall = time.process_time() - cpu, time.perf_counter() - wall
    cpu = time.process_time()
    report = evaluate_run(out, n=eval_n)
    result = {
        "recipe": recipe.path.name,
        "model": recipe.model,
        "seed": recipe.train_config.seed,
        "steps": recipe.train_config.steps,
        "status": final.get("status", final.get("kind", "?")),
        "train_cpu_s": round(train_cpu, 1),
        "train_wall_s": round(train_wall, 1),
        "eval_cpu_s": round(time.process_time() - cpu, 1),
        "metrics": {row["key"]: row for row in report["metrics"]},
        "reference": report["reference"],
        "classifier": report.get("classifier"),
    }
    result_file.write_text(json.dumps(result, indent=2))
    return result


def mean_std(values: list[float], scale: float = 1.0, digits: int = 1) -> str:
    values = [v * scale for v in values if v is not None]
    if not values:
        return "-"
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if len(values) > 1 else f"{mean:.{digits}f}"


def run_2d_task(recipe_file: str, seed: int, steps_scale: float, out: Path, threads: int) -> dict:
    """One 2D run (in a worker process): train the recipe with this seed and evaluate it."""
    torch.set_num_threads(threads)
    recipe = load_recipe(RECIPES / recipe_file, seed, steps_scale)
    return train_and_evaluate(recipe, out / f"{recipe_file.removesuffix('.toml')}-seed{seed}")


def run_2d(args, out: Path, log) -> tuple[list[str], float]:
    lines = [
        f"### Mode coverage on the 2D benchmarks (mean ± std over {args.seeds} seed(s); 2,500 samples each)",
        "",
        "| model | data | modes | high-quality % | reverse KL | steps | CPU s per run |",
        "|---|---|---|---|---|---|---|",
    ]
    total_cpu = 0.0
    tasks = [(recipe_file, seed) for _, recipe_file in RUNS_2D for seed in range(args.seeds)]
    done: dict[tuple[str, int], dict] = {}
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(run_2d_task, f, seed, args.steps_scale, out, args.threads): (f, seed)
                   for f, seed in tasks}  # fmt: skip
        for future in as_completed(futures):
            recipe_file, seed = futures[future]
            result = done[(recipe_file, seed)] = future.result()
            m = result["metrics"]
            log(f"{recipe_file} seed {seed}: {m['modes']['value']:.0f} modes, "
                f"{100 * m['high_quality']['value']:.1f} % high quality, reverse KL {m['reverse_kl']['value']}, "
                f"{result['train_cpu_s']} CPU s")  # fmt: skip
    for name, recipe_file in RUNS_2D:
        results = [done[(recipe_file, seed)] for seed in range(args.seeds)]
        recipe = load_recipe(RECIPES / recipe_file, 0, args.steps_scale)
        data = recipe.train_config.data
        cpu = [r["train_cpu_s"] + r["eval_cpu_s"] for r in results]
        total_cpu += sum(cpu)
        modes = [r["metrics"]["modes"]["value"] for r in results]
        quality = [r["metrics"]["high_quality"]["value"] for r in results]
        kl = [r["metrics"]["reverse_kl"]["value"] for r in results]
        lines.append(f"| {name} (this tool) | {data} | {mean_std(modes)} | {mean_std(quality, 100)} | "
                     f"{mean_std(kl, digits=2)} | {recipe.train_config.steps} | {mean_std(cpu, digits=0)} |")  # fmt: skip
        paper_modes, paper_quality = PUBLISHED[(name, data)]
        lines.append(f"| {name} (PacGAN paper, table 1) | {data} | {paper_modes} | {paper_quality} | | | |")
    return lines, total_cpu


def run_mnist(args, out: Path, log) -> tuple[list[str], float]:
    spec = args.mnist
    results = []
    for name, recipe_file in RUNS_MNIST:
        recipe = load_recipe(RECIPES / recipe_file, 0, args.steps_scale, data=spec)
        family = get_spec(recipe.model).family
        value_range = (-1.0, 1.0) if family == "gan" else (0.0, 1.0)
        reference = reference_data(spec, image_size=recipe.model_config.image_size, value_range=value_range)
        run = out / recipe_file.removesuffix(".toml")
        result = train_and_evaluate(recipe, run, dataset=reference.train)
        results.append((name, result))
        log(f"{name}: trained {result['steps']} steps in {result['train_cpu_s']} CPU s; "
            + ", ".join(f"{k} {format_value(v['value'], v['unit'])}" for k, v in result["metrics"].items()))  # fmt: skip
    total_cpu = sum(r["train_cpu_s"] + r["eval_cpu_s"] for _, r in results)
    first = results[0][1]
    keys = ["frechet", "precision", "recall", "label_accuracy", "neg_elbo", "iwae_nll"]
    heads = ["Frechet distance ↓", "precision ↑", "recall ↑", "label accuracy ↑", "test −ELBO (nats) ↓",
             "IWAE NLL (nats) ↓"]  # fmt: skip
    lines = [
        f"### MNIST ({first['reference']['note']})",
        "",
        f"Classifier features: test accuracy {100 * first['classifier']['test_accuracy']:.2f} %. "
        f"Floor: real training vs real test images; ceiling: uniform noise.",
        "",
        "| model | " + " | ".join(heads) + " | steps | CPU s |",
        "|---|" + "---|" * (len(keys) + 2),
    ]

    def cell(result, key, which="value"):
        row = result["metrics"].get(key)
        return format_value(row[which], row["unit"]) if row else ""

    for which, label in (("floor", "real data (floor)"), ("ceiling", "noise (ceiling)")):
        cells = []
        for key in keys:
            source = next((r for _, r in results if key in r["metrics"]), None)
            cells.append(cell(source, key, which) if source else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " | | |")
    for name, result in results:
        cells = [cell(result, key) for key in keys]
        lines.append(f"| {name} | " + " | ".join(cells) +
                     f" | {result['steps']} | {result['train_cpu_s'] + result['eval_cpu_s']:.0f} |")  # fmt: skip
    return lines, total_cpu


def _cpu_seconds() -> float:
    """CPU time of this process and its finished worker processes (workers: Unix only)."""
    try:
        import resource
    except ImportError:  # Windows
        return time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 seed and 10x fewer steps (a smoke test)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per 2D recipe [5; 1 with --quick]")
    parser.add_argument("--steps-scale", type=float, default=None, help="multiply every recipe's steps [1; 0.1]")
    parser.add_argument("--only", choices=("2d", "mnist"), default=None, help="run one part of the table")
    parser.add_argument("--mnist", default=str(LOCAL_MNIST) if LOCAL_MNIST.is_dir() else "mnist",
                        help="MNIST folder or 'mnist' (download) [../shared/datasets/mnist when present]")  # fmt: skip
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "benchmark-quality",
                        help="folder for the runs, reports and the table [runs/benchmark-quality]")  # fmt: skip
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads per process [1]")
    parser.add_argument("--jobs", type=int, default=1, help="2D runs trained in parallel processes [1]")
    args = parser.parse_args(argv)
    args.seeds = args.seeds or (1 if args.quick else 5)
    args.steps_scale = args.steps_scale or (0.1 if args.quick else 1.0)
    torch.set_num_threads(args.threads)
    label = "quick" if args.quick else "full" if args.steps_scale == 1 else f"full-steps-x{args.steps_scale:g}"
    out = args.out / label
    out.mkdir(parents=True, exist_ok=True)

    def log(message: str) -> None:
        print(message, flush=True)

    started_cpu, started_wall = _cpu_seconds(), time.perf_counter()
    sections, cpu_total = [], 0.0
    try:
        if args.only in (None, "2d"):
            lines, cpu = run_2d(args, out, log)
            sections.append(lines)
            cpu_total += cpu
        if args.only in (None, "mnist"):
            lines, cpu = run_mnist(args, out, log)
            sections.append(lines)
            cpu_total += cpu
    except GanStudioError as exc:
        print(f"quality: error: {exc}", file=sys.stderr)
        return 2
    command = " ".join(["python benchmarks/quality.py", *(argv if argv is not None else sys.argv[1:])])
    header = [
        f"## Quality benchmark ({label}: `{command}`)",
        "",
        f"CPU budget: {cpu_total:.0f} CPU seconds of training and evaluation in total "
        f"({args.threads} torch thread(s) per process, torch {torch.__version__}; this invocation took "
        f"{_cpu_seconds() - started_cpu:.0f} CPU s, {time.perf_counter() - started_wall:.0f} s wall).",
        "",
    ]
    text = "\n".join(header + [line for section in sections for line in section + [""]])
    (out / "quality.md").write_text(text)
    print()
    print(text)
    print(f"(table saved to {out / 'quality.md'}; runs and reports in {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
