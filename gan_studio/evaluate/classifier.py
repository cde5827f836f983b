"""The evaluation classifier: a small CNN trained by the tool on a dataset's labelled training part.

Its penultimate layer is the feature space of the image metrics (Frechet distance, KID,
precision/recall, nearest neighbours) and its predictions give the label accuracy of conditional
models. One classifier is trained per dataset (and image format) and cached in
`user_cache_dir()/classifiers/`, saved with the atomic checkpoint writer and read back with
`torch.load(weights_only=True)`; its accuracy on the test part is stored with it and reported.
Images enter at 32x32 in [0, 1] (other sizes are resized), so generated and real images are
treated identically.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import pickle
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_studio.errors import DataError
from gan_studio.evaluate import EvaluationCancelled
from gan_studio.evaluate.reference import ReferenceData
from gan_studio.files import UnsafeFileError, check_regular
from gan_studio.paths import can_write_into, cannot_write, private_temporary_cache_dir, user_cache_dir
from gan_studio.store.checkpoint import save_checkpoint

CLASSIFIER_FORMAT = "gan-studio-classifier"
CLASSIFIER_VERSION = 2  # 2: trained on one CPU thread (the same network on any machine with the same torch)
INPUT_SIZE = 32  # classifier input side in pixels
FEATURE_DIM = 128  # size of the feature vector used by the metrics
TRAIN_SAMPLES = 48_000  # images seen in training: epochs = this / training set size, within the limits below
MIN_EPOCHS, MAX_EPOCHS = 2, 20
BATCH_SIZE = 128
MAX_SHIFT = 2.0  # random translation (pixels) used as augmentation

Progress = Callable[[str], None]


class FeatureNet(nn.Module):
    """image (B, C, 32, 32) in [0, 1] -> logits (B, K); `features` gives the 128-d penultimate layer."""

    def __init__(self, channels: int, num_classes: int, width: int = 16):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 5, 2, 2), nn.BatchNorm2d(width), nn.ReLU(inplace=True),  # (B, w, 16, 16)
            nn.Conv2d(width, width * 2, 3, 2, 1), nn.BatchNorm2d(width * 2), nn.ReLU(inplace=True),  # (B, 2w, 8, 8)
            nn.Conv2d(width * 2, width * 4, 3, 2, 1), nn.BatchNorm2d(width * 4), nn.ReLU(inplace=True),  # (B, 4w, 4, 4)
            nn.Flatten(),
            nn.Linear(width * 4 * 16, FEATURE_DIM),  # (B, 128)
            nn.ReLU(inplace=True),
        )  # fmt: skip
        self.head = nn.Linear(FEATURE_DIM, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x * 2.0 - 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def classifier_input(images: torch.Tensor, value_range: tuple[float, float], channels: int) -> torch.Tensor:
    """Images (B, C, H, W) in `value_range` -> (B, channels, 32, 32) in [0, 1]."""
    lo, hi = value_range
    x = ((images.float() - lo) / (hi - lo)).clamp(0.0, 1.0)
    if x.shape[1] != channels:
        x = x.mean(dim=1, keepdim=True).expand(-1, channels, -1, -1) if channels in (1, 3) else x
    if x.shape[-1] != INPUT_SIZE or x.shape[-2] != INPUT_SIZE:
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", antialias=True, align_corners=False)
    return x.contiguous()


@dataclass
class Classifier:
    """A trained evaluation classifier and what it was trained on."""

    space = "classifier features"  # what the metrics' feature vectors are

    net: FeatureNet
    channels: int
    num_classes: int
    test_accuracy: float
    train_size: int
    test_size: int
    train_seconds: float
    path: Path
    cached: bool  # loaded from the cache rather than trained now

    @torch.no_grad()
    def _map(self, images: torch.Tensor, value_range, fn) -> torch.Tensor:
        self.net.eval()
        device = next(self.net.parameters()).device
        out = []
        for start in range(0, len(images), 500):
            batch = classifier_input(images[start : start + 500].to(device), value_range, self.channels)
            out.append(fn(batch).cpu())
        return torch.cat(out) if out else torch.empty(0)

    def features(self, images: torch.Tensor, value_range=(0.0, 1.0)) -> torch.Tensor:
        """Feature vectors (B, 128) of images in `value_range`."""
        return self._map(images, value_range, self.net.features)

    def predict(self, images: torch.Tensor, value_range=(0.0, 1.0)) -> torch.Tensor:
        """Predicted class indices (B,)."""
        return self._map(images, value_range, lambda x: self.net(x).argmax(dim=1))

    def probabilities(self, images: torch.Tensor, value_range=(0.0, 1.0)) -> torch.Tensor:
        """Class probabilities (B, num_classes)."""
        return self._map(images, value_range, lambda x: self.net(x).softmax(dim=1))

    def describe(self) -> dict:
        return {"test_accuracy": self.test_accuracy, "train_size": self.train_size, "test_size": self.test_size,
                "train_seconds": round(self.train_seconds, 1), "cached": self.cached, "path": str(self.path)}  # fmt: skip


class PixelFeatures:
    """The feature space for unlabelled image sets (no classifier can be trained): 8x8 average-pooled pixels."""

    space = "8x8 pixels"
    SIDE = 8

    def features(self, images: torch.Tensor, value_range=(0.0, 1.0)) -> torch.Tensor:
        x = classifier_input(images, value_range, images.shape[1])
        return F.adaptive_avg_pool2d(x, self.SIDE).flatten(1)

    def describe(self) -> dict:
        return {"space": self.space}


def cache_path(reference: ReferenceData, cache_dir: str | Path | None = None) -> Path:
    """Where the classifier of this dataset (and image format) is cached."""
    train = reference.train
    digest = hashlib.sha1()
    shape = (len(train), *train.sample_shape)
    digest.update(f"v{CLASSIFIER_VERSION} {shape} {train.value_range} {len(reference.test)}".encode())
    digest.update(train.fingerprint().encode())  # stored pixels and labels
    safe_name = "".join(c if c.isalnum() or c in "-_." else "_" for c in reference.name)[:40] or "data"
    folder = Path(cache_dir) if cache_dir is not None else user_cache_dir() / "classifiers"
    side = train.sample_shape[-1]
    return folder / f"{safe_name}-{side}px-{digest.hexdigest()[:16]}.pt"


def cached_classifier(reference: ReferenceData, cache_dir=None, device="cpu") -> Classifier | None:
    """The cached classifier of this dataset (in the cache folder, or the temporary one when the cache could not
    be written), or None when there is none (or it is unreadable)."""
    path = cache_path(reference, cache_dir)
    if cache_dir is None and not can_write_into(path.parent) and not path.exists():
        temporary = private_temporary_cache_dir("classifiers")  # a read-only cache: the one kept there, if any
        if temporary is None:
            return None
        path = temporary / path.name
    try:
        if check_regular(path) is None:  # a symlink, FIFO or folder there is refused now, not after training
            return None
    except UnsafeFileError as exc:
        raise DataError(f"the cached evaluation classifier {exc.reason}: remove it", path) from None
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(data, dict) or data.get("format") != CLASSIFIER_FORMAT:
            return None
        if data.get("version") != CLASSIFIER_VERSION:
            return None
        net = FeatureNet(int(data["channels"]), int(data["num_classes"]))
        net.load_state_dict(data["state"])
        if not all(torch.isfinite(t).all() for t in net.state_dict().values() if t.is_floating_point()):
            return None  # NaN weights: damaged, retrained like an unreadable file
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, OSError, KeyError, ValueError,
            TypeError):  # fmt: skip
        return None  # a damaged cache file is simply retrained
    return Classifier(net.to(device).eval(), int(data["channels"]), int(data["num_classes"]),
                      float(data["test_accuracy"]), int(data["train_size"]), int(data["test_size"]),
                      float(data["train_seconds"]), path, cached=True)  # fmt: skip


def get_classifier(reference: ReferenceData, cache_dir=None, device="cpu", progress: Progress | None = None,
                   cancel: Callable[[], bool] | None = None) -> Classifier:  # fmt: skip
    """The dataset's classifier: from the cache, or trained now (and cached)."""
    found = cached_classifier(reference, cache_dir, device)
    if found is not None:
        return found
    return train_classifier(reference, cache_path(reference, cache_dir), device, progress, cancel)


def _random_shift(x: torch.Tensor, max_shift: float, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by up to `max_shift` pixels (zero fill), a cheap augmentation."""
    shifts = (torch.rand(len(x), 2, generator=generator) * 2 - 1) * (2 * max_shift / x.shape[-1])
    theta = torch.zeros(len(x), 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, :, 2] = shifts
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="zeros", align_corners=False)


@contextlib.contextmanager
def _one_cpu_thread(device):
    """One intra-op thread while the classifier trains on the CPU: the same network, and so the same metric
    space, whatever the machine's thread count (2 threads add in another order and train another net)."""
    threads = torch.get_num_threads()
    if str(device) == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def train_classifier(reference: ReferenceData, path: Path, device="cpu", progress: Progress | None = None,
                     cancel: Callable[[], bool] | None = None, seed: int = 0) -> Classifier:  # fmt: skip
    """Train the evaluation classifier on reference.train, measure it on reference.test, save it to `path`."""
    train, test = reference.train, reference.test
    if train.y is None or train.num_classes < 2:
        raise DataError(f"'{reference.name}' has no class labels: the image metrics need a labelled dataset")
    channels, num_classes = int(train.sample_shape[0]), train.num_classes
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    net = FeatureNet(channels, num_classes).to(device)
    x = classifier_input(train.x, train.value_range, channels)
    y = train.y
    epochs = min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(TRAIN_SAMPLES / len(x))))
    steps = epochs * math.ceil(len(x) / BATCH_SIZE)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    started = time.perf_counter()
    net.train()
    with _one_cpu_thread(device):
        for epoch in range(epochs):
            if progress:
                progress(f"training the {reference.name} classifier: epoch {epoch + 1}/{epochs}")
            order = torch.randperm(len(x), generator=generator)
            for start in range(0, len(x), BATCH_SIZE):
                if cancel is not None and cancel():
                    raise EvaluationCancelled("evaluation cancelled")
                idx = order[start : start + BATCH_SIZE]
                batch = _random_shift(x[idx], MAX_SHIFT, generator).to(device)
                loss = F.cross_entropy(net(batch), y[idx].to(device))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                schedule.step()
    seconds = time.perf_counter() - started
    net.eval()
    classifier = Classifier(net, channels, num_classes, 0.0, len(train), len(test), seconds, path, cached=False)
    if test.y is not None:
        predicted = classifier.predict(test.x, test.value_range)
        classifier.test_accuracy = float((predicted == test.y).float().mean())
    state = {
        "format": CLASSIFIER_FORMAT,
        "version": CLASSIFIER_VERSION,
        "dataset": reference.name,
        "channels": channels,
        "num_classes": num_classes,
        "class_names": list(train.class_names),
        "test_accuracy": classifier.test_accuracy,
        "train_size": len(train),
        "test_size": len(test),
        "train_seconds": seconds,
        "state": {k: v.detach().cpu() for k, v in net.state_dict().items()},
    }
    try:
        save_checkpoint(state, path)
    except OSError as exc:  # a read-only cache: kept in the temporary cache folder (one minute of training)
        temporary = private_temporary_cache_dir("classifiers", create=True) if cannot_write(exc, path.parent) else None
        if temporary is None:
            raise
        classifier.path = temporary / path.name
        save_checkpoint(state, classifier.path)
        if progress:
            progress(f"the cache {path.parent} cannot be written: the classifier is kept in {classifier.path} (as "
                     "long as the system keeps its temporary files; set GAN_STUDIO_CACHE to keep it)")  # fmt: skip
    return classifier
