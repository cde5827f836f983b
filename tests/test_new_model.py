"""A new model slots into the spine: registered with its own config defaults and its own recipe, it trains,
samples, exports, evaluates and shows in the app's Setup without an edit anywhere else."""

from __future__ import annotations

import json

import pytest
import torch

from gan_studio.cli import main
from gan_studio.config import field_specs, with_defaults
from gan_studio.engine import recipes
from gan_studio.engine.recipes import GANRecipe, register_recipe
from gan_studio.metric_names import METRICS, MetricInfo, register_metric
from gan_studio.models import MODEL_NAMES, MODELS, DCGANConfig, ModelSpec, register
from gan_studio.models.dcgan import DCGAN

NAME = "sgd-dcgan"

SGDDCGANConfig = with_defaults(DCGANConfig, "SGDDCGANConfig", "A DCGAN trained by plain SGD, hinge loss.",
                               lr_g=0.01, lr_d=0.01, loss="hinge", ngf=8, ndf=8, latent_dim=8)  # fmt: skip


class SGDRecipe(GANRecipe):
    """The GAN recipe with plain SGD for both networks (a recipe's own optimisation)."""

    def make_optimizer(self, parameters, lr):
        return torch.optim.SGD(parameters, lr=lr)

    def step(self, next_batch, step):
        losses = super().step(next_batch, step)
        losses["g_grad_norm"] = torch.cat([p.grad.flatten() for p in self.model.generator.parameters()]).norm()
        return losses  # a metric of its own, named in the metric catalogue


@pytest.fixture
def new_model():
    register_metric(MetricInfo("g_grad_norm", "|grad G|", "Gradient norms", progress=True, summary=True))
    register_recipe("sgd", SGDRecipe)
    spec = register(ModelSpec(NAME, "gan", False, SGDDCGANConfig, DCGAN, "DCGAN by plain SGD", False, "SGD-DCGAN",
                              (1, 3), recipe="sgd"))  # fmt: skip
    yield spec
    del MODELS[NAME], recipes.RECIPES["sgd"], METRICS["g_grad_norm"]
    MODEL_NAMES.remove(NAME)


def test_a_registered_model_trains_with_its_recipe_samples_exports_and_evaluates(new_model, tmp_path, capsys):
    run = tmp_path / "run"
    train = ["train", NAME, "--data", "shapes", "--steps", "4", "--batch-size", "16",
             "--sample-every", "0", "--log-every", "2", "--out", str(run), "--quiet"]  # fmt: skip
    assert main(train) == 0
    info = json.loads((run / "run.json").read_text())
    assert info["model"] == NAME and info["model_config"]["loss"] == "hinge" and info["model_config"]["ngf"] == 8
    checkpoint = torch.load(run / "checkpoints" / "last.pt", weights_only=False)
    assert checkpoint["optimizers"]["g"]["param_groups"][0].get("momentum") == 0  # SGD's, not Adam's
    capsys.readouterr()
    assert main(["runs", str(tmp_path)]) == 0
    assert "|grad G| " in capsys.readouterr().out  # its own metric among the run's last ones, by its label
    assert main(["sample", str(run), "--n", "4", "--out", str(tmp_path / "grid.png")]) == 0
    assert main(["export", str(run)]) == 0
    assert main(["eval", str(run), "--n", "100", "--no-save", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["train", "--help"]) == 0
    assert f"models: {', '.join(MODEL_NAMES)}" in capsys.readouterr().out and MODEL_NAMES[-1] == NAME


def test_its_defaults_keep_the_base_fields_documentation_and_limits(new_model):
    base = {f.name: f for f in field_specs(DCGANConfig)}
    mine = {f.name: f for f in field_specs(SGDDCGANConfig)}
    assert list(mine) == list(base)  # same fields, same order
    assert mine["lr_g"].default == 0.01 and base["lr_g"].default != 0.01
    assert (mine["lr_g"].help, mine["lr_g"].low, mine["loss"].choices) == (base["lr_g"].help, base["lr_g"].low,
                                                                          base["loss"].choices)  # fmt: skip
    with pytest.raises(TypeError, match="lr_g must be"):
        with_defaults(DCGANConfig, "Bad", "", lr_g=-1.0)


def test_a_spec_must_name_a_known_family_and_agree_with_its_recipe(new_model):
    with pytest.raises(ValueError, match="a new way of training is a recipe, not a family"):
        ModelSpec("wgan", "wgan", False, DCGANConfig, DCGAN, "", False)
    wrong = ModelSpec("x", "vae", False, DCGANConfig, DCGAN, "", False, recipe="sgd")
    with pytest.raises(ValueError, match="is a vae but recipe 'sgd' trains a gan"):
        recipes.recipe_for(wrong)
    with pytest.raises(ValueError, match="registered already"):
        register(new_model)
    assert recipes.recipe_for("sgd") is SGDRecipe and recipes.recipe_for(new_model) is SGDRecipe  # by name or spec


def test_the_apps_setup_offers_it_by_its_title(new_model, qtbot):
    from gan_studio.ui.panels.setup import SetupPanel

    panel = SetupPanel()
    qtbot.addWidget(panel)
    titles = [panel.model_combo.itemText(i) for i in range(panel.model_combo.count())]
    assert f"SGD-DCGAN  ({NAME})" in titles
    panel.model_combo.setCurrentIndex(panel.model_combo.findData(NAME))
    assert panel.model_form.editors["lr_g"].raw_value() == "0.01"  # its own defaults, not DCGAN's


def test_a_setting_a_new_model_offers_more_choices_for_lists_them_all(new_model, monkeypatch):
    from dataclasses import dataclass

    from gan_studio.config import param
    from gan_studio.engine.settings import all_field_specs

    @dataclass
    class WiderConfig(DCGANConfig):
        loss: str = param("bce", "adversarial loss", choices=("bce", "hinge", "least-squares"))

    monkeypatch.setitem(MODELS, "wider", ModelSpec("wider", "gan", False, WiderConfig, DCGAN, "", False))
    loss = {spec.name: spec for spec in all_field_specs()}["loss"]
    assert {"bce", "hinge", "least-squares"} <= set(loss.choices)  # the CLI's --loss accepts and lists all three


def test_messages_naming_point_or_conditional_models_name_the_registered_ones(monkeypatch):
    """They were spelt out ('gan, cgan, vae or cvae'), so a new point model was missing from them (review s12R)."""
    import dataclasses

    from gan_studio.errors import ConfigError
    from gan_studio.models import DataInfo, create_model
    from gan_studio.models.latents import sample_inputs

    monkeypatch.setitem(MODELS, "wgan-gp", dataclasses.replace(MODELS["gan"], name="wgan-gp"))
    with pytest.raises(ConfigError, match="use vae, cvae, gan, cgan or wgan-gp on 2D point data"):
        create_model("dcgan", DCGANConfig(), DataInfo("points", (2,)))
    monkeypatch.setitem(MODELS, "cwgan", dataclasses.replace(MODELS["cgan"], name="cwgan"))
    with pytest.raises(ConfigError, match=r"only for conditional models \(cvae, cgan, cdcgan or cwgan\)"):
        sample_inputs(4, 2, seed=0, num_classes=0, label=1)


def test_a_setting_declared_live_can_change_while_training_and_on_resume(tmp_path):
    """Which settings may change live was a list of names in the run store; now it is the field's own `live`."""
    from dataclasses import dataclass

    from gan_studio.config import live_fields, param
    from gan_studio.engine.settings import check_live_change
    from gan_studio.errors import ConfigError
    from gan_studio.models.gan import GANConfig

    @dataclass
    class PenaltyConfig(GANConfig):
        penalty: float = param(0.0, "a penalty weight that may change while training", low=0.0, high=10.0, live=True)

    assert live_fields(PenaltyConfig) == ("lr_g", "lr_d", "d_steps", "penalty")
    config = PenaltyConfig()
    check_live_change("penalised", config, {"penalty": 2.0, "lr_g": 1e-4})
    with pytest.raises(ConfigError, match="cannot change latent_dim while training"):
        check_live_change("penalised", config, {"latent_dim": 3})
    with pytest.raises(ConfigError, match="penalty must be <= 10"):
        check_live_change("penalised", config, {"penalty": 11.0})
