"""Exponential moving average of the generator's weights (Karras et al. 2018; Yazici et al. 2019).

After step t the average becomes  ema = beta_t * ema + (1 - beta_t) * weights  with
beta_t = min(decay, (1 + t) / (10 + t)): the ramp-up lets a short run's average follow the
early, fast-changing weights instead of remembering the random initialisation.

BatchNorm: the running statistics of the trained generator do not fit the averaged weights
(measured: copying them blurred grid25's modes and raised MNIST's Frechet distance), so after
each update the averaged generator runs once in training mode on a batch of fresh noise, which
moves its own running statistics towards those of its own activations. The noise comes from a
private generator seeded by the step, so the global random state (and a resumed run) is untouched.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from gan_studio.models.base import one_hot

REFRESH_SEED = 0x5EED  # seeds the private noise of the BatchNorm refresh (plus the step)


def ema_beta(decay: float, step: int) -> float:
    """The weight of the old average after `step` (1-based) updates."""
    return min(decay, (1.0 + step) / (10.0 + step))


@torch.no_grad()
def average_weights(average: nn.Module, trained: nn.Module, beta: float) -> None:
    """average = beta * average + (1 - beta) * trained, parameter by parameter (same architecture)."""
    for avg, param in zip(average.parameters(), trained.parameters(), strict=True):
        avg.lerp_(param.detach(), 1.0 - beta)


def has_batchnorm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


@torch.no_grad()
def refresh_batchnorm(model, batch_size: int, step: int) -> None:
    """One training-mode pass of `model.generator_ema` on private noise: its BatchNorm statistics follow it."""
    average = model.generator_ema
    device = next(average.parameters()).device
    gen = torch.Generator().manual_seed(REFRESH_SEED + step)
    z = torch.randn(batch_size, model.latent_dim, generator=gen).to(device)
    y = None
    if model.num_classes:
        y = one_hot(torch.randint(0, model.num_classes, (batch_size,), generator=gen), model.num_classes).to(device)
    was_training = average.training
    average.train()
    average(z, y)
    average.train(was_training)


def update_ema(model, decay: float, step: int, batch_size: int) -> None:
    """After training step `step` (1-based): move the GAN model's averaged generator towards its generator."""
    average_weights(model.generator_ema, model.generator, ema_beta(decay, step))
    if has_batchnorm(model.generator_ema):
        refresh_batchnorm(model, batch_size, step)
