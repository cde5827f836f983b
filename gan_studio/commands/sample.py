"""`gan-studio sample RUN|FILE.onnx`: write a PNG grid of generated samples.

The same seed gives the same grid from a run (torch) and from its exported ONNX file (ONNX Runtime
on the best usable provider, or --provider), within 1/255 per pixel.
"""

from __future__ import annotations

from pathlib import Path

from gan_studio.models.latents import grid_columns, sample_inputs
from gan_studio.store.loaded import load_run
from gan_studio.store.pictures import samples_picture, save_png


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="write a PNG grid of samples from a run or an .onnx file")
    p.add_argument("source", metavar="RUN|FILE.onnx", help="a run directory or an exported .onnx file")
    p.add_argument("--n", type=int, default=64, help="number of samples [64]")
    p.add_argument("--seed", type=int, default=0, help="noise seed [0]")
    p.add_argument("--label", type=int, default=None, help="class index for conditional models")
    p.add_argument("--out", default="grid.png", help="output PNG [grid.png]")
    p.add_argument("--device", default="cpu", help="torch device for runs [cpu]")
    p.add_argument("--provider", default=None, help="ONNX Runtime provider for .onnx files (default: best available)")
    p.set_defaults(handler=run)


def run(args) -> int:
    source = Path(args.source)
    if source.suffix.lower() == ".onnx" or source.is_file():
        from gan_studio.export.inference import OnnxGenerator

        gen = OnnxGenerator(source, providers=[args.provider] if args.provider else None)
        z, y = sample_inputs(args.n, gen.latent_dim, args.seed, gen.num_classes, args.label, gen.class_names)
        images = gen.generate(z.numpy(), None if y is None else y.numpy())
        picture = samples_picture(images, gen.value_range, grid_columns(args.n, gen.num_classes, args.label))
        where = f"ONNX Runtime ({gen.provider})"
    else:
        loaded = load_run(source, device=args.device)
        z, y = sample_inputs(args.n, loaded.latent_dim, args.seed, loaded.num_classes, args.label, loaded.class_names)
        images = loaded.generate(z, y)
        picture = samples_picture(
            images, loaded.model.output_range, grid_columns(args.n, loaded.num_classes, args.label)
        )
        where = f"torch, step {loaded.step}"
    written = save_png(picture, args.out)
    print(f"wrote {written} ({args.n} samples, seed {args.seed}, {where})")
    return 0
