"""`gan-studio app [RUN]` (also plain `gan-studio`): open the desktop application, showing RUN if given.

RUN is a run folder or a run name as `gan-studio runs` prints it (looked up in --workspace). --workspace is also
the folder the window's Runs panel lists (as if chosen with its "Change…" button)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from gan_studio.commands.arguments import resolve_run
from gan_studio.errors import RunError
from gan_studio.store.rundir import RunDir


def add_parser(sub) -> None:
    p = sub.add_parser("app", help="open the desktop app (the default)", description=__doc__)
    p.add_argument("run", nargs="?", metavar="RUN", help="a run to open: a folder, or its name as `gan-studio runs` "
                   "prints it")  # fmt: skip
    p.add_argument("--workspace", metavar="DIR", help="the runs folder the window lists, where run NAMES are looked "
                   "up (default: RUN's folder when RUN is given, else the one the window used last, or the user's workspace)")  # fmt: skip
    p.add_argument("--scale", type=scale_factor, metavar="FACTOR", help="draw everything FACTOR times larger "
                   "(text, plots, pictures), for large screens: e.g. 1.5 on a projector or for the back of a lecture "
                   "hall. The window needs about 960x660 pixels at 1, FACTOR times that when scaled (1.5: a "
                   "1440x990 screen); on a smaller screen its panels scroll and it says which FACTOR fits "
                   "[default: the screen's own]")  # fmt: skip
    p.set_defaults(handler=run)


def scale_factor(text: str) -> float:
    """--scale's value: a number from 0.5 to 4 (Qt's QT_SCALE_FACTOR, which scales the whole window)."""
    try:
        value = float(text) if text.strip().isascii() else None
    except ValueError:
        value = None
    if value is None or not 0.5 <= value <= 4:
        raise argparse.ArgumentTypeError(f"must be a number from 0.5 to 4, got {text[:40]!r}")
    return value


# the libraries Qt's X11 window plugin (xcb) links, and the Debian/Ubuntu packages that hold them
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-image.so.0": "libxcb-image0",
}


def display_problem() -> str | None:
    """A one-line hint when Qt would abort for lack of a display (or of the libraries its X11 plugin needs: Qt
    aborted with "Reinstalling the application may fix this problem"), else None."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or platform not in ("", "xcb"):
        return None
    if not platform and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return ("no display found: the app needs a screen (a desktop, `ssh -X`, or a virtual one: `xvfb-run "
                "gan-studio`); without one, train with `gan-studio train` and picture the app with `gan-studio "
                "screenshot DIR`")  # fmt: skip
    if os.environ.get("DISPLAY") and (platform == "xcb" or not os.environ.get("WAYLAND_DISPLAY")):
        missing = [package for library, package in XCB_LIBRARIES.items() if not _loads(library)]
        if missing:
            return (f"Qt's X11 window plugin needs system libraries that are missing: sudo apt-get install "
                    f"{' '.join(missing)} (as root, `bash scripts/quickstart.sh` installs them)")  # fmt: skip
    return None


def _loads(library: str) -> bool:
    import ctypes

    try:
        ctypes.CDLL(library)
    except OSError:
        return False
    return True


def checked_run(text: str, workspace: str | None) -> Path:
    """The run folder `text` names (a name, as every command takes), refused here as every command refuses it:
    a missing folder, a file, or a folder without a readable run.json is a RunError (exit 2), not a window
    that opens only to show the error in a banner."""
    path = resolve_run(text, workspace)
    if not path.is_dir():
        raise RunError("no such run folder", path)
    RunDir(path).read_info()
    return path


def run(args) -> int:
    run_path = checked_run(args.run, args.workspace) if args.run else None  # before the display: the more useful
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
    if args.scale is not None:
        os.environ["QT_SCALE_FACTOR"] = f"{args.scale:g}"  # read when the QApplication is made, in app_main
    # the Runs panel lists the folder of the run opened (it listed the window's last folder, without that run)
    workspace = args.workspace if args.workspace is not None or run_path is None else str(run_path.parent)
    return app_main(run=run_path, workspace=workspace)
