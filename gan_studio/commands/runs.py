"""`gan-studio runs [DIR]`: list the runs of a workspace with status, step and last metrics."""

from __future__ import annotations

from pathlib import Path

from gan_studio.paths import default_workspace
from gan_studio.store.rundir import list_runs

SHOWN_METRICS = ("d_loss", "g_loss", "d_real", "d_fake", "loss", "recon", "kl", "modes", "fid")


def add_parser(sub) -> None:
    p = sub.add_parser("runs", help="list runs, their status and last metrics")
    p.add_argument("workspace", nargs="?", help="folder holding runs (default: the user's workspace)")
    p.set_defaults(handler=run)


def run(args) -> int:
    root = Path(args.workspace) if args.workspace else default_workspace()
    runs = list_runs(root)
    if not runs:
        print(f"no runs in {root}")
        return 0
    print(f"{'RUN':<42} {'MODEL':<7} {'DATA':<14} {'STATUS':<9} {'STEP':>8}  LAST METRICS")
    for r in runs:
        if "error" in r:
            print(f"{r['name']:<42} {'?':<7} {'?':<14} {'broken':<9} {'':>8}  {r['error']}")
            continue
        last = r.get("last", {})
        metrics = "  ".join(f"{k} {last[k]:.4g}" for k in SHOWN_METRICS if isinstance(last.get(k), (int, float)))
        print(
            f"{r['name'][:42]:<42} {r['model'][:7]:<7} {r['data'][:14]:<14} {r['status'][:9]:<9} {r['step']:>8}  {metrics}"
        )
    return 0
