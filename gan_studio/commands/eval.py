"""`gan-studio eval RUN`: quality metrics of a run's model, with floor and ceiling, as a table or JSON.

2D runs get mode coverage (ring8, grid25), Frechet distance and precision/recall on the points;
image runs the classifier-feature metrics (trains and caches the dataset's classifier on first
use) and the memorisation check; VAEs also the test ELBO and IWAE NLL. The report is saved to
RUN/eval/report.json (and the nearest-neighbour strip to RUN/eval/nearest.png).
"""

from __future__ import annotations

import json
import sys

from gan_studio.evaluate.likelihood import DEFAULT_IMPORTANCE_SAMPLES
from gan_studio.evaluate.precision_recall import DEFAULT_NEIGHBOURS
from gan_studio.evaluate.report import evaluate_run, format_report


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help="quality metrics of a run (modes, Frechet distance, precision/recall, ELBO)",
                       description=__doc__)  # fmt: skip
    p.add_argument("run", metavar="RUN", help="the run directory")
    p.add_argument("--n", type=int, default=None,
                   help="generated samples [2500 for 2D points (PacGAN protocol), 2000 for images]")  # fmt: skip
    p.add_argument(
        "--k",
        type=int,
        default=DEFAULT_IMPORTANCE_SAMPLES,
        help=f"importance samples of the VAE's IWAE estimate [{DEFAULT_IMPORTANCE_SAMPLES}]",
    )
    p.add_argument(
        "--neighbours",
        type=int,
        default=DEFAULT_NEIGHBOURS,
        help=f"k of the k-NN precision/recall manifolds [{DEFAULT_NEIGHBOURS}]",
    )
    p.add_argument("--seed", type=int, default=0, help="noise seed of the generated samples [0]")
    p.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda", "mps"), help="torch device [cpu]")
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    p.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    p.set_defaults(handler=run)


def run(args) -> int:
    progress = None if args.quiet else (lambda message: print(f"eval: {message}", file=sys.stderr, flush=True))
    report = evaluate_run(args.run, n=args.n, k=args.k, neighbours=args.neighbours, seed=args.seed,
                          device=args.device, progress=progress)  # fmt: skip
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0
