"""Points far from unit size (pixel coordinates, metres, prices): the point models standardise them
inside, so they train like unit-size data and still draw, export and score in the data's own units."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from tiny_runs import train_tiny_run

from gan_studio.data import TOY_NAMES, load_dataset, points_dataset
from gan_studio.engine.trainer import Trainer
from gan_studio.errors import DataError
from gan_studio.export.inference import OnnxGenerator
from gan_studio.export.onnx_export import TOLERANCE, export_run
from gan_studio.models import DataInfo, create_model, default_config
from gan_studio.models.base import point_standardisation
from gan_studio.store import checkpoint as ckpt
from gan_studio.store.loaded import load_run
from gan_studio.store.rundir import RunDir

torch.set_num_threads(1)
CENTRE, RADIUS = np.array([500.0, 400.0]), 300.0


def ring_in_pixels(n: int = 512, seed: int = 0) -> np.ndarray:
    """ring8 drawn in pixel coordinates: 8 modes on a circle of radius 300 around (500, 400)."""
    rng = np.random.default_rng(seed)
    angle = rng.integers(0, 8, n) * np.pi / 4
    return CENTRE + RADIUS * np.stack([np.cos(angle), np.sin(angle)], 1) + rng.normal(0, 6, (n, 2))


@pytest.mark.parametrize("name", TOY_NAMES)
def test_the_built_in_point_sets_are_left_exactly_as_they_are(name):
    info = DataInfo.from_dataset(load_dataset(name))
    assert not info.standardised and info.scale == 1.0 and "offset" not in info.to_dict()


def test_points_far_from_unit_size_get_their_mean_and_spread():
    points = ring_in_pixels()
    offset, scale = point_standardisation(points)
    assert np.allclose(offset, points.mean(0)) and scale == pytest.approx(points.std())
    assert point_standardisation(points / 10000.0)[0]  # a spread of 0.02: too small
    assert point_standardisation(np.random.default_rng(0).normal(size=(100, 2))) == ((), 1.0)


@pytest.mark.parametrize("model", ["vae", "gan", "cgan"])
def test_a_model_trains_on_points_in_pixels_and_draws_them_in_pixels(tmp_path, model):
    points = ring_in_pixels(1024)
    labels = np.arange(len(points)) % 2 if model == "cgan" else None
    data = points_dataset("ring-px", points, labels, ["a", "b"] if labels is not None else [], "ring-px")
    settings = {"g_hidden": 32, "d_hidden": 32, "latent_dim": 2, "lr_g": 2e-3, "lr_d": 2e-3} if "gan" in model else {
        "hidden": 32, "latent_dim": 2, "lr": 5e-3}  # fmt: skip
    trainer = train_tiny_run(tmp_path / "run", model, data, steps=150, batch_size=64, **settings)
    info = json.loads((trainer.run.path / "run.json").read_text())["data_info"]
    assert info["offset"] == pytest.approx(points.mean(0).tolist(), rel=1e-6)
    loaded = load_run(trainer.run.path)
    z = torch.randn(400, 2, generator=torch.Generator().manual_seed(0))
    y = torch.nn.functional.one_hot(torch.arange(400) % 2, 2).float() if model == "cgan" else None
    drawn = loaded.generate(z, y).numpy()
    assert np.isfinite(drawn).all()
    distance = np.linalg.norm(drawn - CENTRE, axis=1)  # in pixels, around the ring
    assert abs(np.median(distance) - RADIUS) < 0.35 * RADIUS and np.abs(drawn.mean(0) - CENTRE).max() < 150


def test_the_onnx_export_of_a_standardised_generator_draws_in_the_datas_units(tmp_path):
    data = points_dataset("ring-px", ring_in_pixels(), None, [], "ring-px")
    trainer = train_tiny_run(tmp_path / "run", "gan", data, steps=5, g_hidden=16, d_hidden=16, latent_dim=3)
    report = export_run(trainer.run.path)
    assert report.max_abs_diff <= TOLERANCE * 1000  # parity, relative to values of about 1,000
    z = np.random.default_rng(1).standard_normal((8, 3)).astype(np.float32)
    with torch.no_grad():
        expected = load_run(trainer.run.path).generate(torch.from_numpy(z)).numpy()
    got = OnnxGenerator(report.path).generate(z)
    assert np.allclose(got, expected, rtol=1e-4, atol=1e-2) and got.mean() > 100


def test_the_vae_density_is_that_of_the_points_in_their_own_units():
    """-log p(x) of points in pixels = -log p of the standardised points + D log(scale) (change of variables)."""
    points = torch.from_numpy(ring_in_pixels(16)).float()
    offset, scale = point_standardisation(points.numpy())
    config = default_config("vae")
    scaled = create_model("vae", config, DataInfo("points", (2,), offset=offset, scale=scale))
    plain = create_model("vae", config, DataInfo("points", (2,)))
    plain.load_state_dict(scaled.state_dict())  # the same weights: the standardisation is not a weight
    standardised = (points - torch.tensor(offset)) / scale
    with torch.no_grad():
        out_scaled, out_plain = scaled.decoder(torch.zeros(16, 16)), plain.decoder(torch.zeros(16, 16))
        assert torch.allclose(out_scaled, out_plain * scale + torch.tensor(offset, dtype=torch.float32))
        nll_scaled = scaled.reconstruction_nll(points, out_scaled)
        nll_plain = plain.reconstruction_nll(standardised, out_plain)
    assert torch.allclose(nll_scaled, nll_plain + 2 * math.log(scale), rtol=1e-4)


def test_a_resume_keeps_the_standardisation_the_weights_were_trained_with(tmp_path):
    points = ring_in_pixels()
    run = train_tiny_run(tmp_path / "run", "gan", points_dataset("p", points, None, [], "p"), steps=2,
                         g_hidden=8, d_hidden=8, latent_dim=2).run.path  # fmt: skip
    moved = points_dataset("p", points + 50.0, None, [], "p")  # the file changed since: its mean moved
    with pytest.raises(DataError, match="the data here changed since the run trained on it"):
        Trainer.from_checkpoint(run, {"steps": 3}, dataset=moved)  # other samples: refused now
    info = RunDir(run).read_info()
    del info["dataset"]["sample_fingerprint"]  # a run recorded before fingerprints, which cannot tell
    RunDir(run).write_info(info)
    resumed = Trainer.from_checkpoint(run, {"steps": 3}, dataset=moved)
    assert resumed.data_info.offset == pytest.approx(tuple(points.mean(0)), rel=1e-6)


@pytest.mark.parametrize(
    "change, problem",
    [({"offset": "x"}, "offset is"), ({"offset": [1.0]}, "offset is"), ({"offset": [float("nan"), 1.0]}, "finite"),
     ({"scale": 0.0}, "scale is"), ({"scale": "big"}, "scale is")],
)  # fmt: skip
def test_a_checkpoint_with_a_broken_standardisation_is_refused_by_name(change, problem):
    data = {"model_name": "gan", "model_config": {}, "train_config": {}, "model": {}, "step": 1,
            "data_info": {"kind": "points", "shape": [2], "num_classes": 0, "class_names": [], "offset": [1.0, 2.0],
                          "scale": 300.0, **change}}  # fmt: skip
    assert problem in ckpt._structure_problem(data)
