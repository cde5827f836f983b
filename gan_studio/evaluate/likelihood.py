"""VAE likelihoods on held-out data: the test ELBO and the importance-weighted NLL (IWAE), in nats.

With k samples z_i ~ q(z|x) and log weights log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x):
ELBO = mean_i log w_i (a lower bound on log p(x)), and the IWAE bound of Burda et al. (2016),
log (1/k) sum_i w_i, which is at least as tight (Jensen) and approaches log p(x) as k grows.
The report gives -log p(x) estimates as positive nats per sample (lower is better).
For Bernoulli decoders on grey-level images the "likelihood" is the usual continuous BCE, so the
numbers compare models on the same data, not across likelihood types.
"""

from __future__ import annotations

import math

import torch

from gan_studio.models.base import one_hot

DEFAULT_IMPORTANCE_SAMPLES = 64  # k of the IWAE estimate
_MAX_BATCH = 4096  # (images x samples) decoded at once
_LOG_2PI = math.log(2 * math.pi)


def _log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over the last dimension."""
    return -0.5 * (_LOG_2PI + logvar + (z - mu).pow(2) / logvar.exp()).sum(-1)


@torch.no_grad()
def log_weights(model, x: torch.Tensor, y: torch.Tensor | None, k: int) -> torch.Tensor:
    """Importance log weights (B, k): log p(x|z) + log p(z) - log q(z|x, y), z ~ q."""
    mu, logvar = model.encode(x, y)  # (B, latent) each
    b, latent = mu.shape
    eps = torch.randn(b, k, latent, device=mu.device)
    z = mu[:, None] + torch.exp(0.5 * logvar)[:, None] * eps  # (B, k, latent)
    flat_z = z.reshape(b * k, latent)
    flat_y = None if y is None else y.repeat_interleave(k, dim=0)
    flat_x = x.repeat_interleave(k, dim=0)
    log_px_z = -model.reconstruction_nll(flat_x, model.decode(flat_z, flat_y)).view(b, k)
    log_pz = _log_normal(z, torch.zeros_like(z), torch.zeros_like(z))
    log_qz = _log_normal(z, mu[:, None], logvar[:, None])
    return log_px_z + log_pz - log_qz


@torch.no_grad()
def elbo_and_iwae(model, x: torch.Tensor, labels: torch.Tensor | None = None, k: int = DEFAULT_IMPORTANCE_SAMPLES,
                  seed: int = 0) -> dict[str, float]:  # fmt: skip
    """Negative test ELBO and IWAE NLL (nats per sample, lower is better) of a VAE on data x, with their standard
    errors over the samples (`neg_elbo_se`, `iwae_nll_se`; None for one sample)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    state = torch.get_rng_state()
    torch.manual_seed(seed)
    elbo, iwae = [], []
    per_batch = max(1, _MAX_BATCH // k)
    try:
        for start in range(0, len(x), per_batch):
            xb = x[start : start + per_batch].to(device)
            yb = None
            if model.num_classes and labels is not None:
                yb = one_hot(labels[start : start + per_batch].to(device), model.num_classes)
            w = log_weights(model, xb, yb, k)  # (B, k)
            elbo.append(w.mean(dim=1).double().cpu())
            iwae.append((torch.logsumexp(w.double(), dim=1) - math.log(k)).cpu())
    finally:
        torch.set_rng_state(state)
        model.train(was_training)
    elbo, iwae = torch.cat(elbo), torch.cat(iwae)
    n = len(elbo)
    return {"neg_elbo": float(-elbo.mean()), "iwae_nll": float(-iwae.mean()), "k": k, "samples": len(x),
            "neg_elbo_se": float(elbo.std() / math.sqrt(n)) if n > 1 else None,
            "iwae_nll_se": float(iwae.std() / math.sqrt(n)) if n > 1 else None}  # fmt: skip
