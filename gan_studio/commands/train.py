"""`gan-studio train MODEL --data D`: headless training with a progress bar (also under torchrun).

Every field of the trainer's and the models' configs is a flag; `--config FILE.toml` gives
defaults that flags override. `--resume RUN` continues a run from its last checkpoint.
"""

from __future__ import annotations

import signal
import sys
import time

from gan_studio.config import apply_values, field_specs, read_toml
from gan_studio.engine.trainer import HPARAMS_LIVE, TrainConfig, Trainer
from gan_studio.errors import ConfigError
from gan_studio.models import MODEL_NAMES, MODELS, get_spec

EXIT_DIVERGED = 3


def _all_field_specs():
    """Train-config fields, then every model-config field (first definition of a name wins)."""
    seen, specs = set(), []
    for cls in [TrainConfig] + [spec.config_cls for spec in MODELS.values()]:
        for spec in field_specs(cls):
            if spec.name not in seen:
                seen.add(spec.name)
                specs.append(spec)
    return specs


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model headless", description=__doc__,
                       epilog=f"models: {', '.join(MODEL_NAMES)}")  # fmt: skip
    p.add_argument("model", nargs="?", help=f"one of {', '.join(MODEL_NAMES)} (or set model in --config)")
    p.add_argument("--config", metavar="FILE.toml", help="read settings from a TOML file (flags override it)")
    p.add_argument("--out", metavar="DIR", help="run directory to create (default: a new folder in --workspace)")
    p.add_argument("--workspace", metavar="DIR", help="folder that holds runs (default: the user's data folder)")
    p.add_argument("--resume", metavar="RUN", help="continue this run from its last checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    for spec in _all_field_specs():
        kind = spec.type.__name__
        extra = f" (one of {', '.join(map(str, spec.choices))})" if spec.choices else ""
        p.add_argument(spec.flag, dest=spec.name, default=None, metavar=kind.upper(),
                       help=f"{spec.help}{extra} [default: {spec.default}]")  # fmt: skip
    p.set_defaults(handler=run)


def _collect(args) -> tuple[str | None, dict]:
    values: dict = {}
    model = args.model
    if args.config:
        values = read_toml(args.config)
        toml_model = values.pop("model", None)
        if toml_model is not None and not isinstance(toml_model, str):
            raise ConfigError("'model' must be a string", args.config)
        model = model or toml_model
        for key in ("out", "workspace"):
            if key in values and getattr(args, key) is None:
                setattr(args, key, str(values.pop(key)))
            values.pop(key, None)
    for spec in _all_field_specs():
        flag_value = getattr(args, spec.name)
        if flag_value is not None:
            values[spec.name] = flag_value
    return model, values


def _split_values(model: str, values: dict):
    spec = get_spec(model)
    train_names = {s.name for s in field_specs(TrainConfig)}
    model_names = {s.name for s in field_specs(spec.config_cls)}
    train_values, model_values = {}, {}
    for name, value in values.items():
        if name in train_names:
            train_values[name] = value
        elif name in model_names:
            model_values[name] = value
        else:
            raise ConfigError(f"--{name.replace('_', '-')} does not apply to {model}")
    return spec, train_values, model_values


def run(args) -> int:
    if args.resume:
        _, values = _collect(args)
        allowed = {"steps", "epochs", "log_every", "sample_every", "checkpoint_every", "keep_checkpoints",
                   "eval_every", "device", *HPARAMS_LIVE}  # fmt: skip
        bad = sorted(set(values) - allowed)
        if bad:
            raise ConfigError(f"cannot change {', '.join(bad)} when resuming (only steps, cadences and learning rates)")
        trainer = Trainer.resume(args.resume, values)
    else:
        model, values = _collect(args)
        if not model:
            raise ConfigError(f"which model? give one of {', '.join(MODEL_NAMES)} (or model = ... in --config)")
        spec, train_values, model_values = _split_values(model, values)
        train_config = apply_values(TrainConfig(), train_values)
        model_config = apply_values(spec.config_cls(), model_values)
        trainer = Trainer.new(model, model_config, train_config, out=args.out, workspace=args.workspace)
    return drive(trainer, quiet=args.quiet)


def drive(trainer: Trainer, quiet: bool = False) -> int:
    """Run the trainer to the end with a progress line; Ctrl-C stops it cleanly (twice: at once)."""
    bar = ProgressBar(trainer.total_steps, enabled=not quiet and trainer.dist.is_main)
    interrupts = {"count": 0}

    def on_sigint(signum, frame):
        interrupts["count"] += 1
        if interrupts["count"] > 1:
            raise KeyboardInterrupt
        print("\nstopping after this step (Ctrl-C again to abort)...", file=sys.stderr)
        trainer.stop()

    previous = signal.signal(signal.SIGINT, on_sigint) if _main_thread() else None
    status, code = "finished", 0
    try:
        for update in trainer:
            kind = update["kind"]
            if kind == "metrics":
                bar.update(update)
            elif kind == "started" and trainer.dist.is_main:
                print(f"run: {update['run']}", file=sys.stderr)
            elif kind == "diverged":
                bar.close()
                print(f"gan-studio: diverged: {update['message']}", file=sys.stderr)
                status, code = "diverged", EXIT_DIVERGED
            elif kind == "finished":
                status = update["status"]
            elif kind == "failed":
                bar.close()
                status, code = "failed", 1
    finally:
        bar.close()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if trainer.dist.is_main and status in ("finished", "stopped"):
        print(f"{status} at step {trainer.step}: {trainer.run.path}", file=sys.stderr)
    return code


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


class ProgressBar:
    """One self-rewriting line on a terminal (a line every ~10 s otherwise)."""

    def __init__(self, total: int, enabled: bool = True, width: int = 24):
        self.total, self.enabled, self.width = total, enabled, width
        self.tty = sys.stderr.isatty()
        self.last_print = 0.0
        self.shown = False

    def update(self, record: dict) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        step = record.get("step", 0)
        if not self.tty and now - self.last_print < 10 and step < self.total:
            return
        self.last_print = now
        frac = min(1.0, step / max(1, self.total))
        filled = int(frac * self.width)
        losses = " ".join(
            f"{k} {record[k]:.3g}" for k in ("d_loss", "g_loss", "loss", "recon", "kl") if isinstance(record.get(k), float)
        )
        rate = record.get("samples_per_s") or 0.0
        batches_left = self.total - step
        eta = ""
        if rate and record.get("time") and step:
            seconds = record["time"] / step * batches_left
            eta = f" ETA {_duration(seconds)}"
        line = (f"step {step}/{self.total} [{'#' * filled}{'.' * (self.width - filled)}] {frac:4.0%} "
                f"| {losses} | {rate:.0f} samples/s{eta}")  # fmt: skip
        if self.tty:
            sys.stderr.write("\r" + line[:160].ljust(100))
            self.shown = True
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self.shown = False


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"

