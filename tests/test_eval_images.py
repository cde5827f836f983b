"""The evaluation classifier on the real MNIST test set (8k/2k split), and eval of a conditional DCGAN."""

from __future__ import annotations

import json
import os
import time

import pytest
import torch

from gan_studio.cli import main
from gan_studio.errors import DataError
from gan_studio.evaluate.classifier import get_classifier
from gan_studio.evaluate.reference import reference_data

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def mnist_cache(mnist_dir, tmp_path_factory):
    """A cache folder holding the MNIST classifier, trained once for this module."""
    cache = tmp_path_factory.mktemp("cache")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    started = time.process_time()
    classifier = get_classifier(reference_data(str(mnist_dir)), cache_dir=cache / "classifiers")
    print(f"MNIST classifier: {classifier.train_seconds:.1f} s, {time.process_time() - started:.1f} CPU s")
    torch.set_num_threads(before)
    return cache


def test_mnist_split_is_8k_train_2k_test_and_says_so(mnist_dir):
    reference = reference_data(str(mnist_dir))
    assert (len(reference.train), len(reference.test)) == (8000, 2000)
    assert "8000 train / 2000 test" in reference.note
    again = reference_data(str(mnist_dir))
    assert torch.equal(again.test.x, reference.test.x)  # the split is fixed


def test_classifier_accuracy_on_mnist_is_above_97_percent(mnist_dir, mnist_cache):
    reference = reference_data(str(mnist_dir))
    classifier = get_classifier(reference, cache_dir=mnist_cache / "classifiers")
    assert classifier.cached  # trained once by the fixture, then read from the cache
    assert classifier.test_accuracy > 0.97
    predicted = classifier.predict(reference.test.x[:500])
    assert (predicted == reference.test.y[:500]).float().mean() > 0.95
    data = torch.load(classifier.path, weights_only=True)  # plain tensors and values only
    assert data["test_accuracy"] == classifier.test_accuracy and data["train_size"] == 8000


def test_damaged_cache_file_is_retrained_not_trusted(mnist_dir, mnist_cache, tmp_path):
    reference = reference_data(str(mnist_dir))
    path = get_classifier(reference, cache_dir=mnist_cache / "classifiers").path
    copy = tmp_path / path.name
    copy.write_bytes(path.read_bytes()[:1000])  # truncated
    from gan_studio.evaluate.classifier import cached_classifier

    assert cached_classifier(reference, cache_dir=tmp_path) is None
    data = torch.load(path, weights_only=True)
    next(iter(data["state"].values())).fill_(float("nan"))  # valid file, NaN weights: eval would fail in linalg
    torch.save(data, copy)
    assert cached_classifier(reference, cache_dir=tmp_path) is None
    copy.unlink()
    os.mkfifo(copy)  # refused at once by name, not after training a new one for seconds
    with pytest.raises(DataError, match="cached evaluation classifier is a FIFO"):
        cached_classifier(reference, cache_dir=tmp_path)


def test_eval_cdcgan_on_mnist_reports_label_accuracy_and_nearest_images(mnist_dir, mnist_cache, tmp_path,
                                                                         monkeypatch, capsys):  # fmt: skip
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(mnist_cache))
    run = tmp_path / "run"
    args = ["train", "cdcgan", "--data", str(mnist_dir), "--out", str(run), "--steps", "20", "--batch-size", "40",
            "--ngf", "8", "--ndf", "8", "--sample-every", "0", "--checkpoint-every", "0", "--quiet"]  # fmt: skip
    assert main(args) == 0
    capsys.readouterr()
    assert main(["eval", str(run), "--n", "400", "--quiet"]) == 0
    table = capsys.readouterr().out
    report = json.loads((run / "eval" / "report.json").read_text())
    assert report["classifier"]["cached"] and report["classifier"]["test_accuracy"] > 0.97
    rows = {row["key"]: row for row in report["metrics"]}
    assert rows["label_accuracy"]["floor"] == report["classifier"]["test_accuracy"]
    assert rows["label_accuracy"]["ceiling"] < 0.3  # noise: about chance
    assert rows["frechet"]["floor"] < rows["frechet"]["ceiling"] / 20
    assert "test part was seen in training" in report["reference"]["note"]  # trained on all 10k
    assert (run / "eval" / "nearest.png").is_file() and "nearest.png" in table
    assert len(report["memorisation"]["examples"]) == 8


def test_the_nearest_neighbour_strip_says_which_column_is_which():
    """RUN/eval/nearest.png was a 250 px strip with no headings: nothing said which column was the sample (s12P)."""
    import numpy as np
    import torch

    from gan_studio.evaluate.memorisation import HEADER, strip_picture

    generated, train = torch.rand(2, 1, 28, 28), torch.rand(10, 1, 28, 28)
    picture = strip_picture(generated, train, np.array([[0, 1, 2], [3, 4, 5]]), np.array([[6, 7, 8], [9, 0, 1]]),
                            (0.0, 1.0))  # fmt: skip
    assert picture.shape[1] == 7 * (56 + 2) + 2 * 6  # 28 px images drawn at 56 px
    band = picture[:18]
    assert len(HEADER) == 2 and (band < 128).any() and (band[:, :, 0] >= 60).all()  # dark words on white
    assert picture.shape[0] == 18 + 2 * 56 + 2
