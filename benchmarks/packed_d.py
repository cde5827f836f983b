"""Why PacGAN's packed discriminator did not learn grid25 here: can a D alone tell sharp modes from blurred ones?

A GAN's generator matches the coarse spread of grid25 within a few dozen steps; from then on D
must see that real samples sit within 0.05 of the 25 centres while generated ones are spread
around them. This trains only the discriminator (the model's own, Adam as in the recipes) on
real packs of grid25 against packs of a fixed 'blurred grid' (each centre with std 0.5 instead
of 0.05) and prints its accuracy on fresh batches: pack 1, pack 4 joined at the input as
published (LeakyReLU, and the paper's maxout D), and pack 4 joined before the last hidden layer.

    python benchmarks/packed_d.py            # 2,000 steps per D (about 2 CPU minutes in all)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gan_studio.config import apply_values  # noqa: E402
from gan_studio.data.toy2d import grid25  # noqa: E402
from gan_studio.engine.steps import discriminator_loss  # noqa: E402
from gan_studio.models import DataInfo, create_model, default_config  # noqa: E402

BLUR_STD = 0.5  # std of the 'blurred' modes (real: 0.05)
DESIGNS = [  # (name, settings of the recipe's D)
    ("pack 1 (plain GAN)", {"pack": 1}),
    ("pack 4, joined at the input (PacGAN)", {"pack": 4}),
    ("pack 4, joined at the input, PacGAN's maxout D and Adam", {"pack": 4, "d_activation": "maxout", "d_hidden": 200,
                                                                 "weight_init": "normal", "lr_d": 1e-4, "beta1": 0.8}),
    ("pack 4, joined before the last hidden layer", {"pack": 4, "pack_join": "last-hidden"}),
]  # fmt: skip


def accuracy_curve(settings: dict, steps: int, every: int, seed: int) -> tuple[list[float], float]:
    """D's accuracy (real and fake batches of 100 decisions each) every `every` steps, and the CPU seconds."""
    torch.manual_seed(seed)
    values = {"latent_dim": 2, "d_hidden": 400, "d_layers": 3, **settings}
    config = apply_values(default_config("gan"), values)
    d = create_model("gan", config, DataInfo("points", (2,))).discriminator
    opt = torch.optim.Adam(d.parameters(), lr=config.lr_d, betas=(config.beta1, config.beta2))
    points = torch.from_numpy(grid25(seed=seed)[0]).float()
    n = 100 * config.pack
    curve, started = [], time.process_time()
    for step in range(1, steps + 1):
        real = points[torch.randint(0, len(points), (n,))]
        fake = points[torch.randint(0, len(points), (n,))].round() + BLUR_STD * torch.randn(n, 2)
        real_logits, fake_logits = d(real), d(fake)
        loss = discriminator_loss(real_logits, fake_logits)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % every == 0:
            with torch.no_grad():
                real = points[torch.randint(0, len(points), (10 * n,))]
                fake = points[torch.randint(0, len(points), (10 * n,))].round() + BLUR_STD * torch.randn(10 * n, 2)
                right = (d(real) > 0).float().mean() + (d(fake) < 0).float().mean()
            curve.append(float(right) / 2)
    return curve, time.process_time() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--every", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    marks = list(range(args.every, args.steps + 1, args.every))
    print("| discriminator | " + " | ".join(f"step {m}" for m in marks) + " | CPU s |")
    print("|---|" + "---|" * (len(marks) + 1))
    for name, settings in DESIGNS:
        curve, cpu = accuracy_curve(settings, args.steps, args.every, args.seed)
        print(f"| {name} | " + " | ".join(f"{100 * a:.1f} %" for a in curve) + f" | {cpu:.0f} |", flush=True)
    print("\naccuracy of D on fresh real vs blurred-grid batches (50 % = chance)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
