"""Stacked MNIST: the data (three training-part digits per image) and its 1,000-mode metrics in `gan-studio eval`."""

from __future__ import annotations

import gzip
import math
import struct

import numpy as np
import pytest
import torch

from gan_studio.cli import main
from gan_studio.data import load_dataset
from gan_studio.data import stacked as stacked_data
from gan_studio.data.splits import holdout_split
from gan_studio.errors import DataError
from gan_studio.evaluate.stacked import NUM_MODES, read_channels, stacked_modes

torch.set_num_threads(1)


def idx_bytes(array: np.ndarray) -> bytes:
    return (
        bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(">u1").tobytes()
    )


def digit_images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n 28 px 'digits': class k is a bright 8x8 block at its own place, plus a unique dim fingerprint pixel."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    images = (rng.random((n, 28, 28)) * 20).astype(np.uint8)
    for i, k in enumerate(labels):
        row, col = 2 + 8 * (k // 4), 2 + 6 * (k % 4)
        images[i, row : row + 8, col : col + 6] = 255
        images[i, 27, i % 28] = 100 + i // 28  # fingerprint: which digit this is
    return images, labels


@pytest.fixture
def digits_dir(tmp_path, monkeypatch):
    """A folder holding only a t10k set of 60 synthetic digits (like ../shared/datasets/mnist), small stacks."""
    monkeypatch.setattr(stacked_data, "STACKED_SIZE", 400)
    images, labels = digit_images(60)
    folder = tmp_path / "digits"
    folder.mkdir()
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    return folder, images


def channel_sources(x: torch.Tensor, digits: np.ndarray) -> np.ndarray:
    """For stacked images (N, 3, 32, 32) in [-1, 1], the index of the digit in each channel (-1: none)."""
    pixels = np.rint((x[:, :, 2:30, 2:30].numpy() + 1) / 2 * 255).astype(np.int64)  # undo pad and scaling
    flat = digits.reshape(len(digits), -1).astype(np.int64)
    out = np.full(pixels.shape[:2], -1)
    for i in range(pixels.shape[0]):
        for c in range(3):
            hits = np.nonzero((flat == pixels[i, c].reshape(-1)).all(axis=1))[0]
            out[i, c] = hits[0] if len(hits) else -1
    return out


def test_stacked_images_hold_three_independent_training_part_digits(digits_dir):
    folder, digits = digits_dir
    data = load_dataset(f"stacked-mnist:{folder}", value_range=(-1.0, 1.0), seed=3)
    assert data.name == "stacked-mnist" and data.x.shape == (400, 3, 32, 32) and data.y is None
    sources = channel_sources(data.x, digits)
    train_part, test_part = holdout_split(len(digits))
    assert (sources >= 0).all()  # every channel is one whole digit
    assert set(sources.flatten()) <= set(train_part.tolist())  # only the 80 % training part (48 of 60 digits)
    assert len(set(sources.flatten())) > 40  # and all of it is used
    assert (sources[:, 0] != sources[:, 1]).mean() > 0.9  # the channels are drawn independently
    test = load_dataset(f"stacked-mnist:{folder}", value_range=(-1.0, 1.0), seed=3, split="test")
    assert set(channel_sources(test.x[:50], digits).flatten()) <= set(test_part.tolist())


def test_published_train_split_is_used_when_present(digits_dir, tmp_path):
    folder, _ = digits_dir
    train_images, train_labels = digit_images(30, seed=9)
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(train_images)))
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(train_labels)))
    data = load_dataset(f"stacked-mnist:{folder}", value_range=(-1.0, 1.0))
    sources = channel_sources(data.x[:40], train_images)
    assert (sources >= 0).all()


def test_the_run_seed_draws_the_stacks(digits_dir):
    folder, _ = digits_dir
    a, b, c = (load_dataset(f"stacked-mnist:{folder}", seed=s).x for s in (1, 1, 2))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("spec, message", [("stacked-mnist:", "name an MNIST IDX folder"),
                                           ("stacked-mnist:/no/such/folder", "no such dataset")])  # fmt: skip
def test_bad_stacked_specs_are_one_clear_error(spec, message):
    with pytest.raises(DataError, match=message):
        load_dataset(spec)


def test_mode_count_and_kl_over_the_thousand_modes():
    every = np.array([[m // 100, m // 10 % 10, m % 10] for m in range(NUM_MODES)] * 26)
    found = stacked_modes(every)
    assert found.modes == 1000 and found.kl == pytest.approx(0.0, abs=1e-12)
    collapsed = stacked_modes(np.tile([[7, 0, 3]], (500, 1)))
    assert collapsed.modes == 1 and collapsed.kl == pytest.approx(math.log(1000))
    assert collapsed.counts[703] == 500
    half = stacked_modes(np.concatenate([every[:500], every[:500]]))
    assert half.modes == 500 and half.kl == pytest.approx(math.log(2))


class MeanDigit:
    """A stand-in classifier: reads a channel's digit from its mean brightness (0.0 -> 0 ... 0.9 -> 9)."""

    def predict(self, images, value_range=(0.0, 1.0)):
        lo, hi = value_range
        return torch.round((images.mean(dim=(1, 2, 3)) - lo) / (hi - lo) * 10).long().clamp(0, 9)


def test_each_channel_is_read_separately_in_rgb_order():
    images = torch.stack([torch.full((3, 8, 8), 0.0) + torch.tensor([0.4, 0.1, 0.9])[:, None, None]] * 2)
    assert read_channels(MeanDigit(), images, (0.0, 1.0)).tolist() == [[4, 1, 9], [4, 1, 9]]
    assert stacked_modes(read_channels(MeanDigit(), images, (0.0, 1.0))).counts[419] == 2


def test_gan_studio_eval_reports_modes_and_kl_of_a_stacked_run(digits_dir, tmp_path, capsys, monkeypatch):
    folder, _ = digits_dir
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path / "cache"))
    run = tmp_path / "run"
    code = main(["train", "dcgan", "--data", f"stacked-mnist:{folder}", "--steps", "3", "--batch-size", "8",
                 "--ngf", "4", "--ndf", "4", "--latent-dim", "8", "--sample-every", "0", "--out", str(run),
                 "--quiet"])  # fmt: skip
    assert code == 0
    capsys.readouterr()
    assert main(["eval", str(run), "--n", "600", "--json"]) == 0
    import json

    report = json.loads(capsys.readouterr().out)
    rows = {row["key"]: row for row in report["metrics"]}
    assert report["dataset"] == "stacked-mnist" and report["n"] == 600
    assert 1 <= rows["modes"]["value"] <= 600 and rows["modes"]["better"] == "higher"
    assert rows["modes"]["floor"] > rows["modes"]["value"]  # real stacks cover more modes than a 3-step DCGAN
    assert 0 <= rows["kl"]["value"] <= math.log(1000) + 1e-9
    assert sum(report["stacked_modes"]["mode_counts"]) == 600
    # a stacked-mnist:FOLDER run resumes (its data was taken for a missing path: "no longer here")
    assert main(["train", "--resume", str(run), "--steps", "4", "--quiet"]) == 0
