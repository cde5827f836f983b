"""describe_source: the one line the Setup shows under a chosen dataset path (kind, images, size, classes), read
from listings and headers, or the error Start would give for it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_data_idx import idx_bytes, write
from test_data_loaders import save_image, write_cifar

from gan_studio.data import load_dataset
from gan_studio.data.describe import describe_source
from gan_studio.errors import DataError

MNIST_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"


def start_error(spec: str) -> str:
    """What Start (the trainer's load_dataset) says about `spec`."""
    with pytest.raises(DataError) as info:
        load_dataset(spec, image_size=8)
    return str(info.value)


def test_an_image_folder_with_class_folders(tmp_path):
    for name in ("cat", "dog"):
        for i in range(3):
            save_image(tmp_path / name / f"{i}.png", np.full((6, 5, 3), 40 * i, dtype=np.uint8))
    assert describe_source(str(tmp_path)) == "image folder, 6 images, 2 classes (cat, dog)"


def test_an_idx_folder_says_its_images_size_and_classes_from_its_headers(tmp_path):
    images = np.zeros((12, 7, 5), dtype=np.uint8)
    write(tmp_path / "t10k-images-idx3-ubyte.gz", idx_bytes(images))
    write(tmp_path / "t10k-labels-idx1-ubyte.gz", idx_bytes(np.arange(12, dtype=np.uint8) % 3))
    text = describe_source(str(tmp_path))
    assert text == "MNIST-style IDX (test files), 12 images 5x7 grey, 10 classes (0, 1, 2, 3, …)"


@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason="the MNIST test set is not in ../shared/datasets/mnist")
def test_the_mnist_test_set():
    assert describe_source(str(MNIST_DIR)).startswith("MNIST-style IDX (test files), 10,000 images 28x28 grey")


def test_an_npz_of_images_and_one_of_points(tmp_path):
    np.savez(tmp_path / "faces.npz", x=np.zeros((4, 3, 9, 8), dtype=np.uint8), y=np.array([0, 1, 1, 0]))
    assert describe_source(str(tmp_path / "faces.npz")) == "NumPy archive, 4 images 8x9 colour, 2 classes (0, 1)"
    np.savez(tmp_path / "points.npz", x=np.zeros((5, 2), dtype=np.float32))
    assert describe_source(str(tmp_path / "points.npz")) == "NumPy archive, 5 2D points, no labels"


def test_cifar_batches_by_their_names_and_an_incomplete_set_refused_as_start_refuses_it(tmp_path):
    write_cifar(tmp_path / "whole", {f"data_batch_{i}": 2 for i in range(1, 6)})
    assert describe_source(str(tmp_path / "whole")).startswith("CIFAR-10 python batches (training: data_batch_1, ")
    write_cifar(tmp_path / "part", {"data_batch_1": 2})
    with pytest.raises(DataError) as info:
        describe_source(str(tmp_path / "part"))
    assert str(info.value) == start_error(str(tmp_path / "part"))


@pytest.mark.parametrize("make", ["empty folder", "text file", "missing"])
def test_what_cannot_be_trained_on_gets_the_error_start_gives(tmp_path, make):
    path = tmp_path / "data"
    if make == "empty folder":
        path.mkdir()
    elif make == "text file":
        path = tmp_path / "notes.txt"
        path.write_text("hello")
    with pytest.raises(DataError) as info:
        describe_source(str(path))
    assert str(info.value) == start_error(str(path))
