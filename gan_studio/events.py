"""The one vocabulary of a run's life: typed events the Trainer yields and the run directory holds.

What the Trainer yields IS what the run directory records: `Metrics` events are the lines of
metrics.jsonl, every other event is a line of events.jsonl (`to_json` / `event_from_json`). A run
trained in this process and a run followed from disk (a headless or cluster `gan-studio train`)
therefore feed the same `RunState.apply`, with no translation in between.

Run statuses (run.json "status") are spelled once, here, in `RUN_STATUSES`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

# every status a run can have, in the order a run goes through them
RUN_STATUSES = ("starting", "running", "paused", "finished", "stopped", "diverged", "failed")
ACTIVE_STATUSES = ("starting", "running", "paused")  # someone is (or should be) training the run
FINAL_STATUSES = ("finished", "stopped", "diverged", "failed")
RESUMABLE_STATUSES = ("stopped", "paused", "failed", "diverged")  # plus "running" when its writer died

METRIC_BOOKKEEPING = ("step", "epoch", "time", "samples_per_s")  # fields of a metrics record that are not metrics


@dataclass(frozen=True)
class Event:
    """Something that happened to a run at a training step."""

    type: ClassVar[str] = ""
    step: int

    def to_json(self) -> dict[str, Any]:
        """The JSON object written for this event (events.jsonl line; Metrics: a metrics.jsonl record)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {"type": self.type, **fields}


@dataclass(frozen=True)
class Started(Event):
    """Training (re)started at `step` of `total_steps`; `resumed_from` names the checkpoint when resumed."""

    type: ClassVar[str] = "start"
    total_steps: int = 0
    model: str = ""
    resumed_from: str | None = None
    world_size: int = 1
    notes: tuple[str, ...] = ()  # what a resume dropped or changed, in words (unreadable metric lines, a restart)
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Metrics(Event):
    """One logged step: epoch, training seconds, samples/s and the model's metrics (a metrics.jsonl line)."""

    type: ClassVar[str] = "metrics"
    values: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, **{k: v for k, v in self.values.items() if k != "step"}}

    def get(self, name: str, default=None):
        return self.step if name == "step" else self.values.get(name, default)

    def numbers(self) -> dict[str, float]:
        """The plottable metrics of the record (non-finite values, written as 'nan'/'inf', included)."""
        out = {}
        for key, value in self.values.items():
            if key in METRIC_BOOKKEEPING or isinstance(value, bool):
                continue
            if isinstance(value, (int, float)):
                out[key] = float(value)
            elif isinstance(value, str) and value.strip().lower() in ("nan", "inf", "-inf", "infinity", "-infinity"):
                out[key] = float(value)
        return out


@dataclass(frozen=True)
class Sample(Event):
    """A fixed-noise grid was saved; `path` is relative to the run directory (samples/step-NNNNNNN.png)."""

    type: ClassVar[str] = "sample"
    path: str = ""
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Checkpoint(Event):
    """A checkpoint was written (checkpoints/last.pt and, when kept, checkpoints/step-NNNNNNN.pt)."""

    type: ClassVar[str] = "checkpoint"
    path: str = "checkpoints/last.pt"
    verified: bool = True  # its weights and optimizer state were checked finite before saving
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class HParamChanged(Event):
    """A live hyperparameter changed from `old` to `new`, effective from `step`."""

    type: ClassVar[str] = "hparam"
    name: str = ""
    old: Any = None
    new: Any = None
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Paused(Event):
    type: ClassVar[str] = "pause"
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Resumed(Event):
    """Training went on after a pause (not: a run continued from a checkpoint, which is a Started)."""

    type: ClassVar[str] = "resume"
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Advice(Event):
    """The training-health advisor noticed something: in words, with a suggested action."""

    type: ClassVar[str] = "advice"
    code: str = ""
    severity: str = "warning"  # "info" | "warning" | "error"
    message: str = ""
    action: str = ""
    metrics: tuple[str, ...] = ()  # the plotted metrics the finding is about (where the plots mark it)
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Finished(Event):
    """Training ended at `step`: status "finished" (all steps done) or "stopped" (asked to stop)."""

    type: ClassVar[str] = "finish"
    status: str = "finished"
    reason: str = ""
    rank_digests: tuple[str, ...] = ()
    ranks_in_sync: bool | None = None
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Diverged(Event):
    """A loss became NaN or inf at `step`; the run stops and keeps its last verified checkpoint."""

    type: ClassVar[str] = "diverged"
    loss: str = ""
    value: Any = None
    message: str = ""
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Failed(Event):
    """Training stopped on an error (bad data, out of memory, a bug), explained in `message`."""

    type: ClassVar[str] = "error"
    message: str = ""
    time: float = field(default_factory=time.time)


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        Started,
        Metrics,
        Sample,
        Checkpoint,
        HParamChanged,
        Paused,
        Resumed,
        Advice,
        Finished,
        Diverged,
        Failed,
    )
}
# what each event makes the run's status (events not listed leave it as it is)
STATUS_AFTER = {Started: "running", Paused: "paused", Resumed: "running", Diverged: "diverged", Failed: "failed"}
MAX_TEXT = 2000  # characters kept of any text field read from a file


def status_after(event: Event, current: str) -> str:
    """The run's status once `event` happened."""
    if isinstance(event, Finished):
        return event.status if event.status in ("finished", "stopped") else "finished"
    return STATUS_AFTER.get(type(event), current)


def metrics_from_record(record: Mapping[str, Any]) -> Metrics | None:
    """A metrics.jsonl record as a Metrics event (None without an integer step)."""
    step = record.get("step")
    if not _is_step(step):
        return None
    return Metrics(step=int(step), values={k: v for k, v in record.items() if k not in ("step", "type")})


def event_from_json(data: Mapping[str, Any]) -> Event | None:
    """The event an events.jsonl object stands for; None for unknown or malformed lines (never raises).

    Runs written before the "finish" event carried a status wrote "stop" for a stopped run: read as
    Finished(status="stopped").
    """
    kind = data.get("type")
    if kind == "stop":
        data, kind = {**data, "status": "stopped"}, "finish"
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None or not _is_step(data.get("step")):
        return None
    if cls is Metrics:
        return metrics_from_record(data)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        default = f.default if f.default is not dataclasses.MISSING else None
        if isinstance(default, str) or f.name in ("message", "path", "name", "code", "action"):
            value = str(value)[:MAX_TEXT] if value is not None else ""
        elif f.name == "time" and not (isinstance(value, (int, float)) and math.isfinite(value)):
            continue
        elif f.name in ("total_steps", "world_size", "step"):
            if not _is_step(value):
                continue
            value = int(value)
        elif f.name in ("rank_digests", "metrics"):
            value = tuple(str(v)[:128] for v in value[:1024]) if isinstance(value, (list, tuple)) else ()
        elif f.name == "notes":
            value = tuple(str(v)[:MAX_TEXT] for v in value[:16]) if isinstance(value, (list, tuple)) else ()
        values[f.name] = value
    return cls(**values)


def _is_step(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**62


__all__ = [
    "ACTIVE_STATUSES", "Advice", "Checkpoint", "Diverged", "EVENT_TYPES", "Event", "FINAL_STATUSES", "Failed",
    "Finished", "HParamChanged", "Metrics", "Paused", "RESUMABLE_STATUSES", "RUN_STATUSES", "Resumed", "Sample",
    "Started", "event_from_json", "metrics_from_record", "status_after",
]  # fmt: skip
