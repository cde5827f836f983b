"""Frechet distance, KID, k-NN precision/recall and the VAE likelihood bounds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_studio.config import apply_values
from gan_studio.data.dataset import RawImages, images_from_raw
from gan_studio.data.shapes import make_shapes
from gan_studio.evaluate.frechet import frechet_distance, kernel_distance
from gan_studio.evaluate.likelihood import elbo_and_iwae
from gan_studio.evaluate.precision_recall import precision_recall
from gan_studio.models import DataInfo, create_model, default_config

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def features():
    return np.random.default_rng(0).standard_normal((1000, 16)) * np.linspace(0.5, 2.0, 16)


def test_frechet_distance_of_a_set_with_itself_is_zero(features):
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_grows_with_added_noise(features):
    rng = np.random.default_rng(1)
    noise = rng.standard_normal(features.shape)
    values = [frechet_distance(features, features + scale * noise) for scale in (0.1, 0.5, 1.0, 2.0)]
    assert values[0] > 0
    assert values == sorted(values) and values[-1] > 10 * values[0]


def test_frechet_distance_matches_the_closed_form_for_shifted_gaussians():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((20000, 2))
    b = rng.standard_normal((20000, 2)) * 2.0 + np.array([3.0, 0.0])
    # ||mu||^2 + tr(I + 4I - 2 * 2I) = 9 + 2
    assert frechet_distance(a, b) == pytest.approx(11.0, rel=0.03)


def test_kid_is_near_zero_for_the_same_distribution_and_large_for_another(features):
    rng = np.random.default_rng(3)
    other_draw = rng.standard_normal(features.shape) * np.linspace(0.5, 2.0, 16)
    same, _ = kernel_distance(features, other_draw, subset_size=500)
    shifted, _ = kernel_distance(features, other_draw + 1.0, subset_size=500)
    whole, spread = kernel_distance(features[:300], other_draw[:300], subset_size=500)  # one subset: all of both
    assert np.isfinite(whole) and np.isnan(spread)  # not a std of rounding noise (it showed "± 5.7e-14")
    _, spread = kernel_distance(features, other_draw, subset_size=500)  # several subsets: a real spread
    assert 0 < spread < 0.05 * shifted
    assert abs(same) < 0.05 * shifted


def test_precision_recall_separate_quality_from_coverage():
    rng = np.random.default_rng(4)
    real = rng.standard_normal((800, 2))
    good = rng.standard_normal((800, 2))
    collapsed = rng.standard_normal((800, 2)) * 0.1  # realistic but covers only the centre
    off = rng.standard_normal((800, 2)) + 6.0  # covers nothing real
    p_good, r_good = precision_recall(real, good)
    p_col, r_col = precision_recall(real, collapsed)
    p_off, r_off = precision_recall(real, off)
    assert p_good > 0.9 and r_good > 0.9
    assert p_col > 0.95 and r_col < 0.3
    assert p_off < 0.05 and r_off < 0.05


def test_iwae_bound_is_at_least_as_tight_as_the_elbo():
    torch.manual_seed(0)
    pixels, labels, names = make_shapes(n=712, size=16, seed=0)
    data = images_from_raw(RawImages(pixels, labels, names, "shapes"), "shapes", 16, None, (0.0, 1.0))
    x = data.x[:512]
    config = apply_values(default_config("vae"), {"latent_dim": 4, "hidden": 64, "layers": 1, "image_size": 16,
                                                   "architecture": "mlp"})  # fmt: skip
    model = create_model("vae", config, DataInfo.from_dataset(data))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(150):
        batch = x[(step * 64) % 512 : (step * 64) % 512 + 64]
        loss = model.loss(batch)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    held_out = data.x[-200:]
    one = elbo_and_iwae(model, held_out, k=1)
    many = elbo_and_iwae(model, held_out, k=64)
    assert one["iwae_nll"] == pytest.approx(one["neg_elbo"])  # k = 1: the IWAE bound is the ELBO
    assert many["iwae_nll"] <= many["neg_elbo"]
    assert many["iwae_nll"] < one["neg_elbo"] - 0.5  # strictly tighter on a trained model
    assert model.training  # the model's mode is restored


def test_kid_values_print_readably_at_every_size():
    from gan_studio.evaluate.report import KID_UNIT, format_value

    assert format_value(0.00234, KID_UNIT) == "2.34 ×10⁻³"
    assert format_value(-0.0001, KID_UNIT).startswith("≈0")
    assert format_value(151.2, KID_UNIT) == "151.2"  # not "1.51e+05 ×10⁻³"


def test_a_report_row_says_how_its_values_are_stored_and_shows_them_in_one_notation():
    from gan_studio.evaluate.report import KID_UNIT, metric, table_rows

    recall = metric("recall", "recall", 0.0056, 0.9, 0.01, "higher", "%")
    assert (recall["unit"], recall["shown_as"]) == ("fraction", "%")  # 0.0056 is 0.56 %, not 0.0056 %
    kid = metric("kid", "KID", 81.58, 0.266, 317.9, unit=KID_UNIT)
    # shown plain, and "shown_as" says so: it said thousandths, and a script read 81.58 as 0.08158 (review s14W)
    assert (kid["unit"], kid["shown_as"]) == ("", "")
    small = metric("kid", "KID", 0.0023, 0.0001, 0.3, unit=KID_UNIT)
    assert (small["unit"], small["shown_as"]) == ("", KID_UNIT)
    rows = table_rows({"metrics": [recall, kid]})
    assert rows[0][1:4] == ("0.6 %", "90.0 %", "1.0 %")
    assert rows[1][1:4] == ("81.58", "0.266", "317.9")  # not "266 ×10⁻³" between two plain numbers
    measured = metric("kid", "KID", 0.00234, 0.0001, 0.3, unit=KID_UNIT, spread=0.00041)
    assert table_rows({"metrics": [measured]})[0][1] == "2.34 ± 0.41 ×10⁻³"  # the subsets' std beside the mean
    far = metric("kid", "KID", 81.58, 0.266, 317.9, unit=KID_UNIT, spread=2.5)
    assert table_rows({"metrics": [far]})[0][1] == "81.58 ± 2.5"
    old = {**recall, "unit": "%"}
    del old["shown_as"]  # a report saved before the field: still shown in %
    assert table_rows({"metrics": [old]})[0][1] == "0.6 %"
