"""Does the app's default (DCGAN on `shapes`, training/dcgan-shapes.toml) learn recognisable shapes?

Trains the default recipe headless (the app drives the same Trainer) and, at every checkpoint,
judges 1,000 samples from fixed noise with the shapes classifier of the evaluation module (test
accuracy ~100 %), next to real test images (the floor) and uniform noise (the ceiling):

- *one class*: the classifier gives one class at least 90 % probability; the share per class
  and how many of the six classes are generated (at least 5 % of the samples each) show whether
  the model draws all six shapes. A classifier is confident about noise too, so this alone proves
  nothing: read it with
- *realistic*: inside the manifold of real training shapes in the classifier's feature space
  (k-NN balls, k = 3, as for the precision metric of `gan-studio eval`): a strict test that
  imperfect but recognisable shapes often fail.

The last grid (samples/step-*.png) is the picture to look at.

    python benchmarks/default_run.py                 # the recipe as the app runs it (3,000 steps)
    python benchmarks/default_run.py --steps 2000    # a shorter run
    python benchmarks/default_run.py --judge RUN     # judge the last checkpoint of a trained run
    python benchmarks/default_run.py --judge-every 250 --early-grid resources/screenshots/default-run-early-steps.png
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality import load_recipe  # noqa: E402  (benchmarks/quality.py: a recipe as `train --config` reads it)

from gan_studio.engine.trainer import Trainer  # noqa: E402
from gan_studio.evaluate.classifier import get_classifier  # noqa: E402
from gan_studio.evaluate.precision_recall import inside_manifold, manifold_radii  # noqa: E402
from gan_studio.evaluate.reference import reference_data  # noqa: E402
from gan_studio.events import Checkpoint, Diverged, Failed, Finished  # noqa: E402
from gan_studio.store.pictures import image_grid, save_png, to_uint8  # noqa: E402

CONFIDENT = 0.9  # a sample is of one class when the classifier gives it at least this probability
PRESENT = 0.05  # a class is generated when at least this share of the samples is of it


class ShapeJudge:
    """Judges images by the classifier's confidence and by the real shapes' feature manifold."""

    def __init__(self, classifier, real_train: torch.Tensor, value_range=(-1.0, 1.0), k: int = 3):
        self.classifier, self.value_range = classifier, value_range
        self.support = classifier.features(real_train, value_range).numpy()
        self.radii = manifold_radii(self.support, k)

    def __call__(self, images: torch.Tensor) -> tuple[float, float, int, list[float]]:
        """(share of one class, realistic share, classes generated, share per class)."""
        features = self.classifier.features(images, self.value_range).numpy()
        realistic = inside_manifold(features, self.support, self.radii).mean()
        confidence, label = self.classifier.probabilities(images, self.value_range).max(dim=1)
        sure = confidence >= CONFIDENT
        shares = [float(((label == k) & sure).float().mean()) for k in range(self.classifier.num_classes)]
        return float(sure.float().mean()), float(realistic), sum(share >= PRESENT for share in shares), shares


def row(name: str, report: tuple[float, float, int, list[float]], extra: str = "") -> str:
    one_class, realistic, classes, shares = report
    return (f"| {name} | {100 * one_class:.1f} % | {100 * realistic:.1f} % | {classes} / {len(shares)} | "
            + " ".join(f"{100 * s:.0f}" for s in shares) + f" | {extra} |")  # fmt: skip


def early_steps_picture(early: list[tuple[int, float, torch.Tensor]], scale: int = 2) -> np.ndarray:
    """One row of samples per judged step, labelled with the step and the training CPU seconds so far."""
    label_width, rows = 150, []
    for step, cpu, samples in early:
        strip = image_grid(to_uint8(samples, (-1.0, 1.0)), len(samples))
        strip = np.asarray(Image.fromarray(strip.squeeze(-1) if strip.shape[-1] == 1 else strip).convert("RGB"))
        strip = np.kron(strip, np.ones((scale, scale, 1), dtype=np.uint8))
        label = Image.new("RGB", (label_width, strip.shape[0]), (255, 255, 255))
        ImageDraw.Draw(label).text((8, strip.shape[0] // 2 - 16), f"step {step:,}\n{cpu:.0f} CPU s", fill=(0, 0, 0),
                                   font=ImageFont.load_default(size=14))  # fmt: skip
        rows.append(np.concatenate([np.asarray(label), strip], axis=1))
    return np.concatenate(rows, axis=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", type=Path, default=REPO / "training" / "dcgan-shapes.toml")
    parser.add_argument("--steps", type=int, default=None, help="override the recipe's steps")
    parser.add_argument("--samples", type=int, default=1000, help="samples judged per checkpoint [1000]")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads [1]")
    parser.add_argument("--judge", type=Path, default=None, metavar="RUN", help="judge this run, do not train")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "benchmark-default", help="run folder")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a recipe setting (repeatable), e.g. --set lr_g=5e-4")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="training seed [0]")
    parser.add_argument("--judge-every", type=int, default=None, help="judge every N steps [the checkpoint cadence]")
    parser.add_argument("--early-grid", type=Path, default=None, metavar="PNG",
                        help="save a picture of 16 samples at each judged step up to --early-until")  # fmt: skip
    parser.add_argument("--early-until", type=int, default=1500, help="last step in --early-grid [1500]")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    overrides = dict(item.split("=", 1) for item in args.set)
    if args.steps:
        overrides["steps"] = args.steps
    if args.judge_every:
        overrides["checkpoint_every"] = args.judge_every
    recipe = load_recipe(args.recipe, seed=args.seed, steps_scale=1.0, overrides=overrides)
    config, train = recipe.model_config, recipe.train_config
    reference = reference_data(train.data, image_size=config.image_size, value_range=(-1.0, 1.0))
    classifier = get_classifier(reference)
    names = reference.train.class_names
    print(
        f"{recipe.model} on {train.data}, {train.steps} steps; classifier test accuracy "
        f"{100 * classifier.test_accuracy:.2f} %; classes: {', '.join(names)}",
        flush=True,
    )

    judge = ShapeJudge(classifier, reference.train.head(5000))
    test_x = reference.test.head(args.samples)
    lines = [
        "| images | one class | realistic | classes generated | share per class % | step, CPU s |",
        "|---|---|---|---|---|---|",
        row("real test images (floor)", judge(test_x)),
        row("uniform noise (ceiling)", judge(torch.rand_like(test_x) * 2 - 1)),
    ]
    z = torch.randn(args.samples, config.latent_dim, generator=torch.Generator().manual_seed(1))
    if args.judge is not None:
        from gan_studio.store.loaded import load_run

        loaded = load_run(args.judge)
        z = torch.randn(args.samples, loaded.latent_dim, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            samples = loaded.model.generate(z, None)  # the EMA generator when the run keeps one
        lines.append(row(f"samples of {args.judge.name}", judge(samples), f"{loaded.step}, -"))
        print("\n".join(lines))
        return 0
    if args.out.exists():
        import shutil

        shutil.rmtree(args.out)
    started, judging = time.process_time(), 0.0
    trainer = Trainer.new(recipe.model, config, train, out=args.out)
    judged_step, early = -1, []
    for event in trainer:
        if isinstance(event, Checkpoint) or (isinstance(event, Finished) and judged_step != trainer.step):
            judged_step = trainer.step
            cpu = time.process_time() - started - judging  # training CPU only
            judge_started = time.process_time()
            generator = copy.deepcopy(trainer.model.sampler).eval()  # what the app's grid shows (EMA when on)
            with torch.no_grad():
                samples = generator(z, None)
            line = row("DCGAN samples", judge(samples), f"{trainer.step}, {cpu:.0f}")
            lines.append(line)
            print(line, flush=True)
            if trainer.step <= args.early_until:
                early.append((trainer.step, cpu, samples[:16]))
            judging += time.process_time() - judge_started
        elif isinstance(event, (Diverged, Failed)):
            print(f"default_run: training {type(event).__name__.lower()}: {event.message}", file=sys.stderr)
            return 1
    if args.early_grid and early:
        save_png(early_steps_picture(early), args.early_grid)
        print(f"early steps picture: {args.early_grid}")
    print()
    print(f"share per class: {' '.join(names)}")
    print("\n".join(lines))
    grids = sorted((args.out / "samples").glob("step-*.png"))
    if grids:
        print(f"final grid: {grids[-1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
