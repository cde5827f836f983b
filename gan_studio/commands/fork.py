"""`gan-studio fork RUN [--from step-N] [--out NEW]`: start a new run from one of a run's kept checkpoints.

RUN is a run folder or a run name as `gan-studio runs` prints it (looked up in --workspace)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from gan_studio.commands.arguments import add_workspace_flag, resolve_run
from gan_studio.store.checkpoint_files import numbered_checkpoints
from gan_studio.store.fork import fork_run, kept_checkpoints
from gan_studio.store.rundir import RunDir, looks_whole


def add_parser(sub) -> None:
    p = sub.add_parser("fork", help="copy a run up to one of its kept checkpoints into a new run folder",
                       description=__doc__)  # fmt: skip
    p.add_argument("run", metavar="RUN", help="the run to fork: a folder, or its name as `gan-studio runs` prints it")
    p.add_argument("--from", dest="start_from", default="last", metavar="CHECKPOINT",
                   help="step-N (a kept numbered checkpoint) or last [last]")  # fmt: skip
    p.add_argument("--out", metavar="DIR", help="the new run folder (default: beside RUN, named model-fork-data-time)")
    p.add_argument("--list", action="store_true", help="list the checkpoints RUN can be forked from, then stop")
    add_workspace_flag(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    source = resolve_run(args.run, args.workspace)
    if args.list:
        print(_checkpoint_table(source) or "no kept checkpoints")
        return 0
    path = fork_run(source, args.start_from, args.out)
    print(f"forked {args.run} at {args.start_from} into {path}\ncontinue it with: gan-studio train --resume {path}")
    return 0


def _checkpoint_table(run_path: Path) -> str:
    """One line per checkpoint a fork accepts: its name (first, as --from takes it), when it was written, its size."""
    run = RunDir(run_path)
    names = kept_checkpoints(run_path)  # (a folder that is not a run is an error here)
    files = {f"step-{step}": path for step, path in numbered_checkpoints(run.checkpoints_dir)} | {
        "last": run.last_checkpoint
    }
    lines = []
    for name in names:
        try:
            found = os.lstat(files[name])
        except OSError:
            continue
        written = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(found.st_mtime))
        newest = "  (the newest: what --from last takes)" if name == "last" else ""
        if not found.st_size:  # an interrupted copy or a full disk: a fork from it would be refused
            newest = "  (empty: damaged, not a checkpoint to fork from)"
        elif not looks_whole(files[name]):  # truncated, or another file in its place (as the app's Fork… hides it)
            newest = "  (damaged: not a whole checkpoint, a fork from it would be refused)"
        lines.append(f"{name:<12} written {written}  {found.st_size / 2**20:8.1f} MB{newest}")
    return "\n".join(lines)
