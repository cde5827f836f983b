"""BatchNorm statistics of a generator recomputed from its own weights ("standing statistics").

The averaged generator (EMA of G's weights) cannot use the trained G's running statistics: they
belong to other weights (measured: copying them blurred grid25's modes and raised MNIST's Frechet
distance). So its statistics are recomputed from scratch, in training mode over a fixed number of
batches of private noise (Brock et al. 2019 call these standing statistics). The result depends on
the weights alone: recomputed in a resumed run, it is the same as in the run that never stopped,
and the global random state is untouched.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 0x5EED  # the private noise the statistics are computed on
BATCHES = 8
BATCH_SIZE = 64  # 512 samples in all


def has_batchnorm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


@torch.no_grad()
def recompute_batchnorm_statistics(generator: nn.Module, latent_dim: int, num_classes: int) -> None:
    """Reset every BatchNorm's running mean and variance of `generator`, then set them to the plain
    average over BATCHES training-mode passes on private noise (and random one-hot labels)."""
    norms = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    device = next(generator.parameters()).device
    noise = torch.Generator().manual_seed(SEED)
    momenta = [m.momentum for m in norms]
    was_training = generator.training
    try:
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # a cumulative average over the passes, not an exponential one
        generator.train()
        for _ in range(BATCHES):
            z = torch.randn(BATCH_SIZE, latent_dim, generator=noise).to(device)
            y = None
            if num_classes:
                labels = torch.randint(0, num_classes, (BATCH_SIZE,), generator=noise)
                y = F.one_hot(labels, num_classes).float().to(device)
            generator(z, y)
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        generator.train(was_training)
