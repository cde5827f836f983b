"""The real data a run is judged against: its training set and a held-out test set.

- Procedural built-ins (ring8, grid25, spiral, moons, shapes): the training data of the run's seed,
  and as test set a fresh draw of the same distribution from another seed.
- Datasets with a published test split (MNIST-family folders with both files, CIFAR-10): those splits.
- Anything else (a folder holding only MNIST's t10k files, image folders, .npz files): a fixed
  80/20 split of the one set, the same for every run, stated in the report. When a run trained on
  the whole set, the report says that its test part was seen in training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gan_studio.data import Dataset, load_dataset
from gan_studio.data.dataset import RawImages, images_from_raw
from gan_studio.data.loading import draw_generated
from gan_studio.data.splits import HOLDOUT_FRACTION, SPLIT_SEED, has_test_split, holdout_split  # noqa: F401 (re-exported)
from gan_studio.errors import DataError
from gan_studio.store.rundir import run_data_spec

FRESH_SEED_OFFSET = 1_000_003  # seed offset of the fresh test draw of procedural data
FRESH_TEST_SIZE = {"points": 10_000, "images": 2_000}


@dataclass
class ReferenceData:
    """A dataset's training and test parts, and how the test part was obtained."""

    name: str
    kind: str  # "images" | "points"
    train: Dataset
    test: Dataset
    note: str
    test_seen_in_training: bool = False

    @property
    def num_classes(self) -> int:
        return self.train.num_classes

    def describe(self) -> dict:
        return {"dataset": self.name, "train": len(self.train), "test": len(self.test), "note": self.note,
                "test_seen_in_training": self.test_seen_in_training}  # fmt: skip


def subset(dataset: Dataset, index: np.ndarray | torch.Tensor) -> Dataset:
    """The samples `index` of a dataset (labels and metadata kept)."""
    return dataset.subset(np.asarray(index))


def reference_data(spec: str, *, image_size: int = 32, channels: int | None = None,
                   value_range: tuple[float, float] = (0.0, 1.0), seed: int = 0, trained_size: int | None = None,
                   download: bool = False, skip_bad_files: bool = False, trained_classes: list[str] | None = None,
                   trained_samples: str = "") -> ReferenceData:  # fmt: skip
    """Training and test data of dataset `spec` in the format a model of this size was trained on.
    DataError when the data is no longer what the run trained on (`trained_size` samples, classes
    `trained_classes`): its scores would measure other data."""
    from gan_studio.data import GENERATED

    if spec in GENERATED:
        return _fresh_draw(spec, image_size, channels, value_range, seed)
    kwargs = dict(image_size=image_size, channels=channels, value_range=value_range, download=download,
                  skip_bad_files=skip_bad_files)  # fmt: skip
    train = load_dataset(spec, split="train", **kwargs)
    if trained_samples and train.sample_fingerprint() != trained_samples:  # data read from another place
        raise DataError("this is not the data the run trained on (other samples, or in another order): its scores "
                        "would measure other data", spec)  # fmt: skip
    test = load_dataset(spec, split="test", **kwargs)
    if has_test_split(train, test):
        _check_trained_on(train, trained_size, trained_classes, spec)
        return ReferenceData(train.name, train.kind, train, test,
                             f"published train / test splits ({len(train)} / {len(test)})")  # fmt: skip
    train_idx, test_idx = holdout_split(len(train))
    on_train_part = trained_size == len(train_idx)  # trained on this split's training part (benchmarks/quality.py)
    _check_trained_on(train, len(train) if on_train_part else trained_size, trained_classes, spec)
    seen = trained_size is not None and trained_size > len(train_idx)
    note = (f"'{train.name}' has no separate test split here: a fixed {100 - HOLDOUT_FRACTION * 100:.0f}/"
            f"{HOLDOUT_FRACTION * 100:.0f} split of its {len(train)} samples ({len(train_idx)} train / "
            f"{len(test_idx)} test)")  # fmt: skip
    if seen:
        note += f"; this run trained on all {trained_size} samples, so the test part was seen in training"
    return ReferenceData(train.name, train.kind, subset(train, train_idx), subset(train, test_idx), note, seen)


def _check_trained_on(train, trained_size: int | None, trained_classes: list[str] | None, spec: str) -> None:
    from gan_studio.engine.settings import data_change

    change = data_change(trained_size, len(train), trained_classes, train.class_names, since="the run was trained")
    if change:
        raise DataError(f"{change}: its scores would measure other data; evaluate it on the data it trained on "
                        "(a copy of it elsewhere: --data COPY)", spec)  # fmt: skip


def _fresh_draw(spec: str, image_size: int, channels: int | None, value_range, seed: int) -> ReferenceData:
    """Training data of the run's seed and a fresh test draw of a procedural dataset."""
    train = load_dataset(spec, image_size=image_size, channels=channels, value_range=value_range, seed=seed)
    test_seed = seed + FRESH_SEED_OFFSET
    n = FRESH_TEST_SIZE[train.kind]
    test = draw_generated(spec, n, image_size, test_seed)
    if isinstance(test, RawImages):
        test = images_from_raw(test, spec, image_size, channels, value_range)
    note = f"test set: a fresh draw of {n} samples of the procedural '{spec}' data (seed {test_seed})"
    return ReferenceData(train.name, train.kind, train, test, note)


def reference_for_run(info: dict, data_info, value_range: tuple[float, float] = (0.0, 1.0),
                      labelled: bool = False, data: str | None = None) -> ReferenceData:  # fmt: skip
    """The reference data of a run, from its run.json `info` and the model's DataInfo (`labelled`: a
    conditional model, whose labels must still name the same classes). `data`: the same data at another place
    (moved, or a copy kept when the folder grew), checked as a resume checks it."""
    from gan_studio.data import GENERATED

    train_config = info.get("train_config") or {}
    own = run_data_spec(info)
    if data is not None and data != own and (data in GENERATED or own in GENERATED):
        # a procedural set is drawn, never copied: another name is other data (ring8's run judged on moons saved
        # a report of moons in the run; shapes for a ring8 run failed deep inside the metrics)
        raise DataError(f"this is not the data the run trained on ({own}): its scores would measure other data; "
                        "leave --data out to evaluate it on its own", data)  # fmt: skip
    spec = data or own
    dataset = info.get("dataset") or {}
    size = dataset.get("size")
    image_size = int(data_info.shape[-1]) if data_info.kind == "images" else 32
    channels = int(data_info.shape[0]) if data_info.kind == "images" else None
    return reference_data(
        spec or str(Path(dataset.get("name", ""))),
        image_size=image_size,
        channels=channels,
        value_range=value_range,
        seed=int(train_config.get("seed", info.get("seed", 0)) or 0),
        trained_size=int(size) if isinstance(size, int) else None,
        skip_bad_files=bool(train_config.get("skip_bad_files", False)),
        trained_classes=list(data_info.class_names) if labelled else None,
        trained_samples=str(dataset.get("sample_fingerprint") or "") if data else "",  # elsewhere: the same samples
    )
