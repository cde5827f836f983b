"""Where GAN Studio keeps its files: the runs workspace and the dataset cache (XDG on Linux)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_DIR_NAME = "gan-studio"


def user_data_dir() -> Path:
    """Folder for the user's runs workspace (overridable with GAN_STUDIO_HOME)."""
    if "GAN_STUDIO_HOME" in os.environ:
        return Path(os.environ["GAN_STUDIO_HOME"])
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / APP_DIR_NAME


def user_cache_dir() -> Path:
    """Folder for downloaded datasets and cached evaluation classifiers (GAN_STUDIO_CACHE)."""
    if "GAN_STUDIO_CACHE" in os.environ:
        return Path(os.environ["GAN_STUDIO_CACHE"])
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "cache"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / APP_DIR_NAME


def default_workspace() -> Path:
    """Folder holding one sub-folder per run."""
    return user_data_dir() / "runs"


def recipe_folder() -> Path | None:
    """The `training/` folder of recipes beside the package (a source checkout), or None when installed without it."""
    folder = Path(__file__).resolve().parents[1] / "training"
    return folder if folder.is_dir() else None


def pasted_path(text: str) -> str:
    """A path as people paste it into a field: surrounding spaces and matching quotes ('/my photos', as file
    managers and terminals copy it) taken off, and a file:// URL (what a dragged file or "copy location" gives)
    turned into its path. Anything else is returned as it was (stripped)."""
    from urllib.parse import unquote, urlsplit

    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()
    if text.lower().startswith("file://"):
        parts = urlsplit(text)
        if parts.netloc in ("", "localhost"):
            text = unquote(parts.path)
    return text
