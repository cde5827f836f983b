"""The main window's keys and messages (offscreen): Space and Enter press a focused button also while a run trains,
Escape dismisses the banner; a message about the Setup or about the training goes once it no longer holds; a
refused start keeps the run on view and marks the setting; Resume and samples/s follow the training; the About
box lists every shortcut (review s16Z #2, #6, #7, #10, #14)."""

from __future__ import annotations

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication
from test_ui_window import WAIT_MS, set_up_tiny_gan, type_into

from gan_studio.ui.app import create_app
from gan_studio.ui.main_window import MainWindow, about_text


@pytest.fixture
def window(qtbot, tmp_path):
    create_app()  # the app's style, as `gan-studio` has it
    win = MainWindow(workspace=tmp_path / "runs")
    qtbot.addWidget(win)
    win.show()
    yield win
    win.session.shutdown(timeout_s=10)


def focus(qtbot, win, widget) -> None:
    win.activateWindow()
    widget.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is widget, timeout=WAIT_MS)


def test_space_and_enter_press_a_focused_button_while_a_run_trains_and_space_elsewhere_pauses(qtbot, window, tmp_path):
    """While a training ran or was paused, Space on a focused button paused it instead, and Enter never pressed a
    button: a keyboard user could press none of the Runs panel's buttons during a training."""
    from tiny_runs import trained_run_path

    win = window
    finished = trained_run_path(win.runs.workspace / "finished", "gan", "ring8", steps=2)
    set_up_tiny_gan(win)
    win.start_training()
    qtbot.waitUntil(lambda: win.session.state == "running", timeout=WAIT_MS)
    presses = []
    win.runs.refresh_button.clicked.connect(lambda: presses.append(win.session.state))
    focus(qtbot, win, win.runs.refresh_button)
    qtbot.keyClick(win.runs.refresh_button, Qt.Key.Key_Space)
    qtbot.keyClick(win.runs.refresh_button, Qt.Key.Key_Return)
    qtbot.keyClick(win.runs.refresh_button, Qt.Key.Key_Enter, Qt.KeyboardModifier.KeypadModifier)
    assert presses == ["running"] * 3 and win.session.state == "running"  # pressed three times, never paused

    # Resume greys out for every run while one trains, saying why (it refused only once pressed)
    win.runs.refresh()
    assert win.runs.select_run(finished)
    assert not win.runs.resume_button.isEnabled()
    assert win.runs.resume_button.toolTip() == "A training is already running: stop it first"

    focus(qtbot, win, win.plots)
    qtbot.keyClick(win.plots, Qt.Key.Key_Space)  # elsewhere, Space pauses
    qtbot.waitUntil(lambda: win.session.state == "paused", timeout=WAIT_MS)
    assert win.controls.rate_value.text() == "–"  # paused: no speed to show (it kept the last one)
    focus(qtbot, win, win.runs.refresh_button)
    qtbot.keyClick(win.runs.refresh_button, Qt.Key.Key_Space)
    assert presses[-1] == "paused" and win.session.state == "paused"  # pressed, not resumed
    win.session.stop()
    qtbot.waitUntil(lambda: win.session.state == "idle", timeout=WAIT_MS)
    assert win.controls.rate_value.text() == "–"
    win.runs.refresh()
    assert win.runs.select_run(finished) and win.runs.resume_button.isEnabled()


def test_messages_about_the_setup_or_the_training_go_once_they_no_longer_hold_and_escape_dismisses(qtbot, window):
    """ "cannot start: lr g: expected float…" stayed over a Setup reset to valid defaults, with the status bar;
    "stop the current training before opening another run" showed for Open on the run training itself and stayed
    after the training ended; Escape did not dismiss the banner."""
    win = window
    type_into(win.setup.model_form, {"lr_g": "abc"})
    win.start_training()
    assert win.banner.level == "error" and "lr g" in win.banner.message and win.statusBar().currentMessage()
    win.setup.reset_button.click()
    assert not win.banner.isVisible() and win.statusBar().currentMessage() == ""

    set_up_tiny_gan(win)
    win.start_training()
    qtbot.waitUntil(lambda: win.session.state == "running" and win.session.run_path is not None, timeout=WAIT_MS)
    assert win.open_run(win.session.run_path)  # Open on the run training: it is on view already
    assert not win.banner.isVisible() and "is the run training" in win.statusBar().currentMessage()
    win.new_run()
    assert win.banner.level == "warning" and "stop the current training" in win.banner.message
    win.session.stop()
    qtbot.waitUntil(lambda: win.session.state == "idle", timeout=WAIT_MS)
    assert not win.banner.isVisible()  # it no longer holds

    win.show_message("error", "something went wrong")
    focus(qtbot, win, win.plots)
    qtbot.keyClick(win.plots, Qt.Key.Key_Escape)
    assert not win.banner.isVisible()


def test_the_banner_covers_no_panel_title(qtbot, window):
    """The one-line banner lay over the Setup, Plots and Samples title bars (s15Y #18): it sits in the menu bar's
    row now, right of the menus."""
    win = window
    win.show_message("warning", "recipe loaded; its dataset, ring8, replaces shapes")
    qtbot.wait(20)
    banner, bar = win.banner.geometry(), win.menuBar().geometry()
    last_menu = max(win.menuBar().actionGeometry(a).right() for a in win.menuBar().actions())
    assert banner.top() >= bar.top() and banner.bottom() <= bar.bottom() and banner.left() > last_menu
    for dock in win.docks.values():
        if not dock.visibleRegion().isEmpty():  # (tabs behind the front one are not on screen)
            assert dock.mapTo(win, QPoint(0, 0)).y() > banner.bottom(), dock.windowTitle()


def test_a_refused_start_keeps_the_run_on_view_and_marks_the_setting_it_refused(qtbot, window, tmp_path):
    """A batch larger than the dataset closed the run on view ("No model open", "no run"), though nothing started,
    and said "batch size 32 x 1 process(es)"; the batch size field was not marked."""
    from tiny_runs import trained_run_path

    win = window
    old = trained_run_path(tmp_path / "old", "gan", "ring8", steps=4)
    assert win.open_run(old) and win.samples.run_name == "old"
    few = tmp_path / "few"
    few.mkdir()
    for index in range(4):
        Image.new("L", (8, 8), index * 60).save(few / f"{index}.png")
    set_up_tiny_gan(win, steps=4, data=str(few), batch_size=32)
    win.start_training()
    qtbot.waitUntil(lambda: win.session.state in ("idle", "following") and win.session.run is not None,
                    timeout=WAIT_MS)  # fmt: skip
    assert win.banner.level == "error" and "batch size 32 is larger than the dataset" in win.banner.message
    assert "process" not in win.banner.message
    assert win.session.run_path == old and win.samples.run_name == "old" and "old" in win.windowTitle()
    batch = win.setup.train_form.editors["batch_size"]
    assert batch.problem_label.isVisible() and "batch size 32 is larger" in batch.problem_label.text()
    assert win.controls.start_button.isEnabled()  # a mark, not a block: a bigger dataset may be chosen instead
    type_into(win.setup.train_form, {"batch_size": 2})
    assert not batch.problem_label.isVisible()
    assert str(few) not in win.setup.dataset.recent  # Recent offered a folder that had failed (review s16R #4)
    win.start_training()
    qtbot.waitUntil(lambda: win.session.state in ("idle", "following") and win.session.run_path != old,
                    timeout=WAIT_MS)  # fmt: skip
    assert win.setup.dataset.recent[:1] == [str(few)]  # it trained: offered again


def test_the_about_box_lists_every_shortcut_of_the_window(window):
    """It left out Ctrl+Right (Step), Ctrl+. (Stop), Ctrl+L, Ctrl+N and Ctrl+Shift+M."""
    text = about_text(window.shortcuts())
    keys = {action.shortcut().toString(QKeySequence.SequenceFormat.NativeText) for action in window.actions()} - {""}
    assert {"Ctrl+Right", "Ctrl+.", "Ctrl+L", "Ctrl+N", "Ctrl+Shift+M", "Space", "Ctrl+Return"} <= keys
    for key in keys:
        assert f"<b>{key}" in text or f" / {key}" in text, key
    assert "Esc" in text and "Del" in text  # the banner's and the Runs list's keys too


def test_the_metrics_panels_sample_count_box_has_a_label(window):
    """The box read "default n" alone."""
    metrics = window.optional_panels["MetricsPanel"]
    assert metrics.samples_caption.buddy() is metrics.samples_spin and metrics.samples_caption.text() == "samples"
    assert metrics.samples_spin.specialValueText() == "default"
