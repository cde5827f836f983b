"""The callbacks every training gets from the CLI and the app: live quality metrics (and, where they
apply, the training-health advisor)."""

from __future__ import annotations

from gan_studio.engine.callbacks import TrainerCallback
from gan_studio.evaluate.live import LiveEvaluation


def default_callbacks() -> list[TrainerCallback]:
    return [LiveEvaluation()]
