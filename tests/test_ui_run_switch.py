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


def test_deleting_a_run_closes_it_only_where_it_is_shown(qtbot, tmp_path):
    from tiny_runs import trained_run_path

    from gan_studio.ui.app import create_app
    from gan_studio.ui.main_window import MainWindow

    workspace = tmp_path / "runs"
    current = trained_run_path(workspace / "current", "gan", "ring8")
    own = trained_run_path(workspace / "own", "vae", "moons", latent_dim=2, hidden=8)
    create_app()
    win = MainWindow(workspace=workspace, persist=False)
    qtbot.addWidget(win)
    explorer = win.optional_panels["ExplorerPanel"]
    assert win.open_run(current)
    qtbot.waitUntil(lambda: explorer.source is not None and explorer.source.path == current, timeout=20_000)
    with qtbot.waitSignal(explorer.image_shown, timeout=20_000):
        explorer.open_source(own)  # Explorer → Open run…: a run of its own
    win.runs.confirm = lambda title, question: True

    assert win.runs.delete_run(current)
    assert win.session.run_path is None  # the window's run is closed...
    assert explorer.source is not None and explorer.source.path == own  # ...the explorer's own one is not
    assert win.runs.delete_run(own)
    assert explorer.source is None and explorer.source_label.text().startswith("No model open")
    explorer.shutdown()
