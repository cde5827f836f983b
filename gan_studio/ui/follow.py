"""Following a run that another process writes (a headless or cluster `gan-studio train`).

A QTimer polls the run directory: new lines of metrics.jsonl and events.jsonl (JsonlTail), new
sample grids in samples/, and status changes in run.json. Each is turned into the same update
dict the Trainer yields, so panels cannot tell a followed run from one trained in the app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from gan_studio.engine.rundir import JsonlTail, RunDir
from gan_studio.errors import RunError

POLL_MS = 500  # how often the run directory is checked

_EVENT_KINDS = {"hparam": "event", "pause": "paused", "resume": "resumed", "diverged": "diverged", "error": "failed"}


def event_to_update(event: dict[str, Any]) -> dict[str, Any] | None:
    """The trainer update an events.jsonl record stands for (None for bookkeeping events)."""
    kind = event.get("type")
    if kind in ("finish", "stop"):
        return {**event, "kind": "finished", "status": "finished" if kind == "finish" else "stopped"}
    if kind == "start":
        return {**event, "kind": "started"}
    if kind in _EVENT_KINDS:
        return {**event, "kind": _EVENT_KINDS[kind]}
    return None


def _complete_lines_end(path: Path) -> int:
    """Offset just after the last complete line of a file (0 when missing)."""
    try:
        data = path.read_bytes()
    except OSError:
        return 0
    return data.rfind(b"\n") + 1


class RunFollower(QObject):
    """Emits `update` for everything a run directory gains after `start()`."""

    update = Signal(object)

    def __init__(self, run_path: str | Path, parent=None, poll_ms: int = POLL_MS):
        super().__init__(parent)
        self.run = RunDir(Path(run_path))
        self._metrics = JsonlTail(self.run.metrics_file)
        self._events = JsonlTail(self.run.events_file)
        self._samples_seen: set[int] = set()
        self._status: str | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.poll)

    def start(self) -> None:
        """Skip what the run already holds (the panels read it themselves), then poll."""
        self._metrics.offset = _complete_lines_end(self.run.metrics_file)
        self._events.offset = _complete_lines_end(self.run.events_file)
        self._samples_seen = {step for step, _ in self.run.sample_steps()}
        self._status = self._read_status()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    def _read_status(self) -> str | None:
        try:
            return str(self.run.read_info().get("status"))
        except RunError:
            return None

    def poll(self) -> None:
        """Forward new records, grids and status changes (called by the timer; public for tests)."""
        for record in self._metrics.read_new():
            self.update.emit({"kind": "metrics", **record})
        for event in self._events.read_new():
            converted = event_to_update(event)
            if converted is not None:
                self.update.emit(converted)
        for step, path in self.run.sample_steps():
            if step not in self._samples_seen:
                self._samples_seen.add(step)
                self.update.emit({"kind": "sample", "step": step, "path": str(path)})
        status = self._read_status()
        if status is not None and status != self._status:
            self._status = status
            self.update.emit({"kind": "status", "status": status})
