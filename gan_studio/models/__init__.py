"""The registry of models, from name to ModelSpec (config class, builder, family, recipe, description),
and the six built in.

`create_model(name, config, data)` builds any of them; `default_config(name)` gives its config;
`register(ModelSpec(...))` adds one (README, "Where things go").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gan_studio.config import live_fields
from gan_studio.errors import ConfigError
from gan_studio.models.base import DataInfo, GANModel, VAEModel
from gan_studio.models.dcgan import DCGAN, DCGANConfig
from gan_studio.models.gan import MLPGAN, GANConfig
from gan_studio.models.vae import VAE, VAEConfig

FAMILIES = ("gan", "vae")  # what kind of network: generator + discriminator, or encoder + decoder


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: how to configure, build and train it, and how to describe it to a user.

    `family` says what kind of network it is (export, the explorer, eval and the advice read it);
    `recipe` names how it trains (engine/recipes.RECIPES; the family's own recipe when empty), so a
    GAN variant with its own optimisation is a family "gan" model with its own recipe. `channels`: the
    image channels a convolutional model supports (None: any).
    """

    name: str
    family: str
    conditional: bool
    config_cls: type
    builder: Callable
    description: str
    supports_points: bool
    title: str = ""  # the name shown in the app ("cDCGAN"); the name itself when empty
    channels: tuple[int, ...] | None = None
    recipe: str = ""

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"model '{self.name}': family must be one of {', '.join(FAMILIES)}, not '{self.family}' "
                             "(a new way of training is a recipe, not a family)")  # fmt: skip

    @property
    def display_name(self) -> str:
        return self.title or self.name

    @property
    def recipe_name(self) -> str:
        return self.recipe or self.family


MODELS: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    """Add a model to the registry (the CLI, the app's Setup, eval and export all read it)."""
    if spec.name in MODELS:
        raise ValueError(f"a model named '{spec.name}' is registered already")
    MODELS[spec.name] = spec
    MODEL_NAMES.append(spec.name)
    return spec


MODEL_NAMES: list[str] = []
# fmt: off
BUILT_IN = [
    ModelSpec("vae", "vae", False, VAEConfig, VAE, "Variational autoencoder: encoder, latent Gaussian, decoder", True, "VAE"),
    ModelSpec("cvae", "vae", True, VAEConfig, VAE, "Conditional VAE: the class label steers encoding and decoding", True, "cVAE"),
    ModelSpec("gan", "gan", False, GANConfig, MLPGAN, "GAN with MLP generator and discriminator (2D toys, small images)", True, "GAN"),
    ModelSpec("cgan", "gan", True, GANConfig, MLPGAN, "Conditional GAN: class label given to G and D (MLP)", True, "cGAN"),
    ModelSpec("dcgan", "gan", False, DCGANConfig, DCGAN, "Deep convolutional GAN for 32/64 px images", False, "DCGAN", (1, 3)),
    ModelSpec("cdcgan", "gan", True, DCGANConfig, DCGAN, "Conditional DCGAN: pick the class of each image", False, "cDCGAN", (1, 3)),
]
# fmt: on
for built_in in BUILT_IN:
    register(built_in)


def get_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown model '{name}' (choose one of {', '.join(MODEL_NAMES)})") from None


def names_where(attribute: str) -> str:
    """'gan, cgan, vae or cvae': the registered models with `attribute` ("supports_points", "conditional") set."""
    names = [name for name, spec in MODELS.items() if getattr(spec, attribute)]
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else "".join(names)


def live_hparams() -> tuple[str, ...]:
    """Every registered model's live settings (`param(..., live=True)`): what a resume may change besides the
    training settings."""
    return tuple(dict.fromkeys(name for spec in MODELS.values() for name in live_fields(spec.config_cls)))


def default_config(name: str):
    return get_spec(name).config_cls()


def create_model(name: str, config, data: DataInfo):
    """Build model `name` for data of this shape; checks the pairing makes sense."""
    spec = get_spec(name)
    if not isinstance(config, spec.config_cls):
        raise ConfigError(f"{name} needs a {spec.config_cls.__name__}, got {type(config).__name__}")
    if data.kind == "points" and not spec.supports_points:
        raise ConfigError(f"{name} is for images; use {names_where('supports_points')} on 2D point data")
    if spec.conditional and data.num_classes < 2:
        raise ConfigError(f"{name} is conditional and needs a labelled dataset with at least 2 classes")
    if data.kind == "images" and spec.channels is not None and data.shape[0] not in spec.channels:
        supported = " or ".join(str(c) for c in spec.channels)
        raise ConfigError(f"{name} supports {supported} channels, got {data.shape[0]}")
    if getattr(config, "diffaugment", "off") != "off" and data.kind != "images":
        raise ConfigError(f"diffaugment augments images; set it to 'off' for {data.kind} data")
    model = spec.builder(config, data, conditional=spec.conditional)
    if model.family != spec.family:  # one family, stated by the spec: a builder must agree with it
        raise TypeError(f"model '{name}' is registered as family '{spec.family}' but builds a '{model.family}' model")
    return model


__all__ = [
    "FAMILIES", "MODELS", "MODEL_NAMES", "DataInfo", "GANModel", "VAEModel", "ModelSpec",
    "create_model", "default_config", "get_spec", "register",
    "GANConfig", "DCGANConfig", "VAEConfig",
]  # fmt: skip
