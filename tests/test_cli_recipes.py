"""The recipes in training/*.toml: each parses, validates, and one of them runs end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gan_studio.cli import main
from gan_studio.data import BUILTIN_NAMES
from gan_studio.engine.settings import configs_from_values, read_recipe
from gan_studio.models import MODELS
from gan_studio.store.rundir import RunDir

torch.set_num_threads(1)  # tiny ops on a shared 2-core machine: threads only contend

TRAINING = Path(__file__).resolve().parents[1] / "training"
REQUIRED = ["dcgan-mnist", "cdcgan-mnist", "vae-mnist", "cvae-mnist", "gan-ring8", "gan-grid25", "dcgan-shapes"]
RECIPES = sorted(p.stem for p in TRAINING.glob("*.toml"))


def test_the_required_recipes_exist():
    assert set(REQUIRED) <= set(RECIPES)


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_parses_and_validates(name):
    path = TRAINING / f"{name}.toml"
    model, values, place = read_recipe(str(path))
    assert place == {}  # recipes leave the run's place to the user
    assert model in MODELS
    spec, train, config = configs_from_values(model, values, source=str(path))
    assert spec.name == model and train.data in BUILTIN_NAMES
    assert train.steps >= 1000 and train.checkpoint_every and train.sample_every
    if name in REQUIRED:  # named MODEL-DATA
        assert (model, train.data) == tuple(name.split("-", 1))


def test_recipe_runs_with_a_flag_overriding_its_length(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--config", str(TRAINING / "gan-ring8.toml"), "--steps", "2", "--out", str(out), "--quiet"]
    assert main(argv) == 0, capsys.readouterr().err
    info = RunDir(out).read_info()
    assert (info["model"], info["dataset"]["name"], info["status"], info["step"]) == ("gan", "ring8", "finished", 2)
    assert info["model_config"]["g_hidden"] == 128 and info["train_config"]["batch_size"] == 256  # from the recipe


def test_mnist_recipe_runs_on_the_local_test_set(tmp_path, mnist_dir, capsys):
    out = tmp_path / "run"
    argv = ["train", "--config", str(TRAINING / "vae-mnist.toml"), "--data", str(mnist_dir), "--steps", "1",
            "--channels", "4", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    info = RunDir(out).read_info()
    assert info["dataset"]["size"] == 10_000 and info["data_info"]["shape"] == [1, 32, 32]
    assert info["status"] == "finished"
