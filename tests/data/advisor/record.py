"""Record a metric stream for the advisor tests by really training a run (not collected by pytest).

    PYTHONPATH=. python tests/data/advisor/record.py NAME [--every K] [--change STEP:NAME=VALUE] -- train ARGS...

Trains exactly as `gan-studio train ARGS` does (same parser, same Trainer and callbacks, so the live
evaluation of --eval-every too, same metrics.jsonl),
in a temporary workspace (--change: a live hyperparameter change at STEP, as the app's sliders
make it, through Trainer.set_hparams), and adds to each logged record the health signals the trainer is meant
to log (gan_studio.evaluate.health.health_metrics: fixed-noise "diversity", VAE "active_units").
Keeps every K-th training record (all live-eval records), rounded to 4 significant digits, in
tests/data/advisor/NAME.jsonl, and the command in streams.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch

from gan_studio.cli import build_parser
from gan_studio.commands.train import _collect, configs_from_values
from gan_studio.config import to_dict
from gan_studio.engine.trainer import Trainer
from gan_studio.evaluate.callbacks import default_callbacks
from gan_studio.evaluate.health import PROBE_SAMPLES, health_metrics
from gan_studio.events import Diverged, Metrics
from gan_studio.models.base import one_hot

HERE = Path(__file__).resolve().parent
KEPT = ("step", "d_loss", "g_loss", "d_real", "d_fake", "loss", "recon", "kl", "modes", "high_quality",
        "frechet_live", "diversity", "active_units")  # fmt: skip


def _rounded(value):
    return float(f"{value:.4g}") if isinstance(value, float) else value


def _probe(trainer: Trainer):
    """A fixed batch of training data (and its one-hot labels for conditional models)."""
    generator = torch.Generator().manual_seed(trainer.train_config.seed + 31)
    idx = torch.randperm(len(trainer.dataset.x), generator=generator)[:PROBE_SAMPLES]
    x = trainer.dataset.x[idx].to(trainer.device)
    k = trainer.model.num_classes
    y = one_hot(trainer.dataset.y[idx], k).to(trainer.device) if k else None
    return x, y


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name")
    parser.add_argument("--every", type=int, default=1, help="keep every K-th training record")
    parser.add_argument("--change", action="append", default=[], metavar="STEP:NAME=VALUE",
                        help="change a live hyperparameter (lr_g, lr_d, lr, d_steps, beta) at STEP")  # fmt: skip
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    args, train_args = parser.parse_args(argv[:split]), argv[split + 1 :]
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as workspace:
        targs = build_parser().parse_args([*train_args, "--workspace", workspace, "--quiet"])
        model, values = _collect(targs)
        _, train_config, model_config = configs_from_values(model, values)
        trainer = Trainer.new(model, model_config, train_config, workspace=workspace, callbacks=default_callbacks())
        probe_x, probe_y = _probe(trainer)
        changes = {}
        for text in args.change:
            at, _, setting = text.partition(":")
            name, _, value = setting.partition("=")
            changes.setdefault(int(at), {})[name] = float(value) if name != "d_steps" else int(value)
        kept, count = [], 0
        for update in trainer:
            if isinstance(update, Metrics) and update.step in changes:
                trainer.set_hparams(**changes.pop(update.step))
            if isinstance(update, Diverged):
                print(f"diverged: {update.message}", file=sys.stderr)
            if not isinstance(update, Metrics):
                continue
            record = update.to_json()
            if "d_loss" in record or "loss" in record:  # a training record (not a live-eval one)
                count += 1
                record.update(health_metrics(trainer.model, trainer.fixed_z, trainer.fixed_y, probe_x, probe_y))
                if (count - 1) % args.every and record["step"] != trainer.total_steps:
                    continue
            kept.append({k: _rounded(record[k]) for k in KEPT if k in record})
    out = HERE / f"{args.name}.jsonl"
    out.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in kept))
    manifest_path = HERE / "streams.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest[args.name] = {"command": f"gan-studio {' '.join(train_args)}", "family": trainer.spec.family,
                           "live_changes": args.change, "latent_dim": trainer.model.latent_dim,
                           "model_config": to_dict(trainer.model_config), "kept_every": args.every}  # fmt: skip
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print(f"wrote {out} ({len(kept)} records, last step {trainer.step})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
