"""`gan-studio app` (also plain `gan-studio`): open the desktop application."""

from __future__ import annotations

import os
import sys


def add_parser(sub) -> None:
    p = sub.add_parser("app", help="open the desktop app (the default)")
    p.add_argument("run", nargs="?", help="a run directory to open")
    p.set_defaults(handler=run)


def display_problem() -> str | None:
    """A one-line hint when Qt would abort for lack of a display, else None."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return None
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return ("no display found: set QT_QPA_PLATFORM=offscreen to run the app without a screen, "
                "or train headless with `gan-studio train`")  # fmt: skip
    return None


def run(args) -> int:
    problem = display_problem()
    if problem:
        print(f"gan-studio: {problem}", file=sys.stderr)
        return 2
    try:
        from gan_studio.ui.app import main as app_main
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph"):
            print(
                f"gan-studio: the desktop app needs {exc.name.split('.')[0]}, which is not installed "
                "(pip install PySide6-Essentials pyqtgraph); `gan-studio train` works without it",
                file=sys.stderr,
            )
            return 2
        raise
    return app_main(run=args.run)
