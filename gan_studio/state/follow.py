"""Following a run another process writes (a headless or cluster `gan-studio train`): its new events.

`RunTail.read_new()` returns the events the run's files gained since the last call, as the same
typed events the Trainer yields (metrics.jsonl lines are Metrics, events.jsonl lines the rest),
so a followed run feeds `RunState.apply` exactly like a run trained in this process.
"""

from __future__ import annotations

from pathlib import Path

from gan_studio.events import Event, Metrics, event_from_json, metrics_from_record
from gan_studio.store.jsonl import JsonlTail
from gan_studio.store.rundir import RunDir


class RunTail:
    """New events of a run directory since `skip_existing()` (or since the start)."""

    def __init__(self, run_path: str | Path):
        self.run = RunDir(Path(run_path))
        self._metrics = JsonlTail(self.run.metrics_file)
        self._events = JsonlTail(self.run.events_file)

    def skip_existing(self) -> None:
        """Start after what the files hold now (what `RunState.load` has already read)."""
        self._metrics.skip_existing()
        self._events.skip_existing()

    def read_new(self) -> list[Event]:
        events: list[Event] = []
        for record in self._events.read_new():
            event = event_from_json(record)
            if event is not None and not isinstance(event, Metrics):
                events.append(event)
        metrics = [m for m in map(metrics_from_record, self._metrics.read_new()) if m is not None]
        events.extend(metrics)
        events.sort(key=lambda e: (e.step, 0 if isinstance(e, Metrics) else 1))
        return events
