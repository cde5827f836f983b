"""`gan-studio fork RUN [--from step-N] [--out NEW]`: start a new run from one of a run's kept checkpoints.

RUN is a run folder or a run name as `gan-studio runs` prints it (looked up in --workspace)."""

from __future__ import annotations

from gan_studio.commands.arguments import add_workspace_flag, resolve_run
from gan_studio.store.fork import fork_run, kept_checkpoints


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
        print("\n".join(kept_checkpoints(source)) or "no kept checkpoints")
        return 0
    path = fork_run(source, args.start_from, args.out)
    print(f"forked {args.run} at {args.start_from} into {path}\ncontinue it with: gan-studio train --resume {path}")
    return 0
