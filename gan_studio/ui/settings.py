"""The app's preferences file: one INI file under the user's config folder (XDG_CONFIG_HOME on Linux).

Window layout, the last setup, the workspace folder and plot options live here. Tests get a
private file because the test setup points XDG_CONFIG_HOME at a temporary folder.
"""

from __future__ import annotations

import atexit
import os
import stat
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

from gan_studio.files import describe_kind
from gan_studio.paths import APP_DIR_NAME


def settings_path() -> Path:
    """Where the preferences INI lives."""
    if os.environ.get("XDG_CONFIG_HOME"):
        base = Path(os.environ["XDG_CONFIG_HOME"])
    elif sys.platform.startswith("linux"):
        base = Path.home() / ".config"
    else:
        base = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation))
    return base / APP_DIR_NAME / "settings.ini"


MAX_SETTINGS_BYTES = 16 * 2**20  # a real preferences file is a few KB
_unusable: list[str] = []  # why the preferences file cannot be used this session (said once)
_stand_ins: list[Path] = []  # the temporary file used instead, removed at exit


def app_settings() -> QSettings:
    """A QSettings on the app's INI file (cheap to create; each caller gets its own object). A FIFO, folder or
    device at that path (which hung the app at start: QSettings read the FIFO forever), or a file too large to
    be preferences, is not read: the session keeps its preferences in a temporary file, and says so once."""
    path = settings_path()
    problem = _unusable_settings_file(path)
    if problem is None:
        return QSettings(str(path), QSettings.Format.IniFormat)
    if not _unusable:
        _unusable.append(problem)
        print(f"gan-studio: {path}: {problem}: preferences are neither read nor saved this session", file=sys.stderr)
    return QSettings(str(_session_settings_file()), QSettings.Format.IniFormat)


def _session_settings_file() -> Path:
    """This session's stand-in for an unusable preferences file: a temporary file, removed when the app exits
    (one was left in the temporary folder per session)."""
    path = Path(tempfile.gettempdir()) / f"gan-studio-settings-{os.getpid()}.ini"
    if path not in _stand_ins:
        _stand_ins.append(path)
        atexit.register(path.unlink, missing_ok=True)
    return path


def _unusable_settings_file(path: Path) -> str | None:
    try:
        info = os.stat(path)  # through a link, as QSettings reads it
    except OSError:
        return None  # none yet (QSettings creates it), or unreadable (QSettings copes)
    if not stat.S_ISREG(info.st_mode):
        return f"is {describe_kind(info.st_mode)}, not a file"
    if info.st_size > MAX_SETTINGS_BYTES:
        return f"is {info.st_size / 2**20:.0f} MB, too large to be preferences"
    return None


def read_bool(settings: QSettings, key: str, default: bool) -> bool:
    """A boolean preference (INI files store them as text)."""
    value = settings.value(key, default)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def read_int(settings: QSettings, key: str, default: int) -> int:
    try:
        return int(settings.value(key, default))
    except (TypeError, ValueError):
        return default
