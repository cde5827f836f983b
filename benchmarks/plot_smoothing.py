"""The plots' smoothing slider on long runs: one slider value recomputes every curve's EMA.

    .venv/bin/python benchmarks/plot_smoothing.py [--points 100000] [--curves 5] [--repeat 5]

Side by side in one run: `Series.set_smoothing` (numpy, debiased) against the per-point Python loop
it replaced, over the slider's values 0.01-0.99, on curves of `--points` logged points. Prints the
milliseconds per slider value for all curves, and the ratio. Aim: well under 50 ms per value at
100,000 points x 5 curves, so that a dragged slider keeps up.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gan_studio.state.series import Series  # noqa: E402

SLIDER_VALUES = (0.01, 0.1, 0.3, 0.5, 0.6, 0.8, 0.9, 0.95, 0.99)


def loop_ema(values: np.ndarray, w: float) -> np.ndarray:
    """The per-point loop (debiased like Series) that set_smoothing ran before it was vectorised."""
    out, biased, count = np.empty_like(values), 0.0, 0
    for i, y in enumerate(values.tolist()):
        if not math.isfinite(y):
            out[i] = y
            continue
        biased = w * biased + (1.0 - w) * y
        count += 1
        out[i] = biased / (1.0 - w**count)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--curves", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    curves = []
    for _ in range(args.curves):
        series = Series()
        for i, y in enumerate(rng.normal(1.0, 0.3, args.points).tolist()):
            series.append(i, i / 1000, i * 0.01, y)
        curves.append(series)
    numpy_ms, loop_ms, worst = [], [], 0.0
    for _ in range(args.repeat):
        for w in SLIDER_VALUES:  # alternating, so that the machine's load falls on both alike
            started = time.perf_counter()
            for series in curves:
                series.set_smoothing(w)
            numpy_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            expected = [loop_ema(series.y, w) for series in curves]
            loop_ms.append((time.perf_counter() - started) * 1000)
            worst = max(
                worst, max(float(np.max(np.abs(s.smoothed - e))) for s, e in zip(curves, expected, strict=True))
            )
    numpy_median, loop_median = statistics.median(numpy_ms), statistics.median(loop_ms)
    print(f"{args.curves} curves x {args.points:,} points, {len(SLIDER_VALUES)} slider values x {args.repeat}")
    print(f"numpy (Series.set_smoothing): median {numpy_median:.1f} ms per slider value, worst {max(numpy_ms):.1f} ms")
    print(f"python loop (before):         median {loop_median:.1f} ms per slider value, worst {max(loop_ms):.1f} ms")
    print(f"ratio loop / numpy: {loop_median / numpy_median:.1f}x; largest difference between the two: {worst:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
