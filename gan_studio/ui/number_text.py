"""Numbers as short text for narrow places: 2,000,000 steps as "2M", a plot's step ticks as "500k / 1M / 1.5M"
(as TensorBoard writes them), an epoch or a rate with the digits that matter."""

from __future__ import annotations

import math

UNITS = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))
COMPACT_FROM = 10_000  # below this a count is short enough with its thousands separator


def _unit(value: float) -> tuple[float, str]:
    """The largest of k, M, B, T that `value` reaches, or (1, "")."""
    return next(((size, suffix) for size, suffix in UNITS if abs(value) >= size), (1.0, ""))


def _trimmed(number: float, decimals: int) -> str:
    """`number` with at most `decimals` decimals, without trailing zeros ("1.50" -> "1.5", "2.0" -> "2")."""
    text = f"{number:.{max(0, decimals)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def compact_count(value: float, plain_below: float = COMPACT_FROM) -> str:
    """A count in at most about 5 characters: 9,999; 12.3k; 2M; 1.23M; 1B (three significant digits); below
    `plain_below` the whole number."""
    if abs(value) < max(plain_below, 1000):
        return f"{value:,.0f}"
    size, suffix = _unit(value)
    scaled = value / size
    if round(abs(scaled), max(0, 2 - int(math.floor(math.log10(abs(scaled)))))) >= 1000 and suffix != "T":
        size, suffix = size * 1000, {"k": "M", "M": "B", "B": "T"}[suffix]  # 999,999 is "1M", not "1000k"
        scaled = value / size
    decimals = 2 - int(math.floor(math.log10(abs(scaled))))
    return _trimmed(scaled, decimals) + suffix


def tick_text(value: float, spacing: float) -> str:
    """A tick label of an axis whose ticks are `spacing` apart: 0, 500k, 1M, 1.5M, 2M (from 1,000 on), else the
    value itself with as many decimals as the spacing needs."""
    size, suffix = _unit(value)
    if spacing <= 0:
        return _trimmed(value / size, 2) + suffix
    step = spacing / size
    decimals = next((d for d in range(7) if abs(round(step, d) - step) <= 1e-9 * step), 6)  # 0.25 -> 2
    return _trimmed(value / size, decimals) + suffix


def format_epoch(epoch: float) -> str:
    """0.42 and 3.25 with two decimals, 42.5 and 150.3 with one, 5,128 with none: the digits that still change."""
    if abs(epoch) >= 1000:
        return f"{epoch:,.0f}"
    return f"{epoch:.1f}" if abs(epoch) >= 10 else f"{epoch:.2f}"


def format_duration(seconds: float) -> str:
    """12 s, 3 min 05 s, 1 h 02 min; from 48 h on in days: 3 d 04 h, 349 d 14 h, 41,667 d."""
    seconds = max(0, int(round(seconds)))
    if seconds >= 1000 * 86400:
        return f"{seconds // 86400:,} d"
    if seconds >= 48 * 3600:
        return f"{seconds // 86400} d {seconds % 86400 // 3600:02d} h"
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


def short_duration(seconds: float) -> str:
    """A duration in at most about 6 characters, for a narrow column: 45 s, 4 min, 95 min, 3.5 h, 12 d."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 100 * 60:
        return f"{round(seconds / 60)} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{compact_count(seconds / 86400, plain_below=1000)} d"
