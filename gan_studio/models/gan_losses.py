"""The adversarial losses by name: one `GANLoss` entry each, with D's loss, G's objective and what a step logs.

The GAN config's `loss` choices are this table's names, and `engine/steps.gan_step` only looks a loss
up here: a new loss is one entry (and a test that fails when it does nothing; and, if its healthy values are
bounded as BCE's and hinge's are, its name in evaluate/advisor.BOUNDED_LOSSES: a WGAN critic's are not). G's
objective is the config's `g_loss` unless the loss fixes it (hinge: -D(G(z))). `outputs` says what a step logs of D's
raw outputs (logits): for a D that judges real against fake, the mean probabilities D(x) and D(G(z)),
which the app plots as "Discriminator outputs".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F


def _bce_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def _hinge_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def probabilities(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> dict[str, torch.Tensor]:
    """D(x) and D(G(z)) as mean probabilities (sigmoid of the logits)."""
    return {"d_real": torch.sigmoid(real_logits).mean(), "d_fake": torch.sigmoid(fake_logits).mean()}


@dataclass(frozen=True)
class GANLoss:
    """One adversarial loss."""

    description: str  # for the config's help: what it is and where it comes from
    discriminator: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # D's loss from real and fake logits
    generator: str | None = None  # the G objective (a GENERATOR_OBJECTIVES name) it fixes; None: the config's g_loss
    outputs: Callable[[torch.Tensor, torch.Tensor], dict[str, torch.Tensor]] = probabilities  # logged each step


# G's objectives from D's logits on generated samples
GENERATOR_OBJECTIVES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "non-saturating": lambda fake: F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake)),
    "saturating": lambda fake: -F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)),
    "hinge": lambda fake: -fake.mean(),
}

GAN_LOSSES: dict[str, GANLoss] = {
    "bce": GANLoss("the GAN of Goodfellow et al. 2014; G's form set by g_loss", _bce_d_loss),
    "hinge": GANLoss("Lim & Ye 2017; Miyato et al. 2018", _hinge_d_loss, generator="hinge"),
}


def _lookup(table: dict, kind: str, what: str):
    try:
        return table[kind]
    except KeyError:
        raise ValueError(f"unknown {what} '{kind}' (known: {', '.join(table)})") from None


def gan_loss(kind: str) -> GANLoss:
    return _lookup(GAN_LOSSES, kind, "discriminator loss")


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, kind: str = "bce") -> torch.Tensor:
    """D's loss: BCE -log D(x) - log(1 - D(G(z))), or hinge E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]."""
    return gan_loss(kind).discriminator(real_logits, fake_logits)


def generator_loss(fake_logits: torch.Tensor, kind: str = "non-saturating") -> torch.Tensor:
    """G's objective: non-saturating -log D(G(z)) (default), the saturating log(1 - D(G(z))), or hinge -D(G(z))."""
    return _lookup(GENERATOR_OBJECTIVES, kind, "generator objective")(fake_logits)


def generator_objective(loss: str, g_loss: str) -> str:
    """G's objective for D's loss `loss` and the config's `g_loss`."""
    fixed = GAN_LOSSES[loss].generator if loss in GAN_LOSSES else None
    return fixed or g_loss


def loss_help() -> str:
    """The config's help for `loss`: every loss of the table with its description."""
    return "adversarial loss: " + ", or ".join(f"{name} ({loss.description})" for name, loss in GAN_LOSSES.items())
