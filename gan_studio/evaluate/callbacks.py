"""The callbacks every training gets from the CLI and the app: live quality metrics, the
training-health advisor with the cheap health signals it reads, and the 2D view's saved frames.

`HealthAdvisor` adds the fixed-noise sample diversity (and, for VAEs, the active latent units) to
each logged step's metrics record, runs every metrics record through the advisor
(gan_studio.evaluate.advisor), and answers each new finding with an Advice event, which the
Trainer records in events.jsonl and yields to the app and the CLI. A resumed run's advisor first reads
the run's records up to the resume step, silently (what they found was said before the stop), so that
it gives the advice the run would have got had it never stopped, and no advice the run already has.
"""

from __future__ import annotations

from collections import deque

import torch

from gan_studio.config import to_dict
from gan_studio.engine.callbacks import TrainerCallback
from gan_studio.evaluate.advisor import REPLAYED_RECORDS, Advisor, Finding
from gan_studio.evaluate.health import PROBE_SAMPLES, health_metrics
from gan_studio.evaluate.live import LiveEvaluation
from gan_studio.events import Advice, Metrics, Started, event_from_json
from gan_studio.explore.frames import FrameRecorder
from gan_studio.models.base import one_hot
from gan_studio.store.jsonl import iter_jsonl


class HealthAdvisor(TrainerCallback):
    """Health signals at each logged step, and advice from every metrics record."""

    def __init__(self):
        self._advisor: Advisor | None = None
        self._said: set[Finding] = set()  # the advice the run's events.jsonl already holds
        self._probe: tuple[torch.Tensor, torch.Tensor | None] | None = None

    def extra_metrics(self, trainer) -> dict:
        return self._health(trainer)

    def on_event(self, trainer, event):
        if isinstance(event, Started):
            self._catch_up(trainer, event.step)
            return ()
        if not isinstance(event, Metrics):
            return ()
        if self._advisor is None:
            self._advisor = Advisor(trainer.recipe.family, to_dict(trainer.model_config))
        findings = [f for f in self._advisor.observe(event.to_json()) if f not in self._said]
        return [
            advice for advice in map(event_from_json, (f.to_event() for f in findings)) if isinstance(advice, Advice)
        ]

    def _catch_up(self, trainer, step: int) -> None:
        """The training (re)starts at `step`: a resumed run's advisor reads the records up to it (those after it were
        dropped by the resume and are logged again) saying nothing, and notes the advice already recorded (a run
        killed after its last checkpoint may have given advice on records it now logs again: not said twice)."""
        self._advisor = Advisor(trainer.recipe.family, to_dict(trainer.model_config))
        self._said = {f for f in map(Finding.from_event, iter_jsonl(trainer.run.events_file)) if f is not None}
        if step:
            earlier = (r for r in trainer.run.iter_metrics() if isinstance(r.get("step"), int) and r["step"] <= step)
            for record in deque(earlier, maxlen=REPLAYED_RECORDS):
                self._advisor.observe(record)

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
