"""The state of one run as the app shows it, built from its events: one owner, one `apply`.

A run trained in the app (events from the Trainer, through the worker thread) and a run opened or
followed from disk (`RunState.load`, then `RunTail`) go through the same `RunState.apply`, so no
panel can tell them apart and no panel reads run files. Panels `subscribe` and are called after
each applied event with the event; they read everything else from the state.
"""

from __future__ import annotations

import math
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan_studio.errors import RunError
from gan_studio.events import (
    Advice,
    Checkpoint,
    Diverged,
    Event,
    Failed,
    HParamChanged,
    Metrics,
    Sample,
    Started,  # fmt: skip
    event_from_json,
    metrics_from_record,
    status_after,
)
from gan_studio.models import MODELS
from gan_studio.state.series import Series
from gan_studio.store.pictures import grid_classes
from gan_studio.store.rundir import RunDir

Listener = Callable[[Event], None]


@dataclass(frozen=True)
class ProgressPoint:
    """The newest throughput figures of the run (for progress, ETA and samples/s)."""

    step: int
    epoch: float | None
    seconds: float | None
    samples_per_s: float | None


class RunState:
    """Everything known about one run, kept current by `apply(event)`."""

    def __init__(self, path: Path | None = None, info: dict[str, Any] | None = None):
        self.path = Path(path) if path is not None else None
        self.info: dict[str, Any] = dict(info or {})
        self.status: str = str(self.info.get("status", "starting"))
        self.step = _int(self.info.get("step"))
        self.total_steps = _int(self.info.get("steps_total"))
        self.series: dict[str, Series] = {}  # metric name -> its history
        self.last_values: dict[str, tuple[float, int]] = {}  # metric name -> (newest value, its step)
        self.progress: ProgressPoint | None = None
        self.hparam_changes: list[HParamChanged] = []
        self.advice: list[Advice] = []
        self.samples: list[tuple[int, Path]] = []  # saved grids (step, path), oldest first
        self.checkpoint_step: int | None = None
        self.trained_here = False  # trained by this app (its Pause and Stop apply), not followed from disk
        self.problem: str = ""  # why the run diverged or failed
        self.on_listener_error: Callable[[Exception], None] | None = None  # how a view's failure is reported
        self._listeners: list[Listener] = []

    # what the run is --------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.path.name if self.path else ""

    def settings_now(self) -> dict[str, Any]:
        """run.json's record with the live hyperparameter changes applied to its model_config: the
        settings the run trains with now (and resumes with), not those it started with."""
        info = dict(self.info)
        model_config = info.get("model_config")
        if isinstance(model_config, dict):
            model_config = dict(model_config)
            for change in sorted(self.hparam_changes, key=lambda c: c.step):
                if change.name in model_config:
                    model_config[change.name] = change.new
            info["model_config"] = model_config
        return info

    @property
    def model_name(self) -> str:
        return str(self.info.get("model", ""))

    @property
    def family(self) -> str | None:
        spec = MODELS.get(self.model_name)
        return spec.family if spec else None

    @property
    def conditional(self) -> bool:
        spec = MODELS.get(self.model_name)
        return bool(spec and spec.conditional)

    @property
    def data_info(self) -> dict[str, Any]:
        data = self.info.get("data_info")
        return data if isinstance(data, dict) else {}

    @property
    def data_kind(self) -> str:
        return str(self.data_info.get("kind", ""))

    @property
    def class_names(self) -> list[str]:
        names = self.data_info.get("class_names") or []
        return [str(n) for n in names] if isinstance(names, list) else []

    @property
    def grid_row_labels(self) -> list[str]:
        """Row labels of the run's sample grids: class names for conditional image models."""
        if not (self.conditional and self.data_kind == "images"):
            return []
        return [self.class_names[k] for k in grid_classes(len(self.class_names))]

    @property
    def real_picture(self) -> Path | None:
        """samples/real.png, the batch of training data saved at the start (None if absent)."""
        if self.path is None:
            return None
        path = RunDir(self.path).samples_dir / "real.png"
        return path if path.is_file() and not path.is_symlink() else None

    @property
    def settings(self) -> dict[str, Any]:
        """The run's model and train settings from run.json (flat), to fill a setup form."""
        out: dict[str, Any] = {}
        for key in ("train_config", "model_config"):
            if isinstance(self.info.get(key), dict):
                out.update(self.info[key])
        return out

    # observing --------------------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(event)` after each applied event; returns a function that unsubscribes."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def apply(self, event: Event, notify: bool = True) -> None:
        """Take one event into the state, then tell the listeners (a listener's error is reported, not raised)."""
        self._take(event)
        if notify:
            for listener in list(self._listeners):
                try:
                    listener(event)
                except Exception as exc:  # noqa: BLE001 - one broken view must not stop the others
                    traceback.print_exc(file=sys.stderr)
                    if self.on_listener_error is not None:
                        self.on_listener_error(exc)

    def _take(self, event: Event) -> None:
        self.status = status_after(event, self.status)
        if isinstance(event, Metrics):
            self._take_metrics(event)
        elif isinstance(event, Started):
            self._rewind(event)
        elif isinstance(event, Sample):
            self._take_sample(event)
        elif isinstance(event, Checkpoint):
            self.checkpoint_step = event.step
        elif isinstance(event, HParamChanged):
            if not any(
                c.step == event.step and c.name == event.name and c.new == event.new for c in self.hparam_changes
            ):
                self.hparam_changes.append(event)
        elif isinstance(event, Advice):
            self.advice.append(event)
        elif isinstance(event, (Diverged, Failed)):
            self.problem = event.message
        if not isinstance(event, (Metrics, Started)):
            self.step = max(self.step, event.step)

    def _rewind(self, event: Started) -> None:
        """A run (re)starts at `event.step`: what came after that step belongs to a history that is gone."""
        step = event.step
        self.total_steps = event.total_steps or self.total_steps
        self.step = step
        self.problem = ""
        self.info.setdefault("model", event.model)
        for series in self.series.values():
            series.truncate_after(step)
        self.samples = [(s, p) for s, p in self.samples if s <= step]
        self.hparam_changes = [c for c in self.hparam_changes if c.step <= step]
        self.advice = [a for a in self.advice if a.step <= step]

    def _take_metrics(self, event: Metrics) -> None:
        values = event.values
        epoch, seconds = _float(values.get("epoch")), _float(values.get("time"))
        for name, value in event.numbers().items():
            series = self.series.get(name)
            if series is None:
                series = self.series[name] = Series()
            if event.step > series.last_step:  # records read from disk may arrive again live
                series.append(float(event.step), epoch, seconds, value)
            previous = self.last_values.get(name)
            if previous is None or event.step >= previous[1]:
                self.last_values[name] = (value, event.step)
        if "samples_per_s" in values:
            rate = values.get("samples_per_s")
            self.progress = ProgressPoint(event.step, _float_or_none(values.get("epoch")),
                                          _float_or_none(values.get("time")), _float_or_none(rate))  # fmt: skip
        self.step = max(self.step, event.step)

    def _take_sample(self, event: Sample) -> None:
        path = RunDir(self.path).resolve(event.path) if self.path else None
        if path is None or path.name == "real.png":
            return
        self.samples = [(s, p) for s, p in self.samples if s != event.step]
        self.samples.append((event.step, path))
        self.samples.sort(key=lambda item: item[0])

    # loading --------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path, stop: threading.Event | None = None) -> RunState:
        """The state of a run from its folder (RunError when it is not a readable run, or when `stop`
        was set while its metrics were being read: a reading in the background that is no longer wanted)."""
        run = RunDir(Path(path))
        run.check_layout()
        state = cls(run.path, run.read_info())
        saved_status = state.status
        # events in the order they happened (a rewind drops what came after it), then the metrics, whose
        # file a resume already cut back to the checkpoint
        for record in run.read_events():
            event = event_from_json(record)
            if event is not None and not isinstance(event, Metrics):
                state.apply(event, notify=False)
        for count, record in enumerate(run.iter_metrics()):
            if stop is not None and count % 4096 == 0 and stop.is_set():
                raise RunError("reading stopped", run.path)
            event = metrics_from_record(record)
            if event is not None:
                state.apply(event, notify=False)
        for step, sample in run.sample_steps():  # grids of runs written before Sample events existed
            if all(s != step for s, _ in state.samples):
                state.samples.append((step, sample))
        state.samples.sort(key=lambda item: item[0])
        state.status = saved_status  # run.json knows best (e.g. a run whose process was killed)
        state.step = max(state.step, _int(state.info.get("step")))
        if state.checkpoint_step is None and run.last_checkpoint.is_file():  # written before Checkpoint events
            state.checkpoint_step = state.step
        return state


def _int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _float(value) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


def _float_or_none(value) -> float | None:
    number = _float(value)
    return None if math.isnan(number) else number
