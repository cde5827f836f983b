"""`vae` and `cvae`: variational autoencoders (Kingma & Welling 2014), MLP or convolutional.

Loss = reconstruction (-log p(x|z), Bernoulli or Gaussian) + beta * KL(q(z|x) || N(0, I)), both
per sample in nats. The conditional VAE gives the one-hot label to the encoder and the decoder; the
convolutional one (label_layers "all") to every layer of both, as constant feature maps, so z need not
carry the class: on MNIST its samples show the requested digit 92 % of the time against 78 % with the
label at the encoder's head and the decoder's input only (README's quality table, 3 seeds; "heads" is
the layout of runs made before this setting, which still load as they were).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn as nn

from gan_studio.config import param
from gan_studio.models.base import DataInfo, PointScaling, VAEModel


@dataclass
class VAEConfig:
    """Settings of the VAE (and conditional VAE)."""

    latent_dim: int = param(16, "size of the latent code z", low=1, high=1024)
    image_size: int = param(32, "image side in pixels (28 px data is padded to 32)", low=8, high=128)
    architecture: str = param("auto", "network type: conv for images, mlp for points (auto)",
                              choices=("auto", "mlp", "conv"))  # fmt: skip
    hidden: int = param(400, "units per hidden layer (MLP)", low=4, high=4096)
    layers: int = param(2, "hidden layers of encoder and decoder (MLP)", low=1, high=8)
    channels: int = param(32, "feature maps of the first conv layer (conv)", low=4, high=512)
    likelihood: str = param("auto", "p(x|z): bernoulli (BCE) for images, gaussian (MSE) for points (auto)",
                            choices=("auto", "bernoulli", "gaussian"))  # fmt: skip
    beta: float = param(1.0, "weight of the KL term (beta-VAE; 1 = the ELBO)", low=0.0, high=100.0, live=True)
    lr: float = param(1e-3, "learning rate (Adam)", low=0.0, high=1.0, live=True)
    label_layers: str = param("all", "conditional conv VAE: the label enters all layers of encoder and decoder, or "
                              "only the encoder's last and the decoder's first (heads)", choices=("all", "heads"),
                              advanced=True)  # fmt: skip

    OLDER_RUNS_HAD: ClassVar[dict] = {"label_layers": "heads"}  # what runs saved before a setting existed used

    def check(self) -> list[str]:
        if self.lr <= 0:
            return ["lr must be > 0"]
        if self.architecture == "conv" and self.image_size not in (32, 64):
            return ["the conv VAE supports image_size 32 or 64"]
        return []


class MLPEncoder(nn.Module):
    """x (B, *shape) [+ y] -> (mu, logvar), each (B, latent)."""

    def __init__(self, config: VAEConfig, data: DataInfo, num_classes: int):
        super().__init__()
        layers: list[nn.Module] = []
        width = data.flat_dim + num_classes
        for _ in range(config.layers):
            layers += [nn.Linear(width, config.hidden), nn.ReLU(inplace=True)]
            width = config.hidden
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, 2 * config.latent_dim)
        self.to_model = PointScaling(data, to_model=True) if data.standardised else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None):
        if self.to_model is not None:
            x = self.to_model(x)  # points far from unit size, standardised
        h = x.flatten(1) if y is None else torch.cat([x.flatten(1), y], dim=1)  # (B, flat [+ K])
        mu, logvar = self.head(self.body(h)).chunk(2, dim=1)  # (B, latent) each
        return mu, logvar


class MLPDecoder(nn.Module):
    """z (B, latent) [+ y] -> logits or means (B, *shape)."""

    def __init__(self, config: VAEConfig, data: DataInfo, num_classes: int):
        super().__init__()
        self.shape = data.shape
        layers: list[nn.Module] = []
        width = config.latent_dim + num_classes
        for _ in range(config.layers):
            layers += [nn.Linear(width, config.hidden), nn.ReLU(inplace=True)]
            width = config.hidden
        layers.append(nn.Linear(width, data.flat_dim))
        self.net = nn.Sequential(*layers)
        self.to_data = PointScaling(data, to_model=False) if data.standardised else None

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = z if y is None else torch.cat([z, y], dim=1)  # (B, latent [+ K])
        out = self.net(h).view(z.shape[0], *self.shape)  # (B, *shape)
        return out if self.to_data is None else self.to_data(out)  # points far from unit size: their units


def _levels(image_size: int) -> int:
    return {32: 3, 64: 4}[image_size]  # halvings down to 4x4


class ConvEncoder(nn.Module):
    """image (B, C, S, S) [+ y] -> (mu, logvar): strided convs down to 4x4, then linear heads."""

    def __init__(self, config: VAEConfig, data: DataInfo, num_classes: int):
        super().__init__()
        self.label_in_body = bool(num_classes) and config.label_layers == "all"
        layers: list[nn.Module] = []
        in_ch, width = data.shape[0] + (num_classes if self.label_in_body else 0), config.channels
        for _ in range(_levels(config.image_size)):
            layers += [nn.Conv2d(in_ch, width, 4, 2, 1), nn.BatchNorm2d(width), nn.LeakyReLU(0.2, inplace=True)]
            in_ch, width = width, width * 2  # halves H and W each time
        self.body = nn.Sequential(*layers)  # (B, F, 4, 4)
        self.head = nn.Linear(in_ch * 16 + num_classes, 2 * config.latent_dim)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None):
        if self.label_in_body and y is not None:
            x = with_label_maps(x, y)  # (B, C + K, S, S)
        h = self.body(x).flatten(1)  # (B, F*16)
        if y is not None:
            h = torch.cat([h, y], dim=1)  # (B, F*16 + K)
        mu, logvar = self.head(h).chunk(2, dim=1)  # (B, latent) each
        return mu, logvar


class ConvDecoder(nn.Module):
    """z (B, latent) [+ y] -> logits (B, C, S, S): linear to 4x4, then transposed convs."""

    def __init__(self, config: VAEConfig, data: DataInfo, num_classes: int):
        super().__init__()
        levels = _levels(config.image_size)
        self.width = config.channels * 2 ** (levels - 1)
        self.fc = nn.Linear(config.latent_dim + num_classes, self.width * 16)
        self.label_in_body = bool(num_classes) and config.label_layers == "all"
        extra = num_classes if self.label_in_body else 0  # the label's maps join each transposed conv's input
        layers: list[nn.Module] = []
        width = self.width
        for _ in range(levels - 1):
            layers += [nn.ConvTranspose2d(width + extra, width // 2, 4, 2, 1), nn.BatchNorm2d(width // 2),
                       nn.ReLU(True)]  # fmt: skip
            width //= 2  # doubles H and W each time
        layers.append(nn.ConvTranspose2d(width + extra, data.shape[0], 4, 2, 1))  # (B, C, S, S)
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = z if y is None else torch.cat([z, y], dim=1)  # (B, latent [+ K])
        h = torch.relu(self.fc(h)).view(z.shape[0], self.width, 4, 4)  # (B, F, 4, 4)
        label = y if self.label_in_body else None
        for layer in self.net:
            if label is not None and isinstance(layer, nn.ConvTranspose2d):
                h = with_label_maps(h, label)  # (B, F + K, H, W)
            h = layer(h)
        return h  # (B, C, S, S)


def with_label_maps(h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Feature maps (B, F, H, W) with the one-hot label (B, K) appended as K constant maps: (B, F + K, H, W)."""
    return torch.cat([h, y[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3]).to(h.dtype)], dim=1)


class VAE(VAEModel):
    def __init__(self, config: VAEConfig, data: DataInfo, conditional: bool = False):
        super().__init__(config, data, conditional)
        arch = config.architecture
        if arch == "auto":
            arch = "conv" if data.kind == "images" and config.image_size in (32, 64) else "mlp"
        self.architecture = arch
        if arch == "conv":
            self.encoder = ConvEncoder(config, data, self.num_classes)
            self.decoder = ConvDecoder(config, data, self.num_classes)
        else:
            self.encoder = MLPEncoder(config, data, self.num_classes)
            self.decoder = MLPDecoder(config, data, self.num_classes)
