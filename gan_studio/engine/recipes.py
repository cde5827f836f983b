"""How each model trains: its optimizers, one optimisation step, DDP wrapping and value range.

The Trainer's loop is the same for every model; what differs lives here, in one Recipe class per
way of training (`GANRecipe`, `VAERecipe`), chosen by the model's ModelSpec (its `recipe`, or else
its family's). A model that trains differently (say a WGAN-GP: its own optimizers and critic steps)
subclasses a recipe and adds it with `register_recipe`; a new loss or regulariser goes in
engine/steps.py.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel

from gan_studio.engine.distributed import DistContext, broadcast_from_main
from gan_studio.engine.ema import update_ema
from gan_studio.engine.precision import CompileAttempt, Precision, compiled, wants_channels_last
from gan_studio.engine.steps import gan_step, vae_step
from gan_studio.models import ModelSpec


def set_learning_rate(opt: torch.optim.Optimizer, lr: float) -> None:
    for group in opt.param_groups:
        group["lr"] = lr


def _wrap(module: torch.nn.Module, dist: DistContext, device: torch.device, attempt: CompileAttempt) -> torch.nn.Module:
    """What a step calls: the module, in DDP when distributed, compiled when asked."""
    if dist.enabled:
        module = DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None)
    return compiled(module, attempt)


def is_convolutional(model: torch.nn.Module) -> bool:
    return any(isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)) for m in model.modules())


def in_channels_last(next_batch):
    """The batches of `next_batch` with their images in the NHWC memory layout."""

    def batch():
        x, y = next_batch()
        return x.contiguous(memory_format=torch.channels_last), y

    return batch


class Recipe(ABC):
    """What the Trainer needs of a model family. Subclasses set `family`, `value_range`, `rate_settings`."""

    family = ""
    value_range: tuple[float, float] = (0.0, 1.0)  # the range data is scaled to for this family
    rate_settings: dict[str, str] = {}  # learning-rate setting -> optimizer name

    def __init__(self, model: torch.nn.Module, config, train_config, dist: DistContext, device: torch.device):
        """Also applies the train config's precision, memory layout and compilation (engine/precision.py)."""
        self.model, self.config, self.train_config = model, config, train_config
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.amp = Precision(train_config.precision, device)
        self.compile_attempt = CompileAttempt(train_config.compile)
        self.channels_last = wants_channels_last(train_config.channels_last, device, is_convolutional(model))
        if self.channels_last:
            model.to(memory_format=torch.channels_last)

    @staticmethod
    def problems(model_config, train_config) -> list[str]:
        """What is wrong with this pairing of settings for the family (empty when fine)."""
        return []

    @abstractmethod
    def step(self, next_batch, step: int) -> dict[str, torch.Tensor]:
        """Optimisation step number `step` + 1 (`step` finished before); returns detached loss tensors (no device sync),
        with the same names at every step (the divergence check stacks them step by step: a lazy regulariser
        reports 0 on the steps it skips rather than leaving its name out)."""

    @property
    def batches_per_step(self) -> int:
        """Data batches one step consumes (per process)."""
        return 1

    def steps_for_epochs(self, epochs: float, batches_per_epoch: int) -> int:
        return max(1, math.ceil(epochs * batches_per_epoch / self.batches_per_step))

    def set_config(self, config) -> None:
        """A live change of the config: learning rates go to their optimizers at once."""
        self.config = config
        for name, optimizer in self.rate_settings.items():
            set_learning_rate(self.optimizers[optimizer], getattr(config, name))

    @property
    def sampling_model(self) -> torch.nn.Module:
        """The model that draws the sample grids and the health signals (the trained model itself here)."""
        return self.model

    @torch.no_grad()
    def generate(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """Samples in eval mode, as sample grids, the explorer and exports see the model."""
        model = self.sampling_model
        was_training = model.training
        model.eval()
        try:
            return model.generate(z, y)
        finally:
            model.train(was_training)

    def batches(self, next_batch):
        """The batch source a step reads: NHWC images when training channels-last."""
        return in_channels_last(next_batch) if self.channels_last else next_batch

    def state_dict(self) -> dict[str, Any]:
        return {"optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
                "precision": self.amp.state_dict()}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        self.amp.load_state_dict(state.get("precision", {}))
        self.set_config(self.config)  # rates changed by a resume override win over the saved ones


class GANRecipe(Recipe):
    """k discriminator steps then one generator step (engine/steps.gan_step), Adam for each; then the EMA of G."""

    family = "gan"
    value_range = (-1.0, 1.0)
    rate_settings = {"lr_g": "g", "lr_d": "d"}

    def __init__(self, model, config, train_config, dist, device):
        super().__init__(model, config, train_config, dist, device)
        self.optimizers = {
            "g": self.make_optimizer(model.generator.parameters(), config.lr_g),
            "d": self.make_optimizer(model.discriminator.parameters(), config.lr_d),
        }
        self.train_g = _wrap(model.generator, dist, device, self.compile_attempt)
        self.train_d = _wrap(model.discriminator, dist, device, self.compile_attempt)
        if model.generator_ema is not None:  # a copy of each rank's own initial G: rank 0's, as DDP made G
            broadcast_from_main(model.generator_ema, dist)

    def make_optimizer(self, parameters, lr: float) -> torch.optim.Optimizer:
        """Adam with the config's betas; a recipe that trains with another optimizer overrides this."""
        return torch.optim.Adam(parameters, lr=lr, betas=(self.config.beta1, self.config.beta2))

    @staticmethod
    def problems(model_config, train_config) -> list[str]:
        found = []
        if train_config.batch_size % model_config.pack:
            found.append(f"batch_size {train_config.batch_size} must be a multiple of pack {model_config.pack}")
        if train_config.batch_size < 2 and getattr(model_config, "batchnorm", False):
            found.append("batch_size 1 is too small for the BatchNorm in G, which needs 2 samples or more: "
                         "give a larger batch_size, or batchnorm = false")  # fmt: skip
        return found

    def step(self, next_batch, step):
        losses = gan_step(self.train_g, self.train_d, self.optimizers["g"], self.optimizers["d"],
                          self.batches(next_batch), self.config, step, self.amp, self.model.data.scale)  # fmt: skip
        if self.model.generator_ema is not None:
            update_ema(self.model, self.config.ema_decay, step + 1)
        return losses

    @property
    def batches_per_step(self) -> int:
        return self.config.d_steps


class VAERecipe(Recipe):
    """One Adam step on the negative beta-ELBO (engine/steps.vae_step)."""

    family = "vae"
    value_range = (0.0, 1.0)
    rate_settings = {"lr": "vae"}

    def __init__(self, model, config, train_config, dist, device):
        super().__init__(model, config, train_config, dist, device)
        self.optimizers = {"vae": torch.optim.Adam(model.parameters(), lr=config.lr)}
        self.train_vae = _wrap(model, dist, device, self.compile_attempt)

    def step(self, next_batch, step):
        return vae_step(self.train_vae, self.optimizers["vae"], self.batches(next_batch), self.config.beta, self.amp)


RECIPES: dict[str, type[Recipe]] = {"gan": GANRecipe, "vae": VAERecipe}  # by name; a family's own under its name


def register_recipe(name: str, recipe: type[Recipe]) -> type[Recipe]:
    """Add a way of training, for ModelSpec(..., recipe=name)."""
    if name in RECIPES:
        raise ValueError(f"a recipe named '{name}' is registered already")
    RECIPES[name] = recipe
    return recipe


def recipe_for(spec: ModelSpec | str) -> type[Recipe]:
    """The Recipe class that trains the model of `spec` (or the recipe of that name: "gan", "vae", ...)."""
    if isinstance(spec, str):
        if spec not in RECIPES:
            raise ValueError(f"no recipe named '{spec}' (known: {', '.join(RECIPES)})")
        return RECIPES[spec]
    try:
        recipe = RECIPES[spec.recipe_name]
    except KeyError:
        raise ValueError(f"model '{spec.name}' names recipe '{spec.recipe_name}', which is not registered") from None
    if recipe.family != spec.family:
        raise ValueError(
            f"model '{spec.name}' is a {spec.family} but recipe '{spec.recipe_name}' trains a {recipe.family}"
        )
    return recipe
