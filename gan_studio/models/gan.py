"""`gan` and `cgan`: MLP generator and discriminator for 2D points and flattened images.

The conditional variant concatenates the one-hot label y to z for G and to x for D (Mirza &
Osindero 2014). Images are generated flat and reshaped; tanh keeps them in [-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from gan_studio.config import param
from gan_studio.models.base import DataInfo, GANModel, GANTrainingConfig, PointScaling, normal_init, pack_samples


@dataclass
class GANConfig(GANTrainingConfig):
    """Settings of the MLP GAN (and conditional GAN)."""

    latent_dim: int = param(64, "size of the noise vector z", low=1, high=1024)
    image_size: int = param(32, "image side in pixels (images are flattened for the MLP)", low=8, high=128)
    g_hidden: int = param(256, "units per hidden layer of G", low=4, high=4096)
    g_layers: int = param(3, "hidden layers of G", low=1, high=8)
    d_hidden: int = param(256, "units per hidden layer of D", low=4, high=4096)
    d_layers: int = param(3, "hidden layers of D", low=1, high=8)
    batchnorm: bool = param(True, "BatchNorm in G's hidden layers")
    d_activation: str = param("leaky_relu", "D's hidden units: LeakyReLU(0.2), or maxout (Goodfellow et al. 2013), as "
                              "in PacGAN's 2D discriminator: 200 maxout units of 5 pieces (Lin et al. 2018)",
                              choices=("leaky_relu", "maxout"))  # fmt: skip
    maxout_pieces: int = param(5, "linear pieces per maxout unit (5 in PacGAN's 2D experiments)", low=2, high=16)
    weight_init: str = param("pytorch", "initial weights: PyTorch's default, or N(0, 0.02) with zero biases as in the "
                             "DCGAN paper and the PacGAN authors' code", choices=("pytorch", "normal"))  # fmt: skip


class MLPGenerator(nn.Module):
    """z (B, latent) [+ y (B, K)] -> sample in the data's shape."""

    def __init__(self, config: GANConfig, data: DataInfo, num_classes: int):
        super().__init__()
        self.shape = data.shape
        layers: list[nn.Module] = []
        width = config.latent_dim + num_classes
        for _ in range(config.g_layers):
            layers.append(nn.Linear(width, config.g_hidden))
            if config.batchnorm:
                layers.append(nn.BatchNorm1d(config.g_hidden))
            layers.append(nn.ReLU(inplace=True))
            width = config.g_hidden
        layers.append(nn.Linear(width, data.flat_dim))
        if data.kind == "images":
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)
        self.to_data = PointScaling(data, to_model=False) if data.standardised else None

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = z if y is None else torch.cat([z, y], dim=1)  # (B, latent + K)
        out = self.net(h).view(z.shape[0], *self.shape)  # (B, *data shape)
        return out if self.to_data is None else self.to_data(out)  # points far from unit size: their units


class Maxout(nn.Module):
    """Linear map to units x pieces, then the largest piece per unit (Goodfellow et al. 2013): (B, in) -> (B, units)."""

    def __init__(self, in_features: int, units: int, pieces: int):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.linear(x).view(x.shape[0], self.units, self.pieces)  # (B, units, pieces)
        return h.amax(dim=2)  # (B, units)


class MLPDiscriminator(nn.Module):
    """x (B, *shape) [+ y (B, K)] -> logit per pack of samples (B / pack,).

    A packed D concatenates its m samples at the input (`pack_join` "input", PacGAN), or runs
    each sample through its first d_layers - 1 layers (`trunk`, shared weights) and concatenates
    their features before the last hidden layer ("last-hidden").
    """

    def __init__(self, config: GANConfig, data: DataInfo, num_classes: int):
        super().__init__()
        self.pack = config.pack
        join = config.d_layers - 1 if config.pack > 1 and config.pack_join == "last-hidden" else 0
        trunk: list[nn.Module] = []
        layers: list[nn.Module] = []
        width = data.flat_dim + num_classes
        for i in range(config.d_layers):
            if i == join:
                width *= config.pack  # the samples of a pack side by side
            target = trunk if i < join else layers
            if config.d_activation == "maxout":
                target.append(Maxout(width, config.d_hidden, config.maxout_pieces))
            else:
                target += [nn.Linear(width, config.d_hidden), nn.LeakyReLU(0.2, inplace=True)]
            width = config.d_hidden
        layers.append(nn.Linear(width, 1))
        self.trunk = nn.Sequential(*trunk)  # per sample (empty when joined at the input)
        self.net = nn.Sequential(*layers)  # per pack
        self.to_model = PointScaling(data, to_model=True) if data.standardised else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.to_model is not None:
            x = self.to_model(x)  # points far from unit size, standardised
        h = x.flatten(1)  # (B, flat)
        if y is not None:
            h = torch.cat([h, y], dim=1)  # (B, flat + K)
        h = self.trunk(h)  # (B, F): F = flat + K, or d_hidden after the per-sample trunk
        h = pack_samples(h, self.pack)  # (B / pack, pack * F)
        return self.net(h).squeeze(1)  # (B / pack,)


class MLPGAN(GANModel):
    def __init__(self, config: GANConfig, data: DataInfo, conditional: bool = False):
        super().__init__(config, data, conditional)
        self.generator = MLPGenerator(config, data, self.num_classes)
        self.discriminator = MLPDiscriminator(config, data, self.num_classes)
        if config.weight_init == "normal":
            self.apply(normal_init)
        self._finish()
