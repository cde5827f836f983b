"""`gan-studio train MODEL --data D`: headless training with a progress bar (also under torchrun).

Every field of the trainer's and the models' configs is a flag; `--config FILE.toml` gives
defaults that flags override. `--resume RUN` continues a run from its last checkpoint.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time

from gan_studio.commands.data import ProgressLine, duration
from gan_studio.config import apply_values, field_specs, read_toml
from gan_studio.engine.distributed import launch_rank, shutdown
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


def _flag_help(field) -> str:
    """Help for one flag: what it does, its choices, which models use it, and its default(s)."""
    extra = f" (one of {', '.join(map(str, field.choices))})" if field.choices else ""
    if field.name in {f.name for f in field_specs(TrainConfig)}:
        return f"{field.help}{extra} [default: {field.default}]"
    defaults = {}  # model name -> default, for the models that have this setting
    for model in MODELS.values():
        for spec in field_specs(model.config_cls):
            if spec.name == field.name:
                defaults[model.name] = spec.default
    if len(set(map(str, defaults.values()))) == 1:
        users = "" if len(defaults) == len(MODELS) else f"; {', '.join(defaults)}"
        return f"{field.help}{extra} [default: {field.default}{users}]"
    return f"{field.help}{extra} [default: {', '.join(f'{m} {d}' for m, d in defaults.items())}]"


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
        p.add_argument(spec.flag, dest=spec.name, default=None, metavar=spec.type.__name__.upper(),
                       help=_flag_help(spec))  # fmt: skip
    p.set_defaults(handler=run)


RUN_PLACE_KEYS = ("out", "workspace")  # TOML keys that are not config fields but say where the run goes
RESUMABLE = {"steps", "epochs", "log_every", "sample_every", "checkpoint_every", "keep_checkpoints", "eval_every",
             "device", *HPARAMS_LIVE}  # fmt: skip


def read_recipe(path: str) -> tuple[str | None, dict, dict]:
    """A TOML recipe as (model, config values, run place {out, workspace}); tables are merged in."""
    values = read_toml(path)
    model = values.pop("model", None)
    if model is not None and not isinstance(model, str):
        raise ConfigError("'model' must be a string", path)
    place = {key: str(values.pop(key)) for key in RUN_PLACE_KEYS if key in values}
    return model, values, place


def configs_from_values(model: str, values: dict, source: str | None = None):
    """(model spec, TrainConfig, model config) from flat settings; a ConfigError names any bad one."""
    spec = get_spec(model)
    train_names = {s.name for s in field_specs(TrainConfig)}
    model_names = {s.name for s in field_specs(spec.config_cls)}
    train_values, model_values = {}, {}
    for name, value in values.items():
        key = name.replace("-", "_")
        if key in train_names:
            train_values[key] = value
        elif key in model_names:
            model_values[key] = value
        elif source:
            raise ConfigError(f"'{name}' is not a setting of {model}", source)
        else:
            raise ConfigError(f"--{key.replace('_', '-')} does not apply to {model}")
    return spec, apply_values(TrainConfig(), train_values), apply_values(spec.config_cls(), model_values)


def _collect(args) -> tuple[str | None, dict]:
    """The model and settings: the --config file's, overridden by flags given on the command line."""
    model, values = args.model, {}
    if args.config:
        toml_model, values, place = read_recipe(args.config)
        model = model or toml_model
        for key, value in place.items():
            if getattr(args, key) is None:
                setattr(args, key, value)
        if model:  # check the file's own settings first, so an error names the file
            configs_from_values(model, values, source=args.config)
    for spec in _all_field_specs():
        flag_value = getattr(args, spec.name)
        if flag_value is not None:
            values[spec.name] = flag_value
    return model, values


def run(args) -> int:
    if args.resume:
        _, values = _collect(args)
        bad = sorted(set(values) - RESUMABLE)
        if bad:
            names = ", ".join("--" + b.replace("_", "-") for b in bad)
            raise ConfigError(f"cannot change {names} when resuming (only steps, cadences, device and rates)")
        with _data_progress(args) as progress:
            trainer = Trainer.resume(args.resume, values, data_progress=progress)
    else:
        model, values = _collect(args)
        if not model:
            raise ConfigError(f"which model? give one of {', '.join(MODEL_NAMES)} (or model = ... in --config)")
        _, train_config, model_config = configs_from_values(model, values)
        with _data_progress(args) as progress:
            trainer = Trainer.new(model, model_config, train_config, out=args.out, workspace=args.workspace,
                                  data_progress=progress)  # fmt: skip
    try:
        return drive(trainer, quiet=args.quiet)
    finally:
        shutdown(trainer.dist)


@contextlib.contextmanager
def _data_progress(args):
    """A progress line for downloading or preparing the data (first process only), closed after."""
    line = ProgressLine("preparing data", enabled=not args.quiet and launch_rank() == 0)
    try:
        yield line.update
    finally:
        line.close()


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
            f"{k} {record[k]:.3g}"
            for k in ("d_loss", "g_loss", "loss", "recon", "kl")
            if isinstance(record.get(k), float)
        )
        rate = record.get("samples_per_s") or 0.0
        batches_left = self.total - step
        eta = ""
        if rate and record.get("time") and step:
            seconds = record["time"] / step * batches_left
            eta = f" ETA {duration(seconds)}"
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
