"""Growable numpy buffers for metric histories: O(1) appends, capacity doubling, incremental EMA.

A `Series` keeps one metric over time with its three possible x axes (step, epoch, training
seconds). Plots read views of the filled part (no copies) on each redraw tick. The EMA is debiased
as TensorBoard's (a weighted mean of the points so far), so that a curve smoothed at 0.99 follows
its data from the first points instead of lingering at the first value.
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
        self._biased = 0.0  # the EMA started at 0, before its debiasing
        self._count = 0  # finite points in it

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
            return y  # shown as it is; the average goes on without it
        w = self.smoothing
        self._biased = w * self._biased + (1.0 - w) * y
        self._count += 1
        return self._biased / (1.0 - w**self._count) if w > 0 else y

    def set_smoothing(self, smoothing: float) -> None:
        """Recompute the EMA of every point with a new weight (0 <= smoothing < 1), in numpy (a slider dragged
        over 5 curves of 100,000 points recomputed them in a Python loop, 0.13 s a value)."""
        self.smoothing = w = min(max(float(smoothing), 0.0), 0.999)
        y = self._data[3, : self.size]
        ema = self._data[4, : self.size]
        ema[:] = y
        finite = np.isfinite(y)
        values = y[finite]
        self._count = int(values.size)
        self._biased = 0.0
        if w == 0 or not values.size:
            self._biased = float(values[-1]) if values.size else 0.0
            return
        biased = biased_ema(values, w)
        self._biased = float(biased[-1])
        ema[finite] = biased / (1.0 - w ** np.arange(1, values.size + 1, dtype=np.float64))

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
        self._biased, self._count = 0.0, 0

    def truncate_after(self, step: float) -> bool:
        """Forget the points after `step` (a resumed run continues from its checkpoint); True if any went."""
        keep = int((self.x("step") <= step).sum())
        if keep >= self.size:
            return False
        self.size = keep
        self.set_smoothing(self.smoothing)
        return True


def biased_ema(values: np.ndarray, w: float) -> np.ndarray:
    """e[j] = w e[j-1] + (1 - w) values[j], e[-1] = 0, for 0 < w < 1, without a Python loop over the points: in
    chunks short enough that w^-length stays far from overflow, e over a chunk is w^(j+1) (carry + (1 - w)
    cumsum(values[i] w^-(i+1)))."""
    taps = math.ceil(math.log(1e-18) / math.log(w))  # w^taps: nothing left of a point that far back
    if taps <= 64:  # a light smoothing: short chunks, but a short filter (0.04 s a 100,000 points at 0.01 in chunks)
        return np.convolve(values, (1.0 - w) * w ** np.arange(taps, dtype=np.float64))[: values.size]
    out = np.empty(values.size, dtype=np.float64)
    length = max(1, int(100 * math.log(10) / -math.log(w)))  # w^-length <= 1e100
    growth = w ** -np.arange(1, min(length, values.size) + 1, dtype=np.float64)
    carry = 0.0
    for start in range(0, values.size, length):
        chunk = values[start : start + length]
        inverse = growth[: chunk.size]
        out[start : start + chunk.size] = (carry + (1.0 - w) * np.cumsum(chunk * inverse)) / inverse
        carry = out[start + chunk.size - 1]
    return out
