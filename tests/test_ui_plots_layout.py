"""The Plots panel's layout (offscreen): however many plot groups a run (and a compared run) brings,
every plot keeps a readable height and the panel scrolls instead of squeezing them; marker labels and legends
leave the curves readable; the wheel scrolls the panel; compared runs are named and drawn apart."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from gan_studio.events import Advice, HParamChanged, Metrics, Started
from gan_studio.state.run_state import RunState
from gan_studio.ui.app import create_app
from gan_studio.ui.panels.plots import MIN_PLOT_HEIGHT, PlotsPanel


def run_with(records: list[dict]) -> RunState:
    run = RunState()
    run.apply(Started(0, total_steps=100))
    for step, values in enumerate(records, start=1):
        run.apply(Metrics(step * 10, values={"epoch": step / 10, "time": float(step), **values}))
    return run


def test_five_plot_groups_keep_a_readable_height_and_the_panel_scrolls(qtbot):
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 560)
    panel.show()
    qtbot.waitExposed(panel)
    gan = run_with([{"d_loss": 1.0 + i, "g_loss": 0.5, "d_real": 0.6, "d_fake": 0.4, "diversity": 0.3}
                    for i in range(5)])  # fmt: skip
    panel.set_run(gan)
    vae = run_with([{"recon": 30.0 - i, "kl": 2.0, "loss": 32.0, "active_units": 5} for i in range(5)])
    panel.add_overlay(vae)  # Compare a GAN run with a VAE run: five plot groups
    qtbot.wait(50)
    assert len(panel.plots) == 5
    for title, plot in panel.plots.items():
        data_area = plot.getViewBox().sceneBoundingRect().height()
        assert data_area >= MIN_PLOT_HEIGHT / 2, (title, data_area)  # 80 px and more; it was ~25 px each
    assert panel.scroll.verticalScrollBar().maximum() > 0  # the rest is reached by scrolling
    assert panel.height() <= 560  # the panel itself did not grow

    panel.clear_overlays()
    panel.set_run(gan)  # three plot groups fit: no scrolling
    qtbot.wait(50)
    assert len(panel.plots) == 3 and panel.scroll.verticalScrollBar().maximum() == 0
    panel.set_run(None)
    assert panel.graphics.minimumHeight() == 0


def test_log_y_labels_never_pile_up_on_a_short_plot(qtbot):
    """Losses between 0.4 and 0.9 on log y: pyqtgraph labelled 0.4 ... 0.9 a few px apart, on top of each other."""
    from gan_studio.ui.widgets.log_axis import MIN_LABEL_GAP_PX

    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 200)  # one plot about 150 px high, as three share a laptop's panel
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_run(run_with([{"d_loss": 0.4 + 0.1 * (i % 6), "g_loss": 0.9 - 0.1 * (i % 6)} for i in range(30)]))
    panel.set_log_y(True)
    qtbot.wait(100)
    plot = panel.plots["Losses"]
    axis = plot.getAxis("left")
    low, high = plot.getViewBox().viewRange()[1]
    size = axis.geometry().height()
    levels = axis.tickValues(low, high, size)
    values = [value for _, level in levels for value in level]
    shown = [v for v, text in zip(values, axis.tickStrings(values, 1.0, 1.0), strict=True) if text]
    assert len(values) >= 5 and shown  # the ticks stay, the labels that fit are drawn
    pixels = size / (high - low)
    gaps = [abs(a - b) * pixels for i, a in enumerate(shown) for b in shown[i + 1 :]]
    assert not gaps or min(gaps) >= MIN_LABEL_GAP_PX


def test_comparing_a_run_does_not_widen_the_panel(qtbot):
    """The compared run's button (its name, ~190 px) joined the toolbar's one line: the panel's minimum width
    grew by that much when a comparison began, and the Samples beside it were pushed narrower and changed from
    side by side to stacked (review s13V). The toolbar wraps instead."""
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_run(run_with([{"d_loss": 1.0, "g_loss": 0.5} for _ in range(3)]))
    before = panel.minimumSizeHint().width()
    other = run_with([{"d_loss": 2.0, "g_loss": 0.7} for _ in range(3)])
    other.path = Path("/runs/dcgan-s13V-photos-20261201-061751")
    panel.add_overlay(other)
    qtbot.wait(20)
    assert panel.clear_overlay_button.isVisibleTo(panel)
    assert panel.minimumSizeHint().width() <= before, (before, panel.minimumSizeHint().width())


def ring_run(steps: int = 150) -> RunState:
    """A ring8-like run of `steps` records every 10 steps; rates raised at step 690 and the advisor's flags after."""
    run = run_with([{"d_loss": 1.3, "g_loss": 0.7, "d_real": 0.5, "d_fake": 0.5, "modes": 8.0 * (i % 3 > 0),
                     "high_quality": 0.05} for i in range(steps)])  # fmt: skip
    run.apply(HParamChanged(690, name="lr_g", old=0.001, new=0.05))
    return run


def test_marker_labels_are_one_per_step_stacked_at_the_top_and_leave_curves_and_legends_apart(qtbot):
    """Review s15Y #7, #8: lr_g and lr_d changed at step 690, advice at 700 and 780 printed over each other
    ("⚑ m⚑ oscillation") at the foot of the plot, with opaque backgrounds that hid the D loss curve near 0; the
    legends covered the first ~350 steps."""
    create_app()  # in the app's style, as a person sees it (the labels are taller in its font)
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 720)  # four plots of ~170 px
    panel.show()
    qtbot.waitExposed(panel)
    run = ring_run()
    panel.set_run(run)
    run.apply(HParamChanged(690, name="lr_d", old=0.001, new=0.05))  # live, after the plots were drawn
    run.apply(Advice(400, code="equilibrium", severity="info", message="m", action="a"))
    run.apply(Advice(700, code="mode_collapse", severity="warning", message="m", action="a"))
    run.apply(Advice(780, code="oscillation", severity="warning", message="m", action="a"))
    run.apply(Advice(780, code="d_loss_blowup", severity="error", message="m", action="a"))
    panel.redraw()
    assert panel.marker_texts() == ["lr_g, lr_d 0.001 → 0.05", "⚑ equilibrium", "⚑ mode collapse",
                                    "⚑ oscillation, d loss blowup"]  # fmt: skip

    def laid_out() -> None:
        for title, plot in panel.plots.items():
            view = plot.getViewBox().sceneBoundingRect()
            labels = [line.label for m in panel.markers for line in m.lines if line.getViewBox() is plot.getViewBox()]
            shown = [label.sceneBoundingRect() for label in labels if label.isVisible()]
            assert len(shown) == 4, title  # every label readable at the normal zoom
            for i, rect in enumerate(shown):
                assert view.contains(rect), (title, rect, view)
                assert rect.bottom() - view.top() <= 3 * (rect.height() + 3) + 2, title  # in rows along the top edge
                assert all(not rect.intersects(other) for other in shown[i + 1 :]), (title, rect, shown)
            assert all(label.fill.color().alpha() <= 128 for label in labels)  # a curve under a label still shows
            legend = plot.legend.sceneBoundingRect()
            assert legend.intersected(view).height() <= 1, (title, legend, view)  # outside the data area
            assert plot.legend.isVisible() and legend.width() > 0

    qtbot.waitUntil(laid_out, timeout=5000)  # the layout settles over a few event-loop turns (slower under load)


def test_the_wheel_scrolls_the_plots_and_ctrl_wheel_zooms_with_a_way_back(qtbot):
    """Review s15Y #14: scrolling down the list of plots zoomed every linked x axis to -3,000...6,000 (the plot took
    the wheel); the way back was a small "A" at one plot's corner."""
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 300)  # the plots do not fit: the panel scrolls
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_run(ring_run())
    panel.redraw()
    qtbot.wait(50)
    view = panel.plots["Losses"].getViewBox()
    before = view.viewRange()[0]
    assert panel.scroll.verticalScrollBar().maximum() > 0
    assert "Ctrl+wheel" in panel.graphics.toolTip()

    def wheel(modifiers):
        viewport = panel.graphics.viewport()
        at = QPointF(view.mapViewToScene(QPointF(750, 1.0)))
        at = QPointF(panel.graphics.mapFromScene(at))
        event = QWheelEvent(at, QPointF(viewport.mapToGlobal(at.toPoint())), QPoint(0, 0), QPoint(0, -120),
                            Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False)  # fmt: skip
        QApplication.sendEvent(viewport, event)
        qtbot.wait(20)
        return event.isAccepted()

    # left to the widgets around the plot: Qt hands a real wheel on to the scrolling list (an event sent by a test
    # is not handed on, so the list is scrolled here as Qt would)
    assert not wheel(Qt.KeyboardModifier.NoModifier)
    span = before[1] - before[0]  # the layout may still settle by a pixel or so; a wheel notch zooms by ~10 %
    assert view.viewRange()[0] == pytest.approx(before, abs=span / 100) and not panel.auto_range_button.isVisibleTo(
        panel
    )  # no zoom
    before = view.viewRange()[0]
    assert wheel(Qt.KeyboardModifier.ControlModifier)
    zoomed = view.viewRange()[0]
    assert zoomed[1] - zoomed[0] > before[1] - before[0]  # Ctrl+wheel zooms (out, for a wheel turned down)
    assert panel.auto_range_button.isVisibleTo(panel)  # and the way back is in the toolbar
    panel.auto_range_button.click()
    qtbot.wait(50)
    assert view.viewRange()[0] == pytest.approx(before, abs=span / 100)  # every step shown again
    assert not panel.auto_range_button.isVisibleTo(panel)


def test_compared_runs_are_named_in_the_legends_and_drawn_apart(qtbot):
    """Review s15Y #13: the compared run had the same colours, a thin dash-dot line, and legends "D loss" and
    "D loss --" that named neither run."""
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 560)
    panel.show()
    current = ring_run()
    current.path = Path("/runs/ring8-r1ema")
    panel.set_run(current)
    other = ring_run(100)
    other.path = Path("/runs/gan-ring8-20261201-113609")
    panel.add_overlay(other)
    legend = {label.text: sample.item for sample, label in panel.plots["Losses"].legend.items}
    assert set(legend) == {"D loss · ring8-r1ema", "G loss · ring8-r1ema", "D loss · gan-ring8 11:36",
                           "G loss · gan-ring8 11:36"}  # fmt: skip
    mine, theirs = legend["D loss · ring8-r1ema"].opts["pen"], legend["D loss · gan-ring8 11:36"].opts["pen"]
    assert theirs.widthF() >= 1.5 * mine.widthF()  # thick dashes, not a thin line beside a thin line
    assert theirs.style() != Qt.PenStyle.SolidLine and mine.style() == Qt.PenStyle.SolidLine
    assert theirs.color().lightness() - mine.color().lightness() >= 30  # another shade of the metric's colour
    panel.clear_overlays()
    assert {label.text for _, label in panel.plots["Losses"].legend.items} == {"D loss", "G loss"}


@pytest.mark.parametrize("width", [640, 420])
def test_a_compared_runs_legend_never_covers_the_plot_title(qtbot, width):
    """Review s17 #2: comparing a dcgan run with a cdcgan run, the four-entry legend was drawn over the title
    "Discriminator outputs" (its room was reckoned from the plot's left edge, not from where the title ends, and from
    the entries' widths before they were renamed for the comparison). Beside the title where it fits, else under it;
    never over the curves, never past the plot's edges."""
    create_app()  # in the app's style, as a person sees it
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.resize(width, 560)
    panel.show()
    qtbot.waitExposed(panel)
    current = run_with([{"d_loss": 1.0, "g_loss": 0.5, "d_real": 0.6, "d_fake": 0.4} for _ in range(40)])
    current.path = Path("/runs/dcgan-shapes-20261201-180312")
    panel.set_run(current)
    qtbot.wait(20)
    other = run_with([{"d_loss": 1.0, "g_loss": 0.5, "d_real": 0.6, "d_fake": 0.4} for _ in range(6)])
    other.path = Path("/runs/cdcgan-shapes-20261201-180612")
    panel.add_overlay(other)
    panel.redraw()

    def apart() -> None:
        for title, plot in panel.plots.items():
            legend = plot.legend.sceneBoundingRect()
            heading = plot.titleLabel.item.sceneBoundingRect()
            edges = plot.sceneBoundingRect()
            assert not legend.intersects(heading), (title, legend, heading)
            assert edges.left() <= legend.left() and legend.right() <= edges.right(), (title, legend, edges)
            assert legend.intersected(plot.getViewBox().sceneBoundingRect()).height() <= 1, title  # not on the curves

    qtbot.waitUntil(apart, timeout=5000)
    qtbot.wait(100)  # and still so once the layout has settled
    apart()


def test_shares_plot_in_per_cent_and_counts_stay_linear_on_log_y(qtbot):
    """Review s15Y #20: high-quality samples plotted 0-0.8 while the metrics table said 5.0 %; on log y the zeros of
    "modes captured" dropped out without a word."""
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    run = ring_run(10)
    run.apply(Metrics(200, values={"d_loss": 0.0, "g_loss": 0.7}))  # a zero loss: cannot be drawn on log y
    panel.set_run(run)
    panel.set_smoothing(0.0)
    panel.redraw()
    hq = panel.plots["high-quality samples"]
    assert "(%)" in hq.titleLabel.text
    _, y = panel.curves["high_quality"].smooth.getData()
    assert y[0] == 5.0  # as the metrics table shows it
    panel.set_log_y(True)
    panel.redraw()
    assert not panel.plots["modes captured"].ctrl.logYCheck.isChecked()  # 0 of 8 modes stays on the plot
    assert panel.plots["Losses"].ctrl.logYCheck.isChecked()
    assert "1 values ≤ 0 not drawn" in panel.plots["Losses"].titleLabel.text  # what log y leaves out is said
    assert "not drawn" not in panel.plots["modes captured"].titleLabel.text
    panel.set_log_y(False)
    panel.redraw()
    assert "not drawn" not in panel.plots["Losses"].titleLabel.text


def _tick_labels(plot, axis_name: str) -> list[str]:
    """The labels an axis of `plot` draws for its range now."""
    axis = plot.getAxis(axis_name)
    view = plot.getViewBox().viewRange()[0 if axis_name == "bottom" else 1]
    size = axis.geometry().width() if axis_name == "bottom" else axis.geometry().height()
    return [text for spacing, values in axis.tickValues(*view, size)
            for text in axis.tickStrings(values, 1.0, spacing)]  # fmt: skip


def test_a_long_run_s_axes_read_500k_1M_not_scientific_notation(qtbot):
    """A run of 2,000,000 steps read '0 500000 1e+06 1.5e+06 2e+06' under every plot, where the rest of the app
    writes 2,000,000 (review s16Z #13): every step axis reads as TensorBoard's, 500k / 1M / 1.5M / 2M, and so do
    the epochs and seconds axes and a loss that blew up to millions."""
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 560)
    panel.show()
    qtbot.waitExposed(panel)
    run = RunState()
    run.apply(Started(0, total_steps=2_000_000))
    for step in range(0, 2_000_001, 20_000):
        run.apply(Metrics(step, values={"epoch": step / 390, "time": step / 100, "d_loss": 1.0 + step / 2.0,
                                        "g_loss": 0.5, "d_real": 0.6, "d_fake": 0.4}))  # fmt: skip
    panel.set_run(run)
    panel.auto_range()
    qtbot.wait(100)
    assert panel.plots
    for title, plot in panel.plots.items():
        labels = _tick_labels(plot, "bottom")
        assert "1M" in labels and not any("e+" in text or len(text) > 5 for text in labels), (title, labels)
    assert "1M" in _tick_labels(panel.plots["Losses"], "left")  # ~1,000,000 loss, linear y
    for axis in ("epoch", "time"):
        panel.set_x_axis(axis)
        panel.auto_range()
        qtbot.wait(50)
        labels = _tick_labels(panel.plots["Losses"], "bottom")
        assert labels and not any("e+" in text for text in labels), (axis, labels)
