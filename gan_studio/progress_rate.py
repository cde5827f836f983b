"""The rate and time left of a long job (decoding a dataset, a download) from its (done, total) reports, once
the rate has settled: the first chunks finish together as the decoding processes start, and a rate from them
said 'ETA 1h03m' for a preparation that took 2m30s."""

from __future__ import annotations

import time

RATE_SETTLE_S = 3.0  # seconds after the first work done before a rate is given


class ProgressRate:
    """Feed it `update(done)`; `rate` (per second, 0 until settled) and `seconds_left(total)` follow."""

    def __init__(self):
        self.first: tuple[float, int] | None = None  # (time, count) of the first report with work done
        self.rate = 0.0

    def update(self, done: int, now: float | None = None) -> float:
        """The rate after `done` were done at `now` (time.monotonic() when None)."""
        now = time.monotonic() if now is None else now
        if done and self.first is None:
            self.first = (now, done)
        since, at = self.first or (now, done)
        settled = now - since >= RATE_SETTLE_S and done > at
        self.rate = (done - at) / (now - since) if settled else 0.0
        return self.rate

    def seconds_left(self, done: int, total: int) -> float | None:
        """Seconds until `total` at the settled rate, or None (no rate yet, or done)."""
        return (total - done) / self.rate if self.rate > 0 and total > done else None
