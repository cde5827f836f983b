"""Arguments the commands share: run names, bounded integers, and output paths checked before work starts.

- `resolve_run(text, workspace)` (`sample`, `export`, `eval`, `train --resume`): an existing folder
  is taken as it is; otherwise a run NAME as `gan-studio runs` prints it is looked up in the
  workspace (--workspace, default: the user's workspace): the exact name, else the one run whose
  name starts with it (`runs` cuts long names). A name found nowhere is a one-line RunError naming
  the workspace, with the closest name; a missing path is left for the command to report.
- `bounded_int(low, high)`: an argparse type for integers in a range (seeds, counts, sizes).
- `switch_value(spec)`: an argparse type for a yes/no flag given bare (`--flip`) or with a value (`--flip true`).
- `check_output_file(path, suffix, flag)` / `check_writable_folder(path, what)`: a ConfigError or
  RunError now, in one line, rather than a traceback after minutes of work.
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import stat
import tempfile
from pathlib import Path

from gan_studio.errors import ConfigError, GanStudioError, RunError, shorten
from gan_studio.files import DISK_FULL_ERRNOS, DiskFullError
from gan_studio.paths import default_workspace
from gan_studio.store.rundir import RunDir

MAX_LISTED = 5  # names shown when a prefix matches several runs


def switch_value(spec):
    """A yes/no flag's value: a bare `--flip` means true; a word that is no yes or no (a model name given
    after the flag) is refused here, before it could be taken for the flag's value. `spec`: the field's
    FieldSpec, or a function giving it when a value is parsed (its config's module may import torch)."""

    def parse(text: str) -> str:
        from gan_studio.config import coerce

        field = spec() if callable(spec) else spec
        try:
            coerce(field, text)
        except ConfigError:
            from gan_studio.models import MODELS

            hint = f" (give the model first: gan-studio train {text} {field.flag})" if text in MODELS else ""
            raise argparse.ArgumentTypeError(f"takes true or false, got '{shorten(text, 40)}'{hint}") from None
        return text

    return parse


def add_workspace_flag(parser) -> None:
    """The --workspace flag of the commands that take a run name."""
    parser.add_argument("--workspace", metavar="DIR",
                        help="folder where run NAMES are looked up (default: the user's workspace)")  # fmt: skip


def add_from_flag(parser, what: str) -> None:
    """--from: a kept checkpoint of the run instead of its last.pt (what `gan-studio fork RUN --list` shows)."""
    parser.add_argument("--from", dest="start_from", default=None, metavar="CHECKPOINT",
                        help=f"{what} a kept checkpoint instead of the last one: step-N (as `gan-studio fork RUN "
                        "--list` shows) [last]")  # fmt: skip


def resolve_run(text: str, workspace: str | Path | None = None) -> Path:
    """The folder of the run `text` names (a path, or a name in `workspace`); RunError when there is none."""
    path = Path(text)
    if path.is_dir():
        return _checked(path)
    if path.exists():  # a file: not a run, whatever the command would try to do with it next
        hint = " (an exported model: `gan-studio sample` draws from one)" if path.suffix.lower() == ".onnx" else ""
        raise RunError(f"not a run folder: this is a file{hint}; give the run's folder or its name", path)
    root = Path(workspace) if workspace else default_workspace()
    if text and len(path.parts) == 1 and text not in (".", ".."):
        candidate = root / text
        if candidate.is_dir():
            return _checked(candidate)
        names = _run_names(root)
        starting = [name for name in names if name.startswith(text)]
        if len(starting) == 1:
            return _checked(root / starting[0])
        if len(starting) > 1:
            shown = ", ".join(sorted(starting)[:MAX_LISTED]) + (", ..." if len(starting) > MAX_LISTED else "")
            raise RunError(f"'{text}' matches {len(starting)} runs in {root} ({shown}): give more of the name")
        close = difflib.get_close_matches(text, names, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else " (see `gan-studio runs`)"
        raise RunError(f"no run folder '{text}' here and no run named '{text}' in the workspace {root}{hint}")
    return path  # a path that is not there: the command says what it expected to find


def _checked(run: Path) -> Path:
    """`run`, after refusing a symlinked or wrong-kind entry in it, before a command writes or probes anything there
    (a write check in a symlinked exports/ would create a file outside the run)."""
    RunDir(run).check_layout()
    return run


def _run_names(root: Path) -> list[str]:
    """Names of the run folders directly inside `root` (those with a run.json)."""
    try:
        children = list(root.iterdir())
    except OSError:
        return []
    return sorted(child.name for child in children if (child / "run.json").is_file())


def bounded_int(low: int, high: int):
    """An argparse type: a decimal integer with low <= value <= high (argparse reports a bad one in one line)."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip(), 10) if len(text) <= 40 and text.isascii() else None  # not '١٠' (Python's 10)
        except ValueError:
            value = None
        if value is None:
            raise argparse.ArgumentTypeError(f"must be a whole number from {low} to {high}, got {text[:40]!r}")
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        if value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high}, got {text[:40]}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its messages
    return parse


def seconds(text: str) -> float:
    """An argparse type: a number of seconds above 0 (inf: no limit); nan, 0 and negatives are refused."""
    try:
        value = float(text) if len(text) <= 40 and text.isascii() else math.nan
    except ValueError:
        value = math.nan
    if not value > 0:  # (nan too)
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, got {text[:40]!r}")
    return value


def check_output_file(path: str | Path, suffix: str, flag: str = "--out", example: str = "out",
                      what: str | None = None) -> Path:  # fmt: skip
    """`path` as a file the command may create or replace: not a folder or special file, in a writable folder."""
    path = Path(path)
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None
    except OSError as exc:
        raise ConfigError(f"{flag} {path} cannot be checked: {exc.strerror or exc}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise ConfigError(f"{flag} {path} is a folder: give the file to write, e.g. {path / (example + suffix)}")
    if path.suffix.lower() != suffix:
        raise ConfigError(f"{flag} {path} must be a {suffix} file name")
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        raise ConfigError(f"{flag} {path} exists and is not a regular file")
    if not path.parent.exists() and not path.parent.parent.exists():  # as export's --out DIR/: a typo makes no tree
        raise ConfigError(f"{flag} {path}: the folder {path.parent.parent} does not exist (one new folder is made "
                          f"for the file, not a path of them)")  # fmt: skip
    check_writable_folder(path.parent, what or f"{flag} {path}")
    return path


def check_writable_folder(folder: str | Path, what: str) -> None:
    """RunError unless files can be created in `folder` (or in the nearest existing folder above it)."""
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise RunError(f"cannot create the folder for {what}: {existing} is not a folder")
    try:  # os.access alone misses read-only mounts (and says yes to root): really create a file
        if not os.access(existing, os.W_OK | os.X_OK):
            raise PermissionError
        handle, probe = tempfile.mkstemp(prefix=".gan-studio-write-check-", dir=existing)
        os.close(handle)
        os.unlink(probe)
    except OSError:
        raise RunError(f"cannot write {what}: the folder {os.path.abspath(existing)} is read-only") from None


def write_failed(exc: OSError, what: str) -> GanStudioError:
    """The one-line error for a write that failed anyway (read-only, disk full, vanished folder)."""
    if exc.errno in DISK_FULL_ERRNOS:
        return DiskFullError(f"cannot write {what}: the disk is full")
    return RunError(f"cannot write {what}: {exc.strerror or exc}")
