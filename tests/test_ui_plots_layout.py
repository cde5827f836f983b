"""The Plots panel's layout (offscreen): however many plot groups a run (and a compared run) brings,
every plot keeps a readable height and the panel scrolls instead of squeezing them."""

from __future__ import annotations

from pathlib import Path

from gan_studio.events import Metrics, Started
from gan_studio.state.run_state import RunState
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
