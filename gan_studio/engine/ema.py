"""Exponential moving average of the generator's weights (Karras et al. 2018; Yazici et al. 2019).

After step t the average becomes  ema = beta_t * ema + (1 - beta_t) * weights  with
beta_t = min(decay, (1 + t) / (10 + t)): the ramp-up lets a short run's average follow the
early, fast-changing weights instead of remembering the random initialisation. The averaged
generator's BatchNorm statistics are recomputed from its own weights when it is next used
(models/batchnorm_statistics.py), not here at every step.
"""

from __future__ import annotations

import torch
import torch.nn as nn


def ema_beta(decay: float, step: int) -> float:
    """The weight of the old average after `step` (1-based) updates."""
    return min(decay, (1.0 + step) / (10.0 + step))


@torch.no_grad()
def average_weights(average: nn.Module, trained: nn.Module, beta: float) -> None:
    """average = beta * average + (1 - beta) * trained, parameter by parameter (same architecture)."""
    for avg, param in zip(average.parameters(), trained.parameters(), strict=True):
        avg.lerp_(param.detach(), 1.0 - beta)


def update_ema(model, decay: float, step: int) -> None:
    """After training step `step` (1-based): move the GAN model's averaged generator towards its generator."""
    average_weights(model.generator_ema, model.generator, ema_beta(decay, step))
    model.ema_weights_changed()
