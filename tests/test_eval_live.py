"""Live metrics during training: mode coverage logged every eval_every steps, training unchanged."""

from __future__ import annotations

import pytest

from gan_studio.config import apply_values
from gan_studio.engine.rundir import RunDir
from gan_studio.engine.trainer import TrainConfig, Trainer
from gan_studio.evaluate.live import live_metrics
from gan_studio.models import default_config

pytestmark = pytest.mark.usefixtures("one_thread")


def _trainer(tmp_path, name: str, data: str, eval_every: int, model: str = "gan") -> Trainer:
    config = apply_values(default_config(model), {"latent_dim": 2, "hidden" if model == "vae" else "g_hidden": 32})
    train = TrainConfig(data=data, steps=30, batch_size=50, device="cpu", log_every=10, sample_every=0,
                        checkpoint_every=0, eval_every=eval_every)  # fmt: skip
    return Trainer.new(model, config, train, out=tmp_path / name)


def test_mode_metrics_are_logged_every_eval_every_steps(tmp_path):
    updates = list(_trainer(tmp_path, "live", "grid25", eval_every=15))
    live = [u for u in updates if u["kind"] == "metrics" and "modes" in u]
    assert [u["step"] for u in live] == [15, 30]
    for record in live:
        assert 0 <= record["modes"] <= 25 and 0.0 <= record["high_quality"] <= 1.0
    saved = [r for r in RunDir(tmp_path / "live").read_metrics() if "modes" in r]
    assert [r["step"] for r in saved] == [15, 30]


def test_live_metrics_do_not_change_the_training(tmp_path):
    with_eval = [u for u in _trainer(tmp_path, "a", "ring8", eval_every=5) if u["kind"] == "metrics" and "d_loss" in u]
    without = [u for u in _trainer(tmp_path, "b", "ring8", eval_every=0) if u["kind"] == "metrics"]
    assert [u["d_loss"] for u in with_eval] == [u["d_loss"] for u in without]


def test_other_2d_data_gets_a_frechet_distance(tmp_path):
    trainer = _trainer(tmp_path, "moons", "moons", eval_every=0, model="vae")
    values = live_metrics(trainer)
    assert set(values) == {"frechet_live"} and values["frechet_live"] >= 0
    assert trainer.model.training
