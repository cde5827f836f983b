"""Growable numpy buffers for metric histories: O(1) appends, capacity doubling, incremental EMA.

A `Series` keeps one metric over time with its three possible x axes (step, epoch, training
seconds). Plots read views of the filled part (no copies) on each redraw tick.
"""

from __future__ import annotations

import math

import numpy as np

X_AXES = ("step", "epoch", "time")
INITIAL_CAPACITY = 1024


class Series:
    """One metric's points: x in steps, epochs and seconds, the raw y and its EMA."""

    def __init__(self, capacity: int = INITIAL_CAPACITY):
        self._data = np.empty((5, max(2, capacity)), dtype=np.float64)  # step, epoch, time, y, ema
        self.size = 0
        self.smoothing = 0.0  # EMA weight of the past, 0 = off
        self._ema: float | None = None

    @property
    def capacity(self) -> int:
        return self._data.shape[1]

    def __len__(self) -> int:
        return self.size

    def append(self, step: float, epoch: float, seconds: float, y: float) -> None:
        if self.size == self.capacity:
            grown = np.empty((5, self.capacity * 2), dtype=np.float64)
            grown[:, : self.size] = self._data[:, : self.size]
            self._data = grown
        self._data[:, self.size] = (step, epoch, seconds, y, self._next_ema(y))
        self.size += 1

    def _next_ema(self, y: float) -> float:
        if not math.isfinite(y):
            return y
        self._ema = y if self._ema is None else self.smoothing * self._ema + (1.0 - self.smoothing) * y
        return self._ema

    def set_smoothing(self, smoothing: float) -> None:
        """Recompute the EMA of every point with a new weight (0 <= smoothing < 1)."""
        self.smoothing = min(max(float(smoothing), 0.0), 0.999)
        self._ema = None
        ema = self._data[4]
        for i, y in enumerate(self._data[3, : self.size].tolist()):
            ema[i] = self._next_ema(y)

    def x(self, axis: str = "step") -> np.ndarray:
        return self._data[X_AXES.index(axis), : self.size]

    @property
    def y(self) -> np.ndarray:
        return self._data[3, : self.size]

    @property
    def smoothed(self) -> np.ndarray:
        return self._data[4, : self.size]

    @property
    def last_step(self) -> float:
        return self._data[0, self.size - 1] if self.size else -math.inf

    def x_at_step(self, step: float, axis: str) -> float:
        """The x position of `step` on another axis (interpolated between logged points)."""
        if axis == "step" or self.size == 0:
            return float(step)
        return float(np.interp(step, self.x("step"), self.x(axis)))

    def clear(self) -> None:
        self.size = 0
        self._ema = None

    def truncate_after(self, step: float) -> bool:
        """Forget the points after `step` (a resumed run continues from its checkpoint); True if any went."""
        keep = int((self.x("step") <= step).sum())
        if keep >= self.size:
            return False
        self.size = keep
        self.set_smoothing(self.smoothing)
        return True
