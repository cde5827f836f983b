"""App responsiveness while training, and training speed in the app vs headless.

    .venv/bin/python benchmarks/ui_latency.py [--model dcgan --data shapes] [--steps 200]
                                              [--rounds 2] [--set ngf=16 ...] [--json out.json] [--check]

The real main window runs under offscreen Qt with the same Trainer configuration trained two
ways, alternating, in the same process, on the same in-memory dataset:

- headless: `for update in trainer` in the main thread, exactly as `gan-studio train` drives it;
- app: the Start path of the window (RunSession -> TrainingThread -> Qt signals -> every panel),
  with live plots, sample grids and the runs list updating.

Event-loop latency: a 10 ms precise QTimer runs on the UI thread during the app rounds; each
tick's lateness (actual interval - 10 ms) is a measure of how long the UI could not react. The
same probe on the idle window (nothing training) gives the machine's own baseline: on a busy
shared machine the OS alone can delay a thread by tens of milliseconds. A short headless warm-up
round (not counted) comes first.
Throughput: training steps per second from the "started" to the "finished" update; the ratio is
the median over rounds of app / headless, each pair run back to back (load on a shared machine
drifts between rounds).
Targets: latency p99 < 50 ms; app / headless throughput >= 0.9.

Both modes use the app's torch thread count (cores - 1, see gan_studio/ui/app.py) unless
OMP_NUM_THREADS is set. Timings on a shared machine are noisy; re-run before trusting a change.
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
import torch  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer  # noqa: E402

from gan_studio.config import apply_values  # noqa: E402
from gan_studio.data import load_dataset  # noqa: E402
from gan_studio.engine.settings import TrainConfig  # noqa: E402
from gan_studio.engine.trainer import Trainer  # noqa: E402
from gan_studio.events import Finished, Started  # noqa: E402
from gan_studio.models import get_spec  # noqa: E402
from gan_studio.ui.panels.setup import APP_MODEL_DEFAULTS, APP_TRAIN_DEFAULTS  # noqa: E402

TARGET_P99_MS = 50.0
TARGET_RATIO = 0.9
PROBE_MS = 10


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="dcgan")
    p.add_argument("--data", default="shapes")
    p.add_argument("--steps", type=int, default=200, help="training steps per round")
    p.add_argument("--rounds", type=int, default=3, help="headless/app pairs, alternating")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--set", action="append", default=None, metavar="NAME=VALUE",
                   help="model settings (default: the app's defaults, e.g. ngf=16 ndf=16 latent_dim=64)")  # fmt: skip
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    return p.parse_args(argv)


def configs(args):
    spec = get_spec(args.model)
    names = {f for f in spec.config_cls.__dataclass_fields__}
    settings = {k: str(v) for k, v in APP_MODEL_DEFAULTS.get(spec.config_cls, {}).items()}
    settings.update(item.split("=", 1) for item in args.set or [])
    model_config = apply_values(spec.config_cls(), {k: v for k, v in settings.items() if k in names})
    train_config = TrainConfig(data=args.data, steps=args.steps, batch_size=args.batch_size,
                               log_every=APP_TRAIN_DEFAULTS["log_every"], sample_every=APP_TRAIN_DEFAULTS["sample_every"],
                               checkpoint_every=0, device="cpu")  # fmt: skip
    return model_config, train_config


def headless_round(args, model_config, train_config, dataset, workspace: Path) -> float:
    """Steps per second of `gan-studio train`'s loop (the main thread, no Qt involved)."""
    trainer = Trainer.new(args.model, model_config, train_config, workspace=workspace, dataset=dataset)
    started = finished = None
    for event in trainer:
        if isinstance(event, Started):
            started = time.perf_counter()
        elif isinstance(event, Finished):
            finished = time.perf_counter()
    return train_config.steps / (finished - started)


class LatencyProbe:
    """A 10 ms timer on the UI thread that records how late each tick fires."""

    def __init__(self):
        self.lateness_ms: list[float] = []
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(PROBE_MS)
        self.timer.timeout.connect(self._tick)

    def start(self):
        self.clock.start()
        self.timer.start()

    def stop(self):
        self.timer.stop()

    def _tick(self):
        elapsed = self.clock.nsecsElapsed() / 1e6
        self.clock.restart()
        self.lateness_ms.append(max(0.0, elapsed - PROBE_MS))


def app_round(window, args, model_config, train_config, dataset, probe: LatencyProbe) -> float:
    """Steps per second through the window's Start path, with the Qt event loop running as in the app."""
    times: dict[str, float] = {}
    loop = QEventLoop()

    def on_event(event):
        if isinstance(event, (Started, Finished)):
            times["started" if isinstance(event, Started) else "finished"] = time.perf_counter()

    def on_run(run):
        if run is not None:
            run.subscribe(on_event)

    def on_state(state):
        if state == "idle":
            loop.quit()

    window.session.run_changed.connect(on_run)
    window.session.state_changed.connect(on_state)
    probe.start()
    window.session.start_new(args.model, model_config, train_config, window.runs.workspace, dataset=dataset)
    loop.exec()
    probe.stop()
    window.session.run_changed.disconnect(on_run)
    window.session.state_changed.disconnect(on_state)
    if "finished" not in times:
        raise SystemExit(f"training failed in the app: {window.banner.text()}")
    return args.steps / (times["finished"] - times["started"])


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def main(argv=None) -> int:
    args = parse_args(argv)
    from gan_studio.engine.threads import leave_a_core_free
    from gan_studio.ui.app import create_app
    from gan_studio.ui.main_window import MainWindow

    leave_a_core_free()  # as the app does; headless rounds use the same threads (same process)
    app = create_app()
    model_config, train_config = configs(args)
    family_range = (-1.0, 1.0) if get_spec(args.model).family == "gan" else (0.0, 1.0)
    dataset = load_dataset(args.data, image_size=getattr(model_config, "image_size", 32), value_range=family_range)
    with tempfile.TemporaryDirectory(prefix="gan-studio-ui-bench-") as tmp:
        window = MainWindow(workspace=Path(tmp) / "app", persist=False)
        window.resize(1440, 900)
        window.show()
        baseline = LatencyProbe()
        baseline.start()
        idle = QEventLoop()
        QTimer.singleShot(3000, idle.quit)
        idle.exec()
        baseline.stop()
        warm_up = TrainConfig(**{**train_config.__dict__, "steps": 10})
        headless_round(args, model_config, warm_up, dataset, Path(tmp) / "warm-up")
        probe = LatencyProbe()
        headless, in_app = [], []
        for round_index in range(args.rounds):
            headless.append(headless_round(args, model_config, train_config, dataset, Path(tmp) / "headless"))
            in_app.append(app_round(window, args, model_config, train_config, dataset, probe))
            print(f"round {round_index + 1}: headless {headless[-1]:.1f} steps/s, app {in_app[-1]:.1f} steps/s",
                  file=sys.stderr)  # fmt: skip
        window.close()
        app.processEvents()

    lateness = probe.lateness_ms
    ratio = statistics.median(a / h for a, h in zip(in_app, headless, strict=True))  # pairs ran back to back
    figures = {
        "model": args.model, "data": args.data, "steps_per_round": args.steps, "rounds": args.rounds,
        "settings": args.set, "batch_size": args.batch_size,
        "latency_ms": {"ticks": len(lateness), "p50": percentile(lateness, 50), "p99": percentile(lateness, 99),
                       "max": max(lateness, default=float("nan"))},
        "idle_latency_ms": {"ticks": len(baseline.lateness_ms), "p50": percentile(baseline.lateness_ms, 50),
                            "p99": percentile(baseline.lateness_ms, 99)},
        "steps_per_s": {"headless": headless, "app": in_app}, "ratio": ratio,
        "targets": {"p99_ms": TARGET_P99_MS, "ratio": TARGET_RATIO},
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
                    "torch": torch.__version__, "load_avg": os.getloadavg() if hasattr(os, "getloadavg") else None},
    }  # fmt: skip
    latency_ok = figures["latency_ms"]["p99"] < TARGET_P99_MS
    ratio_ok = ratio >= TARGET_RATIO
    print(f"UI event-loop latency while training ({len(lateness)} ticks of {PROBE_MS} ms): "
          f"p50 {figures['latency_ms']['p50']:.1f} ms, p99 {figures['latency_ms']['p99']:.1f} ms, "
          f"max {figures['latency_ms']['max']:.1f} ms  [target p99 < {TARGET_P99_MS:g} ms: "
          f"{'ok' if latency_ok else 'MISSED'}]")  # fmt: skip
    print(
        f"  baseline, idle window: p50 {figures['idle_latency_ms']['p50']:.1f} ms, "
        f"p99 {figures['idle_latency_ms']['p99']:.1f} ms (load average {figures['machine']['load_avg']})"
    )
    print(f"training throughput: headless {statistics.mean(headless):.1f} steps/s, app {statistics.mean(in_app):.1f} "
          f"steps/s, median ratio {ratio:.2f}  [target >= {TARGET_RATIO}: {'ok' if ratio_ok else 'MISSED'}]")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 1 if args.check and not (latency_ok and ratio_ok) else 0


if __name__ == "__main__":
    sys.exit(main())
