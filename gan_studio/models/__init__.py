"""The six models and the registry from name to (config class, builder, description).

`create_model(name, config, data)` builds any of them; `default_config(name)` gives its config.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gan_studio.errors import ConfigError
from gan_studio.models.base import DataInfo, GANModel, VAEModel
from gan_studio.models.dcgan import DCGAN, DCGANConfig
from gan_studio.models.gan import MLPGAN, GANConfig
from gan_studio.models.vae import VAE, VAEConfig


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: how to configure and build it, and how to describe it to a user."""

    name: str
    family: str  # "gan" | "vae"
    conditional: bool
    config_cls: type
    builder: Callable
    description: str
    supports_points: bool


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        ModelSpec("vae", "vae", False, VAEConfig, VAE, "Variational autoencoder: encoder, latent Gaussian, decoder", True),
        ModelSpec("cvae", "vae", True, VAEConfig, VAE, "Conditional VAE: the class label steers encoding and decoding", True),
        ModelSpec("gan", "gan", False, GANConfig, MLPGAN, "GAN with MLP generator and discriminator (2D toys, small images)", True),
        ModelSpec("cgan", "gan", True, GANConfig, MLPGAN, "Conditional GAN: class label given to G and D (MLP)", True),
        ModelSpec("dcgan", "gan", False, DCGANConfig, DCGAN, "Deep convolutional GAN for 32/64 px images", False),
        ModelSpec("cdcgan", "gan", True, DCGANConfig, DCGAN, "Conditional DCGAN: pick the class of each image", False),
    ]
}  # fmt: skip

MODEL_NAMES = list(MODELS)


def get_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown model '{name}' (choose one of {', '.join(MODEL_NAMES)})") from None


def default_config(name: str):
    return get_spec(name).config_cls()


def create_model(name: str, config, data: DataInfo):
    """Build model `name` for data of this shape; checks the pairing makes sense."""
    spec = get_spec(name)
    if not isinstance(config, spec.config_cls):
        raise ConfigError(f"{name} needs a {spec.config_cls.__name__}, got {type(config).__name__}")
    if data.kind == "points" and not spec.supports_points:
        raise ConfigError(f"{name} is for images; use gan, cgan, vae or cvae on 2D point data")
    if spec.conditional and data.num_classes < 2:
        raise ConfigError(f"{name} is conditional and needs a labelled dataset with at least 2 classes")
    if data.kind == "images" and spec.name in ("dcgan", "cdcgan") and data.shape[0] not in (1, 3):
        raise ConfigError(f"{name} supports 1 or 3 channels, got {data.shape[0]}")
    if getattr(config, "diffaugment", "off") != "off" and data.kind != "images":
        raise ConfigError(f"diffaugment augments images; set it to 'off' for {data.kind} data")
    return spec.builder(config, data, conditional=spec.conditional)


__all__ = [
    "MODELS", "MODEL_NAMES", "DataInfo", "GANModel", "VAEModel", "ModelSpec",
    "create_model", "default_config", "get_spec",
    "GANConfig", "DCGANConfig", "VAEConfig",
]  # fmt: skip
