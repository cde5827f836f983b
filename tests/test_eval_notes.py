"""The evaluation report says when its own yardsticks fail: a weak classifier, a precision noise scores high on."""

from __future__ import annotations

import numpy as np
import torch

from gan_studio.evaluate.report import _note_a_weak_classifier, _precision_recall_rows


def _empty_report() -> dict:
    return {"metrics": [], "notes": []}


def test_a_classifier_barely_above_chance_is_said_to_make_its_distances_say_little():
    """A photo folder's year sub-folders became 5 classes; the classifier reached 32 % (chance 20 %) and the
    Frechet distance, KID, precision and recall in its features were shown without a word (review s13V)."""
    report = _empty_report()
    _note_a_weak_classifier(report, 0.32, 5)
    assert len(report["notes"]) == 1 and "only 32 %" in report["notes"][0] and "chance: 20 %" in report["notes"][0]
    for accuracy, classes in ((0.985, 10), (0.75, 10), (0.9, 2)):  # MNIST's, a fair one, two classes told apart
        report = _empty_report()
        _note_a_weak_classifier(report, accuracy, classes)
        assert report["notes"] == [], (accuracy, classes)


def test_a_precision_that_noise_scores_as_high_as_real_data_is_flagged():
    """Noise scored 100 % precision beside real data's 82 %, under "better: higher" (review s13V): when the
    real images' neighbourhoods are wide enough to hold noise, the report says precision means nothing there."""
    rng = np.random.default_rng(0)
    test, real = rng.normal(0, 1, (200, 8)), rng.normal(0, 1, (200, 8))
    generated = rng.normal(0, 0.1, (200, 8))  # samples bunched at the centre: "precision 99 %", recall ~0
    inside = rng.normal(0, 0.05, (200, 8))  # a noise that lands inside the real neighbourhoods
    report = _empty_report()
    sets = [torch.as_tensor(s) for s in (generated, real, inside, test)]
    _precision_recall_rows(report, *sets, neighbours=3, space="(features)", seed=0, generated=200)
    assert any("cannot tell noise from data" in note for note in report["notes"]), report["notes"]
    outside = rng.uniform(8, 9, (200, 8))  # noise far from the data: precision 0, the metric works
    report = _empty_report()
    sets = [torch.as_tensor(s) for s in (generated, real, outside, test)]
    _precision_recall_rows(report, *sets, neighbours=3, space="(features)", seed=0, generated=200)
    assert not any("cannot tell noise from data" in note for note in report["notes"]), report["notes"]
