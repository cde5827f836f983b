"""Where a run's checkpoints lie and whether its folder is still there: names and listings, without torch (the
run store and the command line's listings read them; gan_studio.store.checkpoint writes and reads the files)."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from gan_studio.errors import RunError

STEP_FILE = re.compile(r"^step-([0-9]{1,12})\.pt$")


def check_run_still_there(run_path: Path, what: str) -> None:
    """RunError when the run's folder was moved or deleted while it trained: writing on would make a new folder
    at the old path (`what` was not saved) and split the run in two."""
    if not os.path.lexists(Path(run_path) / "run.json"):
        raise RunError(f"the run folder was moved or deleted while it trained: {what} was not saved, and nothing "
                       "more is written here", run_path)  # fmt: skip


def numbered_checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """The kept step-N.pt files of a checkpoints folder as (step, path), oldest first (regular files only)."""
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return []
        entries = list(os.scandir(folder))
    except OSError:
        return []
    found = [(int(m.group(1)), Path(e.path)) for e in entries
             if (m := STEP_FILE.match(e.name)) and e.is_file(follow_symlinks=False)]  # fmt: skip
    return sorted(found)
