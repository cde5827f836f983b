"""Plots panel: live training curves with pyqtgraph.

GAN runs show D loss and G loss, and D(x) and D(G(z)); VAE runs reconstruction, KL and their
weighted sum; any other numeric field in the metric records (mode coverage, FID, ...) gets its own
plot. Options: EMA smoothing, log y, x axis in steps / epochs / training time. Hyperparameter
changes and advice are vertical markers, labelled at each plot's top edge (stacked where close). Another run's
curves can be overlaid (lighter, thick dashes, named in the legend) for comparison. The wheel scrolls the list of
plots; Ctrl+wheel zooms.

Records are appended to preallocated buffers (`Series`); a 40 ms timer redraws only when
something changed, with peak downsampling and clip-to-view so 100,000 points stay smooth. While
training, redraws are spaced by the measured paint time so that painting never takes more than
~10% of the UI thread (the trainer's Python code shares the GIL with it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from gan_studio.events import Advice, HParamChanged, Metrics, Started
from gan_studio.metric_names import D_OUTPUTS, LOSSES, METRICS, VAE_LOSS, MetricInfo, metric_label, plot_of
from gan_studio.models.gan_losses import GAN_LOSSES, probabilities
from gan_studio.state.comparison import short_run_name
from gan_studio.state.run_state import RunState
from gan_studio.state.series import X_AXES, Series
from gan_studio.ui.panels import RunSubscription
from gan_studio.ui.style import PLOT_BACKGROUND, PLOT_FOREGROUND, metric_colour
from gan_studio.ui.widgets.count_axis import CountAxis
from gan_studio.ui.widgets.ctrl_wheel_view import ZOOM_HINT, CtrlWheelViewBox
from gan_studio.ui.widgets.flow_row import flow_row, labelled
from gan_studio.ui.widgets.log_axis import LogFriendlyAxis
from gan_studio.ui.widgets.page_stack import PageStack
from gan_studio.ui.widgets.plot_markers import MARKER_LABEL_FILL, Marker, place_labels

REDRAW_MS = 40
PAINT_SHARE = 0.1  # live redraws are spaced so painting takes at most ~10% of the UI thread's time
ANTIALIAS_LIMIT = 4000  # longer curves are drawn without antialiasing (it costs 10-100x at 100k points)
FAMILY_GROUPS = {"gan": (LOSSES, D_OUTPUTS), "vae": (VAE_LOSS,)}  # the plots a run of each family starts with


def starting_plots(run: RunState) -> tuple[str, ...]:
    """The plots a run starts with, before its first metrics: its family's, less D's outputs when its GAN loss
    logs others (a critic's scores are not the probabilities D(x), D(G(z)): that plot would stay empty)."""
    groups = FAMILY_GROUPS.get(run.family, ())
    loss = GAN_LOSSES.get(str((run.info.get("model_config") or {}).get("loss", "")))
    if loss is not None and loss.outputs is not probabilities:
        groups = tuple(title for title in groups if title != D_OUTPUTS)
    return groups


X_LABELS = {"step": "step", "epoch": "epoch", "time": "training time (s)"}
OVERLAY_NAME_PX = 170  # of the compared run's name on its remove button: the bar stays within the dock
TITLE_ROW_PX = 30  # pyqtgraph's height of a plot's title row, which also holds the legend
LEGEND_GAP_PX = 12  # between a plot's title and the legend beside it
LEGEND_MARGIN_PX = 4  # between the legend and the plot's right edge
MIN_PLOT_HEIGHT = 160  # px per plot (title, curves, x axis); more plots than fit scroll instead of shrinking

EMPTY_TEXT = "Start a training or open a run to see its curves here"
OVERLAY_MARKS = (("┄", [4, 2]), ("┈", [1, 1.5]), ("╌", [5, 1.5, 1, 1.5]))  # dash patterns in line widths
OVERLAY_WIDTH, RUN_WIDTH = 2.6, 1.6  # px: a compared run's thick dashes stay apart from the open run's lines
OVERLAY_LIGHTEN = 0.45  # a compared run's colours are mixed this far with white: the same metric, another hue
LOG_NOTE = "{count:,} values ≤ 0 not drawn"  # in a plot's title: a log scale cannot draw them


class TimedGraphicsLayoutWidget(pg.GraphicsLayoutWidget):
    """A GraphicsLayoutWidget that remembers how long its paints take (moving average, seconds)."""

    paint_seconds = 0.0

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        started = time.perf_counter()
        super().paintEvent(event)
        self.paint_seconds = 0.8 * self.paint_seconds + 0.2 * (time.perf_counter() - started)


@dataclass
class Curve:
    """One metric of one run: its buffer and the two items drawing it (raw and smoothed)."""

    series: Series
    raw: pg.PlotDataItem
    smooth: pg.PlotDataItem
    evaluation: bool = False  # a few evaluations, not a noisy loss: never smoothed (modes 8 of 8 showed as ~4)
    name: str = ""  # the metric
    scale: float = 1.0  # 100 for a share drawn in per cent

    def smooth_with(self, smoothing: float) -> None:
        self.series.set_smoothing(0.0 if self.evaluation else smoothing)


class PlotsPanel(QWidget):
    """Live curves of the current run (and optionally another run, dashed, for comparison)."""

    TITLE = "Plots"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.subscription = RunSubscription(self.on_event)
        self.family: str | None = None
        self.x_axis = "step"
        self.smoothing = 0.6
        self.log_y = False
        self.curves: dict[str, Curve] = {}
        self.overlays: dict[str, dict[str, Curve]] = {}  # run name -> metric -> curve
        self.markers: list[Marker] = []
        self.plots: dict[str, pg.PlotItem] = {}
        self.titles: dict[str, str] = {}  # plot -> its title as shown (with its unit)
        self.linear_plots: set[str] = set()  # plots of counts and shares: linear under "log y"
        self._dirty = False
        self._last_redraw = 0.0

        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setRange(0, 99)
        self.smoothing_slider.setValue(int(self.smoothing * 100))
        self.smoothing_slider.setFixedWidth(90)
        self.smoothing_slider.setToolTip(
            "Exponential moving average of the curves, debiased as TensorBoard's (0 = raw values)"
        )
        self.smoothing_value = QLabel()
        self.smoothing_slider.valueChanged.connect(lambda v: self.set_smoothing(v / 100))
        self.log_check = QCheckBox("log y")
        self.log_check.setToolTip("Log scale for losses and distances. Counts and shares (modes captured, "
                                  "high-quality samples) stay linear. A log scale cannot draw zeros and negative "
                                  "values: a plot's title says how many it leaves out.")  # fmt: skip
        self.log_check.toggled.connect(self.set_log_y)
        self.axis_combo = QComboBox()
        for axis in X_AXES:
            self.axis_combo.addItem({"step": "steps", "epoch": "epochs", "time": "time"}[axis], axis)
        self.axis_combo.setToolTip("x axis: training steps, passes over the data, or training seconds")
        self.axis_combo.currentIndexChanged.connect(lambda _i: self.set_x_axis(self.axis_combo.currentData()))
        self.clear_overlay_button = QPushButton("✕ compared")
        self.clear_overlay_button.clicked.connect(self.clear_overlays)
        self.clear_overlay_button.hide()
        self.auto_range_button = QPushButton("⤢ auto range")
        self.auto_range_button.setToolTip("Show every step again (after Ctrl+wheel zoom or a drag)")
        self.auto_range_button.clicked.connect(self.auto_range)
        self.auto_range_button.hide()
        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setObjectName("hint")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        smoothing = QWidget()
        smoothing_row = QHBoxLayout(smoothing)
        smoothing_row.setContentsMargins(0, 0, 12, 0)
        for widget in (QLabel("smoothing"), self.smoothing_slider, self.smoothing_value):
            smoothing_row.addWidget(widget)
        # a row that wraps: the compared run's button (~190 px) made the panel that much wider, and the Samples
        # beside it that much narrower, when a comparison began (review s13V)
        bar = flow_row(smoothing, self.log_check, labelled("x axis", self.axis_combo), self.auto_range_button,
                       self.clear_overlay_button)  # fmt: skip

        self.graphics = TimedGraphicsLayoutWidget()
        self.graphics.setBackground(PLOT_BACKGROUND)
        self.graphics.ci.setContentsMargins(4, 4, 4, 4)
        self.graphics.setToolTip(ZOOM_HINT)
        self.scroll = QScrollArea()  # the plots fill it; when there are too many to stay readable it scrolls
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.graphics)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(bar)
        self.stack = PageStack()
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(self.scroll)
        layout.addWidget(self.stack, 1)
        self._update_smoothing_label()

        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self._on_timer)
        self.timer.start()

    # the panel protocol ----------------------------------------------------------------------------------
    def show_reading(self, run_name: str) -> None:
        """Say, where the curves will be, that a large run's metrics are being read."""
        self.empty_label.setText(f"Reading the metrics of {run_name}…")
        self.stack.setCurrentWidget(self.empty_label)

    def set_run(self, run: RunState | None) -> None:
        """Show the curves a run already holds (and its hyperparameter changes)."""
        self.empty_label.setText(EMPTY_TEXT)
        self._clear_current()
        self.subscription.follow(run)
        self.family = run.family if run is not None else None
        if run is None:
            self._dirty = True
            return
        for title in starting_plots(run):
            self._plot(title)
        for name, series in run.series.items():
            self._new_curve(name, series=series)
        for event in [*run.hparam_changes, *run.advice]:
            self._add_marker(event)
        self._dirty = True

    def on_event(self, event) -> None:
        run = self.subscription.run
        if isinstance(event, Metrics) and run is not None:
            for name in event.numbers():
                if name not in self.curves and name in run.series:
                    self._new_curve(name, series=run.series[name])
            self._dirty = True
        elif isinstance(event, (HParamChanged, Advice)):
            self._add_marker(event)
        elif isinstance(event, Started):
            self._dirty = True  # a resumed run continues from its checkpoint: the state cut its histories

    def _new_curve(self, name: str, run_label: str | None = None, series: Series | None = None) -> Curve:
        info = METRICS.get(name, MetricInfo(name, name))
        plot = self._plot(plot_of(name))
        compared = run_label is not None
        if compared:  # a lighter hue and thick dashes: told apart from the open run's lines on a projector too
            colour = _lighter(metric_colour(name))
            pen = pg.mkPen(colour, width=OVERLAY_WIDTH, dash=self._overlay_mark(run_label)[1])
        else:
            colour = pg.mkColor(metric_colour(name))
            pen = pg.mkPen(colour, width=RUN_WIDTH)
        faint = QColor(colour)
        faint.setAlpha(70)
        options = {"connect": "finite", "autoDownsampleFactor": 1.5}  # peak pairs: ~3 points per pixel column
        raw = plot.plot(pen=pg.mkPen(faint, width=1), **options)
        smooth = plot.plot(pen=pen, name=metric_label(name), **options)  # the run's name is added when compared
        for item in (raw, smooth):
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)
        series = series if series is not None else Series()
        curve = Curve(series, raw, smooth, evaluation=info.quality, name=name, scale=100.0 if info.unit == "%" else 1.0)
        curve.smooth_with(self.smoothing)
        title = plot_of(name)
        if info.unit and self.titles[title] == title:
            self._set_title(title, f"{title} ({info.unit})")  # as the metrics table shows it
        if info.linear and title not in self.linear_plots:
            self.linear_plots.add(title)
            plot.setLogMode(y=False)
        if not compared:
            self.curves[name] = curve
        self._fit_legend(title)
        return curve

    def _plot(self, title: str) -> pg.PlotItem:
        plot = self.plots.get(title)
        if plot is not None:
            return plot
        if self.plots:
            self.graphics.nextRow()
        view = CtrlWheelViewBox()  # the wheel scrolls the panel; Ctrl+wheel zooms
        plot = self.graphics.addPlot(viewBox=view, axisItems={"left": LogFriendlyAxis("left"),
                                                               "bottom": CountAxis("bottom")})  # fmt: skip
        plot.showGrid(x=True, y=True, alpha=0.15)
        # the legend sits in the title row, right of the title: outside the data area, where it hid the first
        # ~350 steps of the curves (review s15Y #8)
        legend = plot.addLegend(offset=None, colCount=4, labelTextColor=PLOT_FOREGROUND, brush=None)
        legend.setParentItem(plot)  # placed by _fit_legend: anchored, the plot's signal and the legend held each
        legend.layout.setContentsMargins(0, 0, 0, 0)  # other, and every plot of every run opened was kept (~2 MB)
        legend.layout.setVerticalSpacing(0)
        plot.setLabel("bottom", X_LABELS[self.x_axis])
        plot.setLogMode(y=self.log_y)
        first = next(iter(self.plots.values()), None)
        if first is not None:
            plot.setXLink(first)
        self.plots[title] = plot
        self._set_title(title, title)
        # by title, never holding the plot: a connection that held it kept every cleared plot alive (some 2 MB a run
        # opened: the signal belongs to the plot, a cycle Python's collector cannot see), and a plot being torn
        # down is no longer in self.plots when its last signals come
        view.sigRangeChanged.connect(lambda *_args: self._place_labels_of(title))
        view.sigResized.connect(lambda *_args: self._place_labels_of(title))
        view.sigRangeChangedManually.connect(lambda *_args: self.auto_range_button.show())
        plot.geometryChanged.connect(lambda: self._fit_legend(title))
        plot.titleLabel.geometryChanged.connect(lambda: self._fit_legend(title))  # moves as the y axis widens
        legend.geometryChanged.connect(lambda: self._place_legend(title))
        self.graphics.setMinimumHeight(MIN_PLOT_HEIGHT * len(self.plots))
        for marker in self.markers:
            self._draw_marker(marker, plot)
        self.stack.setCurrentWidget(self.scroll)
        return plot

    def _set_title(self, title: str, shown: str) -> None:
        """Show a plot's title (left, beside the legend on the right), keeping `shown` for the log-y note."""
        self.titles[title] = shown
        note = self._log_note(title)
        text = f"{shown} <span style='font-size:9pt'>· {note}</span>" if note else shown
        html = f"<span style='color:{PLOT_FOREGROUND}'>{text}</span>"
        if self.plots[title].titleLabel.text != html:  # redraws check it often; a new title lays the plot out
            self.plots[title].setTitle(html, justify="left")

    def _fit_legend(self, title: str) -> None:
        """One legend row per run (its metrics side by side), in a title row as high as the legend; a legend too wide
        for the room right of the title even in one column goes under the title, across the plot's width."""
        plot = self.plots.get(title)
        if plot is None:  # the plot is being torn down (a run was closed or another opened)
            return
        entries = [sum(plot_of(name) == title for name in curves) for curves in (self.curves, *self.overlays.values())]
        beside = plot.width() - LEGEND_MARGIN_PX - LEGEND_GAP_PX - self._title_right(plot)  # a narrow plot: more rows
        for room in (beside, plot.width() - 2 * LEGEND_MARGIN_PX):
            for columns in range(max(1, *entries), 0, -1):
                self._set_legend_columns(plot.legend, columns)
                if plot.legend.boundingRect().width() <= room:
                    break
            if plot.legend.boundingRect().width() <= room:
                break
        height = plot.legend.boundingRect().height()
        below = self._legend_below(plot)
        plot.layout.setRowFixedHeight(0, TITLE_ROW_PX + height if below else max(TITLE_ROW_PX, height))
        self._place_legend(title)

    @staticmethod
    def _set_legend_columns(legend: pg.LegendItem, columns: int) -> None:
        """Lay the legend out in `columns` columns now, at its entries' present widths: it measured the entries as
        they were before they were renamed for a comparison (short "D(x)"), chose two columns where one fitted, and
        then grew over the title; and entries stretched over a wider layout's width made it wider at each fit."""
        legend.setColumnCount(columns)
        legend.resize(0, 0)  # entries laid out at their own widths, not stretched over the legend's last width
        legend.layout.activate()
        legend.updateSize()

    @staticmethod
    def _title_right(plot: pg.PlotItem) -> float:
        """Where the title's text ends, in the plot's coordinates (it begins over the data area, after the y axis:
        the legend beside it was fitted as though it began at the plot's left edge, and covered its end)."""
        text = plot.titleLabel.item
        return text.mapRectToItem(plot, text.boundingRect()).right()

    def _legend_below(self, plot: pg.PlotItem) -> bool:
        """Whether the legend at the right end of the title row would cover the title's end."""
        left = plot.width() - plot.legend.boundingRect().width() - LEGEND_MARGIN_PX
        return left < self._title_right(plot) + LEGEND_GAP_PX

    def _place_legend(self, title: str) -> None:
        """The legend at the right end of the plot's title row, or under the title where it would cover it (again
        whenever its size or the plot's changes)."""
        plot = self.plots.get(title)
        if plot is not None:
            y = TITLE_ROW_PX if self._legend_below(plot) else 0
            plot.legend.setPos(plot.width() - plot.legend.boundingRect().width() - LEGEND_MARGIN_PX, y)

    def _clear_current(self) -> None:
        self.clear_overlays()
        self.markers.clear()  # their lines go with the plots
        self.curves.clear()
        self.plots.clear()
        self.titles.clear()
        self.linear_plots.clear()
        self.auto_range_button.hide()
        self.graphics.clear()
        self.graphics.setMinimumHeight(0)
        self.stack.setCurrentWidget(self.empty_label)

    # markers: hyperparameter changes and advice --------------------------------------------------------------
    def _add_marker(self, event: HParamChanged | Advice) -> None:
        kind = "advice" if isinstance(event, Advice) else "hparam"
        marker = next((m for m in self.markers if m.step == int(event.step) and m.kind == kind), None)
        if marker is not None and marker.holds(event):
            return
        if marker is None:
            marker = Marker(int(event.step), kind, [event])
            self.markers.append(marker)
            for plot in self.plots.values():
                self._draw_marker(marker, plot)
        else:  # another change or advice at the same step: one label says them all
            marker.events.append(event)
            for line in marker.lines:
                line.setPen(marker.pen())
                line.label.setColor(marker.colour)
                line.label.setFormat(marker.text)
                line.setToolTip(marker.text)
        for plot in self.plots.values():
            self._place_labels(plot)

    def _draw_marker(self, marker: Marker, plot: pg.PlotItem) -> None:
        line = pg.InfiniteLine(pos=self._marker_x(marker.step), angle=90, movable=False, pen=marker.pen(),
                               label=marker.text, labelOpts={"position": 1.0, "color": marker.colour,
                                                             "anchors": [(0, 0), (0, 0)], "fill": MARKER_LABEL_FILL})  # fmt: skip
        line.setToolTip(marker.text)
        plot.addItem(line, ignoreBounds=True)
        marker.lines.append(line)
        self._place_labels(plot)

    def _place_labels(self, plot: pg.PlotItem) -> None:
        place_labels(plot, self.markers)

    def _place_labels_of(self, title: str) -> None:
        plot = self.plots.get(title)
        if plot is not None:
            self._place_labels(plot)

    def _marker_x(self, step: int) -> float:
        reference = next((c.series for c in self.curves.values() if c.series.size), None)
        return reference.x_at_step(step, self.x_axis) if reference is not None else float(step)

    # options ---------------------------------------------------------------------------------------------------
    def set_smoothing(self, smoothing: float) -> None:
        self.smoothing = min(max(smoothing, 0.0), 0.99)
        for curve in self._all_curves():
            curve.smooth_with(self.smoothing)
        if self.smoothing_slider.value() != int(round(self.smoothing * 100)):
            self.smoothing_slider.setValue(int(round(self.smoothing * 100)))
        self._update_smoothing_label()
        self._dirty = True

    def _update_smoothing_label(self) -> None:
        self.smoothing_value.setText(f"{self.smoothing:.2f}")

    def set_log_y(self, log_y: bool) -> None:
        self.log_y = bool(log_y)
        if self.log_check.isChecked() != self.log_y:
            self.log_check.setChecked(self.log_y)
        for title, plot in self.plots.items():
            plot.setLogMode(y=self.log_y and title not in self.linear_plots)
        self._dirty = True

    def set_x_axis(self, axis: str) -> None:
        if axis not in X_AXES:
            return
        self.x_axis = axis
        index = self.axis_combo.findData(axis)
        if self.axis_combo.currentIndex() != index:
            self.axis_combo.setCurrentIndex(index)
        for plot in self.plots.values():
            plot.setLabel("bottom", X_LABELS[axis])
        for marker in self.markers:
            for line in marker.lines:
                line.setValue(self._marker_x(marker.step))
        for plot in self.plots.values():
            self._place_labels(plot)
        self._dirty = True

    def auto_range(self) -> None:
        """Every plot shows all its steps and values again, as before a zoom or a pan."""
        for plot in self.plots.values():
            plot.enableAutoRange()
        self.auto_range_button.hide()

    # overlays ------------------------------------------------------------------------------------------------------
    def add_overlay(self, other: RunState) -> int:
        """Draw another run's curves (lighter, dashed) over the current ones; returns the number of points."""
        label = other.name
        self.remove_overlay(label)
        curves = {name: self._new_curve(name, run_label=label, series=series) for name, series in other.series.items()}
        self.overlays[label] = curves
        self._show_overlay_button()
        self._name_legend_entries()
        self._dirty = True
        return max((c.series.size for c in curves.values()), default=0)

    def remove_overlay(self, label: str) -> None:
        for curve in self.overlays.pop(label, {}).values():
            for item in (curve.raw, curve.smooth):
                plot = item.getViewBox()
                if plot is not None:
                    plot.removeItem(item)
            self._remove_from_legends(curve)
        self._show_overlay_button()
        self._name_legend_entries()
        self._dirty = True

    def _name_legend_entries(self) -> None:
        """While runs are compared, every legend entry names its run ("D loss · ring8-plain"); alone, the
        metric only."""
        current = self.subscription.run.name if self.subscription.run is not None else ""
        names = {curve.smooth: metric_label(curve.name) for curve in self.curves.values()}
        if self.overlays:
            names = {item: f"{text} · {short_run_name(current) or 'this run'}" for item, text in names.items()}
        for label, curves in self.overlays.items():
            names.update({c.smooth: f"{metric_label(c.name)} · {short_run_name(label)}" for c in curves.values()})
        for title, plot in self.plots.items():
            for sample, text in plot.legend.items:
                if sample.item in names:
                    text.setText(names[sample.item])
            self._fit_legend(title)

    def _remove_from_legends(self, curve: Curve) -> None:
        for plot in self.plots.values():
            if plot.legend is not None:
                plot.legend.removeItem(curve.smooth)

    def _overlay_mark(self, run_label: str) -> tuple[str, list[float]]:
        """The mark and dash pattern of a compared run: each of several compared runs has its own."""
        order = list(self.overlays) + ([run_label] if run_label not in self.overlays else [])
        return OVERLAY_MARKS[order.index(run_label) % len(OVERLAY_MARKS)]

    def _show_overlay_button(self) -> None:
        """The button names the compared runs, elided; its tooltip holds every name in full."""
        names = ", ".join(f"{self._overlay_mark(label)[0]} {label}" for label in self.overlays)
        self.clear_overlay_button.setVisible(bool(self.overlays))
        metrics = self.clear_overlay_button.fontMetrics()  # elided in the middle: a run's time is at its end
        shown = metrics.elidedText(names, Qt.TextElideMode.ElideMiddle, OVERLAY_NAME_PX)
        self.clear_overlay_button.setText(f"{shown}  ✕" if names else "✕ compared")
        self.clear_overlay_button.setToolTip(f"Compared runs: {names}. Click to remove them." if names else "")

    def clear_overlays(self) -> None:
        for label in list(self.overlays):
            self.remove_overlay(label)

    def _all_curves(self):
        yield from self.curves.values()
        for curves in self.overlays.values():
            yield from curves.values()

    # drawing ---------------------------------------------------------------------------------------------------------
    def _on_timer(self) -> None:
        spacing = self.graphics.paint_seconds / PAINT_SHARE
        if time.perf_counter() - self._last_redraw >= spacing:
            self.redraw()

    def redraw(self) -> None:
        """Push changed buffers to the curve items (the timer calls this; public for tests)."""
        if not self._dirty:
            return
        self._dirty = False
        self._last_redraw = time.perf_counter()
        smoothing = self.smoothing > 0
        for curve in self._all_curves():
            x = curve.series.x(self.x_axis)
            antialias = curve.series.size <= ANTIALIAS_LIMIT
            y = curve.series.smoothed if smoothing else curve.series.y
            curve.smooth.setData(x, y * curve.scale if curve.scale != 1 else y, antialias=antialias)
            if smoothing:
                curve.raw.setData(x, curve.series.y * curve.scale, antialias=antialias)
            curve.raw.setVisible(smoothing)
        for title, shown in self.titles.items():
            self._set_title(title, shown)  # the log-y note follows the values

    def _log_note(self, title: str) -> str:
        """What a log y axis leaves out of a plot ("" when nothing): its zeros and negative values."""
        if not self.log_y or title in self.linear_plots:
            return ""
        count = sum(int(np.count_nonzero(c.series.y <= 0)) for c in self._all_curves() if plot_of(c.name) == title)
        return LOG_NOTE.format(count=count) if count else ""

    # queries (tests, screenshots) ----------------------------------------------------------------------------------
    def point_count(self, metric: str) -> int:
        curve = self.curves.get(metric)
        return curve.series.size if curve is not None else 0

    def drawn_points(self, metric: str) -> int:
        """Points handed to the curve item at the last redraw."""
        curve = self.curves.get(metric)
        if curve is None:
            return 0
        x, _ = curve.smooth.getOriginalDataset()
        return 0 if x is None else len(x)

    def marker_texts(self) -> list[str]:
        return [m.text for m in self.markers]

    # preferences --------------------------------------------------------------------------------------------------------
    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("plots/smoothing", self.smoothing)
        settings.setValue("plots/log_y", self.log_y)
        settings.setValue("plots/x_axis", self.x_axis)

    def restore_settings(self, settings: QSettings) -> None:
        from gan_studio.ui.settings import read_bool

        try:
            self.set_smoothing(float(settings.value("plots/smoothing", self.smoothing)))
        except (TypeError, ValueError):
            pass
        self.set_log_y(read_bool(settings, "plots/log_y", False))
        self.set_x_axis(str(settings.value("plots/x_axis", "step")))


def _lighter(colour: str, share: float = OVERLAY_LIGHTEN) -> QColor:
    """`colour` mixed `share` of the way with white."""
    mixed = pg.mkColor(colour)
    mixed.setRgb(*(round(c + (255 - c) * share) for c in mixed.getRgb()[:3]))
    return mixed
