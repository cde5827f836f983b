"""Cheap training-health signals computed from tensors, for the metrics the advisor reads.

- `sample_diversity(samples)`: how different the fixed-noise samples are from each other (a drop
  while training is the mark of mode collapse);
- `active_units(mu)`: how many latent dimensions a VAE's encoder really uses (Burda et al. 2016;
  few or none is posterior collapse);
- `health_metrics(model, fixed_z, fixed_y, probe_x, probe_y)`: both, as the metrics-record fields
  "diversity" and "active_units", for the trainer to add at its log steps.

Each costs one forward pass on at most a few hundred samples in eval mode with no gradient, and
draws no random numbers, so logging them does not change the training.
"""

from __future__ import annotations

import math

import torch

DIVERSITY_SAMPLES = 256  # samples compared pairwise (the first ones of the fixed noise)
ACTIVE_UNIT_THRESHOLD = 0.01  # a unit is active when Var_x(E_q[z_u | x]) exceeds this (Burda et al. 2016)
PROBE_SAMPLES = 512  # data samples of the VAE active-unit probe


def sample_diversity(samples: torch.Tensor) -> float:
    """Root mean squared difference per value between two samples, over all pairs of `samples`.

    `samples` is (N, ...) with N >= 2 (images or points, in the model's output range); only the
    first DIVERSITY_SAMPLES are compared. 0 means every sample is the same; for independent
    samples it is sqrt(2) times the per-value standard deviation of the distribution. NaN when a
    sample is not finite.
    """
    flat = samples.detach().reshape(samples.shape[0], -1)[:DIVERSITY_SAMPLES].double().cpu()
    if len(flat) < 2:
        raise ValueError("sample_diversity needs at least 2 samples")
    if not torch.isfinite(flat).all():
        return math.nan
    # mean over pairs i != j of |x_i - x_j|^2 = 2 * (mean |x|^2 - |mean x|^2) * N / (N - 1)
    n = len(flat)
    centred = flat - flat.mean(dim=0, keepdim=True)
    mean_square_pair = 2.0 * centred.pow(2).sum(dim=1).mean() * n / (n - 1)
    return float((mean_square_pair / flat.shape[1]).sqrt())


def active_units(mu: torch.Tensor, threshold: float = ACTIVE_UNIT_THRESHOLD) -> int:
    """Latent dimensions whose posterior mean varies over the data: Var_x(mu_u(x)) > threshold.

    `mu` is (N, latent_dim), the encoder's means for N >= 2 data samples.
    """
    mu = mu.detach().double().cpu()
    if mu.dim() != 2 or len(mu) < 2:
        raise ValueError("active_units needs the means of at least 2 samples as (N, latent_dim)")
    return int((mu.var(dim=0) > threshold).sum())


@torch.no_grad()
def health_metrics(model: torch.nn.Module, fixed_z: torch.Tensor, fixed_y: torch.Tensor | None = None,
                   probe_x: torch.Tensor | None = None, probe_y: torch.Tensor | None = None) -> dict[str, float | int]:  # fmt: skip
    """{"diversity"} of the samples from the fixed noise, and for VAEs {"active_units"} on `probe_x`.

    `fixed_z`/`fixed_y` are the run's fixed noise and labels (as for its sample grids); `probe_x`
    (with its one-hot `probe_y` for conditional VAEs) a fixed batch of training data. The model
    is put in eval mode for the passes and restored after.
    """
    was_training = model.training
    model.eval()
    try:
        values: dict[str, float | int] = {}
        samples = model.generate(fixed_z[:DIVERSITY_SAMPLES], None if fixed_y is None else fixed_y[:DIVERSITY_SAMPLES])
        diversity = sample_diversity(samples)
        if math.isfinite(diversity):
            values["diversity"] = round(diversity, 5)
        if getattr(model, "family", None) == "vae" and probe_x is not None:
            y = None if probe_y is None else probe_y[:PROBE_SAMPLES]
            mu, _ = model.encode(probe_x[:PROBE_SAMPLES], y)
            if torch.isfinite(mu).all():
                values["active_units"] = active_units(mu)
        return values
    finally:
        model.train(was_training)
