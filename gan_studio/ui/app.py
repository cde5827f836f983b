"""Start the desktop app: the QApplication, its style, the main window, and the event loop."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from gan_studio.engine.threads import leave_a_core_free
from gan_studio.ui.style import apply_style

APP_NAME = "GAN Studio"


def create_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication (the existing one if any), named and styled."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(list(argv if argv is not None else sys.argv[:1]))
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setOrganizationName("gan-studio")
    apply_style(app)
    return app


def configure_torch_threads() -> int:
    """Leave one core to the UI (engine.threads): the UI thread does not wait for a core while training runs."""
    return leave_a_core_free()


def main(run: str | os.PathLike | None = None) -> int:
    """Open the main window (and `run`, if given) and run until it is closed."""
    from gan_studio.ui.main_window import MainWindow

    configure_torch_threads()
    app = create_app()
    window = MainWindow()
    window.show()
    if run:
        QTimer.singleShot(0, lambda: window.open_run(Path(run)))
    # Ctrl-C in the terminal (or a SIGTERM) closes the window cleanly: a training stops after its step and
    # saves a checkpoint (Python sees signals between Qt events)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: window.close())
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: None)
    heartbeat.start(250)
    return int(app.exec())
