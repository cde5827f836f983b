"""The app's preferences file: one INI file under the user's config folder (XDG_CONFIG_HOME on Linux).

Window layout, the last setup, the workspace folder and plot options live here. Tests get a
private file because the test setup points XDG_CONFIG_HOME at a temporary folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

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


def app_settings() -> QSettings:
    """A QSettings on the app's INI file (cheap to create; each caller gets its own object)."""
    return QSettings(str(settings_path()), QSettings.Format.IniFormat)


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
