"""The project's one error type (and its kinds) for bad input: files, configs, checkpoints, runs.

Every message names the problem and, where there is one, the file. The CLI prints the message on
one line and exits 2 (1 for a full disk: no input was wrong); the app shows it in the window. Anything else escaping is a bug.
"""

from __future__ import annotations

import os
from pathlib import Path


def another_process_says_it() -> bool:
    """Under torchrun every process of a machine reads the same command line and settings, so a usage error
    or a note about them is the same in each: only the first process of each machine (LOCAL_RANK 0) says it,
    not one line per GPU."""
    return os.environ.get("LOCAL_RANK", "0").strip() not in ("", "0")


class GanStudioError(Exception):
    """Bad input or an impossible request, explained for a person."""

    exit_code = 2  # the CLI's: bad input (a failure of the machine, as a full disk, is 1)

    def __init__(self, message: str, path: str | Path | None = None):
        self.path = str(path) if path is not None else None
        self.reason = message  # the message without the path in front
        if self.path and self.path not in message:
            message = f"{self.path}: {message}"
        super().__init__(message)


class DataError(GanStudioError):
    """A dataset file or folder is missing, corrupt, or of the wrong shape."""


class ConfigError(GanStudioError):
    """A configuration value or TOML file is invalid. `setting`: the config field it is about, where it is one
    (the app marks that field of the Setup)."""

    def __init__(self, message: str, path: str | Path | None = None, setting: str | None = None):
        super().__init__(message, path)
        self.setting = setting


class CheckpointError(GanStudioError):
    """A checkpoint is corrupt, untrusted, or belongs to another model/config."""


class RunError(GanStudioError):
    """A run directory is missing or unreadable."""


class ExportError(GanStudioError):
    """An ONNX export failed its checks, or an ONNX file cannot be used."""


def printable(text: str) -> str:
    """`text` safe for one terminal line: control characters (a newline or an escape sequence in a file or
    class name) shown as escapes, so they neither break the line nor act on the terminal."""
    return "".join(c if c.isprintable() else _escaped(c) for c in text)


def _escaped(character: str) -> str:
    """A character a terminal line cannot show as it is: a byte of a file name that is not UTF-8 (Python keeps it as
    a surrogate, U+DC80-U+DCFF) as that byte, `\\xe9` (it showed as `\\udce9`, found in no file manager); others as
    Python escapes them."""
    if "\udc80" <= character <= "\udcff":
        return f"\\x{ord(character) - 0xDC00:02x}"
    return ascii(character)[1:-1]


def shorten(text: object, limit: int = 120) -> str:
    """`text` for a message: at most `limit` characters, with the full length said when cut."""
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 30]}... ({len(text):,} characters)"


class NothingToTrain(ConfigError):
    """A resume whose length the run has reached already: nothing was opened for writing or recorded."""

    def __init__(self, step: int, total: int):
        self.step, self.total = step, total
        super().__init__(f"the run is at step {step:,} and this length is {total:,} steps: there is nothing to train "
                         "(give a longer length: more steps or epochs)")  # fmt: skip
