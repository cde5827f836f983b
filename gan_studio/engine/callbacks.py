"""Hooks for work that rides along with training without the Trainer importing it: live quality
metrics (gan_studio.evaluate.live) and the training-health advisor (gan_studio.evaluate.advisor).

A callback may add values to each logged step's metrics record, sees the trainer after every step
and every event it records, and may answer with new events (a Metrics record of live metrics, an
Advice), which the trainer records and yields like its own. Callbacks run on the rank that writes
the run only.
"""

from __future__ import annotations

from collections.abc import Iterable

from gan_studio.events import Event


class TrainerCallback:
    """Base class: override what you need; the event hooks return the events to record (or nothing)."""

    def extra_metrics(self, trainer) -> dict:
        """Values to add to the metrics record of this logged step (cheap signals: one record per step)."""
        return {}

    def on_step(self, trainer) -> Iterable[Event]:
        """Called after each training step (trainer.step is the step just done)."""
        return ()

    def on_event(self, trainer, event: Event) -> Iterable[Event]:
        """Called for every event the trainer recorded (not for events callbacks returned)."""
        return ()
