"""The metrics panel on its own: live values from metric records, and Evaluate now in the background."""

from __future__ import annotations

import torch

from gan_studio.cli import main
from gan_studio.events import Metrics
from gan_studio.state.run_state import RunState
from gan_studio.store.rundir import RunDir
from gan_studio.ui.panels.metrics import MetricsPanel


def _train_ring(tmp_path):
    run = tmp_path / "ring"
    args = ["train", "gan", "--data", "ring8", "--out", str(run), "--steps", "20", "--batch-size", "50",
            "--latent-dim", "2", "--g-hidden", "16", "--d-hidden", "16", "--sample-every", "0",
            "--checkpoint-every", "0", "--eval-every", "10", "--quiet"]  # fmt: skip
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(args) == 0
    finally:
        torch.set_num_threads(before)
    return run


def _cells(table, row):
    return [table.item(row, c).text() for c in range(table.columnCount())]


def test_panel_shows_live_values_from_updates(qtbot, tmp_path):
    panel = MetricsPanel()
    qtbot.addWidget(panel)
    assert panel.TITLE == "Metrics"
    assert not panel.evaluate_button.isEnabled()  # no run
    state = RunState(tmp_path)
    panel.set_run(state)  # a run with nothing logged yet: nothing to show, no crash
    assert panel.live_table.rowCount() == 0 and panel.live_hint.isVisibleTo(panel)
    assert not panel.live_table.isVisibleTo(panel)  # an empty table gives its room to the report below
    state.apply(Metrics(10, values={"d_loss": 1.0}))
    assert panel.live_table.rowCount() == 0
    state.apply(Metrics(20, values={"modes": 7, "high_quality": 0.9, "reverse_kl": 0.05}))
    state.apply(Metrics(15, values={"modes": 3}))  # older record replayed: ignored
    assert panel.live_value("modes") == 7
    assert _cells(panel.live_table, 0) == ["modes captured", "7", "20"]
    assert _cells(panel.live_table, 1)[1] == "90.0 %"
    assert panel.live_table.isVisibleTo(panel) and not panel.live_hint.isVisibleTo(panel)
    panel.set_run(None)
    assert panel.live_table.rowCount() == 0


def test_set_run_reads_logged_live_metrics(qtbot, tmp_path):
    run = _train_ring(tmp_path)
    panel = MetricsPanel()
    qtbot.addWidget(panel)
    panel.set_run(RunState.load(run))
    logged = [r for r in RunDir(run).read_metrics() if "modes" in r]
    assert panel.live_value("modes") == logged[-1]["modes"]
    assert panel.report_table.rowCount() == 0 and panel.evaluate_button.isEnabled()
    assert not panel.strip.isVisibleTo(panel)  # 2D points have no memorisation check: no empty picture for it
    panel.set_run(None)
    assert panel.strip.isVisibleTo(panel)


def test_evaluate_now_runs_in_the_background_and_fills_the_table(qtbot, tmp_path):
    run = _train_ring(tmp_path)
    panel = MetricsPanel()
    qtbot.addWidget(panel)
    panel.set_run(RunState.load(run))
    with qtbot.waitSignal(panel.evaluated, timeout=60_000) as blocker:
        panel.evaluate_now()
        assert not panel.evaluate_button.isEnabled() and panel.cancel_button.isEnabled()  # UI not blocked
    report = blocker.args[0]
    assert report["model"] == "gan" and (run / "eval" / "report.json").is_file()
    labels = [panel.report_table.item(r, 0).text() for r in range(panel.report_table.rowCount())]
    assert "modes captured (of 8)" in labels
    header = [panel.report_table.horizontalHeaderItem(c).text() for c in range(panel.report_table.columnCount())]
    assert header[2:4] == ["real (floor)", "noise (ceiling)"]
    assert "ring8" in panel.summary_label.text()
    qtbot.waitUntil(lambda: not panel._threads, timeout=10_000)
    again = MetricsPanel()  # a saved report is shown when the run is opened
    qtbot.addWidget(again)
    again.set_run(RunState.load(run))
    assert again.report_table.rowCount() == panel.report_table.rowCount()
    assert "(seed 0)" in again.summary_label.text()  # the seed its floor depends on, as the CLI's header has it
    # `gan-studio eval --seed 1` in a terminal while the run is on view: the panel shows the new report (it kept
    # the old one until the run was opened again, and said no seed: review s14W)
    again.show()
    assert main(["eval", str(run), "--seed", "1", "--n", "300", "--quiet"]) == 0
    qtbot.waitUntil(lambda: "(seed 1)" in again.summary_label.text(), timeout=10_000)
    assert "300 samples" in again.summary_label.text()


def test_evaluation_errors_are_shown_not_raised(qtbot, tmp_path):
    (tmp_path / "run.json").write_text("{}")
    panel = MetricsPanel()
    qtbot.addWidget(panel)
    panel.set_run(RunState(tmp_path))
    with qtbot.waitSignal(panel.message, timeout=30_000) as blocker:
        panel.evaluate_now()
    assert blocker.args[0] == "error" and "checkpoint" in blocker.args[1]
    assert "checkpoint" in panel.status_label.text()
    assert not panel.evaluate_button.isEnabled()  # nothing to evaluate until the run saves a checkpoint
    qtbot.waitUntil(lambda: not panel._threads, timeout=10_000)


def test_cancel_stops_waiting_and_ignores_the_result(qtbot, tmp_path):
    run = _train_ring(tmp_path)
    panel = MetricsPanel()
    qtbot.addWidget(panel)
    panel.set_run(RunState.load(run))
    reports = []
    panel.evaluated.connect(reports.append)
    panel.evaluate_now()
    panel.cancel()
    assert panel.evaluate_button.isEnabled() and not panel.cancel_button.isEnabled()
    assert "cancelled" in panel.status_label.text()
    qtbot.waitUntil(lambda: not panel._threads, timeout=30_000)
    assert reports == [] and panel.report_table.rowCount() == 0


def test_the_wheel_over_the_memorisation_picture_scrolls_the_panel_not_the_picture(qtbot):
    """A few notches over it shrank the picture to a speck, for good (no Fit button), instead of scrolling (s12U)."""
    import numpy as np
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    panel = MetricsPanel()
    qtbot.addWidget(panel)
    panel.resize(500, 400)
    panel.show()
    qtbot.waitExposed(panel)
    panel.strip.set_picture(np.zeros((120, 300), dtype=np.uint8))
    before = panel.strip.view.viewRange()
    viewport = panel.strip.graphics.viewport()
    centre = QPointF(viewport.width() / 2, viewport.height() / 2)
    for _ in range(5):
        event = QWheelEvent(centre, viewport.mapToGlobal(centre), QPoint(0, 0), QPoint(0, -120),
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                            False)  # fmt: skip
        QApplication.sendEvent(viewport, event)
    assert panel.strip.view.viewRange() == before
