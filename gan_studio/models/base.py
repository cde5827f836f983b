"""What every model shares: the data it is built for, and the GAN and VAE model interfaces.

A model is an `nn.Module` built from (config, DataInfo). GAN models have `generator` and
`discriminator`; VAE models `encoder` and `decoder`. Both offer `generate(z, y)` so sampling,
export and the explorer treat every model the same way.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_studio.config import param
from gan_studio.models.batchnorm_statistics import has_batchnorm, recompute_batchnorm_statistics
from gan_studio.models.gan_losses import GAN_LOSSES, loss_help


@dataclass
class DataInfo:
    """The shape and labels of the data a model is built for; for points far from unit size, also
    the standardisation the point models apply inside (x_model = (x - offset) / scale)."""

    kind: str  # "images" | "points"
    shape: tuple[int, ...]  # (C, H, W) for images, (D,) for points
    num_classes: int = 0
    class_names: list[str] = field(default_factory=list)
    offset: tuple[float, ...] = ()  # per dimension; () = none (images, and points already about unit size)
    scale: float = 1.0

    @property
    def standardised(self) -> bool:
        return bool(self.offset)

    @property
    def flat_dim(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @classmethod
    def from_dataset(cls, dataset) -> DataInfo:
        offset, scale = point_standardisation(dataset.storage) if dataset.kind == "points" else ((), 1.0)
        return cls(dataset.kind, tuple(dataset.sample_shape), dataset.num_classes, list(dataset.class_names),
                   offset, scale)  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict) -> DataInfo:
        offset = tuple(float(v) for v in data.get("offset", ()))
        return cls(data["kind"], tuple(data["shape"]), int(data["num_classes"]), list(data["class_names"]),
                   offset, float(data.get("scale", 1.0)))  # fmt: skip

    def to_dict(self) -> dict:
        out = {"kind": self.kind, "shape": list(self.shape), "num_classes": self.num_classes,
               "class_names": list(self.class_names)}  # fmt: skip
        if self.standardised:
            out.update(offset=list(self.offset), scale=self.scale)
        return out


UNIT_SIZE = (0.1, 10.0)  # points whose spread and centre are within this need no standardising


def point_standardisation(points) -> tuple[tuple[float, ...], float]:
    """(per-dimension mean, overall standard deviation) of points (N, D) far from unit size; else ((), 1.0).

    Networks with default initialisations and learning rates train on data of about unit size: a VAE
    on points in the thousands turned NaN at step 1. Points already about unit size (the built-in sets)
    are left exactly as they are."""
    data = np.asarray(points, dtype=np.float64)
    if data.size == 0:
        return (), 1.0
    mean = data.mean(axis=0)
    std = float(data.std())
    low, high = UNIT_SIZE
    if (low <= std <= high or std == 0.0) and float(np.abs(mean).max()) <= high:
        return (), 1.0
    return tuple(float(m) for m in mean), (std if std > 0 else 1.0)


class PointScaling(nn.Module):
    """x -> (x - offset) / scale (`to_model`) or its inverse, as constants (not in the state dict, traced into ONNX)."""

    def __init__(self, data: DataInfo, to_model: bool):
        super().__init__()
        self.to_model = to_model
        self.register_buffer("offset", torch.tensor(data.offset, dtype=torch.float32), persistent=False)
        self.scale = data.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.to_model:
            return (x - self.offset) / self.scale
        return x * self.scale + self.offset


DIFFAUGMENT_POLICIES = ("off", "translation", "color,translation", "color,translation,cutout")


@dataclass
class GANTrainingConfig:
    """Optimisation settings and stabilisers shared by every GAN model."""

    lr_g: float = param(2e-4, "generator learning rate (Adam); lr_g and lr_d may differ: two time-scale updates, "
                        "TTUR (Heusel et al. 2017)", low=0.0, high=1.0, live=True)  # fmt: skip
    lr_d: float = param(2e-4, "discriminator learning rate (Adam); e.g. lr_d > lr_g for TTUR (Heusel et al. 2017)",
                        low=0.0, high=1.0, live=True)  # fmt: skip
    beta1: float = param(0.5, "Adam beta1 (0.5 as in the DCGAN paper)", low=0.0, high=0.999, advanced=True)
    beta2: float = param(0.999, "Adam beta2", low=0.0, high=0.9999, advanced=True)
    d_steps: int = param(1, "discriminator steps k per generator step", low=1, high=100, live=True)
    loss: str = param("bce", loss_help(), choices=tuple(GAN_LOSSES))  # one entry each in models/gan_losses.py
    g_loss: str = param("non-saturating", "generator objective with the bce loss: -log D(G(z)) or log(1 - D(G(z)))",
                        choices=("non-saturating", "saturating"))  # fmt: skip
    pack: int = param(1, "PacGAN packing: D judges m samples at once (1 = off; Lin et al. 2018)", low=1, high=8)
    pack_join: str = param("input", "where a packed D joins its m samples: at the input, concatenated as in PacGAN "
                           "(Lin et al. 2018), or before its last hidden layer, after per-sample layers with shared "
                           "weights (learns sharp modes far sooner: see the README)",
                           choices=("input", "last-hidden"))  # fmt: skip
    spectral_norm: bool = param(False, "spectral normalisation of every discriminator layer, which then has no "
                                "BatchNorm (Miyato et al. 2018)")  # fmt: skip
    r1_gamma: float = param(0.0, "R1 gradient penalty gamma/2 E||grad D(x)||^2 on real data (Mescheder et al. 2018); "
                            "0 = off", low=0.0, high=1e5)  # fmt: skip
    r1_every: int = param(1, "lazy R1: apply the penalty every N discriminator steps, weighted by N "
                          "(Karras et al. 2020); 1 = every step", low=1, high=1000, advanced=True)  # fmt: skip
    ema_decay: float = param(0.0, "exponential moving average of G's weights, used for sample grids, the explorer, "
                             "export and evaluation (Karras et al. 2018; Yazici et al. 2019); 0 = off, e.g. 0.999; "
                             "ramped up as min(decay, (1 + t) / (10 + t)) at step t", low=0.0, high=0.99999)  # fmt: skip
    diffaugment: str = param("off", "differentiable augmentation of the images D sees, real and generated alike, "
                             "for small datasets (DiffAugment, Zhao et al. 2020)", choices=DIFFAUGMENT_POLICIES)  # fmt: skip

    def check(self) -> list[str]:
        if self.lr_g <= 0 or self.lr_d <= 0:
            return ["learning rates must be > 0"]
        return []


class GenerativeModel(nn.Module):
    """What every model is: its config, the data it was built for, its classes (when conditional) and z's size."""

    def __init__(self, config, data: DataInfo, conditional: bool):
        super().__init__()
        self.config = config
        self.data = data
        self.conditional = conditional
        self.num_classes = data.num_classes if conditional else 0
        self.latent_dim = config.latent_dim


class GANModel(GenerativeModel):
    """Base of the four GAN models: generator G(z, y) and discriminator logits D(x, y).

    With `ema_decay` > 0 the model also holds `generator_ema`, a moving average of G's weights
    that the trainer updates after every step; `generate` (samples, explorer, export,
    evaluation) then uses it, while training updates `generator`. Its BatchNorm statistics are
    recomputed from its own weights when it is next used or saved after an update (not at every
    step: that cost about 12 % of a DCGAN step).
    """

    family = "gan"
    output_range = (-1.0, 1.0)

    def __init__(self, config, data: DataInfo, conditional: bool):
        super().__init__(config, data, conditional)
        self.generator: nn.Module
        self.discriminator: nn.Module
        self.generator_ema: nn.Module | None = None
        self._ema_statistics_stale = False

    def _finish(self) -> None:
        """Called by each model once G and D are built and initialised: spectral norm, the EMA copy of G."""
        if self.config.spectral_norm:
            spectral_normalise(self.discriminator)
        if self.config.ema_decay > 0:
            self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)  # G's statistics, as G's weights

    def ema_weights_changed(self) -> None:
        """Called after each update of the averaged weights: its BatchNorm statistics are out of date."""
        self._ema_statistics_stale = has_batchnorm(self.generator_ema)

    def _fresh_ema(self) -> nn.Module:
        if self._ema_statistics_stale and not next(self.generator_ema.parameters()).is_meta:
            recompute_batchnorm_statistics(self.generator_ema, self.latent_dim, self.num_classes)
            self._ema_statistics_stale = False
        return self.generator_ema

    @property
    def sampler(self) -> nn.Module:
        """The generator that draws samples: the EMA copy when on (statistics up to date), else the trained one."""
        return self._fresh_ema() if self.generator_ema is not None else self.generator

    def state_dict(self, *args, **kwargs):
        """As nn.Module's, with the averaged generator's BatchNorm statistics up to date (checkpoints, digests)."""
        if self.generator_ema is not None:
            self._fresh_ema()
        return super().state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """As nn.Module's; saved statistics are those of the saved weights."""
        result = super().load_state_dict(state_dict, strict=strict, assign=assign)
        self._ema_statistics_stale = False
        return result

    def generate(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Samples in the data's shape and range from latents z (B, latent_dim) and one-hot y."""
        return self.sampler(z, y)

    def discriminate(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Raw logits (B / pack,) that x is real."""
        return self.discriminator(x, y)

    def generator_parameters(self):
        return self.generator.parameters()

    def discriminator_parameters(self):
        return self.discriminator.parameters()


class VAEModel(GenerativeModel):
    """Base of the VAE models: q(z|x, y) -> (mu, logvar); p(x|z, y) as logits or means."""

    family = "vae"
    output_range = (0.0, 1.0)

    def __init__(self, config, data: DataInfo, conditional: bool):
        super().__init__(config, data, conditional)
        self.likelihood = resolve_likelihood(config.likelihood, data)
        if self.likelihood == "gaussian":
            # learned per-dimension log standard deviation of p(x|z)
            self.log_sigma = nn.Parameter(torch.full(data.shape, -1.0))
        self.encoder: nn.Module
        self.decoder: nn.Module
        if data.kind == "points":
            self.output_range = (-float("inf"), float("inf"))

    def encode(self, x, y=None):
        return self.encoder(x, y)

    def decode(self, z, y=None):
        """Decoder output: Bernoulli logits or Gaussian means, in the data's shape."""
        return self.decoder(z, y)

    def generate(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        out = self.decoder(z, y)
        return torch.sigmoid(out) if self.likelihood == "bernoulli" else out

    def observation_log_sigma(self) -> torch.Tensor:
        """log σ of a Gaussian p(x|z) per data dimension, in the data's own units (the model learns it in its
        standardised ones)."""
        log_sigma = self.log_sigma.clamp(-7.0, 5.0)
        return log_sigma + math.log(self.data.scale) if self.data.standardised else log_sigma

    def reconstruction_nll(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """-log p(x|z) per sample, in nats (B,)."""
        dims = tuple(range(1, x.dim()))
        if self.likelihood == "bernoulli":
            return F.binary_cross_entropy_with_logits(out, x, reduction="none").sum(dims)
        log_sigma = self.observation_log_sigma()
        nll = 0.5 * ((x - out) / log_sigma.exp()) ** 2 + log_sigma + 0.5 * torch.log(torch.tensor(2 * torch.pi))
        return nll.sum(dims)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, beta: float = 1.0) -> dict[str, torch.Tensor]:
        return self.loss(x, y, beta)

    def loss(self, x: torch.Tensor, y: torch.Tensor | None = None, beta: float = 1.0) -> dict[str, torch.Tensor]:
        """Negative beta-ELBO: recon + beta * KL, with both terms per sample (nats), batch means.

        The terms are computed in fp32 even when the networks run under bf16/fp16 autocast."""
        mu, logvar = (t.float() for t in self.encode(x, y))
        z = reparameterise(mu, logvar)
        out = self.decode(z, y).float()
        recon = self.reconstruction_nll(x, out).mean()
        kl = kl_to_standard_normal(mu, logvar).sum(1).mean()
        return {"loss": recon + beta * kl, "recon": recon, "kl": kl}


def resolve_likelihood(choice: str, data: DataInfo) -> str:
    if choice != "auto":
        return choice
    return "gaussian" if data.kind == "points" else "bernoulli"


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """z = mu + sigma * eps, eps ~ N(0, I): a sample that gradients flow through."""
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) per latent dimension, closed form (B, latent)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def pack_samples(x: torch.Tensor, pack: int) -> torch.Tensor:
    """Stack groups of `pack` samples along the feature/channel axis: (B, F, ...) -> (B/pack, pack*F, ...)."""
    if pack == 1:
        return x
    return x.reshape(x.shape[0] // pack, pack * x.shape[1], *x.shape[2:])


def dcgan_init(module: nn.Module) -> None:
    """DCGAN weight init: conv weights N(0, 0.02); BatchNorm weights N(1, 0.02), biases 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Integer labels (B,) -> float one-hot (B, K), the condition format every model takes."""
    return F.one_hot(labels, num_classes).float()


def spectral_normalise(module: nn.Module) -> None:
    """Spectral normalisation (Miyato et al. 2018) of every Linear and Conv2d weight of `module`, in place.

    Each forward pass in training mode runs one power iteration, so the weight's largest singular
    value is divided out; its u and v vectors are buffers, saved in checkpoints.
    """
    for layer in list(module.modules()):
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            nn.utils.parametrizations.spectral_norm(layer)


def normal_init(module: nn.Module) -> None:
    """Weights N(0, 0.02) and zero biases for Linear layers (the PacGAN authors' 2D networks)."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
