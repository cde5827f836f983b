"""`gan-studio train MODEL --data D`: headless training with a progress bar (also under torchrun).

Every field of the trainer's and the models' configs is a flag; `--config FILE.toml` gives
defaults that flags override. `--resume RUN` continues a run from its last checkpoint.
"""

from __future__ import annotations

import contextlib
import gc
import signal
import sys
import threading
import time
from pathlib import Path

from gan_studio.commands.arguments import resolve_run, switch_value
from gan_studio.commands.data import ProgressLine, StatusLine, duration
from gan_studio.config import field_specs, flag_of, spelled_as
from gan_studio.data.left_out import left_out_lines
from gan_studio.engine.distributed import launch_rank, shutdown
from gan_studio.engine.settings import TrainConfig, all_field_specs, configs_from_values, read_recipe
from gan_studio.engine.setup_summary import setup_line
from gan_studio.engine.threads import leave_a_core_free
from gan_studio.engine.trainer import Trainer
from gan_studio.errors import ConfigError, GanStudioError, NothingToTrain, printable
from gan_studio.evaluate.callbacks import default_callbacks
from gan_studio.events import Advice, Diverged, Failed, Finished, Metrics, Started
from gan_studio.metric_names import METRICS, metrics_where, short_label
from gan_studio.models import MODEL_NAMES, MODELS
from gan_studio.models.gan_losses import GAN_LOSSES
from gan_studio.stopping import HANGUP, mute_output, stopping_signals
from gan_studio.store.rundir import RunDir

EXIT_OK, EXIT_FAILED, EXIT_DIVERGED = 0, 1, 3


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
    p.add_argument("--resume", metavar="RUN", help="continue this run (its folder, or its name in --workspace)")
    p.add_argument(
        "--from",
        dest="from_checkpoint",
        metavar="CHECKPOINT",
        help="with --resume: continue from a kept checkpoint instead of last.pt (step-N, as `gan-studio fork RUN --list` shows)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    for spec in all_field_specs():
        switch = {"nargs": "?", "const": "true", "type": switch_value(spec)} if spec.type is bool else {}
        p.add_argument(
            spec.flag,
            dest=spec.name,
            default=None,
            metavar=spec.type.__name__.upper(),
            help=_flag_help(spec).replace("%", "%%"),
            **switch,
        )  # fmt: skip  (argparse formats help with %)
    p.set_defaults(handler=run)


def _collect(args) -> tuple[str | None, dict]:
    """The model and settings: the --config file's, overridden by flags given on the command line (their names
    in `args.flags_given`, so that a problem with one names the flag)."""
    model, values = args.model, {}
    args.flags_given = []
    if args.config:
        toml_model, values, place = read_recipe(args.config)
        model = model or toml_model
        for key, value in place.items():
            if getattr(args, key) is None:
                setattr(args, key, value)
        if model:  # check the file's own settings first, so an error names the file
            configs_from_values(model, values, source=args.config)
    for spec in all_field_specs():
        flag_value = getattr(args, spec.name)
        if flag_value is not None:
            values[spec.name] = flag_value
            args.flags_given.append(spec.name)
    if args.steps is not None and _above_zero(args.epochs):
        raise ConfigError("give --steps or --epochs, not both: --epochs sets the length when it is above 0, so "
                          "--steps would be ignored")  # fmt: skip
    if args.steps is not None and not args.resume:
        values["epochs"] = 0.0  # --steps on the command line sets the length, over a recipe's epochs
    return model, values


def _above_zero(text: str | None) -> bool:
    """Whether a flag's text is a number above 0 (a bad one is reported by the config, by name)."""
    try:
        return text is not None and float(text) > 0
    except ValueError:
        return False


def run(args) -> int:
    leave_a_core_free()  # all cores busy with torch: 10-25x slower whenever anything else runs
    model, values = _collect(args)
    try:
        return _train(args, model, values)
    except ConfigError as exc:
        if exc.path is not None:  # a recipe's own setting: named as the file names it
            raise
        raise ConfigError(spelled_as(exc.reason, args.flags_given, flag_of)) from None  # "--lr-g", not "lr_g"


def _train(args, model: str | None, values: dict) -> int:
    callbacks = default_callbacks()
    if args.resume is not None:
        resumed = resolve_run(args.resume, args.workspace)
        _check_resume_target(resumed, model, args.out)
        try:
            with _data_progress(args) as progress:
                trainer = Trainer.from_checkpoint(resumed, values,
                                                  start_from=args.from_checkpoint, callbacks=callbacks,
                                                  data_progress=progress)  # fmt: skip
        except NothingToTrain as done:  # exit 0: a resume-until-done loop ends; the run's files are as they were
            _say_nothing_is_left(done.step, done.total, by_epochs=_above_zero(str(values.get("epochs"))))
            if launch_rank() == 0:
                print(resumed)  # on stdout, as a training prints its run: `RUN=$(gan-studio train --resume …)` holds it
            return 0
        _say_if_the_global_batch_changed(trainer)
    else:
        if args.from_checkpoint:
            raise ConfigError("--from goes with --resume RUN (or use `gan-studio fork`)")
        if not model:
            raise ConfigError(f"which model? give one of {', '.join(MODEL_NAMES)} (or model = ... in --config)")
        _, train_config, model_config = configs_from_values(model, values)
        with _data_progress(args) as progress:
            trainer = Trainer.new(model, model_config, train_config, out=args.out, workspace=args.workspace,
                                  callbacks=callbacks, data_progress=progress)  # fmt: skip
    fixed = GAN_LOSSES.get(str(getattr(trainer.model_config, "loss", ""))) if "g_loss" in values else None
    if fixed is not None and fixed.generator and launch_rank() == 0:  # (the app hides the field then)
        print(f"gan-studio: note: --g-loss does nothing with --loss {trainer.model_config.loss}: that loss fixes G's "
              "objective", file=sys.stderr)  # fmt: skip
    if trainer.train_config.sync_batchnorm and not trainer.dist.enabled:  # (torchrun on CPUs refuses it)
        print("gan-studio: note: --sync-batchnorm does nothing in one process: it synchronises the BatchNorm "
              "statistics of several GPU processes under torchrun", file=sys.stderr)  # fmt: skip
    with SignalsStop(trainer) as signals:  # until the command returns: a signal after the end changes nothing
        try:
            return drive(trainer, signals, quiet=args.quiet)
        finally:
            context = trainer.dist
            signals.trainer = None
            del trainer  # its DDP wrappers and their pending work hold the process group: they go first
            gc.collect()
            shutdown(context)


def _say_if_the_global_batch_changed(trainer: Trainer) -> None:
    """A run resumed on another number of processes trains on another global batch from here on: say so once."""
    saved, stream = trainer.stream.resized_from, trainer.stream
    if saved is not None and launch_rank() == 0:
        old_processes = f"{saved // stream.batch_size} process{'es' if saved // stream.batch_size != 1 else ''}"
        now = f"{stream.world_size} process{'es' if stream.world_size != 1 else ''}"
        print(f"gan-studio: the run trained with a global batch of {saved} ({old_processes} x {stream.batch_size}); "
              f"it continues with {stream.global_batch} ({now} x {stream.batch_size}), after the same samples of "
              f"epoch {stream.epoch}", file=sys.stderr)  # fmt: skip


def _say_nothing_is_left(step: int, total: int, by_epochs: bool) -> None:
    """A resume of a run that has trained all its steps does nothing: say how to train it further."""
    if launch_rank() != 0:
        return
    if by_epochs:
        print(f"gan-studio: --epochs is the run's whole length, not epochs to add: it comes to {total:,} steps and "
              f"the run is at step {step:,} already, so there is nothing to train: give more epochs", file=sys.stderr)  # fmt: skip
    elif step > total:  # --steps read as "this many more"
        print(f"gan-studio: --steps is the run's whole length, not steps to add: it is at step {step:,} "
              f"already, so there is nothing to train: give --steps N (more than {step:,})", file=sys.stderr)  # fmt: skip
    else:
        print(f"gan-studio: the run has trained all its {total:,} steps, so there is nothing to resume: "
              f"give --steps N (more than {step:,}) to train it further", file=sys.stderr)  # fmt: skip


def _check_resume_target(run: Path, model: str | None, out: str | None) -> None:
    """A model name (typed, or a recipe's) and --out given with --resume must be the run's own."""
    if not run.is_dir():
        return  # resuming says what is missing
    run_model = RunDir(run).read_info().get("model")
    if model and run_model and model != run_model:
        raise ConfigError(f"--resume continues a {run_model} run, not {model}: leave the model out, or start a new "
                          "run without --resume")  # fmt: skip
    if out is not None and Path(out).resolve() != run.resolve():
        raise ConfigError("--out does not go with --resume: the run continues in its own folder "
                          f"({run}); to continue a copy elsewhere, use `gan-studio fork`")  # fmt: skip


@contextlib.contextmanager
def _data_progress(args):
    """A progress line for downloading or preparing the data (first process only), closed after."""
    first = launch_rank() == 0
    line = ProgressLine("preparing data", enabled=not args.quiet and first, notes=first)
    try:
        yield line.update
    finally:
        line.close()


class SignalsStop:
    """Ctrl-C, SIGTERM or a hangup (the terminal closed) stop the training after the current step; a second
    Ctrl-C aborts at once. Held until the command returns: a stop asked for once the training has ended (while
    it says so, or leaves the process group) is a no-op, so a finished run never exits as stopped."""

    def __init__(self, trainer: Trainer):
        self.trainer: Trainer | None = trainer
        self.received: list[int] = []  # the signals that asked for a stop while the run trained
        self.ended = False  # the training has ended: nothing is left to stop
        self.bar: ProgressBar | None = None  # the progress line on a terminal, ended before the stop is said
        self._seen: list[int] = []  # every signal, also those after the end
        self._previous: dict[int, object] = {}

    def __enter__(self) -> SignalsStop:
        if _main_thread():
            for signum in stopping_signals():
                self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _on_signal(self, signum, frame) -> None:
        self._seen.append(signum)
        if len(self._seen) > 1 and signum == signal.SIGINT:
            raise KeyboardInterrupt  # Ctrl-C again: abort now (also while an ended run is leaving, if that hangs)
        if signum == HANGUP:  # the terminal is gone (a dropped ssh session): writing to it would fail
            mute_output()
        trainer = self.trainer
        if self.ended or trainer is None:
            return
        self.received.append(signum)
        if trainer.dist.is_main and len(self.received) == 1:  # said once (a scheduler's and torchrun's SIGTERM)
            if self.bar is not None:
                self.bar.close()  # the progress line on a terminal ends first (a log file has none: no blank line)
            again = " (Ctrl-C again to abort)" if signum == signal.SIGINT else ""  # who sent SIGTERM pressed no key
            print(f"{signal.Signals(signum).name}: stopping after this step{again}...", file=sys.stderr)
        trainer.stop()


def drive(trainer: Trainer, signals: SignalsStop, quiet: bool = False) -> int:
    """Run the trainer to the end with a progress line; the exit code says how it ended.

    A stop by a signal (`signals`) saves a checkpoint (status "stopped") and exits 128 + the signal (130, 143,
    129), so scripts can tell a stop from a finish. Divergence exits 3, a failure 1.
    """
    bar = ProgressBar(trainer.total_steps, enabled=not quiet and trainer.dist.is_main)
    signals.bar = bar
    status, code = "finished", EXIT_OK
    output_lost: list[OSError] = []
    try:
        for event in trainer:
            if isinstance(event, Diverged):
                status, code = "diverged", EXIT_DIVERGED
            elif isinstance(event, Finished):
                status, signals.ended = event.status, True  # recorded: a stop asked for from here on changes nothing
                if event.ranks_in_sync is False and trainer.dist.is_main:
                    print("gan-studio: warning: the processes ended with different weights (run.json's rank_digests "
                          "differ): the checkpoint holds the first process's", file=sys.stderr)  # fmt: skip
            elif isinstance(event, Failed):
                status, code = "failed", EXIT_FAILED
            try:
                _show(event, bar, trainer)
            except OSError as exc:  # the reader went away (`| head`, a dead `| tee`) or the log's disk is full
                if not output_lost:
                    output_lost.append(exc)
                    mute_output()
                    trainer.stop()  # after this step, with a checkpoint: nothing trained is lost
    except GanStudioError as exc:
        if status != "failed":
            raise  # refused before training began: bad input, exit 2
        one_line = " ".join(str(exc).splitlines())
        print(f"gan-studio: error: {one_line}", file=sys.stderr)  # failed while training (a full disk...): exit 1
        return EXIT_FAILED
    finally:
        signals.ended = True
        with contextlib.suppress(OSError):
            bar.finish()
    if trainer.dist.is_main and status in ("finished", "stopped"):
        print(f"{status} at step {trainer.step}: {trainer.run.path}", file=sys.stderr)
        if not sys.stdout.isatty():  # for scripts: RUN=$(gan-studio train ...) is the run's folder
            print(trainer.run.path)
    if status == "stopped" and signals.received:
        return 128 + signals.received[0]
    if status == "stopped" and output_lost:
        return 128 + signal.SIGPIPE if isinstance(output_lost[0], BrokenPipeError) else EXIT_FAILED
    return code


def _show(event, bar: ProgressBar, trainer: Trainer) -> None:
    """What a person sees of an event: the progress line, the run's folder, advice, divergence."""
    if isinstance(event, Metrics):
        bar.update(event)
    elif isinstance(event, Started) and trainer.dist.is_main:
        print(f"run: {trainer.run.path}", file=sys.stderr)
        if bar.enabled:  # --quiet: the run and its end only
            print(setup_line(trainer), file=sys.stderr)
        if event.resumed_from:  # a log says where the run went on from (a resume without a checkpoint has a note)
            print(f"resumed from step {event.step:,} ({event.resumed_from})", file=sys.stderr)
        dataset = trainer.run.read_info().get("dataset")  # as written: describe() again would hash the data again
        for line in (*event.notes, *left_out_lines(dataset, trainer.spec.conditional)):  # as the app says them
            print(printable(f"gan-studio: note: {line}"), file=sys.stderr)
    elif isinstance(event, Advice) and trainer.dist.is_main:
        bar.close()
        what_to_do = event.action[:1].upper() + event.action[1:]  # a sentence of its own, after the finding's
        print(f"advice at step {event.step}: {event.message.rstrip('.')}. {what_to_do}", file=sys.stderr)
    elif isinstance(event, Diverged):
        bar.close()
        print(f"gan-studio: diverged: {event.message}", file=sys.stderr)
    elif isinstance(event, Failed):
        bar.close()


def _quality_text(name: str, value: float) -> str:
    """'modes 8', 'HQ 96%': a live quality metric on the progress line."""
    info = METRICS[name]
    number = f"{value * 100:.0f}%" if info.unit == "%" else f"{value:.3g}"
    return f"{short_label(name)} {number}"


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class ProgressBar(StatusLine):
    """Training progress as one self-rewriting line on a terminal (a line every ~10 s otherwise)."""

    def __init__(self, total: int, enabled: bool = True, width: int = 24):
        super().__init__(enabled)
        self.total, self.width = total, width
        self.latest: dict = {}  # each value as last logged: an evaluation's record carries no losses or rate
        self.last_line = ""  # off a terminal, the last step's line waits for `finish`: its evaluation comes after it

    def update(self, record: Metrics) -> None:
        if not self.enabled:
            return
        self.latest.update(record.values)
        now = time.monotonic()
        step = record.step
        if not self.tty and now - self.last_print < 10 and step < self.total:
            return
        self.last_print = now
        frac = min(1.0, step / max(1, self.total))
        filled = int(frac * self.width)
        values = self.latest
        shown = [name for name in metrics_where("progress") if isinstance(values.get(name), (int, float))]
        losses = "  ".join(f"{short_label(name)} {values[name]:.3g}" for name in shown if not METRICS[name].quality)
        quality = "  ".join(_quality_text(name, values[name]) for name in shown if METRICS[name].quality)
        losses += f" | {quality}" if quality else ""
        rate = values.get("samples_per_s") or 0.0
        batches_left = self.total - step
        eta = ""
        if rate and values.get("time") and step:
            seconds = values["time"] / step * batches_left
            eta = f" ETA {duration(seconds)}"
        line = (f"step {step}/{self.total} [{'#' * filled}{'.' * (self.width - filled)}] {frac:4.0%} "
                f"| {losses} | {rate:.0f} samples/s{eta}")  # fmt: skip
        if not self.tty and step >= self.total:
            self.last_line = line  # a live evaluation of this step may follow: one line, with its figures
            return
        self.show(line, pad=100)

    def finish(self) -> None:
        """The end of the run: the last step's line (off a terminal), and the line closed."""
        if self.last_line:
            self.show(self.last_line, pad=100)
            self.last_line = ""
        self.close()
