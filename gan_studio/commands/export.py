"""`gan-studio export RUN`: write the run's generator (or VAE decoder/encoder) as a verified ONNX file.

Prints the export report (inputs, outputs, value mapping, max abs difference from torch). A failed
parity check leaves no file behind and exits non-zero.
"""

from __future__ import annotations

from gan_studio.export.onnx_export import DEFAULT_OPSET, PART_CHOICES, REFERENCE_SAMPLES, TOLERANCE, export_run


def add_parser(sub) -> None:
    p = sub.add_parser(
        "export",
        help="export a run's generator to ONNX, checked against torch",
        description=f"Export to one self-contained ONNX file (BatchNorm folded, dynamic batch) after a parity "
        f"check: ONNX Runtime vs torch on 64 random inputs (every class for conditional models), refused above "
        f"{TOLERANCE:g}.",
    )
    p.add_argument("run", metavar="RUN", help="the run directory")
    p.add_argument("--out", default=None, help="output .onnx file or folder [RUN/exports/<part>-step-N.onnx]")
    p.add_argument("--part", choices=PART_CHOICES, default="generator",
                   help="generator (GAN) / decoder (VAE), or the VAE encoder [generator]")  # fmt: skip
    p.add_argument("--opset", type=int, default=None, help=f"ONNX opset version [{DEFAULT_OPSET}]")
    p.add_argument("--reference-samples", type=int, default=REFERENCE_SAMPLES, metavar="N",
                   help=f"also run N inputs through ONNX's pure-Python reference evaluator, 0 to skip "
                        f"(slow on big models) [{REFERENCE_SAMPLES}]")  # fmt: skip
    p.set_defaults(handler=run)


def run(args) -> int:
    report = export_run(args.run, out=args.out, part=args.part, opset=args.opset,
                        check=args.reference_samples > 0, reference_samples=args.reference_samples)  # fmt: skip
    print(report.summary())
    return 0
