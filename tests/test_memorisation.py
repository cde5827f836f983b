"""The memorisation ratio says "copies" for samples that sit on training images, and only for those."""

from __future__ import annotations

import numpy as np

from gan_studio.evaluate.memorisation import distance_ratio


def _data(rng, n: int, dim: int = 64) -> np.ndarray:
    """Draws of one distribution: photos, in the sense that matters here: in many dimensions, each far from
    the others, and their mean (a blur) nearer each of them than any other is."""
    return 0.5 + rng.normal(0, 1, (n, dim))


def test_only_copies_of_training_samples_score_well_below_one():
    """Review s13V: samples of grey noise after 20 steps, and a blurry VAE, scored 0.50-0.60, "far below 1 means
    near-copies": a blur is near every image, nearer the training set than unseen images are to it. Measured
    against the samples' own distance to unseen images, anything that does not copy scores about 1."""
    rng = np.random.default_rng(0)
    train, test = _data(rng, 2000), _data(rng, 400)
    mean = train.mean(0)
    cases = {
        "fresh draws (a model that generalises)": _data(rng, 300),
        "blur (every sample near the mean)": mean + rng.normal(0, 0.3, (300, 64)),
        "noise": rng.uniform(-3, 4, (300, 64)),
    }
    for name, generated in cases.items():
        ratio = distance_ratio(generated, test, train)["ratio"]
        assert ratio > 0.85, (name, ratio)
    ratio = distance_ratio(cases["fresh draws (a model that generalises)"], test, train)["ratio"]
    assert ratio < 1.15, ratio  # new draws of the data score as unseen real images do
    copies = train[rng.choice(len(train), 300)] + rng.normal(0, 0.05, (300, 64))
    result = distance_ratio(copies, test, train)
    assert result["ratio"] < 0.3, result  # copies sit on training samples, far from unseen ones
