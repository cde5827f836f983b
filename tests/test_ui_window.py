"""End-to-end tests of the real main window (offscreen): train, pause, step, change a learning rate,
resume, stop, reopen and scrub; follow a run another thread writes; errors shown in the window;
closing while training stops the thread quickly and leaves a resumable run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QApplication, QFileDialog

from gan_studio.engine.recipes import GANRecipe, VAERecipe
from gan_studio.engine.settings import TrainConfig
from gan_studio.engine.trainer import Trainer
from gan_studio.events import Finished, Metrics
from gan_studio.models import DCGANConfig, GANConfig
from gan_studio.store.rundir import RunDir
from gan_studio.ui.app import create_app
from gan_studio.ui.main_window import MainWindow
from gan_studio.ui.widgets.dataset_picker import LOCAL_PATH
from gan_studio.ui.widgets.mnemonics import mnemonic_of

WAIT_MS = 90_000  # generous: the CI machine is small and shared

TINY_GAN = {"g_hidden": "16", "d_hidden": "16", "g_layers": "1", "d_layers": "1", "latent_dim": "4"}


@pytest.fixture
def window(qtbot, tmp_path):
    create_app()  # the app's style, as `gan-studio` has it (it changes sizes and so the dock layout)
    win = MainWindow(workspace=tmp_path / "runs")
    qtbot.addWidget(win)
    win.show()
    yield win
    win.session.shutdown(timeout_s=10)


def choose(combo, data) -> None:
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)


def type_into(form, values: dict) -> None:
    for name, text in values.items():
        editor = form.editors[name].editor
        editor.setText(str(text))


def set_up_tiny_gan(win: MainWindow, steps: int = 100000, data: str = "ring8", **train) -> None:
    choose(win.setup.model_combo, "gan")
    if data in [win.setup.dataset.combo.itemData(i) for i in range(win.setup.dataset.combo.count())]:
        choose(win.setup.dataset.combo, data)
    else:
        choose(win.setup.dataset.combo, "__local__")
        win.setup.dataset.path_edit.setText(data)
    type_into(win.setup.model_form, TINY_GAN)
    values = {"steps": steps, "batch_size": 32, "log_every": 2, "sample_every": 6, "checkpoint_every": 0, **train}
    type_into(win.setup.train_form, values)


def plain(menu_text: str) -> str:
    """A menu item's text without its mnemonic's "&"."""
    return menu_text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def current_step(win: MainWindow) -> int:
    return win.controls.progress.value()


def test_train_pause_step_change_lr_resume_stop_reopen_and_scrub(qtbot, window, tmp_path):
    win = window
    set_up_tiny_gan(win)
    assert win.setup.valid and win.controls.start_button.isEnabled()

    with qtbot.waitSignal(win.session.run_changed, timeout=WAIT_MS):
        qtbot.mouseClick(win.controls.start_button, Qt.MouseButton.LeftButton)
    run_path = win.session.run_path
    assert run_path is not None and run_path.parent == tmp_path / "runs"
    assert not win.controls.start_button.isEnabled()
    assert not win.setup.model_combo.isEnabled()  # the setup is locked while training...
    assert win.setup.live_editor("lr_g").isEnabled()  # ...except the live hyperparameters

    qtbot.waitUntil(lambda: win.plots.point_count("d_loss") >= 3 and win.samples.current is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: win.plots.drawn_points("g_loss") >= 3, timeout=5000)  # the redraw timer drew them
    assert win.plots.point_count("d_real") >= 3 and win.plots.point_count("d_fake") >= 3
    assert win.samples.generated.picture is not None and win.samples.real.picture is not None
    assert current_step(win) >= 6

    qtbot.mouseClick(win.controls.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.session.state == "paused", timeout=WAIT_MS)
    assert win.controls.pause_button.text() == "Resume" and win.controls.step_button.isEnabled()
    paused_at = win.session.worker.trainer.step
    time.sleep(0.3)
    assert win.session.worker.trainer.step == paused_at  # really paused
    explorer = win.optional_panels["ExplorerPanel"]  # no checkpoint cadence: the pause saved the weights
    qtbot.waitUntil(lambda: explorer.source is not None and explorer.source.step == paused_at, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: current_step(win) == paused_at, timeout=WAIT_MS)  # the paused step, not the last logged
    assert win.controls.eta_value.text() == "paused"

    qtbot.mouseClick(win.controls.step_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: current_step(win) == paused_at + 1, timeout=WAIT_MS)
    assert win.session.worker.trainer.step == paused_at + 1
    assert win.controls.eta_value.text() == "paused"  # a Step logs, but the run stays paused

    lr_edit = win.setup.live_editor("lr_g")
    lr_edit.setText("0.0001")
    qtbot.keyClick(lr_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: any(t.startswith("lr_g 0.0002 → 0.0001") for t in win.plots.marker_texts()),
                    timeout=WAIT_MS)  # fmt: skip
    assert win.session.worker.trainer.model_config.lr_g == pytest.approx(1e-4)

    qtbot.mouseClick(win.controls.pause_button, Qt.MouseButton.LeftButton)  # Resume
    qtbot.waitUntil(lambda: win.session.state == "running", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: current_step(win) >= paused_at + 5, timeout=WAIT_MS)

    qtbot.mouseClick(win.controls.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.session.state == "idle", timeout=WAIT_MS)
    run = RunDir(run_path)
    assert run.read_info()["status"] == "stopped"
    assert run.last_checkpoint.is_file()
    events = [e["type"] for e in run.read_events()]
    assert {"pause", "resume", "hparam", "finish"} <= set(events)
    assert "stopped at step" in win.statusBar().currentMessage()
    assert win.controls.progress.value() == run.read_info()["step"]  # the bar shows the step the run stopped at

    # reopen it as a fresh window would see it
    win.session.close_run()
    assert win.plots.point_count("d_loss") == 0 and win.samples.current is None
    win.runs.refresh()
    assert win.runs.select_run(run_path)
    assert win.runs.status_of(run_path) == "stopped"
    qtbot.mouseClick(win.runs.open_button, Qt.MouseButton.LeftButton)
    assert win.session.run_path == run_path
    records = run.read_metrics()
    assert win.plots.point_count("d_loss") == len({r["step"] for r in records})
    assert any(t.startswith("lr_g 0.0002 → 0.0001") for t in win.plots.marker_texts())
    grids = run.sample_steps()
    assert len(grids) >= 2 and win.samples.current[0] == grids[-1][0]
    win.samples.slider.setValue(0)  # scrub to the first grid
    assert win.samples.current[0] == grids[0][0]
    assert f"grid 1 of {len(grids)}" in win.samples.position_label.text()
    assert win.setup.model_name() == "gan" and win.setup.dataset_spec() == "ring8"  # the run's settings
    assert win.setup.model_form.editors["lr_g"].raw_value() == "0.0001"  # as changed live, not as it started


def test_resume_continues_a_stopped_run_from_its_checkpoint(qtbot, window):
    win = window
    set_up_tiny_gan(win, steps=60)
    win.start_training()
    win.session.pause()  # applied at the first step boundary: the stop below lands well before the end
    qtbot.waitUntil(lambda: win.session.state == "paused", timeout=WAIT_MS)
    win.session.stop()
    qtbot.waitUntil(lambda: win.session.state == "idle", timeout=WAIT_MS)
    run_path = win.session.run_path
    stopped_at = json.loads((run_path / "run.json").read_text())["step"]
    assert stopped_at < 60

    win.runs.refresh()
    win.runs.select_run(run_path)
    assert win.runs.resume_button.isEnabled()
    qtbot.mouseClick(win.runs.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.session.state == "idle" and RunDir(run_path).read_info()["status"] == "finished",
                    timeout=WAIT_MS)  # fmt: skip
    assert RunDir(run_path).read_metrics()[-1]["step"] == 60
    assert win.plots.point_count("d_loss") == len({r["step"] for r in RunDir(run_path).read_metrics()})


def test_resume_uses_what_the_setup_changed_so_a_finished_run_or_fork_trains_further(qtbot, window):
    """Setup edits were dropped: a finished run (or its fork) 'finished at step 20' at once, Resume greyed."""
    win = window
    set_up_tiny_gan(win, steps=20, log_every="5")
    win.start_training()
    qtbot.waitUntil(lambda: win.session.state == "idle", timeout=WAIT_MS)
    run_path = win.session.run_path
    assert RunDir(run_path).read_info()["status"] == "finished"
    win.runs.refresh()
    win.runs.select_run(run_path)
    assert win.runs.resume_button.isEnabled() and "more steps" in win.runs.resume_button.toolTip()
    type_into(win.setup.train_form, {"batch_size": "17"})  # not something a resume may change: refused by name
    win.resume_run(run_path)
    assert win.session.state == "idle" and "cannot resume" in win.banner.message
    assert "batch size (32 in the run, 17 here) cannot change when resuming" in win.banner.message
    type_into(win.setup.train_form, {"batch_size": "32"})
    win.resume_run(run_path)  # its own 20 steps again: nothing to train, and the way out said
    assert win.session.state == "idle" and "raise Steps in the Setup" in win.banner.message
    type_into(win.setup.train_form, {"steps": "30"})
    choose(win.setup.dataset.combo, "moons")  # the data may only follow the run's own to a new place
    win.resume_run(run_path)
    qtbot.waitUntil(lambda: "cannot change --data when resuming" in win.banner.message, timeout=WAIT_MS)
    choose(win.setup.dataset.combo, "ring8")
    win.resume_run(run_path)
    qtbot.waitUntil(lambda: win.session.state == "idle" and RunDir(run_path).read_info()["step"] == 30,
                    timeout=WAIT_MS)  # fmt: skip
    assert RunDir(run_path).read_info()["status"] == "finished" and RunDir(run_path).read_metrics()[-1]["step"] == 30


def test_resuming_a_finished_epoch_length_run_says_to_raise_epochs(qtbot, window, tmp_path):
    """Its Steps field is greyed (epochs decide the length): the way out is Epochs, not Steps."""
    from tiny_runs import trained_run_path

    run_path = trained_run_path(tmp_path / "by-epochs", "gan", "ring8", epochs=0.004)
    assert RunDir(run_path).read_info()["status"] == "finished"
    assert window.open_run(run_path)
    window.resume_run(run_path)
    assert not window.session.training and "raise Epochs in the Setup above 0.004, then Resume" in window.banner.message
    qtbot.wait(50)  # the Setup was raised after the banner showed: the banner stays over it (it was half hidden)
    for point in (window.banner.geometry().topLeft() + QPoint(30, 12), window.banner.geometry().center()):
        found = window.childAt(point)
        assert found is window.banner or window.banner.isAncestorOf(found), found


def test_a_long_message_is_one_line_over_the_docks_title_bars_until_opened(qtbot, window):
    """The banner floats over the docks: a many-line message (an export report) hid the Plots and Samples
    toolbars and most of the Explorer (review s13V). Shut, it is one line, cut with "…" and whole in its tooltip;
    "more" opens it whole, "less" shuts it; no panel's controls lie under it while it is shut."""
    report = "exported dcgan generator of run 'r' at step 200\n" + "\n".join(
        f"  line {i}  " + "x" * 90 for i in range(8)
    )
    window.show_notice(report)
    qtbot.wait(20)
    banner = window.banner
    assert banner.isVisible() and banner.more_button.isVisible() and not banner.expanded
    assert banner.height() <= banner.label.fontMetrics().lineSpacing() + 16
    assert banner.label.text().startswith("exported dcgan generator") and "line 3" not in banner.label.text()
    assert banner.label.toolTip() == report
    for panel in (window.plots, window.samples, window.setup):
        top = panel.mapTo(window, QPoint(0, 0)).y()
        assert top >= banner.geometry().bottom() - 2, (type(panel).__name__, top, banner.geometry())
    banner.more_button.click()
    qtbot.wait(20)
    assert banner.expanded and "line 7" in banner.label.text() and banner.more_button.text().startswith("less")
    assert banner.height() >= 8 * banner.label.fontMetrics().lineSpacing()
    banner.more_button.click()
    qtbot.wait(20)
    assert not banner.expanded and banner.height() <= banner.label.fontMetrics().lineSpacing() + 16
    window.show_message("error", "short")  # a message that fits on one line has no "more"
    qtbot.wait(20)
    assert not banner.more_button.isVisible() and banner.label.toolTip() == ""


def test_follows_a_run_written_by_another_trainer(qtbot, window, tmp_path):
    """A run still being written (as by a headless `gan-studio train`) is followed live."""
    win = window
    config = TrainConfig(data="ring8", steps=400, batch_size=32, log_every=2, sample_every=10, checkpoint_every=0)
    model_config = GANConfig(g_hidden=16, d_hidden=16, g_layers=1, d_layers=1, latent_dim=4)
    trainer = Trainer.new("gan", model_config, config, workspace=win.runs.workspace)
    go_on = threading.Event()

    def headless():
        for update in trainer:
            if isinstance(update, Metrics) and update.step >= 20:
                go_on.wait(60)  # let the window open the run mid-training

    thread = threading.Thread(target=headless, daemon=True)
    thread.start()
    qtbot.waitUntil(lambda: len(RunDir(trainer.run.path).read_metrics()) >= 10, timeout=WAIT_MS)
    win.runs.refresh()
    assert win.runs.status_of(trainer.run.path) == "running"
    assert win.open_run(trainer.run.path)
    seen = win.plots.point_count("d_loss")
    grids = len(win.samples.steps)
    assert seen >= 10
    go_on.set()
    qtbot.waitUntil(lambda: win.plots.point_count("d_loss") >= seen + 20, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(win.samples.steps) > grids, timeout=WAIT_MS)
    thread.join(WAIT_MS / 1000)
    qtbot.waitUntil(lambda: win.plots.point_count("d_loss") == 200, timeout=WAIT_MS)  # every record, once
    qtbot.waitUntil(lambda: win.runs.status_of(trainer.run.path) == "finished", timeout=WAIT_MS)
    assert win.samples.current[0] == 400


def test_a_followed_run_whose_trainer_died_or_whose_folder_moved_is_said_so(qtbot, window, tmp_path):
    """Followed from disk, a headless run killed with -9 (or moved) froze the view at its last step with an
    ETA that never came, and nothing said the training had stopped (s11O O9)."""
    import socket

    from tiny_runs import trained_run_path

    run = trained_run_path(tmp_path / "headless", "gan", "ring8", steps=4)
    info = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**info, "status": "running"}))  # as a killed trainer leaves it
    (run / ".lock").write_text(json.dumps({"host": socket.gethostname(), "pid": 999_999_999, "who": "train"}))
    win = window
    assert win.open_run(run) and win.session.following
    win.session.check_followed_trainer()
    assert not win.session.following and win.session.state == "idle" and win.session.run.status == "interrupted"
    assert "stopped at step 4 without finishing" in win.banner.message and win.controls.eta_value.text() == "–"

    (run / ".lock").unlink()
    assert win.open_run(run) and win.session.following
    run.rename(tmp_path / "moved")
    win.session.check_followed_trainer()
    assert not win.session.following and "was moved or deleted while it trained" in win.banner.message

    finished = trained_run_path(tmp_path / "finished", "gan", "ring8", steps=4)  # a finished run did not train then
    assert win.open_run(finished)
    finished.rename(tmp_path / "renamed")
    win.session.check_followed_trainer()
    assert "finished was moved or deleted: what is shown is what was read before" in win.banner.message


def test_opening_another_run_while_one_trains_shows_it_in_the_explorer(qtbot, window, tmp_path):
    from tiny_runs import trained_run_path

    other = trained_run_path(tmp_path / "other", "gan", "ring8", steps=4)
    win = window
    explorer = win.optional_panels["ExplorerPanel"]
    assert explorer.runs_folder == win.runs.workspace  # its Open run… starts where the runs are
    set_up_tiny_gan(win)
    win.start_training()
    qtbot.waitUntil(lambda: win.session.state == "running", timeout=WAIT_MS)
    training = win.session.run_path
    assert win.session.run.trained_here  # the Explorer may offer Pause to explore it before its first checkpoint
    assert win.open_action.isEnabled() and not win.resume_action.isEnabled()  # Ctrl+O works; Resume: it trains
    with qtbot.waitSignal(explorer.source_changed, timeout=WAIT_MS):
        assert win.open_run(other)  # Runs → Open: not refused
    assert Path(explorer.source.path) == other and "opened in the Explorer" in win.statusBar().currentMessage()
    assert win.session.run_path == training and win.session.training  # the curves stay on the training run
    win.session.stop()
    qtbot.waitUntil(lambda: win.session.state == "idle", timeout=WAIT_MS)


def test_bad_dataset_path_and_corrupt_file_are_shown_not_raised(qtbot, window, tmp_path):
    win = window
    set_up_tiny_gan(win, data=str(tmp_path / "missing-folder"))
    assert not win.setup.valid and not win.controls.start_button.isEnabled()
    assert "no such file or folder" in win.setup.dataset.problem_label.text()
    win.start_training()
    assert "cannot start" in win.statusBar().currentMessage()

    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"this is not a zip archive")
    win.setup.dataset.path_edit.setText(str(corrupt))
    assert win.setup.valid
    win.start_training()
    qtbot.waitUntil(lambda: win.session.state == "idle" and win.banner.text() != "", timeout=WAIT_MS)
    assert win.banner.level == "error"
    assert "corrupt.npz" in win.banner.text() and "corrupt" in win.banner.text().split("corrupt.npz")[1]
    assert win.banner.isVisible() and win.controls.start_button.isEnabled()
    # the banner floats over the panels' top: one line until opened (it was ~3x its text, hiding headers)
    assert win.banner.height() <= win.banner.label.fontMetrics().lineSpacing() + 16, win.banner.height()
    # fixed and started: the old problems leave the status bar and the banner
    set_up_tiny_gan(win)
    win.start_training()
    qtbot.waitUntil(lambda: win.session.state == "running", timeout=WAIT_MS)
    assert "cannot start" not in win.statusBar().currentMessage() and "corrupt" not in win.statusBar().currentMessage()
    assert not win.banner.isVisible()
    win.session.stop()
    qtbot.waitUntil(lambda: win.session.state == "idle", timeout=WAIT_MS)


def test_diverged_run_is_reported_in_the_window(qtbot, window, tmp_path, monkeypatch):
    points = tmp_path / "points.npz"
    np.savez(points, x=np.random.default_rng(0).normal(size=(256, 2)).astype(np.float32))
    real_step = VAERecipe.step
    monkeypatch.setattr(VAERecipe, "step", lambda self, batches, step: {  # losses turn NaN at once
        k: v * float("nan") for k, v in real_step(self, batches, step).items()})  # fmt: skip
    win = window
    choose(win.setup.model_combo, "vae")
    choose(win.setup.dataset.combo, "__local__")
    win.setup.dataset.path_edit.setText(str(points))
    type_into(win.setup.model_form, {"hidden": 8, "layers": 1, "latent_dim": 2})
    type_into(win.setup.train_form, {"steps": 50, "batch_size": 16, "log_every": 2, "checkpoint_every": 0})
    win.start_training()
    qtbot.waitUntil(lambda: win.banner.text() != "" and win.session.state == "idle", timeout=WAIT_MS)
    assert "diverged" in win.banner.text() and "became nan" in win.banner.text()
    assert RunDir(win.session.run_path).read_info()["status"] == "diverged"


def test_exception_in_the_worker_is_shown(qtbot, window, monkeypatch):
    def broken_step(self, next_batch, step):
        raise RuntimeError("simulated crash inside a training step")

    monkeypatch.setattr(GANRecipe, "step", broken_step)
    win = window
    set_up_tiny_gan(win, steps=10)
    win.start_training()
    qtbot.waitUntil(lambda: win.session.state == "idle" and win.banner.text() != "", timeout=WAIT_MS)
    assert "simulated crash inside a training step" in win.banner.text()
    assert win.controls.start_button.isEnabled()  # the app goes on


def training_in_a_window_of_its_own(qtbot, tmp_path) -> MainWindow:
    """A window (not the fixture's: these tests close it) training a tiny GAN, past its 4th step."""
    win = MainWindow(workspace=tmp_path / "runs")
    qtbot.addWidget(win)
    win.show()
    set_up_tiny_gan(win)
    win.start_training()
    qtbot.waitUntil(lambda: win.session.state == "running" and current_step(win) >= 4, timeout=WAIT_MS)
    return win


def test_closing_while_training_stops_within_2s_and_leaves_a_resumable_run(qtbot, tmp_path):
    win = training_in_a_window_of_its_own(qtbot, tmp_path)
    worker, run_path = win.session.worker, win.session.run_path
    told = []
    win.tell_before_closing = told.append
    started = time.perf_counter()
    win.close()
    elapsed = time.perf_counter() - started
    assert not worker.isRunning() and told == []  # saved: nothing to say
    assert elapsed < 2.0, f"closing took {elapsed:.2f} s"
    run = RunDir(run_path)
    assert run.read_info()["status"] == "stopped" and run.last_checkpoint.is_file()
    resumed = Trainer.from_checkpoint(run_path, {"steps": run.read_info()["step"] + 2})
    events = list(resumed)
    assert isinstance(events[-1], Finished) and events[-1].status == "finished"


def test_closing_while_training_on_a_full_disk_says_the_last_checkpoint_was_not_saved(qtbot, tmp_path, monkeypatch):
    """The window vanished; that the closing checkpoint was not written was said only on stderr (s11O O8)."""
    import gan_studio.engine.trainer as trainer_module
    from gan_studio.files import DiskFullError

    win = training_in_a_window_of_its_own(qtbot, tmp_path)

    def full(state, path, *args):
        raise DiskFullError("the disk is full: last.pt was not written", path)

    monkeypatch.setattr(trainer_module.ckpt, "save_run_checkpoint", full)
    told = []
    win.tell_before_closing = told.append
    win.close()
    assert len(told) == 1 and "last checkpoint was not saved" in told[0] and "the disk is full" in told[0]


def quit_action(win: MainWindow):
    return next(action for action in win.actions() if action.text() == "&Quit")


def test_quitting_while_training_asks_first_and_escape_keeps_it_training(qtbot, tmp_path):
    """Ctrl+Q during a training closed the window at once, stopping an hours-long run (review s17)."""
    win = training_in_a_window_of_its_own(qtbot, tmp_path)
    worker, run_path = win.session.worker, win.session.run_path
    asked = []
    win.ask_before_stopping = lambda text: asked.append(text) or False  # "Keep training" (Escape, the default)
    quit_action(win).trigger()
    assert len(asked) == 1 and "A training is running (step " in asked[0] and "Stop it and quit?" in asked[0]
    assert win.isVisible() and worker.isRunning() and win.session.state == "running"
    win.session.pause()
    qtbot.waitUntil(lambda: win.session.state == "paused", timeout=WAIT_MS)
    win.ask_before_stopping = lambda text: asked.append(text) or True  # "Stop and quit"
    quit_action(win).trigger()
    assert "A training is paused" in asked[-1] and not win.isVisible() and not worker.isRunning()
    assert RunDir(run_path).read_info()["status"] == "stopped" and RunDir(run_path).last_checkpoint.is_file()


def close_from_the_window_manager(win: MainWindow) -> None:
    """A close event to the window's native window, as the platform sends it for WM_DELETE_WINDOW: Qt hands it to
    the widget as a spontaneous one."""
    QApplication.sendEvent(win.windowHandle(), QCloseEvent())


def test_the_window_managers_close_asks_first_while_training_but_a_programs_close_does_not(qtbot, tmp_path):
    """The close button or Alt+F4 (a spontaneous close event, as the platform sends it) asks like Quit does;
    window.close() from code (a SIGTERM, tests) and a close with nothing training never ask."""
    win = training_in_a_window_of_its_own(qtbot, tmp_path)
    asked = []
    win.ask_before_stopping = lambda text: asked.append(text) or False
    close_from_the_window_manager(win)
    worker = win.session.worker
    assert len(asked) == 1 and win.isVisible() and worker.isRunning()
    win.close()
    assert len(asked) == 1 and not win.isVisible() and not worker.isRunning()

    idle = MainWindow(workspace=tmp_path / "runs")
    qtbot.addWidget(idle)
    idle.show()
    idle.ask_before_stopping = lambda text: asked.append(text) or False
    close_from_the_window_manager(idle)
    assert len(asked) == 1 and not idle.isVisible()


def test_window_layout_and_preferences_persist(qtbot, tmp_path, monkeypatch):
    home = os.environ["GAN_STUDIO_HOME"]
    monkeypatch.delenv("GAN_STUDIO_HOME")  # set for a start, it wins over the remembered workspace (below)
    first = MainWindow(workspace=tmp_path / "runs")
    qtbot.addWidget(first)
    first.show()
    choose(first.setup.model_combo, "vae")
    type_into(first.setup.model_form, {"latent_dim": 7})
    first.plots.set_log_y(True)
    first.docks["Runs"].hide()
    first.close()

    second = MainWindow()
    qtbot.addWidget(second)
    second.show()
    assert second.setup.model_name() == "vae"
    assert second.setup.model_form.editors["latent_dim"].raw_value() == "7"
    assert second.plots.log_y is True
    assert not second.docks["Runs"].isVisible()
    assert second.runs.workspace == tmp_path / "runs"
    second.close()
    monkeypatch.setenv("GAN_STUDIO_HOME", home)  # `GAN_STUDIO_HOME=DIR gan-studio`: runs in DIR/runs this time
    third = MainWindow()
    qtbot.addWidget(third)
    assert third.runs.workspace == Path(home) / "runs"
    third.close()


def test_shortcuts_and_menus(qtbot, window, tmp_path, monkeypatch):
    win = window
    shortcuts = {a.shortcut().toString() for a in win.actions()}
    assert {"Space", "Ctrl+Return", "Ctrl+S", "Ctrl+O"} <= shortcuts
    menus = [a.text().replace("&", "") for a in win.menuBar().actions()]
    assert menus[:2] == ["File", "Training"] and "View" in menus and "Help" in menus
    file_items = [a.text().replace("&", "") for a in win.menuBar().actions()[0].menu().actions() if a.text()]
    assert {"New run", "Open run…", "Export to ONNX…", "Quit"} <= set(file_items)
    view_items = [a.text() for a in win.menuBar().actions()[2].menu().actions() if a.text()]
    assert {"Setup", "Run controls", "Plots", "Samples", "Runs"} <= {plain(text) for text in view_items}
    mnemonics = [mnemonic_of(text) for text in view_items]
    assert all(mnemonics) and len(set(mnemonics)) == len(mnemonics)  # each item has its own Alt+letter

    set_up_tiny_gan(win)
    assert not win.step_action.isEnabled() and not win.stop_action.isEnabled()  # as the buttons: nothing to step
    qtbot.keyClick(win, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Return: Start
    qtbot.waitUntil(lambda: win.session.state == "running", timeout=WAIT_MS)
    log_y = win.plots.log_check.isChecked()
    win.activateWindow()
    win.plots.log_check.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is win.plots.log_check, timeout=WAIT_MS)
    qtbot.keyClick(win.plots.log_check, Qt.Key.Key_Space)  # Space on a check box toggles it, as anywhere
    assert win.plots.log_check.isChecked() != log_y and win.session.state == "running"
    win.plots.setFocus()
    qtbot.keyClick(win.plots, Qt.Key.Key_Space)  # Space: pause
    qtbot.waitUntil(lambda: win.session.state == "paused", timeout=WAIT_MS)
    assert win.step_action.isEnabled() and win.stop_action.isEnabled()
    paused_at = win.session.worker.trainer.step
    qtbot.keyClick(win.plots, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Right: one step
    qtbot.waitUntil(lambda: win.session.worker.trainer.step == paused_at + 1, timeout=WAIT_MS)
    qtbot.keyClick(win.plots, Qt.Key.Key_Space)  # Space: resume
    qtbot.waitUntil(lambda: win.session.state == "running", timeout=WAIT_MS)
    qtbot.keyClick(win.plots, Qt.Key.Key_Period, Qt.KeyboardModifier.ControlModifier)  # Ctrl+.: stop
    qtbot.waitUntil(lambda: win.session.state == "idle", timeout=WAIT_MS)
    assert not win.step_action.isEnabled() and not win.stop_action.isEnabled()
    run_path = win.session.run_path

    saved = tmp_path / "grid.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(saved), "PNG images (*.png)"))
    qtbot.keyClick(win.plots, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)  # Ctrl+S: save the grid
    assert saved.is_file() and saved.read_bytes() == win.samples.current[1].read_bytes()

    win.session.close_run()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(run_path))
    qtbot.keyClick(win.plots, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)  # Ctrl+O: open a run
    assert win.session.run_path == run_path and win.plots.point_count("d_loss") > 0


def test_export_reports_its_result(qtbot, window, monkeypatch):
    win = window
    win.export_current()
    assert "open or train a run first" in win.banner.text()

    set_up_tiny_gan(win, steps=4)
    win.start_training()
    qtbot.waitUntil(lambda: win.session.state == "idle" and win.session.run_path is not None, timeout=WAIT_MS)

    import gan_studio.export.onnx_export as onnx_export

    class Report:
        def __init__(self, family, part):
            self.metadata, self.part = {"family": family}, part

        def summary(self):
            return f"exported {self.part} to {self.part}.onnx (parity ok)"

    asked = []

    def exporting(family):
        return lambda path, part="generator": asked.append(part) or Report(family, part)

    monkeypatch.setattr(onnx_export, "export_run", exporting("gan"))
    told = []
    explorer = win.optional_panels["ExplorerPanel"]
    monkeypatch.setattr(explorer, "exports_changed", told.append)
    win.export_current()
    qtbot.waitUntil(lambda: win.export_task is None, timeout=WAIT_MS)
    assert "exported generator to generator.onnx" in win.banner.text() and asked == ["generator"]
    assert told == [win.session.run_path]  # the explorer may now draw with the export
    # a VAE's encoder goes beside its decoder: the Explorer's Encode tab on the exported decoder needs it
    monkeypatch.setattr(onnx_export, "export_run", exporting("vae"))
    win.export_current()
    qtbot.waitUntil(lambda: win.export_task is None, timeout=WAIT_MS)
    assert asked[1:] == ["generator", "encoder"] and "exported encoder to encoder.onnx" in win.banner.text()

    def failing(path):
        raise RuntimeError("opset not supported")

    monkeypatch.setattr(onnx_export, "export_run", failing)
    win.export_current()
    qtbot.waitUntil(lambda: win.export_task is None, timeout=WAIT_MS)
    assert win.banner.level == "error" and "opset not supported" in win.banner.text()


def test_app_command_without_display_prints_a_hint(monkeypatch, capsys):
    from gan_studio.cli import main

    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    code = main([])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "xvfb-run" in err[0] and "gan-studio train" in err[0]  # a way to a screen, or to work without one


def test_closing_right_after_opening_a_run_exits_cleanly(tmp_path):
    """In a fresh process: open a run, close at once, exit 0 (background work of panels is stopped first)."""
    images = tmp_path / "images.npz"
    np.savez(images, x=np.random.default_rng(0).integers(0, 255, size=(64, 16, 16), dtype=np.uint8))
    trainer = Trainer.new("dcgan", DCGANConfig(ngf=4, ndf=4, latent_dim=4),
                          TrainConfig(data=str(images), steps=4, batch_size=16, log_every=2), out=tmp_path / "run")  # fmt: skip
    for _ in trainer:
        pass
    script = (  # close as soon as the run is open, while panels may still load it in the background
        "import sys\n"
        "from gan_studio.ui.app import create_app\n"
        "from gan_studio.ui.main_window import MainWindow\n"
        "app = create_app()\n"
        "window = MainWindow(persist=False)\n"
        "window.show()\n"
        "window.open_run(sys.argv[1])\n"
        "app.processEvents()\n"
        "print('opened', window.session.run_path, flush=True)\n"
        "window.close()\n"
        "app.processEvents()\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "2"}  # torch thread pool at exit
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "run")], capture_output=True, text=True,
                          timeout=180, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"opened {tmp_path / 'run'}" in done.stdout
    assert "Fatal" not in done.stderr and "terminate called" not in done.stderr


def test_first_start_trains_the_default_recipe(window):
    """One click trains exactly training/dcgan-shapes.toml (what benchmarks/default_run.py measures)."""
    from gan_studio.commands.train import configs_from_values, read_recipe

    recipe = Path(__file__).resolve().parents[1] / "training" / "dcgan-shapes.toml"
    model, values, _ = read_recipe(str(recipe))
    _, recipe_train, recipe_model = configs_from_values(model, values, source=str(recipe))
    name, model_config, train_config = window.setup.build()
    assert (name, model_config) == (model, recipe_model)
    for field in ("data", "steps", "batch_size", "seed"):
        assert getattr(train_config, field) == getattr(recipe_train, field), field


def test_recipes_menu_lists_paper_presets_and_fills_the_setup(window):
    """File → Recipes offers training/*.toml; choosing "DCGAN (paper)" fills the Setup with exactly what
    `gan-studio train --config training/dcgan-paper.toml` would train."""
    from gan_studio.engine.settings import configs_from_values, read_recipe

    top = {plain(action.text()): action for action in window.recipes_menu.actions()}
    papers = [plain(a.text()) for a in top["Papers' presets"].menu().actions()]
    quality = [plain(a.text()) for a in top["Quality benchmark (the README's table)"].menu().actions()]
    assert {"dcgan-shapes", "dcgan-mnist", "vae-mnist"} <= set(top)  # starters at the top, the submenus after
    order = [plain(action.text()) for action in window.recipes_menu.actions()]
    assert (
        order.index("vae-mnist")
        < order.index("Papers' presets")
        < order.index("Quality benchmark (the README's table)")
    )
    assert {"dcgan-paper", "pacgan4-grid25-paper"} <= set(papers) and "quality-gan-grid25" in quality
    assert not any(name.endswith("-paper") or name.startswith("quality-") for name in top)
    paper = next(a for a in top["Papers' presets"].menu().actions() if plain(a.text()) == "dcgan-paper")
    mnemonics = [mnemonic_of(a.text()) for a in top["Papers' presets"].menu().actions()]
    assert all(mnemonics[:10]) and len(set(mnemonics)) == len(mnemonics)  # Alt+letter reaches them, one each
    assert "DCGAN (paper)" in paper.toolTip()
    paper.trigger()
    recipe = Path(__file__).resolve().parents[1] / "training" / "dcgan-paper.toml"
    model, values, _ = read_recipe(str(recipe))
    _, recipe_train, recipe_model = configs_from_values(model, values, source=str(recipe))
    name, model_config, train_config = window.setup.build()
    assert (name, model_config) == (model, recipe_model)
    assert (model_config.ngf, model_config.lr_g, train_config.batch_size) == (64, 2e-4, 128)
    for field in ("data", "steps", "batch_size", "seed", "sample_every"):
        assert getattr(train_config, field) == getattr(recipe_train, field), field


def test_opening_another_run_clears_the_banner_about_the_last_one(window, tmp_path):
    """A red 'run.json is not valid JSON' banner stayed up over the next run, opened fine (s11O O6)."""
    from tiny_runs import trained_run_path

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "run.json").write_text("{not json")
    assert not window.open_run(broken) and window.banner.level == "error" and "run.json" in window.banner.message
    assert window.open_run(trained_run_path(tmp_path / "good", "gan", "ring8", steps=2))
    assert window.banner.message == "" and not window.banner.isVisible()


def test_loading_a_recipe_keeps_the_run_on_view_open(window, tmp_path):
    """A user preparing the next run from a recipe still sees the last one (it closed: "No model open")."""
    from tiny_runs import trained_run_path

    run = trained_run_path(tmp_path / "last", "gan", "ring8", steps=2)
    assert window.open_run(run)
    recipe = Path(__file__).resolve().parents[1] / "training" / "dcgan-shapes.toml"
    assert window.load_recipe(recipe) and window.setup.model_name() == "dcgan"
    assert window.session.run_path == run and window.session.run is not None


def test_a_recipe_keeps_skip_bad_files_and_says_when_its_dataset_replaces_the_persons_folder(window, tmp_path):
    """With "skip bad files" ticked on a photo folder, File → Recipes → dcgan-shapes silently un-ticked it and put
    the shapes back: Start then failed on the folder's bad files (review s13V). A recipe sets what it names; "skip
    bad files" is about the person's files, and no recipe names it: it stays. A recipe's dataset replacing the
    person's folder is said, with the way back (the path box keeps the folder)."""
    photos = tmp_path / "photos"
    photos.mkdir()
    window.setup.set_dataset(str(photos))
    window.setup.train_form.set_values({"skip_bad_files": True})
    assert window.setup.train_form.raw_values()["skip_bad_files"] is True
    recipe = Path(__file__).resolve().parents[1] / "training" / "dcgan-shapes.toml"
    assert window.load_recipe(recipe)
    assert window.setup.train_form.raw_values()["skip_bad_files"] is True
    assert window.setup.dataset_spec() == "shapes"
    said = window.banner.message
    assert f"replaces {photos}" in said and "Local file or folder" in said and window.banner.isVisible()
    window.setup.dataset.combo.setCurrentIndex(window.setup.dataset.combo.findData(LOCAL_PATH))
    assert window.setup.dataset_spec() == str(photos)  # the way back the message gives
    recipe_with_it = tmp_path / "strict.toml"
    recipe_with_it.write_text("model = 'gan'\ndata = 'ring8'\nskip_bad_files = false\n")
    assert window.load_recipe(recipe_with_it) and window.setup.train_form.raw_values()["skip_bad_files"] is False
    assert window.load_recipe(recipe_with_it) and window.banner.message == ""  # same dataset: nothing to say


def test_a_bad_recipe_is_reported_and_leaves_the_setup_alone(window, tmp_path):
    before = window.setup.current_settings()
    cases = {
        "broken.toml": "model = 'dcgan'\n[dcgan\nngf = 3",
        "unknown.toml": "model = 'dcgan'\nwings = 2\n",
        "nomodel.toml": "[training]\nsteps = 5\n",
        "badvalue.toml": "model = 'gan'\n[gan]\nlatent_dim = -4\n",
    }
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text)
        assert window.load_recipe(path) is False
        assert name in window.statusBar().currentMessage(), window.statusBar().currentMessage()
        assert window.setup.current_settings() == before


def test_the_window_can_be_small_and_grown_back_to_the_same_layout(qtbot, window):
    """Shrunk to its minimum and grown back, every dock has its share again (not the Setup half the width)."""
    win = window
    win.resize(1440, 900)
    qtbot.wait(100)
    minimum = win.minimumSizeHint()
    assert minimum.width() <= 1024 and minimum.height() <= 680  # a 1024 x 768 screen holds it
    win.dock_shares.remember()  # the arrangement a person left
    before = {
        title: dock.geometry() for title, dock in win.docks.items() if dock.objectName() in win.dock_shares.shares
    }
    assert {"Setup", "Plots", "Samples", "Runs", "Run controls"} <= set(before)
    win.resize(minimum)
    qtbot.wait(100)
    win.resize(1440, 900)

    def same_layout() -> bool:
        return all(abs(win.docks[t].width() - g.width()) <= 4 and abs(win.docks[t].height() - g.height()) <= 4
                   for t, g in before.items())  # fmt: skip

    qtbot.waitUntil(same_layout, timeout=3000)


def test_a_floating_panel_docked_again_comes_to_the_front_of_its_tabs(qtbot, window):
    explorer, metrics = window.docks["Explorer"], window.docks["Metrics"]
    explorer.setFloating(True)
    qtbot.wait(50)
    window.tabifyDockWidget(window.docks["Plots"], explorer)
    explorer.setFloating(False)
    qtbot.waitUntil(lambda: not explorer.visibleRegion().isEmpty(), timeout=5000)
    assert metrics.visibleRegion().isEmpty()  # behind, not in front


def test_a_long_status_message_is_elided_before_the_run_name_and_whole_in_the_tooltip(qtbot, window):
    long = "advice at step 400: " + "a finding explained at length " * 20
    window.show_message("info", long)
    shown = window.statusBar().currentMessage()
    assert shown.endswith("…") and len(shown) < len(long) and window.statusBar().toolTip() == long
    metrics = window.statusBar().fontMetrics()
    assert metrics.horizontalAdvance(shown) <= window.statusBar().width() - window.run_label.sizeHint().width()
    window.show_message("info", "training finished at step 20")  # a short one is shown whole, no tooltip
    assert window.statusBar().currentMessage() == "training finished at step 20" and not window.statusBar().toolTip()


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no hangup signal on this platform")
def test_a_hangup_closes_the_app_as_sigterm_does_unless_started_under_nohup(monkeypatch):
    """Closing the terminal the app was started from killed it unsaved (run.json left 'running' at step 0)."""
    from gan_studio.ui.app import close_on_stop_signals

    class Window:
        closed = 0

        def close(self):
            Window.closed += 1

    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        monkeypatch.setattr(sys, "stdout", sys.stdout)  # muted by the hangup, restored after
        monkeypatch.setattr(sys, "stderr", sys.stderr)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)  # started from a terminal (this suite may run under nohup)
        close_on_stop_signals(Window())
        signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)
        assert Window.closed == 1
        signal.getsignal(signal.SIGHUP)(signal.SIGHUP, None)
        assert Window.closed == 2 and sys.stderr.name == os.devnull  # the terminal is gone: output goes nowhere
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # nohup
        close_on_stop_signals(Window())
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def test_resuming_a_run_without_a_checkpoint_says_it_starts_again_from_step_0(qtbot, window, tmp_path):
    """A run killed before its first checkpoint trains again from 0: the Runs panel showed its last logged
    step, and Resume restarted without a word."""
    from tiny_runs import trained_run_path

    run = trained_run_path(tmp_path / "killed", "gan", "ring8", steps=4)
    for checkpoint in (run / "checkpoints").iterdir():
        checkpoint.unlink()
    win = window
    assert win.open_run(run)
    win.resume_run(run)
    shown = win.statusBar().currentMessage()
    assert "no checkpoint to continue from" in shown and "step 0" in shown, shown
    qtbot.waitUntil(lambda: win.session.state == "idle", timeout=WAIT_MS)
    assert RunDir(run).read_info()["step"] == 4 and RunDir(run).read_info()["status"] == "finished"


def test_a_preferences_file_that_is_a_fifo_does_not_hang_the_app(tmp_path):
    """A FIFO at ~/.config/gan-studio/settings.ini hung the app at start, with no window, until killed. The
    session's stand-in preferences file is removed at exit (one was left in the temporary folder per session)."""
    config = tmp_path / "config"
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    (config / "gan-studio").mkdir(parents=True)
    os.mkfifo(config / "gan-studio" / "settings.ini")
    code = ("from gan_studio.ui.app import create_app; from gan_studio.ui.main_window import MainWindow; "
            "create_app(); w = MainWindow(); w.save_preferences(); print('window made')")  # fmt: skip
    env = {**os.environ, "XDG_CONFIG_HOME": str(config), "QT_QPA_PLATFORM": "offscreen", "TMPDIR": str(temporary)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0 and "window made" in result.stdout, result.stderr[-2000:]
    assert "is a FIFO (named pipe), not a file: preferences are neither read nor saved" in result.stderr
    assert not list(temporary.glob("gan-studio-settings-*")), list(temporary.iterdir())


def test_starting_a_new_run_clears_the_run_on_view_at_once(qtbot, window, tmp_path):
    """While a new run prepared its data, the window still showed the last run: its curves, grid, advice and its
    name in the status bar beside "Loading data and building the model…"; a start that then failed left the old
    run under the red banner (review s13V). The old run goes when Start is pressed, and comes back when no run
    came of it (it stayed closed: "No model open", review s16Z #7)."""
    from tiny_runs import trained_run_path

    old = trained_run_path(tmp_path / "old", "gan", "ring8", steps=4)
    win = window
    assert win.open_run(old) and win.samples.run_name == "old"
    junk = tmp_path / "junk"  # a folder with no images: a start that fails while loading the data
    junk.mkdir()
    (junk / "notes.txt").write_text("not a picture")
    set_up_tiny_gan(win, steps=4, data=str(junk))
    win.start_training()
    assert win.session.run is None and win.samples.run_name == "" and "old" not in win.windowTitle()
    qtbot.waitUntil(lambda: win.session.state in ("idle", "following") and win.session.run is not None,
                    timeout=WAIT_MS)  # fmt: skip
    assert win.banner.level == "error" and win.session.run_path == old and win.samples.run_name == "old"
