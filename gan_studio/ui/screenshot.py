"""Pictures of the real main window and each of its panels, for `gan-studio screenshot` (offscreen Qt)."""

from __future__ import annotations

import gc
import re
import sys
import time
from pathlib import Path

import torch
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from gan_studio.engine.threads import leave_a_core_free
from gan_studio.errors import ConfigError, GanStudioError, RunError
from gan_studio.ui.app import create_app
from gan_studio.ui.main_window import MainWindow


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def take_screenshots(out: Path, workspace: Path, args, settings: dict[str, str], size: tuple[int, int]) -> list[Path]:
    threads = torch.get_num_threads()
    leave_a_core_free()  # as the app trains
    create_app()
    window = MainWindow(workspace=workspace, persist=False, screen_size=size)
    window.resize(*size)
    window.show()
    _settle(0.1)
    window.lay_out_for_this_size()  # as the app lays out a window first shown at this size
    try:
        if args.run:
            if not window.open_run(Path(args.run), wait=True):
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
        del window
        gc.collect()  # its Qt objects go in this (the GUI) thread, not in some later worker thread
        torch.set_num_threads(threads)  # leave the process as it was (tests run this in-process)


def _train(window, args, settings: dict[str, str]) -> None:
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
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def _save(pixmap, path: Path) -> Path:
    if not pixmap.save(str(path), "PNG"):
        raise RunError("cannot write the picture", path)
    return path
