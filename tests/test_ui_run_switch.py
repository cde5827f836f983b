"""Switching and closing runs (offscreen): nothing of the previous run stays on show, and closing one run
(deleting it) closes only the panels that show that run."""

from __future__ import annotations

from gan_studio.events import Metrics, Started
from gan_studio.state.run_state import RunState
from gan_studio.ui.panels.run_controls import RunControlsPanel
from gan_studio.ui.session import RunSession


def test_run_controls_forget_the_previous_runs_epoch_and_speed_for_a_run_without_records(qtbot):
    panel = RunControlsPanel(RunSession())
    qtbot.addWidget(panel)
    finished = RunState()
    panel.set_run(finished)
    finished.apply(Started(0, total_steps=400))
    finished.apply(Metrics(400, values={"epoch": 2.56, "time": 60.0, "samples_per_s": 668.0}))
    assert (panel.epoch_value.text(), panel.rate_value.text()) == ("2.56", "668")
    fresh = RunState()  # a new run stopped at step 3, before its first metrics line
    fresh.apply(Started(0, total_steps=400))
    fresh.step = 3
    panel.set_run(fresh)
    assert panel.step_value.text() == "3 / 400"
    assert (panel.epoch_value.text(), panel.rate_value.text(), panel.eta_value.text()) == ("–", "–", "–")
