"""`gan-studio eval RUN`: quality metrics of a run's model, with floor and ceiling, as a table or JSON.

2D runs get mode coverage (ring8, grid25), Frechet distance and precision/recall on the points;
image runs the classifier-feature metrics (trains and caches the dataset's classifier on first
use) and the memorisation check; VAEs also the test ELBO and IWAE NLL. The report is saved to
RUN/eval/report.json (and the nearest-neighbour strip to RUN/eval/nearest.png), so RUN must be
writable; --no-save only prints it (for a read-only run folder). RUN is a run folder or a run name
as `gan-studio runs` prints it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from gan_studio.commands.arguments import (
    add_from_flag,
    add_workspace_flag,
    bounded_int,
    check_writable_folder,
    resolve_run,
    write_failed,
)
from gan_studio.engine.threads import leave_a_core_free
from gan_studio.evaluate.likelihood import DEFAULT_IMPORTANCE_SAMPLES
from gan_studio.evaluate.precision_recall import DEFAULT_NEIGHBOURS
from gan_studio.evaluate.report import LIKELIHOOD_SAMPLES, evaluate_run, format_report, report_path

MAX_SAMPLES = 100_000  # generated samples of one evaluation


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help="quality metrics of a run (modes, Frechet distance, precision/recall, ELBO)",
                       description=__doc__)  # fmt: skip
    p.add_argument("run", metavar="RUN", help="the run folder, or its name as `gan-studio runs` prints it")
    p.add_argument("--n", type=bounded_int(10, MAX_SAMPLES), default=None,
                   help="generated samples [2500 for 2D points (PacGAN protocol), 2000 for images]")  # fmt: skip
    p.add_argument(
        "--k",
        type=bounded_int(1, 10_000),
        default=DEFAULT_IMPORTANCE_SAMPLES,
        help=f"importance samples of the VAE's IWAE estimate [{DEFAULT_IMPORTANCE_SAMPLES}]",
    )
    p.add_argument("--test-samples", type=bounded_int(10, MAX_SAMPLES), default=LIKELIHOOD_SAMPLES, metavar="N",
                   help=f"test samples of a VAE's ELBO and IWAE NLL (their ± shrinks as 1/sqrt(N)) "
                   f"[{LIKELIHOOD_SAMPLES}; the whole test set at most]")  # fmt: skip
    p.add_argument(
        "--neighbours",
        type=bounded_int(1, 1000),
        default=DEFAULT_NEIGHBOURS,
        help=f"k of the k-NN precision/recall manifolds [{DEFAULT_NEIGHBOURS}]",
    )
    p.add_argument("--seed", type=bounded_int(0, 2**63 - 1), default=0, help="noise seed of the generated samples [0]")
    p.add_argument(
        "--device",
        default="cpu",
        choices=("auto", "cpu", "cuda", "mps"),
        help="torch device [cpu: the same figures on any machine; auto takes a GPU when there is one]",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    p.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    p.add_argument("--no-save", action="store_true", help="print the report without saving it into RUN/eval")
    p.add_argument("--data", metavar="PLACE", default=None,
                   help="the data the run trained on, read from another place: its folder moved, or a copy kept "
                   "when the folder changed (checked: the same number of samples and classes) [where it trained]")  # fmt: skip
    add_from_flag(p, "evaluate")
    add_workspace_flag(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    leave_a_core_free()  # as `train`: all cores busy with torch, anything else running slows it badly
    progress = None if args.quiet else (lambda message: print(f"eval: {message}", file=sys.stderr, flush=True))
    path = resolve_run(args.run, args.workspace)
    save = not args.no_save
    if save:  # before minutes of work: the report goes into RUN/eval
        check_writable_folder(report_path(path).parent, f"the report into {report_path(path).parent} "
                              "(use --no-save to only print it)")  # fmt: skip
    try:
        report = evaluate_run(path, n=args.n, k=args.k, neighbours=args.neighbours, seed=args.seed,
                              device=args.device, progress=progress, write=save, checkpoint=args.start_from,
                              data=args.data, likelihood_samples=args.test_samples)  # fmt: skip
    except OSError as exc:  # the report's folder, or a file named by the error (the classifier's cache)
        folder, failed = report_path(path).parent, getattr(exc, "filename", None)
        elsewhere = failed and Path(failed) != folder and folder not in Path(failed).parents
        raise write_failed(exc, str(failed) if elsewhere else f"the report into {folder}") from None
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0
