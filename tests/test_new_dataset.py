"""A new built-in dataset slots in with one registration: a set drawn in code (`register_generated`) trains
from the CLI by name, needs no preparation, is evaluated on a fresh draw, and is offered by the app."""

from __future__ import annotations

import numpy as np
import pytest

from gan_studio.cli import main
from gan_studio.data import (
    BUILTIN_NAMES,
    DATASET_DESCRIPTIONS,
    GENERATED,
    TOY_NAMES,
    GeneratedSet,
    is_point_dataset,
    register_generated,
)
from gan_studio.evaluate.reference import reference_data


def _stripes(n, size, seed):
    """Images of vertical (class 0) or horizontal (class 1) stripes."""
    rng = np.random.default_rng(seed)
    n = 256 if n is None else n
    labels = rng.integers(0, 2, size=n)
    lines = (np.arange(size) // 2 % 2 * 255).astype(np.uint8)
    vertical = np.broadcast_to(lines[None, :], (size, size))
    images = np.where(labels[:, None, None] == 0, vertical, vertical.T)[..., None]
    return np.ascontiguousarray(images), labels, ["vertical", "horizontal"]


def _line(n, size, seed):
    """Points on the segment y = x, labelled by their half."""
    t = np.random.default_rng(seed).uniform(-1, 1, size=1000 if n is None else n)
    return np.stack([t, t], axis=1).astype(np.float32), (t > 0).astype(np.int64), ["left", "right"]


@pytest.fixture
def new_datasets():
    added = [register_generated(GeneratedSet("stripes", "images", "vertical or horizontal stripes", _stripes)),
             register_generated(GeneratedSet("line", "points", "points on a line", _line))]  # fmt: skip
    yield added
    for dataset in added:
        del GENERATED[dataset.name], DATASET_DESCRIPTIONS[dataset.name]
        BUILTIN_NAMES.remove(dataset.name)
    TOY_NAMES.remove("line")


def test_a_registered_dataset_trains_by_name_needs_no_preparation_and_evaluates_on_a_fresh_draw(
    new_datasets, tmp_path, capsys
):
    assert "stripes" in BUILTIN_NAMES and is_point_dataset("line") and not is_point_dataset("stripes")
    run = tmp_path / "run"
    assert main(["train", "vae", "--data", "stripes", "--steps", "2", "--batch-size", "16", "--image-size", "16",
                 "--out", str(run), "--quiet"]) == 0  # fmt: skip
    assert main(["train", "gan", "--data", "line", "--steps", "2", "--out", str(tmp_path / "points"), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["data", "prepare", "stripes"]) == 0
    assert "made in memory at each start: nothing to prepare" in capsys.readouterr().err

    reference = reference_data("stripes", image_size=16, channels=1, seed=0)
    assert "a fresh draw" in reference.note and reference.test.class_names == ["vertical", "horizontal"]
    points = reference_data("line", seed=0)
    assert points.kind == "points" and len(points.test) == 10_000


def test_a_name_taken_by_a_downloadable_set_cannot_be_registered():
    with pytest.raises(ValueError, match="'mnist' is already a built-in dataset"):
        register_generated(GeneratedSet("mnist", "images", "x", _stripes))
    with pytest.raises(ValueError, match="kind must be one of points, images"):
        GeneratedSet("odd", "sounds", "x", _stripes)


def test_the_app_offers_a_registered_dataset_with_its_description(new_datasets, qtbot):
    from gan_studio.ui.app import create_app
    from gan_studio.ui.widgets.dataset_picker import DatasetPicker

    create_app()
    picker = DatasetPicker()
    qtbot.addWidget(picker)
    names = [picker.combo.itemData(i) for i in range(picker.combo.count())]
    assert "stripes" in names and "line" in names
    picker.combo.setCurrentIndex(names.index("stripes"))
    assert picker.description.text() == "vertical or horizontal stripes"


def test_the_local_dataset_entry_names_every_kind_of_file_it_reads(qtbot):
    """It said "a folder of IDX files, an image folder, or a .npz" while the path box and the README took a .zip
    of images too (review s13V)."""
    from gan_studio.ui.app import create_app
    from gan_studio.ui.widgets.dataset_picker import LOCAL_PATH, DatasetPicker

    create_app()
    picker = DatasetPicker()
    qtbot.addWidget(picker)
    picker.combo.setCurrentIndex(picker.combo.findData(LOCAL_PATH))
    text = picker.description.text()
    for kind in ("image folder", ".zip", "IDX", "CIFAR-10", ".npz"):
        assert kind in text, kind
