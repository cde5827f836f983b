"""The callbacks every training gets from the CLI and the app: live quality metrics, the
training-health advisor with the cheap health signals it reads, and the 2D view's saved frames.

`HealthAdvisor` adds the fixed-noise sample diversity (and, for VAEs, the active latent units) to
each logged step's metrics record, runs every metrics record through the advisor
(gan_studio.evaluate.advisor), and answers each new finding with an Advice event, which the
Trainer records in events.jsonl and yields to the app and the CLI.
"""

from __future__ import annotations

import torch

from gan_studio.config import to_dict
from gan_studio.engine.callbacks import TrainerCallback
from gan_studio.evaluate.advisor import Advisor
from gan_studio.evaluate.health import PROBE_SAMPLES, health_metrics
from gan_studio.evaluate.live import LiveEvaluation
from gan_studio.events import Advice, Metrics, event_from_json
from gan_studio.explore.frames import FrameRecorder
from gan_studio.models.base import one_hot


class HealthAdvisor(TrainerCallback):
    """Health signals at each logged step, and advice from every metrics record."""

    def __init__(self):
        self._advisor: Advisor | None = None
        self._probe: tuple[torch.Tensor, torch.Tensor | None] | None = None

    def extra_metrics(self, trainer) -> dict:
        return self._health(trainer)

    def on_event(self, trainer, event):
        if not isinstance(event, Metrics):
            return ()
        if self._advisor is None:
            self._advisor = Advisor(trainer.recipe.family, to_dict(trainer.model_config))
        findings = self._advisor.observe(event.to_json())
        return [
            advice for advice in map(event_from_json, (f.to_event() for f in findings)) if isinstance(advice, Advice)
        ]

    def _health(self, trainer) -> dict:
        probe_x, probe_y = self._probe_batch(trainer) if trainer.recipe.family == "vae" else (None, None)
        return health_metrics(trainer.recipe.sampling_model, trainer.fixed_z, trainer.fixed_y, probe_x, probe_y)

    def _probe_batch(self, trainer) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A fixed batch of training data for the VAE's active units (the first samples of the set)."""
        if self._probe is None:
            dataset, k = trainer.dataset, trainer.model.num_classes
            x = dataset.head(PROBE_SAMPLES).to(trainer.device)
            y = one_hot(dataset.y[:PROBE_SAMPLES], k).to(trainer.device) if k and dataset.y is not None else None
            self._probe = (x, y)
        return self._probe


def default_callbacks() -> list[TrainerCallback]:
    return [LiveEvaluation(), HealthAdvisor(), FrameRecorder()]
