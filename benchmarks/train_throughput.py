"""Training throughput of the engine against a minimal hand-written PyTorch loop (same process).

DCGAN at 32 px and the convolutional VAE, batch 64, on the MNIST test set (10,000 digits padded to
32 px). Two models of the same architecture train side by side: one through the `Trainer` (metrics
logged every 10 steps as by default; sample grids and periodic checkpoints off: `sample_every=0`,
`checkpoint_every=0`; the one final checkpoint and grid come after the timed steps), and one through
a plain loop that does what any training script does: shuffle, index a batch, D step then G step (or
the VAE step), `.item()` every 10 steps. They run in alternating blocks of 10 steps (ABBA order), so
load from other processes on a shared machine hits both alike; the first block of each is a warm-up.
Prints samples/s (real samples through D per second, as in metrics.jsonl) of each and their ratio;
the target is engine / plain >= 0.95.

    python benchmarks/train_throughput.py [--mnist DIR] [--steps 100] [--device auto] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F

from gan_studio.config import apply_values
from gan_studio.data import load_dataset
from gan_studio.engine.settings import TrainConfig, resolve_device
from gan_studio.engine.trainer import Trainer
from gan_studio.events import Metrics
from gan_studio.models import DataInfo, create_model, default_config

DEFAULT_MNIST = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"
BATCH = 64
LOG_EVERY = 10  # the engine's default; the plain loop calls .item() as often
MODELS = {  # name -> (model settings, value range of its data)
    "dcgan": ({"image_size": 32}, (-1.0, 1.0)),
    "vae": ({"image_size": 32, "architecture": "conv"}, (0.0, 1.0)),
}


def engine_blocks(name: str, dataset, steps: int, device: str, workdir: Path) -> Iterator[None]:
    """Train through the Trainer; yields after each logged block of LOG_EVERY steps."""
    settings, _ = MODELS[name]
    config = apply_values(default_config(name), settings)
    train = apply_values(TrainConfig(), {"steps": steps, "batch_size": BATCH, "device": device, "sample_every": 0,
                                         "checkpoint_every": 0, "log_every": LOG_EVERY})  # fmt: skip
    trainer = Trainer.new(name, config, train, out=workdir / name, dataset=dataset)
    for event in trainer:
        if isinstance(event, Metrics):
            yield
            if event.step == steps:
                return


def plain_blocks(name: str, dataset, steps: int, device: str) -> Iterator[None]:
    """A minimal hand-written loop over the same architecture; yields after each block of LOG_EVERY steps."""
    settings, _ = MODELS[name]
    config = apply_values(default_config(name), settings)
    dev = resolve_device(device)
    model = create_model(name, config, DataInfo.from_dataset(dataset)).to(dev)
    x_all = dataset.x.to(dev)
    if name == "dcgan":
        opt_g = torch.optim.Adam(model.generator.parameters(), lr=config.lr_g, betas=(config.beta1, config.beta2))
        opt_d = torch.optim.Adam(model.discriminator.parameters(), lr=config.lr_d, betas=(config.beta1, config.beta2))
    else:
        opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    model.train()
    order, position = torch.randperm(len(x_all), device=dev), 0
    for step in range(1, steps + 1):
        if position + BATCH > len(order):
            order, position = torch.randperm(len(x_all), device=dev), 0
        x = x_all[order[position : position + BATCH]]
        position += BATCH
        if name == "dcgan":
            z = torch.randn(BATCH, config.latent_dim, device=dev)
            fake = model.generator(z)
            real_logits, fake_logits = model.discriminator(x), model.discriminator(fake.detach())
            d_loss = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) + \
                F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))  # fmt: skip
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            g_logits = model.discriminator(fake)
            g_loss = F.binary_cross_entropy_with_logits(g_logits, torch.ones_like(g_logits))
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            if step % LOG_EVERY == 0:
                _ = d_loss.item(), g_loss.item()  # what logging costs: a device sync
                yield
        else:
            loss = model.loss(x)["loss"]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step % LOG_EVERY == 0:
                _ = loss.item()
                yield


def timed(block: Iterator[None], device: torch.device) -> float:
    """Seconds to run one block."""
    _sync(device)
    start = time.perf_counter()
    next(block)
    _sync(device)
    return time.perf_counter() - start


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist", type=Path, default=DEFAULT_MNIST, help=f"MNIST IDX folder [{DEFAULT_MNIST}]")
    parser.add_argument("--steps", type=int, default=100, help="timed training steps of each side [100]")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps [auto]")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.mnist.is_dir():
        print(f"no MNIST test set at {args.mnist} (give --mnist DIR)", file=sys.stderr)
        return 2
    device = resolve_device(args.device)
    blocks = max(1, args.steps // LOG_EVERY)
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads, batch {BATCH}, "
          f"{blocks} alternating blocks of {LOG_EVERY} steps each (+1 warm-up block)")  # fmt: skip
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            _, value_range = MODELS[name]
            dataset = load_dataset(str(args.mnist), image_size=32, value_range=value_range)
            total = (blocks + 1) * LOG_EVERY
            torch.manual_seed(0)
            engine = engine_blocks(name, dataset, total, args.device, Path(tmp))
            plain = plain_blocks(name, dataset, total, args.device)
            timed(engine, device), timed(plain, device)  # warm-up: allocator, caches, thread pools
            seconds = {"engine": [], "plain": []}
            for block in range(blocks):
                order = ("engine", "plain") if block % 2 == 0 else ("plain", "engine")
                for which in order:
                    seconds[which].append(timed(engine if which == "engine" else plain, device))
            rate = {k: BATCH * LOG_EVERY * len(v) / sum(v) for k, v in seconds.items()}
            ratio = rate["engine"] / rate["plain"]
            pairs = [p / e for e, p in zip(seconds["engine"], seconds["plain"], strict=True)]
            ok &= ratio >= 0.95
            print(f"{name:6s} engine {rate['engine']:8.1f} samples/s | plain loop {rate['plain']:8.1f} samples/s | "
                  f"ratio {ratio:.3f} (median of blocks {statistics.median(pairs):.3f}, "
                  f"range {min(pairs):.2f}-{max(pairs):.2f})")  # fmt: skip
    print("target engine / plain >= 0.95:", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
