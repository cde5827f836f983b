"""Where GAN Studio keeps its files: the runs workspace and the dataset cache (XDG on Linux), and the temporary
cache folder used when the cache cannot be written."""

from __future__ import annotations

import errno
import os
import stat
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


def temporary_cache_dir() -> Path:
    """Where cached files go when the cache folder cannot be written (a read-only home on a cluster): this user's
    own folder in the system's temporary folder, kept for as long as the system keeps it."""
    import tempfile

    user = os.getuid() if hasattr(os, "getuid") else "".join(c for c in os.environ.get("USERNAME", "") if c.isalnum())
    return Path(tempfile.gettempdir()) / f"{APP_DIR_NAME}-{user}"


def private_temporary_cache_dir(part: str = "", create: bool = False) -> Path | None:
    """temporary_cache_dir() (or its `part` folder: "prepared", "classifiers", "datasets", "style"), made if
    `create`, or None when it is not there or not this user's alone: someone else's folder, or a link, in a
    temporary folder every user shares is never used."""
    folder = temporary_cache_dir()
    for place in (folder, folder / part) if part else (folder,):
        if not private_folder(place, create):
            return None
    return folder / part if part else folder


def private_folder(folder: Path, create: bool = False) -> bool:
    """Whether `folder` (made if `create`, for its owner only) is a real folder of this user's that no one else
    may write into (a folder made with the usual umask, readable by others, is fine)."""
    return not folder_problem(folder, create)


def folder_problem(folder: Path, create: bool = False) -> str:
    """Why `folder` (made if `create`) is not a folder of this user's that only they may write into, or ""."""
    try:
        if create:
            folder.mkdir(mode=0o700, exist_ok=True)
        st = folder.lstat()
    except OSError as exc:
        return exc.strerror or str(exc)
    if stat.S_ISLNK(st.st_mode):
        return "it is a link"
    if not stat.S_ISDIR(st.st_mode):
        return "it is not a folder"
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return "it belongs to another user"
    if hasattr(os, "getuid") and st.st_mode & 0o022:
        return f"others may write into it (mode {stat.S_IMODE(st.st_mode):o}; chmod go-w fixes it)"
    return ""


def temporary_cache_problem() -> str:
    """' (the temporary folder X is not used: why)' when temporary_cache_dir() (or its prepared/ folder) exists
    but cannot be used; '' otherwise (usable, or not made yet)."""
    folder = temporary_cache_dir()
    for place in (folder, folder / "prepared"):
        if os.path.lexists(place):
            problem = folder_problem(place)
            if problem:
                return f" (the temporary folder {place} is not used instead: {problem})"
        else:
            break
    return ""


def can_write_into(folder: Path) -> bool:
    """Whether files could be made in `folder`: it, or the nearest folder above it that exists, is a folder this
    process may write (a read-only file system or a file in the way say no)."""
    for place in (folder, *folder.parents):
        if os.path.lexists(place):
            return place.is_dir() and os.access(place, os.W_OK | os.X_OK)
    return False


def cannot_write(exc: OSError, folder: Path) -> bool:
    """Whether `exc` says that `folder` (or a folder above it) cannot be written: read-only, not allowed, or a
    file where a folder should be. A full disk is not such a failure: another folder of it would fill too."""
    where = str(getattr(exc, "filename", None) or "")
    if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EEXIST) or not where:
        return False
    failed = Path(where)
    return failed == folder or failed in folder.parents or folder in failed.parents


def data_name(spec: str) -> str:
    """A dataset's short name, from its built-in name or path: the folder's name, an archive's without .zip or
    .npz (run folders are named model-data-time with it)."""
    path = Path(spec).expanduser()
    return (path.stem if path.suffix.lower() in (".zip", ".npz") else path.name) or "data"


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
