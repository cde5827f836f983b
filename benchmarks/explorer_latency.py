"""Explorer latency: from a slider value change to new pixels in the image, through the real panel.

    .venv/bin/python benchmarks/explorer_latency.py [--run RUN] [--backend torch|onnx|both]
                                                    [--events 300] [--burst 1000] [--json out.json]

A DCGAN at the paper's size for 32 px (latent 100, ngf 64, RGB) is trained for one step into a
temporary run (or `--run` names one), exported to ONNX, and opened in the explorer panel under
offscreen Qt while nothing trains. Two measurements per backend:

- latency: `--events` single slider changes, one at a time; each is timed from `QSlider.setValue`
  to the panel's `image_shown` signal, emitted right after the new picture is set on the
  ImageItem. Target: p95 <= 16 ms (one frame at 60 Hz).
- burst: `--burst` slider changes back to back (a drag faster than anything can render); reports
  how many renders ran, how many stale requests were dropped, and the time until the renderer is
  idle and the final value is on screen. No backlog means: a handful of renders, not 1,000, and
  idle within a few render times.

Timings on a shared machine are noisy; re-run before trusting a change.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gan_studio.engine.settings import TrainConfig  # noqa: E402
from gan_studio.engine.trainer import Trainer  # noqa: E402
from gan_studio.models import default_config  # noqa: E402

TARGET_P95_MS = 16.0


def make_run(folder: Path) -> Path:
    """A DCGAN 32 px run (paper sizes, RGB) trained for one step: enough for timing inference."""
    config = default_config("dcgan")  # latent 100, ngf 64, ndf 64, 32 px
    train = TrainConfig(data="shapes-colour", steps=1, batch_size=16, sample_every=0, checkpoint_every=0, device="cpu")
    trainer = Trainer.new("dcgan", config, train, out=folder / "dcgan-32")
    for _ in trainer:
        pass
    return trainer.run.path


def wait_for(signal, timeout_ms: int = 10_000) -> bool:
    """Run the Qt event loop until `signal` fires (True) or `timeout_ms` passes (False)."""
    loop = QEventLoop()
    fired = []
    signal.connect(loop.quit)
    signal.connect(lambda *_: fired.append(True))
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    signal.disconnect(loop.quit)
    return bool(fired)


def open_panel(panel, run: Path, backend: str) -> str:
    panel.open_source(run, backend)
    if not wait_for(panel.image_shown, 60_000):
        raise SystemExit(f"the panel did not show an image for {run} ({panel.status_label.text()})")
    panel.renderer.wait_idle(10)
    QApplication.processEvents()
    return panel.source.backend.name


def measure_latency(panel, events: int) -> list[float]:
    """Milliseconds from setValue to image_shown, for `events` single changes of slider z1."""
    slider = panel.latent_tab.sliders.slider(0)
    times = []
    shown = []
    panel.image_shown.connect(lambda: shown.append(time.perf_counter()))
    for i in range(events):
        value = -250 + (i * 37) % 500  # a different value every time
        if value == slider.value():
            value += 1
        shown.clear()
        start = time.perf_counter()
        slider.setValue(value)
        if not shown and not wait_for(panel.image_shown):
            raise SystemExit("a slider change did not reach the screen within 10 s")
        times.append((shown[0] - start) * 1e3)
    return times


def measure_burst(panel, count: int) -> dict:
    """`count` slider changes back to back; renders, drops and the time until idle with the last value shown."""
    slider = panel.latent_tab.sliders.slider(1)
    stats = panel.renderer.stats.by_channel.setdefault("main", {"submitted": 0, "rendered": 0, "dropped": 0,
                                                                 "failed": 0})  # fmt: skip
    before = dict(stats)
    sweep = list(range(-300, 300)) + list(range(300, -301, -1))  # every value differs from the one before
    values = (sweep * (count // len(sweep) + 1))[:count]
    start = time.perf_counter()
    for value in values:
        slider.setValue(value)
    submitted_s = time.perf_counter() - start
    final = panel.z.copy()
    while not (panel.renderer.idle() and panel.main_view.picture is not None and _shows(panel, final)):
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
        if time.perf_counter() - start > 30:
            raise SystemExit("the burst left a backlog: the renderer was still busy after 30 s")
    idle_s = time.perf_counter() - start
    return {
        "events": count,
        "renders": stats["rendered"] - before["rendered"],
        "dropped": stats["dropped"] - before["dropped"],
        "submit_ms": submitted_s * 1e3,
        "until_idle_ms": idle_s * 1e3,
    }


def _shows(panel, z: np.ndarray) -> bool:
    """True once the image on screen was rendered from `z` (the panel records what it last drew)."""
    return panel.shown_z is not None and np.array_equal(panel.shown_z, z)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a DCGAN run directory (default: make one in a temp folder)")
    parser.add_argument("--backend", choices=("torch", "onnx", "both"), default="both")
    parser.add_argument("--events", type=int, default=300, help="single slider changes timed [300]")
    parser.add_argument("--burst", type=int, default=1000, help="slider changes in the burst [1000]")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    app = QApplication.instance() or QApplication([])
    from gan_studio.ui.panels.explorer import ExplorerPanel

    with tempfile.TemporaryDirectory() as tmp:
        run = args.run or make_run(Path(tmp))
        backends = ["torch", "onnx"] if args.backend == "both" else [args.backend]
        if "onnx" in backends:
            from gan_studio.export.onnx_export import export_run

            export_run(run, check=False)
        print(f"explorer latency: {run.name}, {platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} CPUs, Python {platform.python_version()}")  # fmt: skip
        results = {}
        for backend in backends:
            panel = ExplorerPanel()
            panel.resize(1100, 700)
            panel.show()
            name = open_panel(panel, run, backend)
            measure_latency(panel, 20)  # warm-up
            times = measure_latency(panel, args.events)
            burst = measure_burst(panel, args.burst)
            p50, p95 = statistics.median(times), percentile(times, 95)
            results[backend] = {"backend": name, "p50_ms": p50, "p95_ms": p95, "max_ms": max(times), **burst}
            verdict = "ok" if p95 <= TARGET_P95_MS else "ABOVE TARGET"
            print(f"  {name:26s} slider -> pixels: p50 {p50:5.1f} ms  p95 {p95:5.1f} ms  max {max(times):6.1f} ms"
                  f"  ({args.events} changes; target p95 <= {TARGET_P95_MS:g} ms: {verdict})")  # fmt: skip
            print(f"  {'':26s} burst of {burst['events']} changes: {burst['renders']} renders, "
                  f"{burst['dropped']} stale requests dropped, submitted in {burst['submit_ms']:.0f} ms, "
                  f"idle with the last value on screen after {burst['until_idle_ms']:.0f} ms")  # fmt: skip
            panel.shutdown()
            panel.deleteLater()
            app.processEvents()
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    return 0 if all(r["p95_ms"] <= TARGET_P95_MS for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
