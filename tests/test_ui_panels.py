"""Each panel on its own (offscreen): the setup form and its validation, plots (buffers, options,
markers, overlays, 100,000 points), the samples timeline and labels, the runs list, following a run."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit
from tiny_runs import train_tiny_run

from gan_studio import progress_rate
from gan_studio.config import field_specs
from gan_studio.data.prepare import CHANGED, ELSEWHERE
from gan_studio.engine.settings import TrainConfig
from gan_studio.errors import GanStudioError
from gan_studio.events import Advice, Finished, HParamChanged, Metrics, Sample, Started
from gan_studio.models import MODEL_NAMES, MODELS, DCGANConfig
from gan_studio.state.follow import RunTail
from gan_studio.state.run_state import RunState
from gan_studio.state.series import Series
from gan_studio.store.lock import RunLock
from gan_studio.store.pictures import image_grid, save_png
from gan_studio.store.rundir import RunDir
from gan_studio.ui.number_text import format_duration, short_duration
from gan_studio.ui.panels.plots import PlotsPanel
from gan_studio.ui.panels.run_controls import RunControlsPanel
from gan_studio.ui.panels.runs import RunsPanel, resumable
from gan_studio.ui.panels.samples import SamplesPanel
from gan_studio.ui.panels.setup import SetupPanel
from gan_studio.ui.session import RunSession

GAN_RECORD = {"epoch": 0.1, "time": 1.0, "samples_per_s": 100.0, "d_loss": 1.2, "g_loss": 0.8, "d_real": 0.6,
              "d_fake": 0.4}  # fmt: skip


def make_run(folder: Path, model: str = "cdcgan", steps=(10, 20, 30), class_names=("circle", "square", "star"),
             status: str = "stopped", metrics: int = 5) -> Path:  # fmt: skip
    """A run directory as the trainer writes it, with small grids (one row per class)."""
    run = RunDir(folder)
    run.create()
    info = {"model": model, "status": status, "created": time.time(), "steps_total": 100,
            "dataset": {"name": "toy", "class_names": list(class_names)},
            "data_info": {"kind": "images", "shape": [1, 8, 8], "num_classes": len(class_names),
                          "class_names": list(class_names)},
            "model_config": {"ngf": 8}, "train_config": {"data": "shapes", "steps": 100}}  # fmt: skip
    run.write_info(info)
    for i in range(metrics):
        run.record(Metrics((i + 1) * 10, values={**GAN_RECORD, "d_loss": 1.0 + i}))
    run.record(HParamChanged(20, name="lr_g", old=2e-4, new=1e-4))
    rng = np.random.default_rng(0)
    for step in steps:
        tiles = rng.integers(0, 255, size=(len(class_names) * 4, 8, 8, 1), dtype=np.uint8)
        save_png(image_grid(tiles, 4), run.sample_path(step))
        run.record(Sample(step, path=run.relative(run.sample_path(step))))
    save_png(image_grid(np.zeros((len(class_names) * 4, 8, 8, 1), np.uint8), 4), run.samples_dir / "real.png")
    return folder


# setup ------------------------------------------------------------------------------------------------------
def test_setup_lists_the_six_models_and_the_datasets_and_defaults_to_dcgan_on_shapes(qtbot):
    panel = SetupPanel()
    qtbot.addWidget(panel)
    models = [panel.model_combo.itemData(i) for i in range(panel.model_combo.count())]
    assert models == MODEL_NAMES
    assert panel.model_name() == "dcgan" and panel.dataset_spec() == "shapes"
    assert panel.model_description.text() == MODELS["dcgan"].description
    datasets = [panel.dataset.combo.itemData(i) for i in range(panel.dataset.combo.count())]
    assert {"ring8", "shapes", "mnist", "cifar10", "__local__"} <= set(datasets)
    assert panel.valid and panel.problems() == []
    name, model_config, train_config = panel.build()
    assert name == "dcgan" and isinstance(model_config, DCGANConfig) and train_config.data == "shapes"
    assert (model_config.ngf, model_config.ndf, model_config.ema_decay) == (16, 16, 0.99)  # the measured default


def test_setup_form_is_generated_from_the_config_with_tooltips_and_editor_kinds(qtbot):
    panel = SetupPanel()
    qtbot.addWidget(panel)
    form = panel.model_form
    assert set(form.editors) == {s.name for s in field_specs(DCGANConfig)}
    assert isinstance(form.editors["g_loss"].editor, QComboBox)  # choices
    assert isinstance(form.editors["lr_g"].editor, QLineEdit)
    assert "generator learning rate" in form.editors["lr_g"].editor.toolTip()
    train_names = set(panel.train_form.editors)
    assert train_names == {s.name for s in field_specs(TrainConfig)} - {"data"}
    assert isinstance(panel.train_form.editors["sync_batchnorm"].editor, QCheckBox)  # bool
    assert isinstance(panel.train_form.editors["device"].editor, QComboBox)
    assert "seed" in train_names and "device" in train_names
    panel.set_model("vae")
    assert "beta" in panel.model_form.editors and "lr" in panel.model_form.editors


def test_setup_validation_shows_the_problem_and_disables_start(qtbot):
    panel = SetupPanel()
    qtbot.addWidget(panel)
    controls = RunControlsPanel()
    qtbot.addWidget(controls)
    panel.validity_changed.connect(controls.set_start_allowed)
    lr = panel.model_form.editors["lr_g"]
    lr.editor.setText("2.5")
    assert not panel.valid and not controls.start_button.isEnabled()
    assert "lr g must be <= 1" in lr.problem_label.text() and not lr.problem_label.isHidden()
    lr.editor.setText("abc")
    assert "must be a number" in lr.problem_label.text()
    lr.editor.setText("1e-4")
    assert panel.valid and controls.start_button.isEnabled() and lr.problem_label.isHidden()
    panel.train_form.editors["batch_size"].editor.setText("0")
    assert not panel.valid
    panel.train_form.editors["batch_size"].editor.setText("32")
    panel.set_dataset("ring8")  # DCGAN on 2D points cannot work
    assert not panel.valid and "for images" in panel.dataset.problem_label.text()
    panel.set_model("gan")
    assert panel.valid
    panel.train_form.editors["batch_size"].editor.setText("1")  # each form fine alone, not together
    assert not panel.valid and not controls.start_button.isEnabled()
    assert "batch size 1 is too small for the BatchNorm" in panel.train_form.general_problem.text()
    assert not panel.train_form.general_problem.isHidden()
    panel.train_form.editors["batch_size"].editor.setText("2")
    assert panel.valid and panel.train_form.general_problem.isHidden()


def test_setup_fits_its_dock_for_every_model_with_long_paths_and_problems(qtbot):
    """Nothing in the Setup may be wider than its dock (it has no sideways scroll bar): not the longest
    choice of a combo, not a message naming a long path without spaces, for any model."""
    from PySide6.QtWidgets import QWidget

    from gan_studio.ui.main_window import SETUP_WIDTH

    panel = SetupPanel()
    qtbot.addWidget(panel)
    panel.resize(SETUP_WIDTH, 900)
    panel.show()
    panel.advanced_check.setChecked(True)  # every field, the longest choices too
    content = panel.findChild(QWidget, "setup_content")
    room = SETUP_WIDTH - panel.style().pixelMetric(panel.style().PixelMetric.PM_ScrollBarExtent)
    long_path = "/home/someone/" + "very_long_folder_name_" * 8 + "ünïcödé/" + "x" * 90
    for name in MODEL_NAMES:
        panel.set_model(name)
        panel.set_dataset(long_path)  # does not exist: its problem names it whole
        panel.model_form.editors["latent_dim"].editor.setText("y" * 150)  # a problem quoting a long value
        qtbot.wait(1)
        assert long_path in panel.dataset.problem_label.text()
        assert content.minimumSizeHint().width() <= room, name
    combo = panel.model_form.editors["loss"].editor
    combo.showPopup()  # its list still shows every choice whole
    assert combo.view().width() >= combo.view().sizeHintForColumn(0)
    combo.hidePopup()


def test_setup_locks_while_training_except_live_hyperparameters(qtbot):
    panel = SetupPanel()
    qtbot.addWidget(panel)
    edits = []
    panel.live_edited.connect(lambda name, value: edits.append((name, value)))
    panel.set_training(True)
    assert not panel.model_combo.isEnabled() and not panel.model_form.editors["ngf"].isEnabled()
    assert not panel.train_form.editors["steps"].isEnabled()
    lr = panel.live_editor("lr_d")
    assert lr.isEnabled() and panel.model_form.editors["d_steps"].isEnabled()
    lr.setText("0.001")
    lr.editingFinished.emit()
    lr.editingFinished.emit()  # focus out without a change: no second request
    assert edits == [("lr_d", 0.001)]
    panel.set_training(False)
    assert panel.model_combo.isEnabled() and panel.model_form.editors["ngf"].isEnabled()


def test_setup_downloads_with_progress_and_cancel(qtbot, monkeypatch):
    import gan_studio.data.download as download
    import gan_studio.ui.widgets.dataset_picker as picker_module

    monkeypatch.setattr(picker_module, "dataset_is_downloaded", lambda name: False)
    progress = []

    def fake_ensure(name, progress=None, cancel=None, **kwargs):
        for done in range(0, 11):
            if cancel.is_set():
                raise download.DataError("download cancelled")
            progress(done * 100, 1000)
            time.sleep(0.05)
        return Path("/tmp")

    monkeypatch.setattr(download, "ensure_dataset", fake_ensure)
    panel = SetupPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.set_dataset("mnist")
    assert panel.dataset.download_row.isVisible() and panel.needs_download()
    panel.dataset.progress.valueChanged.connect(progress.append)
    with qtbot.waitSignal(panel.download_finished, timeout=20000) as done:
        panel.start_download()
        assert not panel.valid  # no Start while downloading
    assert done.args[0] is True and max(progress) == 1000

    with qtbot.waitSignal(panel.download_finished, timeout=20000) as cancelled:
        panel.start_download()
        panel.dataset.cancel_download()
    assert cancelled.args == [False, "download cancelled"]
    assert panel.dataset.download_task is None
    # the failure is readable text beside the Download button, not squeezed into a progress bar
    note = panel.dataset.download_note
    assert note.isVisible() and note.wordWrap() and "download failed: download cancelled" in note.text()
    assert not panel.dataset.progress.isVisible()

    # pressing Download keeps the focus in the row (it used to jump to a field further down, scrolling the Setup)
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow, timeout=5000)
    panel.dataset.download_button.setFocus()
    with qtbot.waitSignal(panel.download_finished, timeout=20000):
        qtbot.mouseClick(panel.dataset.download_button, Qt.MouseButton.LeftButton)
        assert panel.dataset.cancel_button.hasFocus()


def test_a_run_that_left_bad_files_out_says_which_when_it_starts(qtbot):
    """With "skip bad files" on, the window said nothing of the files left out (only run.json listed them)."""
    session = RunSession()
    session.run = RunState()
    session.run.info = {"dataset": {"skipped_files": 5, "skipped": [{"name": "circle/notes.png", "reason": "text"},
                                                                    {"name": "square/cut.jpg", "reason": "truncated"}]}}  # fmt: skip
    with qtbot.waitSignal(session.message, timeout=1000) as blocker:
        session._announce(Started(0, total_steps=10))
    assert blocker.args[1] == "5 bad files left out (circle/notes.png, square/cut.jpg and 3 more): run.json lists them"


# run controls ------------------------------------------------------------------------------------------------
def test_run_controls_progress_eta_and_button_states(qtbot, monkeypatch):
    session = RunSession()
    panel = RunControlsPanel(session)
    qtbot.addWidget(panel)
    assert panel.start_button.isEnabled() and not panel.pause_button.isEnabled()
    panel.set_state("running")
    assert not panel.start_button.isEnabled() and panel.pause_button.text() == "Pause"
    assert not panel.step_button.isEnabled()
    panel.set_state("paused")
    assert panel.pause_button.text() == "Resume" and panel.step_button.isEnabled()
    requests = []
    session.resume_training = lambda: requests.append("resume")  # the button calls the session directly
    session.state = "paused"
    panel.toggle_pause()
    assert requests == ["resume"]
    panel.set_state("running")  # as the session reports once the trainer resumed
    run = RunState()
    panel.set_run(run)
    run.apply(Started(0, total_steps=1000))
    run.apply(Metrics(100, values={"epoch": 0.5, "time": 10.0, "samples_per_s": 640.0}))
    run.apply(Metrics(200, values={"epoch": 1.0, "time": 20.0, "samples_per_s": 640.0}))
    assert panel.progress.value() == 200 and panel.progress.maximum() == 1000
    assert panel.step_value.text() == "200 / 1,000" and panel.epoch_value.text() == "1.00"
    assert panel.rate_value.text() == "640"
    assert panel.eta_value.text() == "1 min 20 s"  # 800 steps at 0.1 s
    panel.resize(330, 200)  # the Setup column's width: "4 min 12 s" showed as "4 min …"
    panel.show()
    qtbot.waitExposed(panel)
    for step in range(300, 800, 100):  # slower steps: an ETA of minutes and seconds
        run.apply(Metrics(step, values={"epoch": step / 200, "time": step * 0.6, "samples_per_s": 640.0}))
    full, shown = panel.eta_value.text(), panel.eta_value.shown_text()
    assert " min " in full and full.endswith(" s") and "…" not in shown  # whole, or the shorter "N min"
    assert shown == full or re.fullmatch(r"\d+ min", shown), (full, shown)
    run.apply(Advice(150, code="d_overpowering", message="D overpowering G: D(x) 0.99", action="Lower lr_d."))
    assert "step 150: D overpowering G" in panel.health_label.text()
    assert "D(x) 0.99" in panel.advice_details() and "What to do: Lower lr_d." in panel.advice_details()
    # the gravest finding stays on the line: a blow-up (error) is not replaced by a later warning (review s15Y #9)
    run.apply(Advice(160, code="blow_up", severity="error", message="D loss is blowing up: 140", action="Lower lr."))
    run.apply(Advice(180, code="oscillation", message="oscillation: D(G(z)) swings", action="Lower beta1."))
    assert "step 160: D loss is blowing up" in panel.health_label.text() and ">+2 more</a>" in panel.health_label.text()
    assert "oscillation" in panel.advice_details()
    assert format_duration(3725) == "1 h 02 min"
    assert [short_duration(s) for s in (45, 252, 3725, 12600, 10**6)] == ["45 s", "4 min", "62 min", "3.5 h", "12 d"]
    panel.set_state("paused")
    assert panel.eta_value.text() == "paused"  # no countdown while nothing runs

    # a start that fails while preparing its data leaves no stale "preparing data" bar behind
    panel.set_run(None)
    panel.set_state("starting")
    panel.show_data_progress(122, 122)
    assert panel.progress.format().startswith("preparing data")
    assert "done once" in panel.state_label.text()
    panel.show_data_progress(200_001, CHANGED)  # the folder changed since its last preparation: why it takes long
    panel.show_data_progress(5, 200_002)
    assert "again: it changed since it was last prepared, when it had 200,001 images" in panel.state_label.text()
    panel.show_data_progress(0, ELSEWHERE)  # the cache cannot be written: where the data goes instead, said
    panel.show_data_progress(6, 200_002)
    assert "again in a temporary folder (the dataset cache cannot be written)" in panel.state_label.text()
    assert "GAN_STUDIO_CACHE" in panel.state_label.toolTip()
    panel.set_state("idle")
    panel.set_state("starting")  # another start: its own rate
    assert "temporary" not in panel.state_label.text() + panel.state_label.toolTip()
    clock = iter([100.0, 104.0])  # 1,000 images a second once the decoding has settled: an ETA, as the CLI's
    monkeypatch.setattr(progress_rate.time, "monotonic", lambda: next(clock))
    panel.show_data_progress(1_000, 200_002)
    panel.show_data_progress(5_000, 200_002)
    assert panel.eta_value.text() == "3 min 15 s"  # 195,002 left at 1,000 a second
    panel.set_state("idle")
    assert panel.progress.format() == "no run" and panel.progress.maximum() == 1


# plots -----------------------------------------------------------------------------------------------------------
def test_series_grows_by_doubling_and_smooths_incrementally():
    series = Series(capacity=4)
    for i in range(10):
        series.append(i, i / 10, i * 2.0, float(i))
    assert len(series) == 10 and series.capacity == 16
    assert list(series.x("time")[:3]) == [0.0, 2.0, 4.0]
    series.set_smoothing(0.5)  # debiased as TensorBoard's: the weighted mean of the points so far
    assert series.smoothed[1] == pytest.approx(0.5 / 0.75) and series.smoothed[2] == pytest.approx(1.25 / 0.875)
    series.append(10, 1.0, 20.0, 10.0)
    appended = series.smoothed[-1]
    series.set_smoothing(0.5)  # the same value whether appended or recomputed
    mean = sum(0.5 ** (10 - i) * i for i in range(11)) / sum(0.5 ** (10 - i) for i in range(11))
    assert appended == pytest.approx(series.smoothed[-1]) == pytest.approx(mean)


@pytest.mark.parametrize("smoothing", [0.3, 0.9, 0.99])
def test_heavy_smoothing_follows_the_data_not_its_first_value(smoothing):
    """At 0.99 the smoothed G loss stayed near the first logged value, 1.0, while every point after step 40 was
    0.75 (review s16Z #3): the EMA started at the first point. Debiased, it is a weighted mean of the points so far;
    a point that is not finite (a blown-up loss) is shown as it is and left out of the mean."""
    series = Series()
    values = [1.0] * 5 + [0.75] * 55
    values[20] = float("nan")
    for i, value in enumerate(values):
        series.append(i, 0.0, float(i), value)
    series.set_smoothing(smoothing)
    finite = [v for v in values if v == v]
    weights = [smoothing ** (len(finite) - 1 - i) for i in range(len(finite))]
    assert series.smoothed[-1] == pytest.approx(sum(w * v for w, v in zip(weights, finite, strict=True)) / sum(weights))
    assert series.smoothed[-1] < 0.8 and series.smoothed[0] == 1.0 and series.smoothed[20] != series.smoothed[20]
    recomputed = series.smoothed.copy()
    fresh = Series()
    fresh.set_smoothing(smoothing)
    for i, value in enumerate(values):
        fresh.append(i, 0.0, float(i), value)
    assert np.allclose(fresh.smoothed, recomputed, equal_nan=True)  # live appends agree with a recomputation


def test_plots_gan_curves_options_markers_and_overlay(qtbot, tmp_path):
    run_a = make_run(tmp_path / "a", model="dcgan")
    run_b = make_run(tmp_path / "b", model="dcgan", metrics=3)
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    state = RunState.load(run_a)
    panel.set_run(state)
    assert set(panel.plots) == {"Losses", "Discriminator outputs"}
    assert panel.point_count("d_loss") == 5 and panel.point_count("d_fake") == 5
    assert panel.marker_texts() == ["lr_g 0.0002 → 0.0001"]
    state.apply(Metrics(50, values=GAN_RECORD))  # already read from disk: ignored
    state.apply(Metrics(60, values={**GAN_RECORD, "modes": 7}))  # a new metric: own plot
    assert panel.point_count("d_loss") == 6 and "modes captured" in panel.plots  # titled by its label
    state.apply(HParamChanged(60, name="d_steps", old=1, new=2))
    state.apply(Advice(40, code="mode_collapse", severity="warning", message="m", action="a"))
    assert "⚑ mode collapse" in panel.marker_texts()
    assert "d_steps 1 → 2" in panel.marker_texts()
    panel.redraw()
    assert panel.drawn_points("g_loss") == 6

    panel.set_smoothing(0.0)
    panel.redraw()
    x, y = panel.curves["d_loss"].smooth.getData()
    assert list(y[:2]) == [1.0, 2.0]  # raw values without smoothing
    panel.set_x_axis("time")
    panel.redraw()
    x, _ = panel.curves["d_loss"].smooth.getData()
    assert list(x[:2]) == [1.0, 1.0]  # every record above has time 1.0
    panel.set_log_y(True)
    assert panel.plots["Losses"].ctrl.logYCheck.isChecked()

    records = panel.add_overlay(RunState.load(run_b))
    assert records == 3 and "b" in panel.overlays and panel.clear_overlay_button.isVisibleTo(panel)
    assert "b" in panel.clear_overlay_button.text()  # which run the dashed curves are is said beside them
    run_c = make_run(tmp_path / "c", model="dcgan", metrics=2)
    panel.add_overlay(RunState.load(run_c))  # a second compared run: its own mark and line style (review s12U)
    legend = [label.text for _, label in panel.plots["Losses"].legend.items]
    assert {"D loss · a", "D loss · b", "D loss · c"} <= set(legend)  # each entry names its run
    assert panel.clear_overlay_button.text().startswith("┄ b, ┈ c")
    panel.clear_overlays()
    assert not panel.overlays

    state.apply(Started(20, total_steps=100))  # resumed from a checkpoint at step 20
    assert panel.point_count("d_loss") == 2
    panel.set_run(None)
    assert not panel.plots and panel.point_count("d_loss") == 0


def test_plots_vae_family_and_non_finite_values(qtbot, tmp_path):
    run = make_run(tmp_path / "v", model="vae", metrics=0)
    RunDir(run).record(Metrics(1, values={"epoch": 0.0, "time": 0.1, "loss": 90.0, "recon": 80.0, "kl": 10.0}))
    (run / "metrics.jsonl").open("a").write('{"step":2,"epoch":0.0,"time":0.2,"loss":"nan","recon":"inf","kl":1}\n')
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.set_run(RunState.load(run))
    assert list(panel.plots) == ["VAE loss (nats per sample)"]
    assert panel.point_count("recon") == 2 and np.isinf(panel.curves["recon"].series.y[1])
    panel.redraw()  # non-finite values are drawn as gaps, not errors


def test_plots_stay_fast_with_100000_points(qtbot):
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 600)
    panel.show()
    state = RunState(info={"model": "gan"})
    panel.set_run(state)
    rng = np.random.default_rng(0)
    values = rng.random((100_000, 4))
    for i in range(100_000):
        state.apply(Metrics(i + 1, values={"epoch": i / 1000, "time": i * 0.01, "samples_per_s": 1.0,
                                           "d_loss": values[i, 0], "g_loss": values[i, 1], "d_real": values[i, 2],
                                           "d_fake": values[i, 3]}))  # fmt: skip
    assert panel.point_count("d_loss") == 100_000
    timings = []
    for step in range(100_001, 100_011):  # live appends at 100k points: redraw + paint each time
        state.apply(Metrics(step, values=GAN_RECORD))
        started = time.perf_counter()
        panel.redraw()
        panel.graphics.grab()
        timings.append(time.perf_counter() - started)
    assert panel.drawn_points("d_loss") == 100_010
    x_shown, _ = panel.curves["d_loss"].smooth.getData()
    assert len(x_shown) <= 4 * panel.graphics.width()  # peak downsampling: a few points per pixel column
    assert np.median(timings) < 0.5, f"redraw + paint took {np.median(timings) * 1000:.0f} ms"


# samples ------------------------------------------------------------------------------------------------------------
def test_samples_timeline_real_batch_class_labels_and_save(qtbot, tmp_path):
    run = make_run(tmp_path / "run")
    panel = SamplesPanel()
    qtbot.addWidget(panel)
    state = RunState.load(run)
    panel.set_run(state)
    assert [s for s, _ in panel.steps] == [10, 20, 30]
    assert panel.current[0] == 30 and panel.slider.maximum() == 2
    assert panel.real.picture is not None
    assert panel.generated.row_labels == ["circle", "square", "star"]
    shown, picture = panel.generated.shown, panel.generated.picture
    assert shown.shape[0] == picture.shape[0] and shown.shape[1] > picture.shape[1] + 20  # a margin for the names
    assert (shown[:, : shown.shape[1] - picture.shape[1]] > 150).any()  # ... written in it, left of the grid
    panel.slider.setValue(0)
    assert panel.current[0] == 10 and not panel.follow_check.isChecked()
    assert "step 10" in panel.position_label.text() and "grid 1 of 3" in panel.position_label.text()
    first = panel.generated.picture.copy()
    panel.slider.setValue(1)
    assert not np.array_equal(first, panel.generated.picture)

    new = RunDir(run).sample_path(40)
    save_png(np.full((30, 18), 200, np.uint8), new)
    state.apply(Sample(40, path="samples/step-0000040.png"))
    assert panel.current[0] == 20  # not following: the view stays where the user scrubbed
    panel.follow_check.setChecked(True)
    assert panel.current[0] == 40

    # resumed from a checkpoint of step 20: the grids after it are of a history that is gone
    state.apply(Started(20, total_steps=60, model=state.info.get("model", "cgan")))
    assert [s for s, _ in panel.steps] == [10, 20] and panel.current[0] == 20
    state.apply(Sample(40, path="samples/step-0000040.png"))  # the new history's grid of step 40
    assert panel.current[0] == 40

    saved = panel.save_png(tmp_path / "grid")
    assert saved.suffix == ".png" and Image.open(saved).size == (18, 30)
    # a full disk while saving over it: the file already there stays whole, no partial file is left (s11O O11)
    import errno as errno_module

    import gan_studio.files as files_module

    before = saved.read_bytes()

    def full(*_args):
        raise OSError(errno_module.ENOSPC, "No space left on device")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(files_module.os, "replace", full)
        with pytest.raises(GanStudioError, match="the disk is full"):
            panel.save_png(saved)
    assert saved.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir() if "grid" in p.name) == [
        "grid.png"
    ]
    zoom_before = panel.generated.view.viewRange()
    panel.zoom_in_button.click()
    assert panel.generated.view.viewRange()[0][1] - panel.generated.view.viewRange()[0][0] < (
        zoom_before[0][1] - zoom_before[0][0]
    )


def test_samples_unconditional_and_unreadable_grids(qtbot, tmp_path):
    run = make_run(tmp_path / "run", model="dcgan")
    (RunDir(run).sample_path(30)).write_bytes(b"not a png")
    panel = SamplesPanel()
    qtbot.addWidget(panel)
    messages = []
    panel.message.connect(lambda level, text: messages.append(text))
    panel.set_run(RunState.load(run))
    assert panel.generated.row_labels == []  # unconditional: no class labels
    assert messages and "cannot read picture" in messages[0] and "BufferedReader" not in messages[0]  # no Python repr
    panel.set_run(None)
    assert panel.current is None and panel.generated.picture is None


# runs -----------------------------------------------------------------------------------------------------------------
def test_runs_list_open_compare_resume_and_delete_with_confirmation(qtbot, tmp_path):
    workspace = tmp_path / "ws"
    make_run(workspace / "first", model="dcgan", status="finished")
    time.sleep(0.01)
    make_run(workspace / "second", model="cdcgan", status="stopped")
    (workspace / "not-a-run").mkdir()
    panel = RunsPanel(workspace)
    qtbot.addWidget(panel)
    assert panel.table.rowCount() == 2
    rows = {panel.table.item(r, 0).text(): [panel.table.item(r, c).text() for c in range(7)] for r in range(2)}
    assert rows["first"][1:5] == ["dcgan", "toy", "finished", "50"]
    assert "D loss 5" in rows["first"][5] and "G loss 0.8" in rows["first"][5]

    opened, resumed = [], []
    panel.open_requested.connect(opened.append)
    panel.resume_requested.connect(resumed.append)
    panel.select_run(workspace / "second")
    assert panel.resume_button.isEnabled()
    panel.open_button.click()
    panel.resume_button.click()
    assert opened == [workspace / "second"] and resumed == [workspace / "second"]
    panel.select_run(workspace / "first")
    assert panel.resume_button.isEnabled() and "more steps" in panel.resume_button.toolTip()  # to train further
    with RunLock(workspace / "second", who="gan-studio train"):  # another process is training it
        ok, why = resumable(workspace / "second", "running")
        assert not ok and "gan-studio train" in why
        panel.select_run(workspace / "first")
        panel.select_run(workspace / "second")
        assert not panel.resume_button.isEnabled() and "gan-studio train" in panel.resume_button.toolTip()
    assert resumable(workspace / "second", "running") == (True, "")  # ...its writer died: no lock held

    answers = iter([False, True])
    panel.confirm = lambda title, question: next(answers)
    assert not panel.delete_run(workspace / "first") and (workspace / "first").exists()
    assert panel.delete_run(workspace / "first") and not (workspace / "first").exists()
    assert panel.table.rowCount() == 1
    assert not panel.delete_run(workspace / "not-a-run") and (workspace / "not-a-run").exists()
    panel.set_protected({workspace / "second"})
    assert not panel.delete_run(workspace / "second") and (workspace / "second").exists()

    other = tmp_path / "elsewhere"
    make_run(other / "third")
    panel.set_workspace(other)
    assert panel.table.rowCount() == 1 and panel.table.item(0, 0).text() == "third"


def test_fork_from_the_runs_panel_copies_a_kept_checkpoint_into_a_new_run_and_opens_it(qtbot, tmp_path):
    workspace = tmp_path / "ws"
    source = train_tiny_run(workspace / "source", steps=6, checkpoint_every=2, keep_checkpoints=3).run.path
    panel = RunsPanel(workspace)
    qtbot.addWidget(panel)
    offered, opened, messages = [], [], []
    panel.open_requested.connect(opened.append)
    panel.message.connect(lambda level, text: messages.append((level, text)))
    panel.choose_checkpoint = lambda name, names: offered.append(names) or "step-4"
    panel.select_run(source)
    assert panel.fork_button.isEnabled()
    panel.fork_button.click()
    assert offered == [["step-2", "step-4", "step-6"]]  # last.pt is step 6: offered once
    assert len(opened) == 1 and opened[0].parent == workspace and opened[0] != source
    fork = RunState.load(opened[0])
    assert fork.step == 4 and fork.status == "stopped" and fork.info["forked_from"]["checkpoint"].endswith("4.pt")
    assert panel.selected_run() == opened[0] and panel.table.rowCount() == 2
    assert messages[-1][0] == "info" and "step-4" in messages[-1][1]

    panel.choose_checkpoint = lambda name, names: None  # cancelled: nothing is made
    assert panel.fork(source) is None and panel.table.rowCount() == 2
    (source / "checkpoints" / "step-0000002.pt").write_bytes(b"damaged")
    panel.choose_checkpoint = lambda name, names: "step-2"
    assert panel.fork(source) is None and panel.table.rowCount() == 2
    assert messages[-1][0] == "error" and "step-0000002.pt" in messages[-1][1]


# following ---------------------------------------------------------------------------------------------------------------
def test_a_followed_run_feeds_the_same_events_into_its_state(qtbot, tmp_path):
    run_path = make_run(tmp_path / "run", status="running")
    run = RunDir(run_path)
    session = RunSession()
    with open(run.metrics_file, "a") as fh:
        fh.write('{"step": 55, "d_lo')  # a line being written: not applied until it is complete
    assert session.open_run(run_path)
    seen = []
    session.run.subscribe(seen.append)
    session.poll()
    assert seen == []  # nothing new yet: what the run held was loaded into the state
    with open(run.metrics_file, "a") as fh:
        fh.write('ss": 1.0}\n')
    run.record(Metrics(60, values=GAN_RECORD))
    run.record(HParamChanged(60, name="lr_d", old=1e-4, new=5e-5))
    save_png(np.zeros((10, 10), np.uint8), run.sample_path(60))
    run.record(Sample(60, path="samples/step-0000060.png"))
    run.record(Finished(60, status="finished"))
    qtbot.waitUntil(lambda: any(isinstance(e, Finished) for e in seen), timeout=5000)
    assert [e.step for e in seen if isinstance(e, Metrics)] == [55, 60]  # the half-written line counts once complete
    assert {type(e) for e in seen} == {Metrics, HParamChanged, Sample, Finished}
    state = session.run
    assert state.status == "finished" and state.samples[-1][0] == 60 and state.series["d_loss"].size == 7
    tail = RunTail(run_path)
    assert len(tail.read_new()) == 7 + 7  # from the start: 7 metrics lines, 2 hparam, 4 sample and 1 finish events
    session.close_run()


def test_setup_shows_only_the_fields_that_apply_and_speaks_in_labels(qtbot):
    panel = SetupPanel()
    qtbot.addWidget(panel)
    panel.show()

    def shown(name: str) -> bool:
        form = panel.model_form
        return form._form.isRowVisible(form._labels[name])

    panel.set_model("dcgan")
    assert not shown("label_embed_dim") and shown("ngf")
    assert shown("g_loss")
    panel.model_form.editors["loss"].set_value("hinge")  # hinge fixes G's objective (-D): g_loss does nothing
    assert not shown("g_loss")
    panel.model_form.editors["loss"].set_value("bce")
    assert shown("g_loss")
    panel.set_model("cdcgan")
    assert shown("label_embed_dim")
    panel.set_model("vae")
    panel.set_dataset("moons")
    assert not shown("image_size") and shown("hidden") and not shown("channels")
    panel.set_dataset("shapes")
    assert shown("image_size") and shown("channels") and not shown("hidden")
    panel.train_form.editors["batch_size"].editor.setText("0")
    problems = panel.problems()
    assert any(p.startswith("batch size must be >= 1") for p in problems) and not any(
        "batch_size" in p for p in problems
    )


def test_dataset_picker_file_button_offers_zip_archives_and_npz_files(qtbot, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QFileDialog, QPushButton

    panel = SetupPanel()
    qtbot.addWidget(panel)
    asked = []
    archive = tmp_path / "photos.zip"

    def pick(parent, caption, folder, filters):
        asked.append(filters)
        return str(archive), filters.split(";;")[0]

    monkeypatch.setattr(QFileDialog, "getOpenFileName", pick)
    file_button = next(b for b in panel.dataset.findChildren(QPushButton) if b.text() == "File…")
    file_button.click()
    assert "*.zip" in asked[0].split(";;")[0] and "*.npz" in asked[0].split(";;")[0]
    assert panel.dataset.path_edit.text() == str(archive)


@pytest.mark.parametrize("pasted", ["'{}' ", '"{}"', "file://{}", "file://localhost{}", "  {}\n"])
def test_a_dataset_path_pasted_with_quotes_or_as_a_file_url_is_taken(qtbot, tmp_path, pasted):
    """A path copied with quotes (file managers, terminals) or as a file:// URL (a dragged file, "copy location")
    was "no such file or folder: '/work/.../mnist'" (review s16Z #12)."""
    from urllib.parse import quote

    folder = tmp_path / "my photos é"
    folder.mkdir()
    panel = SetupPanel()
    qtbot.addWidget(panel)
    panel.dataset.set_spec(str(folder))
    panel.dataset.path_edit.setText(pasted.format(quote(str(folder)) if pasted.startswith("file") else folder))
    assert panel.dataset.spec() == str(folder) and panel.dataset.path_problem() is None


def test_datasets_trained_on_are_offered_again_after_a_restart(qtbot, tmp_path):
    """After a recipe or a restart the folder had to be chosen again (review s13V #16): the Setup keeps the local
    datasets trained on, newest first, in a Recent menu beside Folder…/File…; a folder gone is listed greyed."""
    from PySide6.QtCore import QSettings

    folders = [tmp_path / name for name in ("cats", "dogs", "gone")]
    for folder in folders[:2]:
        folder.mkdir()
    panel = SetupPanel()
    qtbot.addWidget(panel)
    assert not panel.dataset.recent_button.isVisibleTo(panel)
    for folder in (folders[2], folders[0], folders[1], folders[0]):
        panel.dataset.remember(str(folder))
    panel.dataset.remember("ring8")  # a built-in set is in the list already
    assert panel.dataset.recent == [str(folders[0]), str(folders[1]), str(folders[2])]
    settings = QSettings(str(tmp_path / "app.ini"), QSettings.Format.IniFormat)
    panel.save_settings(settings)
    settings.sync()
    again = SetupPanel()
    qtbot.addWidget(again)
    again.restore_settings(QSettings(str(tmp_path / "app.ini"), QSettings.Format.IniFormat))
    assert again.dataset.recent == [str(folders[0]), str(folders[1]), str(folders[2])]
    again.dataset.set_spec("ring8")
    menu = again.dataset.recent_button.menu()
    menu.aboutToShow.emit()
    actions = {a.text(): a for a in menu.actions()}
    assert not actions[str(folders[2])].isEnabled() and "not there any more" in actions[str(folders[2])].toolTip()
    again.dataset.set_spec(str(tmp_path))
    actions[str(folders[1])].trigger()
    assert again.dataset.spec() == str(folders[1])


def test_marker_labels_lie_inside_their_plots(qtbot, tmp_path):
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 500)
    panel.show()
    state = RunState.load(make_run(tmp_path / "a", model="dcgan"))
    panel.set_run(state)
    state.apply(Advice(40, code="mode_collapse", severity="warning", message="m", action="a"))
    panel.redraw()
    qtbot.wait(50)
    lines = [line for marker in panel.markers for line in marker.lines]
    assert len(lines) == 4  # two markers on each of the two plots
    for line in lines:
        label, view = line.label.sceneBoundingRect(), line.getViewBox().sceneBoundingRect()
        assert view.top() <= label.top() and label.bottom() <= view.bottom(), (line.label.toPlainText(), label, view)


def test_scrolling_the_setup_over_a_choice_does_not_change_it(qtbot):
    """The wheel over a combo box changed 'g loss' to 'saturating' while the person scrolled the form."""
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    panel = SetupPanel()
    qtbot.addWidget(panel)
    panel.show()
    combo = panel.model_form.editors["g_loss"].editor
    before = combo.currentIndex()

    def wheel(target):
        event = QWheelEvent(QPointF(5, 5), QPointF(target.mapToGlobal(QPoint(5, 5))), QPoint(0, 0), QPoint(0, -120),
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                            False)  # fmt: skip
        QApplication.sendEvent(target, event)

    wheel(combo)
    assert combo.currentIndex() == before and not combo.hasFocus()
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus)
    wheel(combo)  # chosen on purpose: clicked or tabbed into, the wheel steps through the choices
    assert combo.currentIndex() != before

    from gan_studio.ui.panels.explorer.sliders import LatentSliders

    sliders = LatentSliders()  # a scrolling list of 100 sliders: scrolling it moved every slider it passed
    qtbot.addWidget(sliders)
    sliders.set_basis([f"z{i}" for i in range(100)])
    sliders.resize(300, 200)
    sliders.show()
    moved = []
    sliders.value_changed.connect(lambda index, value: moved.append(index))
    wheel(sliders.slider(1))
    assert moved == [] and sliders.verticalScrollBar().value() > 0  # the list scrolled instead


def test_the_steps_field_says_when_epochs_decides_the_length(qtbot):
    """20000 steps with epochs 0.00001 trained 1 step while the form still said 20000."""
    panel = SetupPanel()
    qtbot.addWidget(panel)
    steps = panel.train_form.editors["steps"]
    assert steps.isEnabled()
    panel.train_form.editors["epochs"].editor.setText("0.00001")
    assert not steps.isEnabled() and "epochs is set, so it decides the length" in steps.editor.toolTip()
    panel.set_training(True)
    panel.set_training(False)  # unlocking after a run leaves it greyed while epochs is set
    assert not steps.isEnabled()
    steps.editor.setText("1.5e0")  # (as typed before epochs was set) a bad value greyed: Start was held back by a
    assert steps.isEnabled() and steps.problem()  # field that could not be edited (review s16R #3)
    steps.editor.setText("300")
    assert not steps.isEnabled()
    panel.train_form.editors["epochs"].editor.setText("0")
    assert steps.isEnabled() and "epochs is set" not in steps.editor.toolTip()


def test_a_gan_loss_that_logs_other_outputs_starts_without_an_empty_d_outputs_plot(qtbot, monkeypatch):
    """A critic (WGAN) logs no D(x), D(G(z)): its run kept an empty "Discriminator outputs" plot (review s12R)."""
    from gan_studio.models import gan_losses

    critic = gan_losses.GANLoss("a critic", lambda r, f: f.mean() - r.mean(), generator="hinge",
                                outputs=lambda r, f: {"w_distance": r.mean() - f.mean()})  # fmt: skip
    monkeypatch.setitem(gan_losses.GAN_LOSSES, "wasserstein", critic)
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.set_run(RunState(info={"model": "gan", "model_config": {"loss": "wasserstein"}, "status": "running"}))
    assert set(panel.plots) == {"Losses"}
    panel.set_run(RunState(info={"model": "gan", "model_config": {"loss": "bce"}, "status": "running"}))
    assert set(panel.plots) == {"Losses", "Discriminator outputs"}


def test_evaluations_are_drawn_as_measured_not_smoothed(qtbot):
    """Three evaluations of 2, 6 and 8 modes, EMA-smoothed, ended near 4 on a run that had all 8 (review s12U)."""
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    state = RunState(info={"model": "gan", "status": "running"})
    panel.set_run(state)
    panel.set_smoothing(0.9)
    for step, modes in ((250, 2), (500, 6), (750, 8)):
        state.apply(Metrics(step, values={"d_loss": 1.0 + step / 1000, "modes": modes}))
    assert panel.curves["modes"].series.smoothed.tolist() == [2.0, 6.0, 8.0]
    assert panel.curves["d_loss"].series.smoothed[-1] < 1.75  # losses are still smoothed


def test_a_local_dataset_path_is_described_under_its_field_read_in_the_background(qtbot, tmp_path, monkeypatch):
    """A valid folder gave no word of what it holds, an empty one was reported only at Start (review s17 #2): soon
    after a path is chosen or typed the Setup says what it is, or the error Start would give; the reading runs in a
    thread (a 200,000-file folder takes seconds) and an answer for a path changed since is dropped."""
    import threading

    import gan_studio.data.describe as describe
    from gan_studio.ui.widgets.dataset_picker import wait_for_descriptions

    for name in ("cat", "dog"):
        for i in range(3):
            save_png(np.full((6, 5, 3), 40 * i, dtype=np.uint8), tmp_path / "pets" / name / f"{i}.png")
    (tmp_path / "empty").mkdir()
    (tmp_path / "huge").mkdir()
    release = threading.Event()
    real = describe.describe_source

    def slow_for_huge(spec: str) -> str:
        if spec.endswith("huge"):
            release.wait(30)  # a folder whose listing takes long
            return "image folder, 200,000 images, no classes"
        return real(spec)

    monkeypatch.setattr(describe, "describe_source", slow_for_huge)
    panel = SetupPanel()
    qtbot.addWidget(panel)
    picker, note = panel.dataset, panel.dataset.source_note
    picker.set_spec(str(tmp_path / "pets"))
    qtbot.waitUntil(lambda: note.isVisibleTo(panel) and note.text() == "image folder, 6 images, 2 classes (cat, dog)")
    assert note.objectName() == "hint"

    picker.path_edit.setText(str(tmp_path / "huge"))
    qtbot.waitUntil(lambda: note.text() == "reading…")  # the window goes on meanwhile
    picker.path_edit.setText(str(tmp_path / "empty"))
    qtbot.waitUntil(lambda: "no images found (expected .bmp" in note.text())
    assert note.objectName() == "problem" and str(tmp_path / "empty") in note.text()
    release.set()
    wait_for_descriptions()
    qtbot.wait(50)  # the huge folder's late answer arrives, and is dropped
    assert "no images found" in note.text()

    picker.set_spec("ring8")  # a built-in: no note
    qtbot.wait(400)  # past the picker's pause before it reads a path
    assert not note.isVisibleTo(panel)
