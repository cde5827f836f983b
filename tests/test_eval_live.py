"""Live metrics during training: mode coverage logged every eval_every steps, training unchanged."""

from __future__ import annotations

import pytest
from tiny_runs import make_trainer

from gan_studio.engine.trainer import Trainer
from gan_studio.evaluate.callbacks import default_callbacks
from gan_studio.evaluate.live import live_metrics
from gan_studio.events import Metrics
from gan_studio.store.rundir import RunDir

pytestmark = pytest.mark.usefixtures("one_thread")


def _trainer(tmp_path, name: str, data: str, eval_every: int, model: str = "gan") -> Trainer:
    size = {"latent_dim": 2, "hidden" if model == "vae" else "g_hidden": 32}
    return make_trainer(tmp_path / name, model, data=data, steps=30, batch_size=50, log_every=10, eval_every=eval_every,
                        callbacks=default_callbacks(), **size)  # fmt: skip


def test_mode_metrics_are_logged_every_eval_every_steps(tmp_path):
    updates = list(_trainer(tmp_path, "live", "grid25", eval_every=15))
    live = [u for u in updates if isinstance(u, Metrics) and "modes" in u.values]
    assert [u.step for u in live] == [15, 30]
    for record in live:
        assert 0 <= record.get("modes") <= 25 and 0.0 <= record.get("high_quality") <= 1.0
    saved = [r for r in RunDir(tmp_path / "live").read_metrics() if "modes" in r]
    assert [r["step"] for r in saved] == [15, 30]


def test_live_metrics_do_not_change_the_training(tmp_path):
    with_eval = [u for u in _trainer(tmp_path, "a", "ring8", eval_every=5) if isinstance(u, Metrics)]
    without = [u for u in _trainer(tmp_path, "b", "ring8", eval_every=0) if isinstance(u, Metrics)]
    assert any("modes" in u.values for u in with_eval)
    with_eval = [u for u in with_eval if "d_loss" in u.values]
    assert [u.get("d_loss") for u in with_eval] == [u.get("d_loss") for u in without]


def test_other_2d_data_gets_a_frechet_distance(tmp_path):
    trainer = _trainer(tmp_path, "moons", "moons", eval_every=0, model="vae")
    values = live_metrics(trainer)
    assert set(values) == {"frechet_live"} and values["frechet_live"] >= 0
    assert trainer.model.training
