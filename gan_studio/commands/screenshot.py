"""`gan-studio screenshot OUT_DIR`: train briefly offscreen and save PNGs of the window and each panel.

Runs the real app without a screen (QT_QPA_PLATFORM=offscreen unless set): sets up a small run,
presses Start, waits for the training to finish, then saves main-window.png and panel-<name>.png
for every dock. `--run RUN` shows an existing run instead of training (for documentation
pictures of a fully trained model), with its folder as the workspace. Preferences are left
untouched, and a trained run goes to a temporary folder, not the user's workspace.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path

from gan_studio.errors import ConfigError, RunError

DEFAULT_SIZE = "1440x900"


def add_parser(sub) -> None:
    p = sub.add_parser("screenshot", help="save PNGs of the app's window and panels (trains briefly offscreen)",
                       description=__doc__)  # fmt: skip
    p.add_argument("out", metavar="OUT_DIR", help="folder for the PNG files (created if missing)")
    p.add_argument("--model", default="dcgan", help="model to train (default: dcgan)")
    p.add_argument("--data", default="shapes", help="dataset to train on (default: shapes)")
    p.add_argument("--steps", type=int, default=200, help="training steps before the pictures (default: 200)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="another setting for the run, e.g. --set ngf=16 (repeatable)")  # fmt: skip
    p.add_argument("--run", metavar="RUN", help="show this existing run instead of training one")
    p.add_argument("--size", default=DEFAULT_SIZE, help=f"window size WIDTHxHEIGHT (default: {DEFAULT_SIZE})")
    p.add_argument("--timeout", type=float, default=900.0, help="give up training after this many seconds")
    p.set_defaults(handler=run)


def parse_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match or not (400 <= int(match.group(1)) <= 8000 and 300 <= int(match.group(2)) <= 8000):
        raise ConfigError(f"--size must look like 1440x900 (400..8000 x 300..8000), got {text!r}")
    return int(match.group(1)), int(match.group(2))


def parse_settings(items: list[str]) -> dict[str, str]:
    values = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--set needs NAME=VALUE, got {item!r}")
        values[name.strip().replace("-", "_")] = value.strip()
    return values


def check_settings(model: str, settings: dict[str, str]) -> None:
    """Every --set name must be a field of the model's config or of the TrainConfig."""
    from gan_studio.config import field_specs
    from gan_studio.engine.trainer import TrainConfig
    from gan_studio.models import get_spec

    known = {s.name for s in field_specs(get_spec(model).config_cls)} | {s.name for s in field_specs(TrainConfig)}
    unknown = sorted(set(settings) - (known - {"data"}))  # the dataset is --data
    if unknown:
        raise ConfigError(f"unknown setting(s) for {model}: {', '.join(unknown)}")


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def run(args) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    width, height = parse_size(args.size)
    settings = parse_settings(args.set)
    check_settings(args.model, settings)
    if args.steps < 1:
        raise ConfigError(f"--steps must be at least 1, got {args.steps}")
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create the output folder: {exc.strerror or exc}", out) from None
    if args.run:  # the Runs panel lists the run's neighbours (nothing is written there)
        written = take_screenshots(out, Path(args.run).expanduser().absolute().parent, args, settings, (width, height))
    else:
        with tempfile.TemporaryDirectory(prefix="gan-studio-screenshot-") as workspace:
            written = take_screenshots(out, Path(workspace), args, settings, (width, height))
    for path in written:
        print(path)
    return 0


def take_screenshots(out: Path, workspace: Path, args, settings: dict[str, str], size: tuple[int, int]) -> list[Path]:
    import torch
    from PySide6.QtWidgets import QApplication

    from gan_studio.ui.app import configure_torch_threads, create_app
    from gan_studio.ui.main_window import MainWindow

    threads = torch.get_num_threads()
    configure_torch_threads()  # as the app trains
    create_app()
    window = MainWindow(workspace=workspace, persist=False)
    window.resize(*size)
    window.show()
    try:
        if args.run:
            if not window.open_run(Path(args.run)):
                raise RunError(window.banner.text() or "cannot open the run", args.run)
        else:
            _train(window, args, settings)
        _settle(1.5)
        written = [_save(window.grab(), out / "main-window.png")]
        for title, dock in window.docks.items():
            dock.raise_()
            _settle(0.3)
            written.append(_save(dock.grab(), out / f"panel-{slug(title)}.png"))
        return written
    finally:
        window.session.shutdown(timeout_s=30)
        window.close()
        QApplication.processEvents()
        torch.set_num_threads(threads)  # leave the process as it was (tests run this in-process)


def _train(window, args, settings: dict[str, str]) -> None:
    from gan_studio.errors import GanStudioError

    setup = window.setup
    setup.set_model(args.model)
    setup.set_dataset(args.data)
    train_names = set(setup.train_form.editors)
    setup.model_form.set_values({k: v for k, v in settings.items() if k not in train_names})
    setup.train_form.set_values({"steps": args.steps, **{k: v for k, v in settings.items() if k in train_names}})
    issues = setup.problems()
    if issues:
        raise ConfigError("; ".join(issues))
    states: list[str] = []
    window.session.state_changed.connect(states.append)
    window.start_training()  # downloads the dataset first when needed
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if states and window.session.state == "idle":
            break
        if not states and not window.setup.dataset.downloading:
            raise GanStudioError(window.banner.text() or "the training did not start")
        _settle(0.05)
    if window.session.state != "idle":
        window.session.stop()
        print(f"gan-studio: training took longer than {args.timeout:g} s; stopped it", file=sys.stderr)
        while window.session.state != "idle":
            _settle(0.05)
    if window.banner.level == "error":
        raise GanStudioError(window.banner.text())


def _settle(seconds: float) -> None:
    """Run the event loop for a while: timers redraw plots, queued updates arrive, and (unlike bare
    processEvents calls) widgets Qt replaced with deleteLater are really gone before a picture."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def _save(pixmap, path: Path) -> Path:
    if not pixmap.save(str(path), "PNG"):
        raise RunError("cannot write the picture", path)
    return path
