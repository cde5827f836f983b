"""Cheap quality metrics logged during training: the `LiveEvaluation` callback, every eval_every steps.

- ring8 / grid25: the PacGAN/VEEGAN mode metrics on 2,500 samples (modes, high_quality, reverse_kl);
- other 2D data: the Frechet distance of 2,500 samples to 2,500 training points (frechet_live);
- images: only when the dataset's evaluation classifier is already cached (it is never trained
  here), the Frechet distance in its feature space on 500 samples (frechet_live) and, for
  conditional models, the label accuracy; stacked MNIST: modes and KL over 1,000 modes on 26,000 samples
  (when the MNIST classifier is cached). The full report (`gan-studio eval`, the app's metrics
  panel) computes everything else outside the training thread.
Sampling uses a private random generator, so enabling live metrics does not change the training.
"""

from __future__ import annotations

import weakref
from typing import Any

import torch

from gan_studio.data.stacked import is_stacked
from gan_studio.engine.callbacks import TrainerCallback
from gan_studio.evaluate.classifier import cache_path, cached_classifier
from gan_studio.evaluate.frechet import frechet_distance
from gan_studio.evaluate.modes import PROTOCOL_SAMPLES, dataset_mode_metrics, has_mode_metrics
from gan_studio.evaluate.reference import reference_data
from gan_studio.evaluate.stacked import PROTOCOL_SAMPLES as STACKED_SAMPLES
from gan_studio.evaluate.stacked import digits_reference, read_channels, stacked_modes
from gan_studio.events import Metrics
from gan_studio.models.base import one_hot

LIVE_IMAGE_SAMPLES = 500  # generated images per live estimate
LIVE_SEED = 12345  # fixed noise: successive values differ only because the model changed

_image_state: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # trainer -> cached reference features


def _samples(trainer, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """n samples in eval mode from fixed private noise, with balanced labels for conditional models."""
    model = trainer.model
    generator = torch.Generator(device=trainer.device).manual_seed(LIVE_SEED)
    z = torch.randn(n, model.latent_dim, generator=generator, device=trainer.device)
    labels = torch.arange(n, device=trainer.device) % model.num_classes if model.num_classes else None
    y = one_hot(labels, model.num_classes) if labels is not None else None
    out = trainer.recipe.generate(z, y)  # eval mode; the EMA generator when one is kept
    return out.float().cpu(), None if labels is None else labels.cpu()


class LiveEvaluation(TrainerCallback):
    """Appends the live metrics as a metrics record every `eval_every` steps of the trainer's config."""

    def on_step(self, trainer):
        every = trainer.train_config.eval_every
        if not every or trainer.step % every:
            return ()
        values = live_metrics(trainer)
        if not values:
            return ()
        bookkeeping = {"epoch": round(trainer.stream.epoch_progress, 4), "time": round(trainer.elapsed, 3)}
        return [Metrics(trainer.step, values={**bookkeeping, **values})]


def live_metrics(trainer) -> dict[str, Any]:
    """The metrics record fields for the current step (empty when nothing cheap applies)."""
    if trainer.data_info.kind == "points":
        samples, _ = _samples(trainer, PROTOCOL_SAMPLES)
        points = samples.double().numpy()
        if has_mode_metrics(trainer.dataset.name):
            found = dataset_mode_metrics(trainer.dataset.name, points)
            values = {"modes": found.modes, "high_quality": round(found.high_quality, 4)}
            if found.reverse_kl is not None:
                values["reverse_kl"] = round(found.reverse_kl, 4)
            return values
        finite = points[torch.isfinite(samples).all(dim=1).numpy()]
        if len(finite) < 2:
            return {}
        real = trainer.dataset.head(PROTOCOL_SAMPLES).double().numpy()
        return {"frechet_live": round(frechet_distance(finite, real), 5)}
    return _image_metrics(trainer)


def _image_metrics(trainer) -> dict[str, Any]:
    state = _image_state.get(trainer)
    if state is None:
        state = _image_state[trainer] = _ImageState(trainer)
    classifier = state.classifier()
    if classifier is None:
        return {}
    if state.stacked:
        samples, _ = _samples(trainer, STACKED_SAMPLES)
        keep = torch.isfinite(samples.flatten(1)).all(dim=1)
        found = stacked_modes(read_channels(classifier, samples[keep], trainer.model.output_range).numpy())
        return {"modes": found.modes, "kl": round(found.kl, 4)}
    samples, labels = _samples(trainer, LIVE_IMAGE_SAMPLES)
    keep = torch.isfinite(samples.flatten(1)).all(dim=1)
    if keep.sum() < 2:
        return {}
    values = {}
    feats = classifier.features(samples[keep], trainer.model.output_range).double().numpy()
    values["frechet_live"] = round(frechet_distance(feats, state.test_features), 4)
    if labels is not None:
        predicted = classifier.predict(samples[keep], trainer.model.output_range)
        values["label_accuracy"] = round(float((predicted == labels[keep]).float().mean()), 4)
    return values


class _ImageState:
    """Per-trainer memo: the reference data's cache key and, once a classifier exists, its test features."""

    def __init__(self, trainer):
        self.trainer = weakref.ref(trainer)
        self._classifier = None
        self.test_features = None
        self.reference = None
        self.path = None
        self.stacked = is_stacked(trainer.train_config.data)
        try:
            info = trainer.data_info
            if self.stacked:  # the classifier reads single digits
                self.reference = digits_reference(trainer.train_config.data)
                self.path = cache_path(self.reference)
                return
            self.reference = reference_data(trainer.train_config.data, image_size=int(info.shape[-1]),
                                            channels=int(info.shape[0]), seed=trainer.train_config.seed,
                                            skip_bad_files=trainer.train_config.skip_bad_files)  # fmt: skip
            self.path = cache_path(self.reference)
        except Exception:  # noqa: BLE001 - live metrics are optional; training must go on
            self.reference = None

    def classifier(self):
        """The cached classifier (loaded on first sight of its file), or None."""
        if self._classifier is None and self.path is not None and self.path.is_file():
            trainer = self.trainer()
            found = cached_classifier(self.reference, self.path.parent, trainer.device if trainer else "cpu")
            if found is not None:
                if self.stacked:
                    self._classifier = found
                    return found
                test = self.reference.test.head(2000)
                self.test_features = found.features(test, self.reference.test.value_range).double().numpy()
                self._classifier = found
        return self._classifier
