"""One optimisation step of each model family: GAN (D phase, then G phase) and VAE.

Returned losses are detached device tensors; callers call `.item()` only when they log.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

Batch = tuple[torch.Tensor, torch.Tensor | None]  # (x, one-hot y or None)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """BCE of D: -log D(x) - log(1 - D(G(z)))."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def generator_loss(fake_logits: torch.Tensor, kind: str = "non-saturating") -> torch.Tensor:
    """G's objective: non-saturating -log D(G(z)) (default) or the minimax log(1 - D(G(z)))."""
    if kind == "non-saturating":
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def gan_step(
    generator: torch.nn.Module,
    discriminator: torch.nn.Module,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    next_batch: Callable[[], Batch],
    latent_dim: int,
    d_steps: int = 1,
    g_loss_kind: str = "non-saturating",
) -> dict[str, torch.Tensor]:
    """k discriminator updates on fresh real batches, then one generator update."""
    for i in range(d_steps):
        # --- phase D: maximise log D(x) + log(1 - D(G(z))) ---
        x, y = next_batch()
        z = torch.randn(x.shape[0], latent_dim, device=x.device)
        with torch.set_grad_enabled(i == d_steps - 1):  # only the last fake batch feeds the G phase
            fake = generator(z, y)
        real_logits = discriminator(x, y)
        fake_logits = discriminator(fake.detach(), y)
        d_loss = discriminator_loss(real_logits, fake_logits)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()

    # --- phase G: fool the (just updated) discriminator ---
    g_logits = discriminator(fake, y)
    g_loss = generator_loss(g_logits, g_loss_kind)
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()
    return {
        "d_loss": d_loss.detach(),
        "g_loss": g_loss.detach(),
        "d_real": torch.sigmoid(real_logits.detach()).mean(),
        "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
    }


def vae_step(
    model: torch.nn.Module, opt: torch.optim.Optimizer, next_batch: Callable[[], Batch], beta: float
) -> dict[str, torch.Tensor]:
    """One Adam step on the negative beta-ELBO; returns loss, recon and kl (per sample, nats)."""
    x, y = next_batch()
    out = model(x, y, beta)
    opt.zero_grad(set_to_none=True)
    out["loss"].backward()
    opt.step()
    return {k: v.detach() for k, v in out.items()}
