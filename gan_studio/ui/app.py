"""Start the desktop app: the QApplication, its style, the main window, and the event loop."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from gan_studio.engine.threads import leave_a_core_free
from gan_studio.stopping import HANGUP, mute_output, stopping_signals
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


def close_on_stop_signals(window) -> None:
    """Ctrl-C in the terminal, a SIGTERM, or a hangup (the terminal the app was started from was closed)
    close the window cleanly: a training stops after its step and saves a checkpoint (Python sees signals
    between Qt events). Under nohup (SIGHUP ignored) the app stays; a hangup killed it unsaved before."""

    def close_on_signal(received, _frame) -> None:
        if received == HANGUP:
            mute_output()  # the terminal is gone: later output would fail
        window.close()

    for signum in stopping_signals():
        signal.signal(signum, close_on_signal)


def main(run: str | os.PathLike | None = None, workspace: str | os.PathLike | None = None) -> int:
    """Open the main window (and `run`, if given; `workspace`: the runs folder it lists) and run until closed."""
    from gan_studio.ui.main_window import MainWindow

    leave_a_core_free()  # the UI keeps a core: its thread does not wait for one while training runs
    app = create_app()
    window = MainWindow(workspace=workspace)
    window.show()
    if run:
        QTimer.singleShot(0, lambda: window.open_run(Path(run)))
    close_on_stop_signals(window)
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: None)
    heartbeat.start(250)
    return int(app.exec())
