"""`dcgan` and `cdcgan`: the DCGAN architecture of Radford et al. (2016), 32 or 64 px.

G: ConvTranspose + BatchNorm + ReLU, tanh output. D: strided Conv + LeakyReLU(0.2), BatchNorm
on every layer but the first (none with spectral norm or d_batchnorm off), no pooling. Weights N(0, 0.02). The conditional variant embeds the
one-hot label into G's input (a bias-free linear map, so class mixtures work) and gives it to D
as extra constant channels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from gan_studio.config import param
from gan_studio.models.base import DataInfo, GANModel, GANTrainingConfig, dcgan_init, pack_samples


@dataclass
class DCGANConfig(GANTrainingConfig):
    """Settings of DCGAN (and conditional DCGAN)."""

    latent_dim: int = param(100, "size of the noise vector z (100 in the DCGAN paper)", low=1, high=1024)
    image_size: int = param(32, "image side in pixels (28 px data is padded to 32)", choices=(32, 64))
    ngf: int = param(64, "generator feature maps (width of G)", low=4, high=512)
    ndf: int = param(64, "discriminator feature maps (width of D)", low=4, high=512)
    label_embed_dim: int = param(16, "size of the label embedding fed to G (conditional only)", low=1, high=256)
    d_batchnorm: bool = param(True, "BatchNorm in D's hidden layers, as in the DCGAN paper; off for a critic with a "
                              "gradient penalty, which BatchNorm would couple across samples (spectral norm also "
                              "turns it off)", advanced=True)  # fmt: skip


def _up_levels(image_size: int) -> int:
    return {32: 3, 64: 4}[image_size]  # doublings from 4x4


class DCGenerator(nn.Module):
    """z (B, latent) [+ y (B, K)] -> image (B, C, S, S) in [-1, 1]."""

    def __init__(self, config: DCGANConfig, data: DataInfo, num_classes: int):
        super().__init__()
        levels = _up_levels(config.image_size)
        self.embed = nn.Linear(num_classes, config.label_embed_dim, bias=False) if num_classes else None
        in_dim = config.latent_dim + (config.label_embed_dim if num_classes else 0)
        width = config.ngf * 2 ** (levels - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(in_dim, width, 4, 1, 0, bias=False),  # (B, ngf*2^(L-1), 4, 4)
            nn.BatchNorm2d(width),
            nn.ReLU(True),
        ]
        for _ in range(levels - 1):
            layers += [
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),  # doubles H and W
                nn.BatchNorm2d(width // 2),
                nn.ReLU(True),
            ]
            width //= 2
        layers += [nn.ConvTranspose2d(width, data.shape[0], 4, 2, 1, bias=False), nn.Tanh()]  # (B, C, S, S)
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = z if self.embed is None else torch.cat([z, self.embed(y)], dim=1)  # (B, latent [+ embed])
        return self.net(h[:, :, None, None])  # (B, C, S, S)


class DCDiscriminator(nn.Module):
    """image (B, C, S, S) [+ y as K channels] -> logit per pack of samples (B / pack,).

    A packed D stacks its m samples along the channels at the input (`pack_join` "input",
    PacGAN), or runs each sample through its convolutions down to 8x8 (`trunk`, shared weights)
    and stacks their feature maps before the last strided convolution ("last-hidden").
    """

    def __init__(self, config: DCGANConfig, data: DataInfo, num_classes: int):
        super().__init__()
        levels = _up_levels(config.image_size)
        self.pack = config.pack
        join = levels - 1 if config.pack > 1 and config.pack_join == "last-hidden" else 0  # in conv blocks
        in_ch = (data.shape[0] + num_classes) * (config.pack if join == 0 else 1)
        width = config.ndf
        trunk: list[nn.Module] = [
            nn.Conv2d(in_ch, width, 4, 2, 1, bias=False),  # (B, ndf, S/2, S/2), no BatchNorm
            nn.LeakyReLU(0.2, inplace=True),
        ]
        layers: list[nn.Module] = []
        for block in range(1, levels):
            target = trunk if block < join else layers
            in_width = width * (config.pack if block == join else 1)  # the pack's feature maps stacked
            target.append(nn.Conv2d(in_width, width * 2, 4, 2, 1, bias=False))  # halves H and W
            if config.d_batchnorm and not config.spectral_norm:  # spectral norm replaces it (Miyato et al. 2018)
                target.append(nn.BatchNorm2d(width * 2))
            target.append(nn.LeakyReLU(0.2, inplace=True))
            width *= 2
        layers.append(nn.Conv2d(width, 1, 4, 1, 0, bias=False))  # (B / pack, 1, 1, 1)
        if join == 0:  # joined at the input: one network, as in PacGAN
            trunk, layers = [], trunk + layers
        self.trunk = nn.Sequential(*trunk)  # per sample (empty when joined at the input)
        self.net = nn.Sequential(*layers)  # per pack

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is not None:
            planes = y[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])  # (B, K, S, S)
            x = torch.cat([x, planes], dim=1)  # (B, C + K, S, S)
        x = self.trunk(x)  # (B, F, s, s): the image, or 8x8 feature maps after the per-sample trunk
        x = pack_samples(x, self.pack)  # (B / pack, pack * F, s, s)
        return self.net(x).flatten()  # (B / pack,)


class DCGAN(GANModel):
    def __init__(self, config: DCGANConfig, data: DataInfo, conditional: bool = False):
        super().__init__(config, data, conditional)
        self.generator = DCGenerator(config, data, self.num_classes)
        self.discriminator = DCDiscriminator(config, data, self.num_classes)
        self.apply(dcgan_init)
        self._finish()
