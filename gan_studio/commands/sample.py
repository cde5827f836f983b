"""`gan-studio sample RUN|FILE.onnx`: write a PNG grid of generated samples.

RUN is a run folder or a run name as `gan-studio runs` prints it (looked up in --workspace). The
same seed gives the same grid from a run (torch) and from its exported ONNX file (ONNX Runtime on
the best usable provider, or --provider), within 1/255 per pixel.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from gan_studio.commands.arguments import (
    add_from_flag,
    add_workspace_flag,
    bounded_int,
    check_output_file,
    resolve_run,
    write_failed,
)
from gan_studio.engine.settings import resolve_device
from gan_studio.errors import ConfigError, printable
from gan_studio.models.latents import grid_columns, sample_inputs
from gan_studio.store.loaded import load_run
from gan_studio.store.pictures import samples_picture, save_png

MAX_SAMPLES = 10_000  # samples in one grid
MAX_VALUES = 2**25  # generated values in one grid (n times the values of a sample): 128 MB as float32
MAX_SEED = 2**63 - 1


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="write a PNG grid of samples from a run or an .onnx file", description=__doc__)
    p.add_argument("source", metavar="RUN|FILE.onnx", help="a run folder or name, or an exported .onnx file")
    p.add_argument("--n", type=bounded_int(1, MAX_SAMPLES), default=64, help="number of samples [64]")
    p.add_argument("--seed", type=bounded_int(0, MAX_SEED), default=0, help="noise seed [0]")
    p.add_argument("--label", default=None, metavar="CLASS",
                   help="conditional models: every sample of this class, by index (3) or name (cat)")  # fmt: skip
    p.add_argument("--out", default="grid.png", help="output PNG file [grid.png]")
    p.add_argument(
        "--device",
        default="cpu",
        choices=("auto", "cpu", "cuda", "mps"),
        help="torch device for runs [cpu: the same pictures on any machine; auto takes a GPU]",
    )
    p.add_argument("--provider", default=None, help="ONNX Runtime provider for .onnx files (default: best available)")
    add_from_flag(p, "sample from")
    add_workspace_flag(p)
    p.set_defaults(handler=run)


def check_size(n: int, sample_shape) -> None:
    """ConfigError when n samples of `sample_shape` would not fit one grid (memory, picture size)."""
    values = n * math.prod(sample_shape)
    if values > MAX_VALUES:
        most = MAX_VALUES // math.prod(sample_shape)
        shape = "x".join(map(str, sample_shape))
        if not most:
            raise ConfigError(f"a sample of {shape} is too large for a grid picture")
        raise ConfigError(f"--n {n} is too many: at most {most} samples of {shape} fit one grid")


def _other_classes(generate, samples, args, latent_dim: int, num_classes: int):
    """For 2D points of one class (--label): the model's points of every class, drawn in grey around them, so
    the picture keeps the whole plane and its axes (one class alone was zoomed to a blob); None otherwise."""
    if args.label is None or not num_classes or getattr(samples, "ndim", 0) != 2:
        return None
    z, y = sample_inputs(max(args.n, 50 * num_classes), latent_dim, args.seed, num_classes)
    points = generate(z, y)
    return points.detach().float().cpu().numpy() if hasattr(points, "detach") else np.asarray(points)


def run(args) -> int:
    out = check_output_file(args.out, ".png", example="grid")
    source = Path(args.source)
    if source.suffix.lower() == ".onnx" or (source.exists() and not source.is_dir()):  # a FIFO is refused by name
        from gan_studio.export.inference import OnnxGenerator

        if args.start_from:
            raise ConfigError("--from picks a kept checkpoint of a run; an .onnx file holds one model")
        if args.device != "cpu":  # it was ignored without a word
            raise ConfigError("--device is for runs (torch); an .onnx file runs in ONNX Runtime: use --provider")
        gen = OnnxGenerator(source, providers=[args.provider] if args.provider else None)
        check_size(args.n, gen.image_shape)
        z, y = sample_inputs(args.n, gen.latent_dim, args.seed, gen.num_classes, args.label, gen.class_names)
        images = gen.generate(z.numpy(), None if y is None else y.numpy())
        context = _other_classes(lambda z, y: gen.generate(z.numpy(), y.numpy()), images, args, gen.latent_dim,
                                 gen.num_classes)  # fmt: skip
        picture = samples_picture(images, gen.value_range, grid_columns(args.n, gen.num_classes, args.label),
                                  classes=None if y is None else y.argmax(1).numpy(), real_points=context)  # fmt: skip
        where = f"ONNX Runtime ({gen.provider})"
    else:
        if args.provider:
            raise ConfigError("--provider is for .onnx files; a run samples with torch on --device")
        loaded = load_run(
            resolve_run(args.source, args.workspace), device=resolve_device(args.device), checkpoint=args.start_from
        )
        check_size(args.n, loaded.data_info.shape)
        z, y = sample_inputs(args.n, loaded.latent_dim, args.seed, loaded.num_classes, args.label, loaded.class_names)
        images = loaded.generate(z, y)
        columns = grid_columns(args.n, loaded.num_classes, args.label)
        context = _other_classes(loaded.generate, images, args, loaded.latent_dim, loaded.num_classes)
        picture = samples_picture(
            images,
            loaded.model.output_range,
            columns,
            real_points=context,
            classes=None if y is None else y.argmax(1).cpu().numpy(),
        )  # 2D points: by class
        where = f"run {printable(loaded.path.name)} at step {loaded.step}, torch"  # the run a name's prefix picked
    try:
        save_png(picture, out)
    except OSError as exc:
        raise write_failed(exc, f"--out {out}") from None
    around = "; the model's points of every class in grey around them" if context is not None else ""
    print(f"wrote {out} ({args.n} samples, seed {args.seed}, {where}{around})")
    return 0
