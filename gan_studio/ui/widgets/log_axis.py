"""A pyqtgraph axis whose log-scale labels never pile up: on a short plot spanning less than a few decades
pyqtgraph labels every minor tick (0.4, 0.5, ... 0.9 a few pixels apart, drawn on top of each other).

Labels are kept at least MIN_LABEL_GAP_PX apart, decades first, then 2 and 5 times a decade, then the
other ticks where they fit; the ticks and the grid lines stay as pyqtgraph draws them.
"""

from __future__ import annotations

import math

from gan_studio.ui.widgets.count_axis import CountAxis

MIN_LABEL_GAP_PX = 22  # a label's height and some air


def _priority(value: float) -> int:
    """0 for a decade (10^k), 1 for 2 or 5 times one, 2 for the other minor ticks."""
    mantissa = round(10 ** (value - math.floor(value)), 3)
    return 0 if mantissa in (1.0, 10.0) else 1 if mantissa in (2.0, 5.0) else 2


def labelled_ticks(values: list[float], pixels_per_unit: float, gap: float = MIN_LABEL_GAP_PX) -> set[float]:
    """The tick values (log10 of the data) that get a label: by priority, each at least `gap` px from the others."""
    chosen: list[float] = []
    for value in sorted(values, key=lambda v: (_priority(v), v)):
        if all(abs(value - other) * pixels_per_unit >= gap for other in chosen):
            chosen.append(value)
    return set(chosen)


class LogFriendlyAxis(CountAxis):
    """An axis that, in log mode, labels only the ticks that fit (in linear mode: 500k, 1M as CountAxis)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._labelled: set[float] | None = None

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: N802 - pyqtgraph's name
        ticks = super().logTickValues(minVal, maxVal, size, stdTicks)
        values = [value for _, level in ticks for value in level]
        span = maxVal - minVal
        self._labelled = labelled_ticks(values, size / span) if span > 0 else None
        return ticks

    def logTickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph's name
        strings = super().logTickStrings(values, scale, spacing)
        if self._labelled is None:
            return strings
        return [text if value in self._labelled else "" for value, text in zip(values, strings, strict=True)]
