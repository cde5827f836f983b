"""Writes a run's record: run.json at the start, then every event the Trainer yields, and the status.

Only one process writes (rank 0 under torchrun); on the others the recorder does nothing. Metrics
events become metrics.jsonl lines, other events events.jsonl lines, and events that change the
run's status (Started, Paused, Resumed, Finished, Diverged, Failed) update run.json too.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import numpy as np
import torch

import gan_studio
from gan_studio.errors import RunError
from gan_studio.events import Diverged, Event, Failed, Finished, Started, status_after
from gan_studio.store.lock import RunLock
from gan_studio.store.rundir import RunDir


def this_process() -> dict[str, Any]:
    """Who writes the run (shown when another process tries to train it)."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def versions() -> dict[str, str]:
    return {"gan_studio": gan_studio.__version__, "torch": torch.__version__, "numpy": np.__version__}


class RunRecorder:
    """The run directory as the Trainer writes it."""

    def __init__(self, run: RunDir, enabled: bool = True):
        self.run = run
        self.enabled = enabled
        self.status = "starting"

    def create(self, info: dict[str, Any], lock: RunLock) -> None:
        """A new run: the folders, the run's lock, then run.json (status 'running', step 0). Of two trainings
        started into one folder at once, the one that does not get the lock writes nothing there."""
        if not self.enabled:
            return
        try:
            self.run.create()
        except OSError as exc:
            raise RunError(f"cannot create the run directory ({exc.strerror or exc})", self.run.path) from None
        lock.acquire(advice="another training has just started in this folder: choose another folder")
        try:
            if os.path.lexists(self.run.run_json):
                raise RunError("another training has just started a run in this folder: choose another folder",
                               self.run.path)  # fmt: skip
            self.status = "running"
            self.run.write_info({**info, "versions": versions(), "created": time.time(), "status": self.status,
                                 "step": 0, **this_process()})  # fmt: skip
        except BaseException:
            lock.release()
            raise

    def reopen(self, **info: Any) -> None:
        """An existing run continues: record who trains it now and its new settings."""
        if self.enabled:
            self.status = "running"
            self.run.set_status("running", **info, **this_process())

    def record(self, event: Event) -> None:
        """Append the event to the run's logs and follow its status in run.json."""
        if not self.enabled or not self.run.exists():
            return
        self.run.record(event)
        status = status_after(event, self.status)
        if status != self.status or isinstance(event, (Started, Finished, Diverged, Failed)):
            self.status = status
            self.run.set_status(status, **_status_fields(event))


def _status_fields(event: Event) -> dict[str, Any]:
    fields: dict[str, Any] = {"step": event.step}
    if isinstance(event, Started):
        fields["steps_total"] = event.total_steps
    elif isinstance(event, Finished) and event.rank_digests:
        fields.update(rank_digests=list(event.rank_digests), ranks_in_sync=event.ranks_in_sync)
    elif isinstance(event, Diverged):
        fields["diverged_step"] = event.step
    elif isinstance(event, Failed):
        fields["error"] = event.message
    return fields
