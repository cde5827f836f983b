"""The explorer's render thread: latest request wins, errors come back as data.

The UI submits jobs (plain callables) on named channels ("main", "neighbours", "live", ...). Each
channel holds at most one waiting job: a newer request replaces one that has not started, and the
replaced one is counted as dropped. The worker runs waiting jobs in channel priority order, so a
dragged slider ("main") never queues behind a slow grid. Every finished job is reported to
`on_result` (called on the worker thread) as a `RenderResult` holding its value or its error text.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from gan_studio.errors import GanStudioError

DEFAULT_CHANNELS = ("source", "main", "live", "neighbours", "condition", "strip", "grid", "basis", "encode")


@dataclass
class RenderResult:
    """What a job produced (value) or why it failed (error), with its timings in milliseconds."""

    channel: str
    request_id: int
    value: Any = None
    error: str | None = None
    tag: Any = None
    queued_ms: float = 0.0  # submit -> start
    compute_ms: float = 0.0  # start -> done
    submitted_at: float = 0.0  # time.perf_counter() at submit

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def latency_ms(self) -> float:
        return self.queued_ms + self.compute_ms


@dataclass
class _Job:
    request_id: int
    work: Callable[[], Any]
    tag: Any
    submitted_at: float


@dataclass
class RendererStats:
    """Counts per run of the renderer: how many requests came, ran, and were dropped as stale."""

    submitted: int = 0
    rendered: int = 0
    dropped: int = 0
    failed: int = 0
    by_channel: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, channel: str, what: str) -> None:
        setattr(self, what, getattr(self, what) + 1)
        per = self.by_channel.setdefault(channel, {"submitted": 0, "rendered": 0, "dropped": 0, "failed": 0})
        per[what] += 1


class Renderer:
    """One worker thread running the newest job of each channel; see the module docstring."""

    def __init__(self, on_result: Callable[[RenderResult], None], channels: Iterable[str] = DEFAULT_CHANNELS):
        self._on_result = on_result
        self._priority = {name: i for i, name in enumerate(channels)}
        self._pending: dict[str, _Job] = {}
        self._cond = threading.Condition()
        self._busy = False
        self._closed = False
        self._next_id = 0
        self.stats = RendererStats()
        self._thread = threading.Thread(target=self._loop, name="explorer-renderer", daemon=True)
        self._thread.start()

    def submit(self, channel: str, work: Callable[[], Any], tag: Any = None) -> int:
        """Queue `work` on `channel`, replacing (dropping) that channel's job if it has not started."""
        if channel not in self._priority:
            self._priority[channel] = len(self._priority)
        with self._cond:
            if self._closed:
                raise RuntimeError("the renderer is closed")
            self._next_id += 1
            if channel in self._pending:
                self.stats.count(channel, "dropped")
            self._pending[channel] = _Job(self._next_id, work, tag, time.perf_counter())
            self.stats.count(channel, "submitted")
            self._cond.notify_all()
            return self._next_id

    def cancel(self, channel: str) -> bool:
        """Drop the waiting job of `channel`, if any (a running one finishes)."""
        with self._cond:
            if self._pending.pop(channel, None) is None:
                return False
            self.stats.count(channel, "dropped")
            self._cond.notify_all()
            return True

    def idle(self) -> bool:
        with self._cond:
            return not self._pending and not self._busy

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing waits or runs; False if `timeout` seconds passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._pending or self._busy:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def close(self, timeout: float = 5.0) -> None:
        """Stop the worker after the job it is running (waiting jobs are dropped)."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            for channel in list(self._pending):
                self.stats.count(channel, "dropped")
            self._pending.clear()
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def closed(self) -> bool:
        return self._closed

    def _take(self) -> tuple[str, _Job] | None:
        with self._cond:
            while not self._pending and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            channel = min(self._pending, key=lambda name: self._priority[name])
            self._busy = True
            return channel, self._pending.pop(channel)

    def _loop(self) -> None:
        while (taken := self._take()) is not None:
            channel, job = taken
            started = time.perf_counter()
            result = RenderResult(channel, job.request_id, tag=job.tag, submitted_at=job.submitted_at,
                                  queued_ms=(started - job.submitted_at) * 1000.0)  # fmt: skip
            try:
                result.value = job.work()
            except GanStudioError as exc:
                result.error = str(exc)
            except Exception as exc:  # a bug in a job must not kill the render thread: report it as data
                result.error = f"{type(exc).__name__}: {exc}"
                result.value = traceback.format_exc()
            result.compute_ms = (time.perf_counter() - started) * 1000.0
            with self._cond:
                self.stats.count(channel, "failed" if result.error else "rendered")
            try:
                self._on_result(result)
            except Exception:  # the receiver's bug: keep rendering for the next requests
                traceback.print_exc()
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
