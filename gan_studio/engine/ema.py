"""Exponential moving average of the generator's weights (Karras et al. 2018; Yazici et al. 2019).

After step t the average becomes  ema = beta_t * ema + (1 - beta_t) * weights  with
beta_t = min(decay, (1 + t) / (10 + t)): the ramp-up lets a short run's average follow the
early, fast-changing weights instead of remembering the random initialisation. Buffers
(BatchNorm running statistics) are copied from the trained generator, as in StyleGAN2-ADA.
"""

from __future__ import annotations

import torch


def ema_beta(decay: float, step: int) -> float:
    """The weight of the old average after `step` (1-based) updates."""
    return min(decay, (1.0 + step) / (10.0 + step))


@torch.no_grad()
def update_ema(average: torch.nn.Module, model: torch.nn.Module, decay: float, step: int) -> None:
    """Move `average`'s parameters towards `model`'s (same architecture) and copy its buffers."""
    beta = ema_beta(decay, step)
    for avg, param in zip(average.parameters(), model.parameters(), strict=True):
        avg.lerp_(param.detach(), 1.0 - beta)
    for avg, buffer in zip(average.buffers(), model.buffers(), strict=True):
        avg.copy_(buffer)
