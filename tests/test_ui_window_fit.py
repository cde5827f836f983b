"""The window on a small screen (offscreen Qt's screen is 800x800, smaller than the panels' minimum sizes at
their natural size): it fits the screen, its panels scroll, and a saved layout comes back in its shares of
the window, whatever the window's size now."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from gan_studio.events import Metrics, Started
from gan_studio.ui.app import create_app
from gan_studio.ui.main_window import MainWindow
from gan_studio.ui.settings import app_settings


def test_the_window_fits_a_screen_smaller_than_its_panels_minimum_sizes(qtbot):
    create_app()
    area = QGuiApplication.primaryScreen().availableGeometry()
    assert area.width() < 900  # the panels' minimum sizes add up to ~960 x 655 px at 1x
    win = MainWindow(persist=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    assert area.contains(win.frameGeometry()), (win.frameGeometry(), area)
    for title, dock in win.docks.items():
        if not win.tabifiedDockWidgets(dock) or title == "Plots":
            assert dock.width() >= 60 and dock.height() >= 60, title  # every panel keeps some room


def test_a_layout_saved_in_a_window_of_another_size_comes_back_in_its_shares(qtbot):
    create_app()
    first = MainWindow()
    qtbot.addWidget(first)
    first.resize(780, 760)
    first.show()
    qtbot.waitExposed(first)
    setup = first.docks["Setup"]
    first.resizeDocks([setup], [300], Qt.Orientation.Horizontal)
    qtbot.wait(50)
    first.dock_shares.remember()
    share = setup.width() / first.width()
    first.close()

    small = MainWindow(persist=False)  # the same layout restored into a smaller window
    qtbot.addWidget(small)
    small.resize(520, 520)
    settings = app_settings()
    settings.setValue("window/geometry", small.saveGeometry())
    settings.sync()
    second = MainWindow()
    qtbot.addWidget(second)
    second.show()
    qtbot.waitExposed(second)
    qtbot.wait(100)
    assert second.width() < 600
    restored = second.docks["Setup"].width() / second.width()
    assert abs(restored - share) < 0.03, (restored, share)  # its share, not what Qt made of its pixel size
    second.close()

    settings.setValue("window/geometry", b"not a geometry")  # a damaged preference: the default size
    settings.setValue("window/dock_shares", "{not json")
    settings.sync()
    third = MainWindow()
    qtbot.addWidget(third)
    third.show()
    qtbot.waitExposed(third)
    assert QGuiApplication.primaryScreen().availableGeometry().contains(third.frameGeometry())
    third.close()


def test_with_a_panel_hidden_shrinking_and_growing_the_window_gives_the_same_layout_back(qtbot):
    """Hiding Samples left the shares of the others unmeasured (taken before Qt re-laid them out) and the
    plots' row without a height: every shrink-and-grow made Runs taller and Setup wider, and that was saved."""
    create_app()
    win = MainWindow(persist=False)
    qtbot.addWidget(win)
    win.resize(780, 760)
    win.show()
    qtbot.waitExposed(win)
    qtbot.wait(100)
    win.docks["Samples"].hide()
    qtbot.wait(100)
    shown = [title for title, dock in win.docks.items() if title in ("Setup", "Plots", "Runs")]

    def sizes():
        return {title: (win.docks[title].width(), win.docks[title].height()) for title in shown}

    before = sizes()
    for _ in range(2):
        win.resize(560, 560)
        qtbot.wait(100)
        win.resize(780, 760)
        qtbot.wait(100)
    after = sizes()
    for title in shown:
        assert abs(after[title][0] - before[title][0]) <= 3 and abs(after[title][1] - before[title][1]) <= 3, (
            title, before, after)  # fmt: skip


def test_a_layout_saved_on_a_larger_screen_gives_way_to_the_default_layout(qtbot):
    """Shares of a wide window starve panels on a small screen (Run controls' Stop went off the edge): a window
    that no longer fits its screen gets the default layout, made for the size it now has."""
    create_app()
    area = QGuiApplication.primaryScreen().availableGeometry()
    first = MainWindow()
    qtbot.addWidget(first)
    first.resize(area.width() + 600, area.height() + 200)  # as on a larger screen
    first.resizeDocks([first.docks["Setup"]], [120], Qt.Orientation.Horizontal)
    first.dock_shares.remember()
    first.save_preferences()

    second = MainWindow()
    qtbot.addWidget(second)
    second.show()
    qtbot.waitExposed(second)
    reference = MainWindow(persist=False)  # the default layout at the same size
    qtbot.addWidget(reference)
    reference.resize(second.size())
    reference.show()
    qtbot.waitExposed(reference)
    qtbot.wait(100)
    assert area.contains(second.frameGeometry())
    for title in ("Setup", "Run controls", "Runs"):
        assert abs(second.docks[title].width() - reference.docks[title].width()) <= 4, title
    assert "larger screen" in second.statusBar().currentMessage()


def test_the_middle_panels_alone_take_the_window_and_give_the_layout_back(qtbot):
    """View → Plots, Metrics and Explorer alone: on a small screen the Explorer was cramped among five panels."""
    create_app()
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    explorer, setup = win.docks["Explorer"], win.docks["Setup"]
    explorer.raise_()
    qtbot.wait(50)
    width_before = explorer.width()

    win.alone_action.trigger()
    qtbot.wait(100)
    assert win.alone_action.isChecked()
    assert not setup.isVisible() and not win.docks["Samples"].isVisible() and not win.docks["Runs"].isVisible()
    assert explorer.isVisible() and not explorer.visibleRegion().isEmpty()  # the tab in front stays in front
    assert explorer.width() > width_before + 200
    win.save_preferences()  # meanwhile, the preferences keep the whole layout
    win.close()

    again = MainWindow()  # the next start has every panel
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    assert again.docks["Setup"].isVisible() and again.docks["Runs"].isVisible()
    assert not again.alone_action.isChecked()
    again.alone_action.trigger()
    again.alone_action.trigger()  # and back
    qtbot.wait(100)
    assert again.docks["Setup"].isVisible() and again.docks["Samples"].isVisible()
    assert not again.alone_action.isChecked()
    again.alone_action.trigger()
    again.reset_layout()  # Reset layout leaves it too
    assert again.docks["Setup"].isVisible() and not again.alone_action.isChecked()
    again.close()


def test_a_window_laid_out_for_a_given_screen_size_looks_as_on_that_screen(qtbot):
    """`gan-studio screenshot` (offscreen, whose screen is 800x800) drew a 1440x900 window with every panel in a
    scroll area and the Setup half the window wide, unlike the real window the README's pictures show."""
    from PySide6.QtWidgets import QScrollArea

    create_app()
    win = MainWindow(persist=False, screen_size=(1440, 900))
    qtbot.addWidget(win)
    win.resize(1440, 900)
    win.show()
    qtbot.waitExposed(win)
    win.lay_out_for_this_size()
    qtbot.wait(100)
    assert not isinstance(win.docks["Run controls"].widget(), QScrollArea)  # only a small screen needs that
    assert 300 <= win.docks["Setup"].width() <= 400 and win.docks["Plots"].width() > 500


def test_the_middle_panels_alone_with_the_plots_floating_still_fill_the_window(qtbot):
    """With Plots floating, the window was left empty and Metrics and the Explorer hidden (review s12U)."""
    create_app()
    win = MainWindow(persist=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.docks["Plots"].setFloating(True)
    qtbot.wait(50)
    win.alone_action.trigger()
    qtbot.wait(100)
    for title in ("Plots", "Metrics", "Explorer"):
        assert win.docks[title].isVisible() and not win.docks[title].isFloating(), title
    assert not win.docks["Setup"].isVisible()
    win.alone_action.trigger()
    qtbot.wait(100)
    assert win.docks["Plots"].isFloating() and win.docks["Setup"].isVisible()  # the layout from before
    win.close()


def test_the_panels_fit_a_1024_by_700_screen_at_their_natural_size(qtbot, tmp_path):
    """At a real 1024x700 screen every panel scrolled in its dock, with a sideways scroll bar on Setup, Plots and
    Run controls and the sample grids pushed out of view (review s12U): the panels' minimum sizes added up to
    1,085 px, because the Explorer asked for the width of its 2D view's playback row even when showing images.
    Now their natural minimum fits such a screen (with room for a window frame), whatever the Explorer shows,
    and the Samples panel's position line is not cut ("step 200 · grid 1 c")."""
    from tiny_runs import trained_run_path

    create_app()
    win = MainWindow(persist=False, screen_size=(1440, 900))  # panels at their natural size, none made to scroll
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    frame = (8, 40)  # a window manager's borders and title bar
    natural = win.minimumSizeHint()
    assert natural.width() + frame[0] <= 1024 and natural.height() + frame[1] <= 700, natural
    explorer = win.optional_panels["ExplorerPanel"]
    points_run = trained_run_path(tmp_path / "points", "gan", "ring8", steps=3)
    with qtbot.waitSignal(explorer.image_shown, timeout=60_000):
        explorer.open_source(points_run)
    assert explorer.image_stack.currentWidget() is explorer.live_tab
    natural = win.minimumSizeHint()
    assert natural.width() + frame[0] <= 1024 and natural.height() + frame[1] <= 700, natural

    samples = win.samples
    samples.position_label.setText("step 12,000  ·  grid 120 of 120")
    for width in (190, 260, 600):
        samples.resize(width, 500)
        samples.timeline.rearrange()
        qtbot.wait(20)
        label = samples.position_label
        assert label.width() >= label.sizeHint().width(), (width, label.width())  # whole, on its own line if need be
        assert samples.slider.width() >= 60, width


def _a_run_of_millions_of_steps(folder: Path) -> Path:
    """A tiny run whose records say it is at step 2,000,000 (as a long training would be)."""
    from tiny_runs import trained_run_path

    run_path = trained_run_path(folder, "gan", "ring8", steps=3)
    info = json.loads((run_path / "run.json").read_text())
    info.update(step=2_000_000, steps_total=2_000_000)
    (run_path / "run.json").write_text(json.dumps(info))
    with open(run_path / "metrics.jsonl", "a") as metrics:
        for step in (1_000_000, 2_000_000):
            record = {"step": step, "epoch": step / 390.0, "time": step / 100.0, "samples_per_s": 1_234_567.891,
                      "d_loss": 1.3, "g_loss": 0.9, "d_real": 0.5, "d_fake": 0.5}  # fmt: skip
            metrics.write(json.dumps(record) + "\n")
    return run_path


def test_a_run_of_millions_of_steps_neither_widens_the_window_past_the_screen_nor_moves_the_layout(qtbot, tmp_path):
    """'2,000,000 / 2,000,000' and an ETA of '8390 h 36 min' in the Run controls made the left column wider: the
    window grew to 1,096 px on a 1024 px screen (Samples, the Runs panel's buttons and the status bar cut off),
    and on a large screen the layout jumped 45 px as the run opened (review s16Z #1)."""
    create_app()
    run_path = _a_run_of_millions_of_steps(tmp_path)
    win = MainWindow(workspace=tmp_path, persist=False, screen_size=(1024, 768))  # the panels at their natural size
    qtbot.addWidget(win)
    win.resize(1024, 728)  # the screen, less a window manager's title bar
    win.show()
    qtbot.waitExposed(win)
    win.lay_out_for_this_size()
    qtbot.wait(100)
    widths = {title: win.docks[title].width() for title in ("Setup", "Run controls")}  # the column that jumped

    assert win.open_run(run_path, wait=True)
    run = win.session.run
    run.apply(Started(2_000_000, total_steps=1_000_000_000))  # resumed for 1e9 steps
    run.apply(Metrics(2_000_100, values={"epoch": 5128.5, "time": 20_001.0, "samples_per_s": 1_234_567.891}))
    qtbot.wait(200)
    assert win.width() == 1024 and win.minimumSizeHint().width() + 8 <= 1024, (win.width(), win.minimumSizeHint())
    for title, width in widths.items():
        assert abs(win.docks[title].width() - width) <= 2, (title, widths, {t: d.width() for t, d in win.docks.items()})
    controls = win.controls
    assert controls.step_value.text() == "2,000,100 / 1,000,000,000"  # the whole count, in the tooltip if shortened
    shown = controls.step_value.shown_text()
    assert shown == controls.step_value.text() or controls.step_value.toolTip() == controls.step_value.text()
    assert controls.epoch_value.text() == "5,128"  # the digits that still change
    assert controls.eta_value.text() == "115 d 12 h"  # 998M steps at 0.01 s: in days, not '2772 h 13 min'
    for label in (controls.step_value, controls.eta_value, controls.rate_value):  # readable, not cut mid-number
        assert label.fontMetrics().horizontalAdvance(label.shown_text()) <= label.contentsRect().width()


def test_a_scale_that_leaves_the_screen_too_small_for_the_window_says_which_scale_fits(qtbot, monkeypatch):
    """`app --scale 1.5` on a 1440x900 screen left 960x600 for a window that needs more: panels scrolled and Stop
    was cut, unexplained. The window says so once, with the largest scale (in quarters) that fits."""
    create_app()
    area = QGuiApplication.primaryScreen().availableGeometry()
    monkeypatch.setenv("QT_SCALE_FACTOR", "1.5")  # (read here as `gan-studio app --scale 1.5` sets it)
    win = MainWindow(persist=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.banner.isVisible(), timeout=5000)
    text = win.banner.text()
    screen = f"{round(area.width() * 1.5)}x{round(area.height() * 1.5)}"  # the 800x800 offscreen screen at 1.5
    assert text.startswith(f"--scale 1.5 is too large for this {screen} screen: try --scale 1.25 or less"), text
    assert f"it has room for {area.width()}x{area.height()}" in text
    assert area.contains(win.frameGeometry())  # and the window still fits the screen, its panels scrolling

    monkeypatch.delenv("QT_SCALE_FACTOR")  # the same small screen at its own scale: nothing to advise
    plain = MainWindow(persist=False)
    qtbot.addWidget(plain)
    plain.show()
    qtbot.wait(50)
    assert not plain.banner.isVisible()


def test_the_largest_scale_that_fits_is_rounded_down_to_a_quarter():
    from PySide6.QtCore import QRect, QSize

    from gan_studio.ui.main_window import largest_scale_that_fits

    window = QSize(960, 655)
    assert largest_scale_that_fits(window, QRect(0, 0, 960, 600), 1.5) == 1.25  # 1440x900 at 1.5
    assert largest_scale_that_fits(window, QRect(0, 0, 1280, 720), 2.0) == 2.0  # 2560x1440 at 2: fits
    assert largest_scale_that_fits(window, QRect(0, 0, 400, 300), 2.0) == 0.75  # 800x600: not even at 1


def test_a_window_saved_at_another_scale_comes_back_at_this_screens_default_size(qtbot, monkeypatch):
    """Saved at --scale 1.5 (960x600 of room, filled), the window came back at 1.25 as 1200x750 pixels of a
    1440x900 screen: a window saved at another scale starts as on a first start; at the same scale it is kept."""
    from gan_studio.ui.main_window import initial_size

    create_app()
    first = MainWindow()
    qtbot.addWidget(first)
    first.resize(initial_size().width() - 150, initial_size().height() - 100)
    first.save_preferences()
    kept = MainWindow()
    qtbot.addWidget(kept)
    assert kept.size() == first.size()  # the same scale: the window as it was left
    monkeypatch.setenv("QT_SCALE_FACTOR", "1.25")
    rescaled = MainWindow()
    qtbot.addWidget(rescaled)
    bar = rescaled.statusBar()
    assert rescaled.size() == initial_size() and "another --scale" in bar.toolTip() + bar.currentMessage()
