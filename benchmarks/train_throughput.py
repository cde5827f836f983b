"""Training throughput of the engine against a minimal hand-written PyTorch loop, per precision (same process).

DCGAN and the convolutional VAE on the MNIST test set (10,000 digits, padded or resized to the
image size). For each (model, image size, batch) every variant trains side by side: the engine (the
`Trainer`, metrics logged every 10 steps as by default; sample grids and periodic checkpoints off)
in each `--precision` (and compiled too with `--compile`), and a plain loop of the same
architecture in fp32 and in each other precision (autocast around the forward passes, losses in
fp32, a GradScaler for fp16): shuffle, index a batch, D step then G step (or the VAE step),
`.item()` every 10 steps. Variants run in rotating round-robin blocks of 10 steps, so load from
other processes on a shared machine hits all alike; the first block of each is a warm-up (and
compilation). Prints samples/s (real samples through D per second, as in metrics.jsonl) and the
ratios: engine / plain in the same precision (target >= 0.95) and engine / plain fp32.

    python benchmarks/train_throughput.py [--mnist DIR] [--steps 100] [--device auto] [--threads N]
        [--models dcgan vae] [--image-size 32 64] [--batch 64 256] [--precision fp32 bf16] [--compile]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F

from gan_studio.config import apply_values
from gan_studio.data import load_dataset
from gan_studio.engine.precision import DTYPES, resolve_precision
from gan_studio.engine.settings import TrainConfig, resolve_device
from gan_studio.engine.trainer import Trainer
from gan_studio.events import Metrics
from gan_studio.models import DataInfo, create_model, default_config

DEFAULT_MNIST = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"
LOG_EVERY = 10  # the engine's default; the plain loop calls .item() as often
MODELS = {  # name -> (model settings, value range of its data)
    "dcgan": ({}, (-1.0, 1.0)),
    "vae": ({"architecture": "conv"}, (0.0, 1.0)),
}


def engine_blocks(name, dataset, size, batch, steps, device, precision, compile_it, workdir) -> Iterator[None]:
    """Train through the Trainer; yields after each logged block of LOG_EVERY steps."""
    settings, _ = MODELS[name]
    config = apply_values(default_config(name), {**settings, "image_size": size})
    train = apply_values(TrainConfig(), {"steps": steps, "batch_size": batch, "device": device, "sample_every": 0,
                                         "checkpoint_every": 0, "log_every": LOG_EVERY, "precision": precision,
                                         "compile": compile_it})  # fmt: skip
    out = workdir / f"{name}-{size}px-b{batch}-{precision}-{compile_it}"
    trainer = Trainer.new(name, config, train, out=out, dataset=dataset)
    for event in trainer:
        if isinstance(event, Metrics):
            yield
            if event.step == steps:
                return


def plain_blocks(name, dataset, size, batch, steps, device, precision) -> Iterator[None]:
    """A minimal hand-written loop over the same architecture; yields after each block of LOG_EVERY steps."""
    settings, _ = MODELS[name]
    config = apply_values(default_config(name), {**settings, "image_size": size})
    dev = resolve_device(device)
    dtype = DTYPES.get(precision)
    autocast = (lambda: torch.autocast(dev.type, dtype=dtype)) if dtype else contextlib.nullcontext
    scaler = torch.amp.GradScaler(dev.type, enabled=precision == "fp16")
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
        if position + batch > len(order):
            order, position = torch.randperm(len(x_all), device=dev), 0
        x = x_all[order[position : position + batch]]
        position += batch
        if name == "dcgan":
            z = torch.randn(batch, config.latent_dim, device=dev)
            with autocast():
                fake = model.generator(z)
                real_logits, fake_logits = model.discriminator(x).float(), model.discriminator(fake.detach()).float()
            d_loss = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) + \
                F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))  # fmt: skip
            opt_d.zero_grad(set_to_none=True)
            scaler.scale(d_loss).backward()
            scaler.step(opt_d)
            with autocast():
                g_logits = model.discriminator(fake).float()
            g_loss = F.binary_cross_entropy_with_logits(g_logits, torch.ones_like(g_logits))
            opt_g.zero_grad(set_to_none=True)
            scaler.scale(g_loss).backward()
            scaler.step(opt_g)
            scaler.update()
            if step % LOG_EVERY == 0:
                _ = d_loss.item(), g_loss.item()  # what logging costs: a device sync
                yield
        else:
            with autocast():
                loss = model.loss(x)["loss"]
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
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


def compare(name, size, batch, args, device, workdir) -> bool:
    """Train every variant of one (model, size, batch) side by side; print their rates; True when targets hold."""
    _, value_range = MODELS[name]
    if (
        args.compile
    ):  # compiled code is cached per function, not per model: earlier sizes would use up its recompile limit
        torch._dynamo.reset()
    dataset = load_dataset(str(args.mnist), image_size=size, value_range=value_range)
    blocks = max(1, args.steps // LOG_EVERY)
    total = (blocks + 1) * LOG_EVERY
    precisions = [resolve_precision(p, device) for p in args.precision]
    variants: dict[str, Iterator[None]] = {}
    for precision in dict.fromkeys(["fp32", *precisions]):
        torch.manual_seed(0)
        if precision in precisions:
            variants[f"engine {precision}"] = engine_blocks(name, dataset, size, batch, total, args.device, precision,
                                                            False, workdir)  # fmt: skip
            if args.compile:
                variants[f"engine {precision} compiled"] = engine_blocks(name, dataset, size, batch, total,
                                                                         args.device, precision, True, workdir)  # fmt: skip
        variants[f"plain {precision}"] = plain_blocks(name, dataset, size, batch, total, args.device, precision)
    for block in variants.values():
        timed(block, device)  # warm-up: allocator, caches, thread pools, compilation
    seconds: dict[str, list[float]] = {k: [] for k in variants}
    names = list(variants)
    for block in range(blocks):
        for which in names[block % len(names) :] + names[: block % len(names)]:  # rotate who goes first
            seconds[which].append(timed(variants[which], device))
    rate = {k: batch * LOG_EVERY * len(v) / sum(v) for k, v in seconds.items()}
    print(f"\n{name} {size} px, batch {batch}:")
    ok = True
    for which in names:
        parts = which.split()
        line = f"  {which:24s} {rate[which]:9.1f} samples/s"
        if parts[0] == "engine":
            same = rate[which] / rate[f"plain {parts[1]}"]
            line += f" | / plain {parts[1]}: {same:.3f} | / plain fp32: {rate[which] / rate['plain fp32']:.3f}"
            ok &= len(parts) > 2 or same >= 0.95
        print(line)
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--mnist",
        type=Path,
        default=DEFAULT_MNIST,
        help="MNIST IDX folder [../shared/datasets/mnist beside the checkout]",
    )
    parser.add_argument("--steps", type=int, default=100, help="timed training steps of each variant [100]")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps [auto]")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--image-size", nargs="+", type=int, default=[32], choices=[32, 64])
    parser.add_argument("--batch", nargs="+", type=int, default=[64])
    parser.add_argument("--precision", nargs="+", default=["fp32"], choices=["auto", "fp32", "bf16", "fp16"],
                        help="the engine's precisions (each also as a plain loop) [fp32]")  # fmt: skip
    parser.add_argument("--compile", action="store_true", help="also time the engine with --compile")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.mnist.is_dir():
        print(f"no MNIST test set at {args.mnist} (give --mnist DIR)", file=sys.stderr)
        return 2
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"device {device} ({name}), torch {torch.__version__}, {torch.get_num_threads()} CPU threads, "
          f"{max(1, args.steps // LOG_EVERY)} rotating blocks of {LOG_EVERY} steps per variant (+1 warm-up)")  # fmt: skip
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            for size in args.image_size:
                for batch in args.batch:
                    ok &= compare(model, size, batch, args, device, Path(tmp))
    print("\ntarget engine / plain loop in the same precision >= 0.95:", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
