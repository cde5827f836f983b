"""`gan-studio runs [DIR]`: list the runs of a workspace with status, step, last metrics and latest advice
(--json: as JSON, with each run's saved evaluation).

The NAME column is what `sample`, `export`, `eval` and `train --resume` accept in place of a path.
Below a run, its latest training-health advice (logged as "advice" events in events.jsonl) is
shown; --advice shows all of it, and for runs that logged none, the advice computed from their
metrics.jsonl (gan_studio.evaluate.advisor).
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

from gan_studio.errors import ConfigError, GanStudioError, RunError, printable
from gan_studio.evaluate.advisor import advise_run, latest_advice
from gan_studio.metric_names import metrics_where, short_label
from gan_studio.paths import default_workspace
from gan_studio.store.jsonl import json_safe
from gan_studio.store.rundir import RunDir, list_runs, runs_folder_near, summarise_run

ADVICE_WIDTH = 160  # characters of an advice line in the table
LATEST_ADVICE_BYTES = 2**16  # the end of events.jsonl searched for the latest advice
ALL_ADVICE_BYTES = 2**23  # ... and for all of it (--advice)


def add_parser(sub) -> None:
    p = sub.add_parser("runs", help="list runs, their status, last metrics and advice", description=__doc__)
    p.add_argument("workspace", nargs="?", help="folder holding runs (default: the user's workspace)")
    p.add_argument("--workspace", dest="workspace_flag", metavar="DIR",
                   help="the same, as the other commands take it")  # fmt: skip
    p.add_argument("--advice", action="store_true",
                   help="show every piece of advice of each run (computed from its metrics when none was logged)")  # fmt: skip
    p.add_argument("--json", action="store_true",
                   help="print the runs as a JSON list instead of a table (for scripts): each run's path, name, "
                   "model, data, status, step, created (Unix time), last metrics (as logged), latest advice and "
                   "saved evaluation ({step, seed, n, metrics: {key: value}}, or null)")  # fmt: skip
    p.set_defaults(handler=run)


def run(args) -> int:
    if args.workspace and args.workspace_flag and Path(args.workspace) != Path(args.workspace_flag):
        raise ConfigError("give the folder once: as FOLDER or as --workspace FOLDER")
    args.workspace = args.workspace or args.workspace_flag
    root = Path(args.workspace) if args.workspace else default_workspace()
    if args.workspace and not root.is_dir():  # a typo is not an empty workspace
        raise RunError("no such folder" if not root.exists() else "is not a folder (give the folder holding runs)",
                       root)  # fmt: skip
    runs = list_runs(root)
    if not runs and args.workspace and os.path.lexists(root / "run.json"):  # a run's own folder: list that run
        runs = [summarise_run(root)]
    if args.json:
        print(json.dumps([_for_scripts(r) for r in runs], indent=2, allow_nan=False))
        return 0
    if not runs:
        print(f"no runs in {root}{_runs_near(root) if args.workspace else ''}")
        return 0
    print(f"{'RUN':<42} {'MODEL':<7} {'DATA':<14} {'STATUS':<11} {'STEP':>8}  LAST METRICS")
    for r in runs:
        r = {k: printable(v) if isinstance(v, str) else v for k, v in r.items()}
        if "error" in r:
            print(f"{r['name']:<42} {'?':<7} {'?':<14} {r.get('status') or 'broken':<11} {'':>8}  {r['error']}")
            continue
        last = r.get("last", {})
        metrics = "  ".join(
            f"{short_label(k)} {last[k]:.4g}" for k in metrics_where("summary") if isinstance(last.get(k), (int, float))
        )
        print(
            f"{r['name'][:42]:<42} {r['model'][:7]:<7} {r['data'][:14]:<14} {r['status'][:11]:<11} {r['step']:>8}  {metrics}"
        )
        if r.get("problem"):
            print(f"  {r['problem']}")
        for line in advice_lines(Path(r["path"]), every=args.advice):
            line = printable(line)
            if args.advice:  # every piece of advice, whole: its remedy is at the end
                print(textwrap.fill(line, ADVICE_WIDTH, initial_indent="  ", subsequent_indent="    "))
            else:
                print(f"  {line if len(line) <= ADVICE_WIDTH else line[: ADVICE_WIDTH - 1] + '…'}")
    return 0


def _runs_near(folder: Path) -> str:
    """' (DIR/runs holds 3: gan-studio runs DIR/runs)' when `folder` holds no runs but a folder near it does (see
    runs_folder_near); '' otherwise."""
    near = runs_folder_near(folder)
    return f" ({near[0]} holds {near[1]}: gan-studio runs {near[0]})" if near else ""


def _for_scripts(summary: dict) -> dict:
    """A run's summary with its saved evaluation's values, JSON-safe as metrics.jsonl writes them ('nan')."""
    entry = dict(summary)
    if "error" not in summary:
        report = RunDir(Path(summary["path"])).read_report()
        entry["eval"] = None if report is None or not isinstance(report.get("metrics"), list) else {
            "step": report.get("step"), "seed": report.get("seed"), "n": report.get("n"),
            "metrics": {row.get("key"): row.get("value") for row in report["metrics"] if isinstance(row, dict)},
        }  # fmt: skip
    return json_safe(entry)


def advice_lines(run_path: Path, every: bool = False) -> list[str]:
    """'advice: step N severity: message -- action' lines: the latest logged one, or all with `every`."""
    findings = latest_advice(run_path, tail_bytes=ALL_ADVICE_BYTES if every else LATEST_ADVICE_BYTES)
    source = "advice"
    if every and not findings:
        try:
            findings, source = advise_run(run_path), "advice (from metrics)"
        except GanStudioError:
            findings = []
    if not every:
        findings = findings[-1:]
    return [f"{source}: {finding.line()}" for finding in findings]
