"""Reproduce the quality tables of the README: train recipes of training/, evaluate them, print the tables.

- 2D: grid25 and ring8 with the PacGAN/VEEGAN mode metrics (2,500 samples), our recipes beside the
  PacGAN paper's recipes (run for as many steps as fit the 10-CPU-minute budget) and the paper's
  published table 1 rows.
- Stacked MNIST: modes of 1,000 and KL to uniform (26,000 samples, each channel read by the MNIST
  classifier), our best recipe beside a plain DCGAN and the published rows (VEEGAN and PacGAN
  table 2); every checkpoint is evaluated too, for a picture of modes against training CPU time.
- MNIST: DCGAN, conditional DCGAN and a VAE, scored with the evaluation classifier (Frechet
  distance, precision/recall, label accuracy) and the test ELBO / IWAE NLL, beside the floor (real
  vs real) and ceiling (noise) of each metric.

Every number comes from the same code as `gan-studio eval`. Spread: mean ± standard error over
the seeds (sample std / sqrt(n)), like the papers' "± standard error over 10 runs"; CPU seconds
are per run (training and evaluation), time.process_time of the process that ran it.

    python benchmarks/quality.py --only 2d --seeds 5     # the 2D table
    python benchmarks/quality.py --only stacked --seeds 2
    python benchmarks/quality.py --only mnist
    python benchmarks/quality.py --quick                  # 1 seed, 10x shorter runs: checks the pipeline

MNIST: only the 10k test set may be at hand (../shared/datasets/mnist); it is then split 8k/2k
(fixed), the models train on the 8k part and are judged on the 2k part; stacked MNIST is then
built from the 8k part. Runs, reports and tables go to --out; a run that already finished there is
not trained again (delete it to retrain).
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
from gan_studio.config import to_dict  # noqa: E402
from gan_studio.engine.settings import TrainConfig  # noqa: E402
from gan_studio.engine.trainer import Trainer  # noqa: E402
from gan_studio.errors import GanStudioError  # noqa: E402
from gan_studio.evaluate.report import evaluate_run, format_value  # noqa: E402
from gan_studio.evaluate.report import shown_unit as shown_as  # noqa: E402
from gan_studio.events import Checkpoint, Diverged, Failed, Finished  # noqa: E402

RECIPES = REPO / "training"
LOCAL_MNIST = REPO.parent / "shared" / "datasets" / "mnist"
STACKED_PLOT = REPO / "resources" / "quality" / "stacked-mnist-modes.png"
RUNS_2D = [  # (row name, recipe, steps: None = the recipe's own)
    ("GAN, best CPU recipe", "quality-gan-grid25.toml", None),
    ("GAN, the paper's recipe", "gan-grid25-paper.toml", 10_000),
    ("PacGAN4, the paper's recipe", "quality-pacgan4-grid25.toml", None),
    ("GAN, best CPU recipe", "quality-gan-ring8.toml", None),
    ("GAN, the paper's recipe", "gan-ring8-paper.toml", 10_000),
    ("PacGAN4, the paper's recipe", "quality-pacgan4-ring8.toml", None),
]
RUNS_STACKED = [("DCGAN", "quality-dcgan-stacked-mnist.toml"), ("best CPU recipe", "quality-stacked-mnist.toml")]
PREVIOUS = {"lr_g": 2e-4, "lr_d": 2e-4, "ema_decay": 0.0, "steps": 2500}  # the recipes before the stabilisers
RUNS_MNIST = [  # (row name, recipe, overrides)
    ("DCGAN", "quality-dcgan-mnist.toml", {}),
    ("DCGAN, previous recipe (lr 2e-4, no EMA, 2,500 steps)", "quality-dcgan-mnist.toml", PREVIOUS),
    ("cDCGAN", "quality-cdcgan-mnist.toml", {}),
    ("cDCGAN, previous recipe (lr 2e-4, no EMA, 2,500 steps)", "quality-cdcgan-mnist.toml", PREVIOUS),
    ("VAE", "quality-vae-mnist.toml", {}),
    ("cVAE", "quality-cvae-mnist.toml", {}),
    (
        "cVAE, previous layout (the label at the encoder's head and the decoder's input only)",
        "quality-cvae-mnist.toml",
        {"label_layers": "heads"},
    ),
]
# PacGAN paper (Lin et al. 2018), table 1: modes, high-quality samples, reverse KL; mean ± standard error of 10 runs
PUBLISHED_2D = {
    "grid25": [("GAN", "17.3 ± 0.8", "94.8 ± 0.7", "0.70 ± 0.07"), ("PacGAN2", "23.8 ± 0.7", "91.3 ± 0.8", "0.13 ± 0.04"),
               ("PacGAN3", "24.6 ± 0.4", "94.2 ± 0.4", "0.06 ± 0.02"), ("PacGAN4", "24.8 ± 0.2", "93.6 ± 0.6", "0.04 ± 0.01")],
    "ring8": [("GAN", "6.3 ± 0.5", "98.2 ± 0.2", "0.45 ± 0.09"), ("PacGAN2", "7.9 ± 0.1", "95.6 ± 2.0", "0.07 ± 0.03"),
              ("PacGAN3", "7.8 ± 0.1", "97.7 ± 0.3", "0.10 ± 0.02"), ("PacGAN4", "7.8 ± 0.1", "95.9 ± 1.4", "0.07 ± 0.02")],
}  # fmt: skip
# stacked MNIST: VEEGAN (Srivastava et al. 2017) table 2 via PacGAN table 2, and PacGAN's own runs (± s.e. of 10)
PUBLISHED_STACKED = [("DCGAN (VEEGAN paper)", "99.0", "3.40"), ("DCGAN (PacGAN paper)", "78.9 ± 6.46", "4.50 ± 0.127"),
                     ("PacDCGAN2 (PacGAN paper)", "1000.0 ± 0.00", "0.06 ± 0.003")]  # fmt: skip


@dataclass
class Recipe:
    """A training recipe: model name, model config, train config (the TOML of `gan-studio train --config`)."""

    path: Path
    model: str
    model_config: object
    train_config: TrainConfig


def load_recipe(path: Path, seed: int, steps_scale: float, data: str | None = None,
                overrides: dict | None = None) -> Recipe:  # fmt: skip
    """A recipe as `gan-studio train --config` reads it, with this seed, scaled steps, on the CPU."""
    model, values, _ = read_recipe(str(path))
    values.update(overrides or {})
    values["seed"] = seed
    values["steps"] = max(1, round(int(values.get("steps", 1000)) * steps_scale))
    values["device"] = "cpu"
    if data is not None:
        values["data"] = data
    _, train_config, model_config = configs_from_values(model, values, source=str(path))
    return Recipe(path, model, model_config, train_config)


def train_and_evaluate(recipe: Recipe, out: Path, dataset=None, eval_n: int | None = None) -> dict:
    """Train (unless `out` already holds a finished run of this recipe, as it is now), evaluate; returns the result.

    A finished run is reused only when it was trained with the same settings: a recipe whose steps or rates
    changed since is trained again (its old result had been reused under the new recipe's name)."""
    result_file = out / "benchmark.json"
    settings = {"model": recipe.model, "model_config": to_dict(recipe.model_config),
                "train_config": to_dict(recipe.train_config)}  # fmt: skip
    if result_file.is_file():
        previous = json.loads(result_file.read_text())
        same = previous.get("settings") == settings if "settings" in previous else (
            previous.get("steps") == recipe.train_config.steps and previous.get("recipe") == recipe.path.name)  # fmt: skip
        if same:
            return previous
    if out.exists():  # an interrupted run: start it again
        import shutil

        shutil.rmtree(out)
    cpu, wall = time.process_time(), time.perf_counter()
    trainer = Trainer.new(recipe.model, recipe.model_config, recipe.train_config, out=out, dataset=dataset)
    status, checkpoint_cpu = "?", {}
    for event in trainer:
        if isinstance(event, Checkpoint):
            checkpoint_cpu[event.step] = round(time.process_time() - cpu, 1)
        if isinstance(event, Finished):
            status = event.status
        elif isinstance(event, (Diverged, Failed)):
            status = type(event).__name__.lower()
    train_cpu, train_wall = time.process_time() - cpu, time.perf_counter() - wall
    del trainer, dataset
    cpu = time.process_time()
    report = evaluate_run(out, n=eval_n)
    result = {
        "recipe": recipe.path.name,
        "settings": settings,
        "model": recipe.model,
        "seed": recipe.train_config.seed,
        "steps": recipe.train_config.steps,
        "status": status,
        "train_cpu_s": round(train_cpu, 1),
        "train_wall_s": round(train_wall, 1),
        "eval_cpu_s": round(time.process_time() - cpu, 1),
        "checkpoint_cpu_s": checkpoint_cpu,
        "metrics": {row["key"]: row for row in report["metrics"]},
        "reference": report["reference"],
        "classifier": report.get("classifier"),
    }
    result_file.write_text(json.dumps(result, indent=2))
    return result


def mean_se(values: list[float], scale: float = 1.0, digits: int = 1) -> str:
    """'mean ± standard error' (sample std / sqrt(n)) of the values; just the value for one."""
    values = [v * scale for v in values if v is not None]
    if not values:
        return "-"
    mean = sum(values) / len(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    return f"{mean:.{digits}f} ± {std / math.sqrt(len(values)):.{digits}f}"


def run_cpu(results: list[dict]) -> list[float]:
    """CPU seconds of each run: training and evaluation."""
    return [r["train_cpu_s"] + r["eval_cpu_s"] for r in results]


def run_in_pool(args, tasks: dict, log, describe) -> dict:
    """Run `tasks` ({key: (function, *arguments)}) in `args.jobs` worker processes; {key: result}.
    `describe(key, result)` gives the line logged as each one finishes."""
    done = {}
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(function, *arguments): key for key, (function, *arguments) in tasks.items()}
        for future in as_completed(futures):
            key = futures[future]
            done[key] = future.result()
            log(describe(key, done[key]))
    return done


# --- 2D ------------------------------------------------------------------------------------------------------


def run_2d_task(recipe_file: str, steps: int | None, seed: int, steps_scale: float, out: Path, threads: int) -> dict:
    """One 2D run (in a worker process): train the recipe with this seed and evaluate it."""
    torch.set_num_threads(threads)
    overrides = {"steps": steps} if steps else {}
    recipe = load_recipe(RECIPES / recipe_file, seed, steps_scale, overrides=overrides)
    name = recipe_file.removesuffix(".toml") + (f"-{recipe.train_config.steps}steps" if steps else "")
    return train_and_evaluate(recipe, out / f"{name}-seed{seed}")


def run_2d(args, out: Path, log) -> tuple[list[str], float]:
    lines = [
        f"### Mode coverage on the 2D benchmarks (mean ± standard error over {args.seeds} seed(s), 2,500 samples)",
        "",
        "| model | data | modes | high-quality % | reverse KL | steps | CPU s per run |",
        "|---|---|---|---|---|---|---|",
    ]
    tasks = {(recipe_file, steps, seed): (run_2d_task, recipe_file, steps, seed, args.steps_scale, out, args.threads)
             for _, recipe_file, steps in RUNS_2D for seed in range(args.seeds)}  # fmt: skip

    def describe(key, result):
        m = result["metrics"]
        return (f"{key[0]} ({result['steps']} steps) seed {key[2]}: {m['modes']['value']:.0f} modes, "
                f"{100 * m['high_quality']['value']:.1f} % high quality, reverse KL {m['reverse_kl']['value']}, "
                f"{result['train_cpu_s']} CPU s")  # fmt: skip

    done = run_in_pool(args, tasks, log, describe)
    total_cpu = 0.0
    for data in ("grid25", "ring8"):
        for name, recipe_file, steps in RUNS_2D:
            recipe = load_recipe(RECIPES / recipe_file, 0, args.steps_scale)
            if recipe.train_config.data != data:
                continue
            results = [done[(recipe_file, steps, seed)] for seed in range(args.seeds)]
            cpu = run_cpu(results)
            total_cpu += sum(cpu)
            modes = [r["metrics"]["modes"]["value"] for r in results]
            quality = [r["metrics"]["high_quality"]["value"] for r in results]
            kl = [r["metrics"]["reverse_kl"]["value"] for r in results]
            lines.append(f"| {name} (`{recipe_file}`) | {data} | {mean_se(modes)} | {mean_se(quality, 100)} | "
                         f"{mean_se(kl, digits=3)} | {results[0]['steps']} | {sum(cpu) / len(cpu):.0f} |")  # fmt: skip
        for name, modes, quality, kl in PUBLISHED_2D[data]:
            lines.append(f"| {name} (PacGAN paper, table 1, 10 runs) | {data} | {modes} | {quality} | {kl} | "
                         "400000 | |")  # fmt: skip
    return lines, total_cpu


# --- stacked MNIST -----------------------------------------------------------------------------------------


def stacked_curve(run: Path, result: dict) -> list[tuple[int, float, int, float]]:
    """(step, training CPU s, modes, KL) of every numbered checkpoint of a stacked-MNIST run (cached in the run)."""
    from gan_studio.evaluate.classifier import get_classifier
    from gan_studio.evaluate.stacked import PROTOCOL_SAMPLES, digits_reference, read_channels, stacked_modes
    from gan_studio.models.latents import sample_inputs
    from gan_studio.store.loaded import load_run

    cache = run / "curve.json"
    if cache.is_file():
        return [tuple(row) for row in json.loads(cache.read_text())]
    info = json.loads((run / "run.json").read_text())
    classifier = get_classifier(digits_reference(info["train_config"]["data"]))
    rows = []
    for step_text, cpu in sorted(result["checkpoint_cpu_s"].items(), key=lambda kv: int(kv[0])):
        path = run / "checkpoints" / f"step-{int(step_text):07d}.pt"
        if not path.is_file():
            continue
        loaded = load_run(run, checkpoint=path)
        z, _ = sample_inputs(PROTOCOL_SAMPLES, loaded.latent_dim, 0)
        read = torch.cat([read_channels(classifier, loaded.generate(z[i : i + 1000], None), (-1.0, 1.0))
                          for i in range(0, len(z), 1000)])  # fmt: skip
        found = stacked_modes(read.numpy())
        rows.append((int(step_text), float(cpu), found.modes, round(found.kl, 4)))
    cache.write_text(json.dumps(rows))
    return rows


def modes_plot(curves: dict[str, list[list[tuple]]], path: Path) -> None:
    """A PNG of modes (of 1,000) against training CPU minutes, one colour per recipe, one line per seed."""
    from PIL import Image, ImageDraw, ImageFont

    width, height, left, bottom, top, right = 760, 420, 70, 50, 30, 30
    font = ImageFont.load_default(size=13)
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    max_minutes = max((row[1] / 60 for runs in curves.values() for run in runs for row in run), default=1.0)
    max_minutes = max(1.0, math.ceil(max_minutes / 5) * 5)

    def xy(minutes: float, modes: float) -> tuple[float, float]:
        return (left + minutes / max_minutes * (width - left - right),
                height - bottom - modes / 1000 * (height - top - bottom))  # fmt: skip

    for modes in range(0, 1001, 200):
        draw.line([xy(0, modes), xy(max_minutes, modes)], fill=(230, 230, 230))
        draw.text((left - 40, xy(0, modes)[1] - 7), str(modes), fill="black", font=font)
    for minutes in range(0, int(max_minutes) + 1, 5 if max_minutes > 10 else 1):
        draw.text((xy(minutes, 0)[0] - 6, height - bottom + 6), str(minutes), fill="black", font=font)
    draw.line([xy(0, 0), xy(max_minutes, 0)], fill="black")
    draw.line([xy(0, 0), xy(0, 1000)], fill="black")
    draw.text((left + 200, height - 24), "training CPU minutes (1 thread)", fill="black", font=font)
    draw.text((8, 6), "stacked MNIST: modes covered (of 1,000), 26,000 samples", fill="black", font=font)
    colours = [(200, 80, 20), (30, 90, 200), (40, 150, 60), (150, 50, 150)]
    for i, (name, runs) in enumerate(curves.items()):
        colour = colours[i % len(colours)]
        for run in runs:
            points = [xy(cpu / 60, modes) for _, cpu, modes, _ in run]
            draw.line(points, fill=colour, width=2)
            for x, y in points:
                draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
        legend_x, legend_y = xy(max_minutes * 0.45, 0)[0], height - bottom - 30 - 20 * (len(curves) - i)
        draw.rectangle([legend_x, legend_y + 2, legend_x + 12, legend_y + 14], fill=colour)
        draw.text((legend_x + 18, legend_y), name, fill="black", font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def run_stacked_task(recipe_file: str, seed: int, spec: str, steps_scale: float, out: Path,
                     threads: int) -> tuple[dict, list]:  # fmt: skip
    """One stacked-MNIST run (in a worker process): (result, modes at each kept checkpoint)."""
    torch.set_num_threads(threads)
    recipe = load_recipe(RECIPES / recipe_file, seed, steps_scale, data=spec, overrides={"keep_checkpoints": 1000})
    run = out / f"{recipe_file.removesuffix('.toml')}-seed{seed}"
    result = train_and_evaluate(recipe, run)
    return result, stacked_curve(run, result)


def run_stacked(args, out: Path, log) -> tuple[list[str], float]:
    spec = f"stacked-mnist:{args.mnist}" if Path(args.mnist).is_dir() else "stacked-mnist"
    lines = [
        f"### Stacked MNIST (mean ± standard error over {args.seeds} seed(s); 26,000 samples, 1,000 modes)",
        "",
        "| model | modes | KL | steps | CPU s per run |",
        "|---|---|---|---|---|",
    ]
    tasks = {(recipe_file, seed): (run_stacked_task, recipe_file, seed, spec, args.steps_scale, out, args.threads)
             for _, recipe_file in RUNS_STACKED for seed in range(args.seeds)}  # fmt: skip

    def describe(key, done):
        m = done[0]["metrics"]
        return f"{key[0]} seed {key[1]}: {m['modes']['value']:.0f} modes, KL {m['kl']['value']:.3f}, " \
               f"{done[0]['train_cpu_s']} CPU s"  # fmt: skip

    done = run_in_pool(args, tasks, log, describe)
    total_cpu, curves = 0.0, {}
    for name, recipe_file in RUNS_STACKED:
        results = [done[(recipe_file, seed)][0] for seed in range(args.seeds)]
        curves[f"{name} ({recipe_file.removesuffix('.toml')})"] = [done[(recipe_file, seed)][1]
                                                                   for seed in range(args.seeds)]  # fmt: skip
        cpu = run_cpu(results)
        total_cpu += sum(cpu)
        modes = [r["metrics"]["modes"]["value"] for r in results]
        kl = [r["metrics"]["kl"]["value"] for r in results]
        lines.append(f"| {name} (`{recipe_file}`) | {mean_se(modes)} | {mean_se(kl, digits=3)} | "
                     f"{results[0]['steps']} | {sum(cpu) / len(cpu):.0f} |")  # fmt: skip
    first = results[0]
    floor = first["metrics"]["modes"]["floor"], first["metrics"]["kl"]["floor"]
    lines.append(f"| real stacks of the test digits (floor) | {floor[0]:.0f} | {floor[1]:.3f} | | |")
    for name, modes, kl in PUBLISHED_STACKED:
        lines.append(f"| {name}, table 2 | {modes} | {kl} | | |")
    modes_plot(curves, args.plot)
    lines += [
        "",
        f"Modes against training CPU time: `{args.plot.relative_to(REPO) if args.plot.is_relative_to(REPO) else args.plot}`",
    ]
    return lines, total_cpu


# --- MNIST -------------------------------------------------------------------------------------------------


def run_mnist_task(recipe_file: str, overrides: dict, seed: int, spec: str, steps_scale: float, out: Path,
                   threads: int) -> dict:  # fmt: skip
    """One MNIST run (in a worker process): train on the training part, evaluate on the held-out part (the
    recipes' hold_out = true: what `gan-studio train --config` does with them, so the runs resume as any)."""
    torch.set_num_threads(threads)
    recipe = load_recipe(RECIPES / recipe_file, seed, steps_scale, data=spec, overrides=overrides)
    run = out / (recipe_file.removesuffix(".toml") + ("-previous" if overrides else "") + f"-seed{seed}")
    return train_and_evaluate(recipe, run)


MNIST_KEYS = ["frechet", "precision", "recall", "label_accuracy", "neg_elbo", "iwae_nll"]
MNIST_HEADS = ["Frechet distance ↓", "precision ↑", "recall ↑", "label accuracy ↑", "test −ELBO (nats) ↓",
               "IWAE NLL (nats) ↓"]  # fmt: skip


def run_mnist(args, out: Path, log) -> tuple[list[str], float]:
    rows = list(enumerate(RUNS_MNIST))
    tasks = {(row, seed): (run_mnist_task, recipe_file, overrides, seed, args.mnist, args.steps_scale, out, args.threads)
             for row, (_, recipe_file, overrides) in rows for seed in range(args.seeds)}  # fmt: skip

    def describe(key, result):
        return (f"{RUNS_MNIST[key[0]][0]} seed {key[1]}: trained {result['steps']} steps in {result['train_cpu_s']} "
                "CPU s; " + ", ".join(f"{k} {format_value(v['value'], shown_as(v))}"
                                      for k, v in result["metrics"].items()))  # fmt: skip

    done = run_in_pool(args, tasks, log, describe)
    results = [(name, [done[(row, seed)] for seed in range(args.seeds)]) for row, (name, _, _) in rows]
    total_cpu = sum(sum(run_cpu(runs)) for _, runs in results)
    first = results[0][1][0]
    lines = [
        f"### MNIST ({first['reference']['note']}; mean ± standard error over {args.seeds} seed(s))",
        "",
        f"Classifier features: test accuracy {100 * first['classifier']['test_accuracy']:.2f} %. "
        f"Floor: real training vs real test images; ceiling: uniform noise.",
        "",
        "| model | " + " | ".join(MNIST_HEADS) + " | steps | CPU s per run |",
        "|---|" + "---|" * (len(MNIST_KEYS) + 2),
    ]

    def cell(runs: list[dict], key: str, which: str = "value") -> str:
        rows = [r["metrics"][key] for r in runs if key in r["metrics"]]
        if not rows:
            return ""
        if which != "value" or len(rows) == 1:
            return format_value(rows[0][which], shown_as(rows[0]))
        percent = shown_as(rows[0]) == "%"
        scale, digits = (100, 1) if percent else (1, 3 if key == "frechet" else 1)
        values = [row["value"] for row in rows]
        return mean_se(values, scale, digits) + (" %" if percent else "")

    for which, label in (("floor", "real data (floor)"), ("ceiling", "noise (ceiling)")):
        cells = []
        for key in MNIST_KEYS:
            source = next((runs for _, runs in results if key in runs[0]["metrics"]), None)
            cells.append(cell(source, key, which) if source else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " | | |")
    for name, runs in results:
        cpu = run_cpu(runs)
        lines.append(f"| {name} | " + " | ".join(cell(runs, key) for key in MNIST_KEYS) +
                     f" | {runs[0]['steps']} | {sum(cpu) / len(cpu):.0f} |")  # fmt: skip
    return lines, total_cpu


def _cpu_seconds() -> float:
    """CPU time of this process and its finished worker processes (workers: Unix only)."""
    try:
        import resource
    except ImportError:  # Windows
        return time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


PARTS = {"2d": run_2d, "stacked": run_stacked, "mnist": run_mnist}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 seed and 10x fewer steps (a smoke test)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per recipe [5; 1 with --quick]")
    parser.add_argument("--steps-scale", type=float, default=None, help="multiply every recipe's steps [1; 0.1]")
    parser.add_argument("--only", choices=tuple(PARTS), default=None, help="run one part of the table")
    parser.add_argument("--mnist", default=str(LOCAL_MNIST) if LOCAL_MNIST.is_dir() else "mnist",
                        help="MNIST folder or 'mnist' (download) [../shared/datasets/mnist when present]")  # fmt: skip
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "benchmark-quality",
                        help="folder for the runs, reports and the table [runs/benchmark-quality]")  # fmt: skip
    parser.add_argument("--plot", type=Path, default=STACKED_PLOT, help="stacked-MNIST modes picture [%(default)s]")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads per process [1]")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained in parallel processes [1]")
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
        for name, part in PARTS.items():
            if args.only in (None, name):
                lines, cpu = part(args, out, log)
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
    name = f"quality-{args.only}.md" if args.only else "quality.md"
    (out / name).write_text(text)
    print()
    print(text)
    print(f"(table saved to {out / name}; runs and reports in {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
