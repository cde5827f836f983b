"""`gan-studio export RUN`: write the run's generator (or VAE decoder/encoder) as a verified ONNX file.

RUN is a run folder or a run name as `gan-studio runs` prints it. The file goes into RUN/exports/
unless --out names a file or folder, so a read-only run folder needs --out somewhere writable.
Prints the export report (inputs, outputs, value mapping, max abs difference from torch; --json: as JSON). A failed
parity check leaves no file behind and exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from gan_studio.commands.arguments import (
    add_from_flag,
    add_workspace_flag,
    bounded_int,
    check_output_file,
    check_writable_folder,
    resolve_run,
    write_failed,
)
from gan_studio.errors import ConfigError
from gan_studio.export.onnx_export import (
    DEFAULT_OPSET,
    MIN_OPSET,
    PART_CHOICES,
    REFERENCE_SAMPLES,
    TOLERANCE,
    export_run,
)
from gan_studio.store.jsonl import json_safe

MAX_REFERENCE_SAMPLES = 4096


def add_parser(sub) -> None:
    p = sub.add_parser(
        "export",
        help="export a run's generator to ONNX, checked against torch",
        description=f"Export to one self-contained ONNX file (BatchNorm folded, dynamic batch) after a parity "
        f"check: ONNX Runtime vs torch on 64 random inputs (every class for conditional models), refused above "
        f"{TOLERANCE:g} (times the outputs' largest magnitude when that is above 1). The file goes into RUN/exports/ unless --out says where (needed for a read-only run).",
    )
    p.add_argument("run", metavar="RUN", help="the run folder, or its name as `gan-studio runs` prints it")
    p.add_argument("--out", default=None, help="output .onnx file or folder [RUN/exports/<part>-step-N.onnx]")
    p.add_argument("--part", choices=PART_CHOICES, default="generator",
                   help="the network that makes samples: generator and decoder are two names for it (a GAN's "
                   "generator, a VAE's decoder); or encoder, a VAE's [generator]")  # fmt: skip
    p.add_argument("--opset", type=opset_version, default=None,  # the range: _check_opset's, which knows ORT's newest
                   help=f"ONNX opset version, {MIN_OPSET} or newer [{DEFAULT_OPSET}]")  # fmt: skip
    p.add_argument("--reference-samples", type=bounded_int(0, MAX_REFERENCE_SAMPLES), default=REFERENCE_SAMPLES,
                   metavar="N", help=f"also run N inputs through ONNX's pure-Python reference evaluator, 0 to skip "
                                     f"(slow on big models) [{REFERENCE_SAMPLES}]")  # fmt: skip
    p.add_argument(
        "--json",
        action="store_true",
        help="print the report as JSON (the file's path, inputs, outputs, parity figures) for scripts",
    )
    add_from_flag(p, "export")
    add_workspace_flag(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    path = resolve_run(args.run, args.workspace)
    if args.out is not None and args.out.endswith(("/", os.sep)) and not os.path.lexists(args.out):
        args.out = _new_folder(args.out)  # `--out newdir/`: a folder to make, as `cp FILE newdir/` would want
    if args.out is None:
        target = f"the export into {path / 'exports'} (give --out a writable file or folder)"
        check_writable_folder(path / "exports", target)
    elif Path(args.out).is_dir():
        target = f"the export into --out {args.out}"
        check_writable_folder(args.out, target)
    else:
        target = f"the export ({args.out})"
        check_output_file(args.out, ".onnx", what=target)
    try:
        report = export_run(path, out=args.out, part=args.part, opset=args.opset, checkpoint=args.start_from,
                            check=args.reference_samples > 0, reference_samples=args.reference_samples)  # fmt: skip
    except OSError as exc:
        raise write_failed(exc, target) from None
    print(json.dumps(json_safe(report.to_json()), indent=2, allow_nan=False) if args.json else report.summary())
    return 0


def opset_version(text: str) -> int:
    """An argparse type: a whole number (its range is said by the export, which knows the newest ORT runs)."""
    try:
        return bounded_int(-(2**31), 2**31 - 1)(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be an ONNX opset version, a whole number ({MIN_OPSET} or newer), "
                                         f"got {text[:40]!r}") from None  # fmt: skip


def _new_folder(out: str) -> str:
    """Make the folder `out` names (its parent must exist and be writable)."""
    folder = Path(out)
    if not os.path.lexists(folder.parent):  # one level is made, not a path of typos: the missing folder is named
        raise ConfigError(f"--out {out}: the folder {folder.parent} does not exist (one new folder is made for the "
                          "export, not a path of them)")  # fmt: skip
    check_writable_folder(folder.parent, f"the export into --out {out}")
    try:
        folder.mkdir()
    except OSError as exc:
        raise write_failed(exc, f"the export into --out {out}") from None
    return str(folder)
