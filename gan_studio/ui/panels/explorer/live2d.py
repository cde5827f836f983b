"""The explorer's plane view for models of 2D points, after GAN Lab (Kahng et al. 2018).

Drawn over the plane: D(x) as a colour field with its colour scale and the D = 1/2 contour, the
real points, the generated points (one colour per class for conditional models), G's gradient as an
arrow on each generated point (where G's next update moves it), and for a 1-2D latent space the
generator's image of a regular z grid (the manifold mesh); VAEs show their decoder's image of the
grid; a ring marks the sample of the explorer's current z (and class). "Live" follows training: the
newer of the loaded weights' frame and the frame the run saved at its latest sample step; before the
run's first checkpoint there are no weights to load, and it plays the saved frames alone. The playback
bar plays, steps and slow-motions through the frames the run saved at each sample step
(gan_studio.explore.frames). It stands in the explorer's image column in place of the
image views. All numbers are computed off the UI thread (gan_studio.explore.live2d); it only draws.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSlider,
    QVBoxLayout,  # fmt: skip
)

from gan_studio.explore.frames import load_frame, saved_frames
from gan_studio.explore.live2d import Live2DFrame, arrow_heads, arrows, live_frame, outside, tween
from gan_studio.explore.state import training_points
from gan_studio.store.pictures import CLASS_COLOURS
from gan_studio.store.rundir import RunDir
from gan_studio.ui.panels.explorer.plane_key import (
    CURRENT_COLOUR,
    GENERATED_COLOUR,
    GRADIENT_COLOUR,
    HEATMAP_COLOURS,
    HEATMAP_LABEL,
    HEATMAP_TICKS,
    MESH_COLOUR,
    POINT_SIZE,
    REAL_EDGE,
    REAL_FILL,
    REAL_SIZE,
    PlaneKey,
    contour_pen,
    swatch,
)
from gan_studio.ui.panels.explorer.tab import ExplorerTab
from gan_studio.ui.style import PLOT_BACKGROUND
from gan_studio.ui.widgets.class_legend import class_legend

PLAY_MS = 40  # playback timer
FRAME_SLIDER_MIN = 60  # the frames slider shrinks to this beside the speed and Layers, no further
LAYER_TIPS = {
    "D(x)": "the discriminator's belief that a point is real: blue says generated, grey can't tell, red says real",
    "D = ½": "where D cannot tell real from generated (dashed): at the end of training it covers the data",
    "real": "the training points",
    "generated": "points G draws from a fixed set of z (one colour per class for conditional models)",
    "G's gradient": "where G's next update moves each generated point (minus the gradient of its loss)",
    "z grid": "the image of a regular grid of z through the generator (decoder): the learned manifold",
}
UNAVAILABLE = {  # why a layer is missing from a frame
    "D(x)": "no discriminator here (a VAE, or an exported generator)",
    "D = ½": "no discriminator here (a VAE, or an exported generator)",
    "real": "the training points could not be read",
    "generated": "",
    "G's gradient": "no discriminator to take it from (a VAE, or an exported generator)",
    "z grid": "drawn for a latent space of 1 or 2 dimensions only",
}
SPEEDS = {"1×": 2, "½×": 8, "¼×": 16}  # timer ticks per saved frame; in-between ticks are tweened


class Live2DTab(ExplorerTab):
    TAB_TITLE = "2D view"

    frame_shown = Signal(int)  # the training step now drawn

    def __init__(self, panel):
        super().__init__(panel)
        self.frame: Live2DFrame | None = None  # the frame drawn
        self.weights_frame: Live2DFrame | None = None  # the frame of the loaded weights
        self.frames_drawn = 0
        self.saved: list[Live2DFrame] = []  # the run's saved frames, oldest first
        self.run_path: Path | None = None  # the run whose saved frames play (None: an .onnx file)
        self.real_points: np.ndarray | None = None  # the training points
        self.class_names: list[str] = []  # of a conditional model's classes
        self._tick = 0

        self.plot = pg.PlotWidget(background=PLOT_BACKGROUND)
        self.plot.setAspectLocked(True)
        self.plot.setMenuEnabled(False)
        self.plot.showGrid(x=False, y=False)
        self.heatmap = pg.ImageItem(axisOrder="row-major")
        self.heatmap.setColorMap(HEATMAP_COLOURS)
        self.heatmap.setZValue(-10)
        self.colour_bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=HEATMAP_COLOURS, label=HEATMAP_LABEL,
                                          interactive=False,
                                          width=12)  # fmt: skip
        self.colour_bar.setImageItem(self.heatmap, insert_in=self.plot.getPlotItem())
        self.colour_bar.axis.setTicks([HEATMAP_TICKS])
        self.contour = pg.PlotCurveItem(pen=contour_pen(), connect="finite")
        self.mesh = pg.PlotCurveItem(pen=pg.mkPen(MESH_COLOUR, width=1), connect="finite")
        self.real = pg.ScatterPlotItem(size=REAL_SIZE, pen=pg.mkPen(*REAL_EDGE), brush=pg.mkBrush(*REAL_FILL))
        self.real.setZValue(5)  # over the generated points: a tight cluster (ring8's std is 0.01) stays in sight
        self.generated = pg.ScatterPlotItem(size=POINT_SIZE, pen=None)
        self.arrows = pg.PlotCurveItem(pen=pg.mkPen(GRADIENT_COLOUR, width=1), connect="pairs")
        self.current = pg.ScatterPlotItem(size=18, pen=pg.mkPen(CURRENT_COLOUR, width=2.5), brush=None)
        self.current.setZValue(10)
        self.plot.addItem(self.current)
        self.plane_notes = QLabel("")  # what the plane is too small to show whole: its note, the colour bar's caption
        self.plane_notes.setObjectName("hint")
        self.plane_notes.setWordWrap(True)
        self.plane_notes.setTextFormat(Qt.TextFormat.RichText)
        self.plane_notes.hide()
        self.key = PlaneKey(self.plot.getPlotItem(), self.colour_bar, self.plane_notes)
        self.plot.getViewBox().sigRangeChanged.connect(lambda *_: self._count_outside())
        self.layers = {"D(x)": self.heatmap, "D = ½": self.contour, "real": self.real, "generated": self.generated,
                       "G's gradient": self.arrows, "z grid": self.mesh}  # fmt: skip
        for item in self.layers.values():
            self.plot.addItem(item)
        self.toggles: dict[str, QAction] = {}  # one checkable entry per layer, in a menu: the plane keeps the height
        self.layers_menu = QMenu(self)
        self.layers_menu.setToolTipsVisible(True)
        for name, item in self.layers.items():
            toggle = self.layers_menu.addAction(swatch(name), name)
            toggle.setCheckable(True)
            toggle.setChecked(True)
            toggle.setToolTip(LAYER_TIPS[name])
            toggle.toggled.connect(lambda on, item=item: self._show_layer(item, on))
            self.toggles[name] = toggle
        self.layers_menu.addSeparator()
        self.legend_toggle = self.layers_menu.addAction("legend")  # a small plane may need the corner it covers
        self.legend_toggle.setCheckable(True)
        self.legend_toggle.setChecked(True)
        self.legend_toggle.setToolTip("the key to the colours, in the plane's top left corner")
        self.legend_toggle.toggled.connect(self._want_legend)
        self.layers_button = QPushButton("Layers")
        self.layers_button.setToolTip("show or hide what is drawn over the plane: D(x), D = ½, the real and generated "
                                      "points, G's gradient, the z grid")  # fmt: skip
        self.layers_button.setMenu(self.layers_menu)

        self.live_check = QCheckBox("live")
        self.live_check.setChecked(True)
        self.live_check.setToolTip("Follow the newest weights (off: show the saved frame under the slider)")
        self.live_check.toggled.connect(self._on_live_toggled)
        self.back_button = QPushButton("◀")
        self.play_button = QPushButton("Play")
        self.forward_button = QPushButton("▶")
        for button, tip in ((self.back_button, "the previous saved frame"), (self.forward_button, "the next saved frame"),
                            (self.play_button, "play the training through its saved frames")):  # fmt: skip
            button.setToolTip(tip)
        for button in (self.back_button, self.forward_button):
            button.setFixedWidth(32)
        self.back_button.clicked.connect(lambda: self.step_by(-1))
        self.forward_button.clicked.connect(lambda: self.step_by(1))
        self.play_button.clicked.connect(self.toggle_play)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setMinimumWidth(FRAME_SLIDER_MIN)  # gives way to the speed and the layers, not to nothing
        self.slider.setRange(0, 0)
        self.slider.valueChanged.connect(self._on_slider)
        self.speed_combo = QComboBox()
        self.speed_combo.addItems(list(SPEEDS))
        self.speed_combo.setToolTip("slow motion draws in-between frames")
        playback = QHBoxLayout()  # two short rows: the column stays narrow enough for a 1024 px wide screen
        for widget in (self.live_check, self.back_button, self.play_button, self.forward_button):
            playback.addWidget(widget)
        playback.addStretch(1)
        timeline = QHBoxLayout()
        for widget, stretch in ((self.slider, 1), (self.speed_combo, 0), (self.layers_button, 0)):
            timeline.addWidget(widget, stretch)
        self.timer = QTimer(self)
        self.timer.setInterval(PLAY_MS)
        self.timer.timeout.connect(self._advance)

        self.legend = QLabel("")
        self.legend.setObjectName("hint")
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setMinimumHeight(2 * self.legend.fontMetrics().lineSpacing())  # the plane does not jump as it wraps
        layout = QVBoxLayout(self)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.plane_notes)
        layout.addLayout(timeline)
        layout.addLayout(playback)
        layout.addWidget(self.legend)

    def applies_to(self, source) -> bool:
        return source.kind == "points"

    # sources and frames ------------------------------------------------------------------------------
    def source_changed(self, source, reloaded: bool) -> None:
        if not self.applies_to(source):
            return
        run_path = Path(source.path) if source.loaded is not None else None
        if not reloaded and not (run_path is not None and run_path == self.run_path):  # (its frames played already)
            self._start_over()
        self.run_path = run_path
        self.real_points = self.panel.loaded.real
        self.class_names = source.condition_names()
        self.refresh()
        self.load_saved_frames()

    def follow_frames(self, run_path: Path) -> None:
        """Play the saved frames of a run that has no checkpoint yet: no weights to load, so no ring of the current z."""
        self._start_over()
        self.current.setVisible(False)
        self.run_path, self.real_points, self.class_names = Path(run_path), None, []

        def work():
            info = RunDir(Path(run_path)).read_info()
            names = (info.get("data_info") or {}).get("class_names") or []
            return training_points(info), [str(name) for name in names]

        self.panel.submit("real points", work, self._on_training_points)
        self.load_saved_frames()

    def _start_over(self) -> None:
        """Another model or run: forget the frames of the last one, and follow live."""
        self.frames_drawn = 0
        self.saved, self.weights_frame = [], None
        self.stop()
        self.live_check.setChecked(True)
        for widget in (self.slider, self.back_button, self.forward_button, self.play_button):
            widget.setEnabled(False)  # until this source's saved frames are read (an .onnx file has none)

    def _on_training_points(self, result) -> None:
        self.real_points, self.class_names = result.value
        if self.frame is not None:
            self.show_frame(self.frame)

    def refresh(self) -> None:
        """Compute a frame from the current weights in the render thread (shown when following live)."""
        panel = self.panel
        if panel.source is None or panel.loaded is None or not self.applies_to(panel.source):
            return
        source, real = panel.source, panel.loaded.real
        extent = panel.loaded.backdrop[1] if panel.loaded.backdrop else None
        y = None if panel.y is None else panel.y.copy()
        panel.submit("live", lambda: live_frame(source, real, y, extent=extent), self._on_live_frame)

    def load_saved_frames(self) -> None:
        """Read the run's saved frames in the render thread (new ones appear as training saves them)."""
        run_path, caption = self.run_path, "saved frame"
        if run_path is None:
            return
        self.panel.submit("frames", lambda: [load_frame(path, caption) for _, path in saved_frames(run_path)],
                          self._on_saved_frames)  # fmt: skip

    def _on_saved_frames(self, result) -> None:
        self.saved = result.value
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(self.saved) - 1))
        if self.live_check.isChecked():
            self.slider.setValue(self.slider.maximum())
        self.slider.blockSignals(False)
        for widget in (self.slider, self.back_button, self.forward_button, self.play_button):
            widget.setEnabled(len(self.saved) > 1)
        if self.frame is not None:
            self.legend.setText(self._legend_text(self.frame))  # "saved frame 8 of 20": the count grows
        self._show_newest()

    def _on_live_frame(self, result) -> None:
        self.weights_frame = result.value
        self._show_newest()

    def _show_newest(self) -> None:
        """Following live: the newest of the frame of the loaded weights and the run's newest saved frame
        (training saves a frame at every sample step, more often than a checkpoint)."""
        candidates = [f for f in (self.weights_frame, self.saved[-1] if self.saved else None) if f is not None]
        if self.live_check.isChecked() and candidates:
            newest = max(candidates, key=lambda frame: frame.step)
            if newest is not self.frame:
                self.show_frame(newest)

    # playback ------------------------------------------------------------------------------------------
    def _on_live_toggled(self, live: bool) -> None:
        if live:
            self.stop()
            self.refresh()
        elif self.frame is not None:
            self.legend.setText(self._legend_text(self.frame))  # "saved frame 12 of 12", no longer "live"

    def _on_slider(self, index: int) -> None:
        if 0 <= index < len(self.saved):
            self.live_check.setChecked(False)
            self.show_frame(self.saved[index])

    def step_by(self, delta: int) -> None:
        self.stop()
        if self.saved:
            self.slider.setValue(max(0, min(len(self.saved) - 1, self.slider.value() + delta)))

    def toggle_play(self) -> None:
        if self.timer.isActive():
            self.stop()
            return
        if len(self.saved) < 2:
            return
        self.live_check.setChecked(False)
        if self.slider.value() >= len(self.saved) - 1:
            self.slider.setValue(0)
        self._tick = 0
        self.play_button.setText("Pause")
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self.play_button.setText("Play")

    def _advance(self) -> None:
        """One timer tick: the next saved frame, or an in-between one in slow motion."""
        ticks = SPEEDS[self.speed_combo.currentText()]
        index = self.slider.value()
        if index >= len(self.saved) - 1:
            self.stop()
            return
        self._tick += 1
        if self._tick >= ticks:
            self._tick = 0
            self.slider.setValue(index + 1)
            return
        if ticks > 2:  # slow motion: blend towards the next frame
            self.show_frame(tween(self.saved[index], self.saved[index + 1], self._tick / ticks))

    # drawing ---------------------------------------------------------------------------------------------
    def _has(self, item) -> bool:
        frame = self.frame
        if frame is None:
            return False
        return {id(self.heatmap): frame.heatmap is not None, id(self.contour): bool(frame.contour),
                id(self.real): frame.real is not None or self._real() is not None,
                id(self.generated): True, id(self.arrows): frame.gradients is not None,
                id(self.mesh): frame.mesh is not None}[id(item)]  # fmt: skip

    def _real(self) -> np.ndarray | None:
        return self.real_points

    def show_frame(self, frame: Live2DFrame) -> None:
        """Draw a frame: every layer the frame has and its checkbox allows."""
        self.frame = frame
        x0, x1, y0, y1 = frame.extent
        if frame.heatmap is not None:
            self.heatmap.setImage(frame.heatmap, autoLevels=False, levels=(0.0, 1.0))
            self.heatmap.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.contour.setData(*_polylines(frame.contour))
        self.mesh.setData(*_polylines(list(frame.mesh) if frame.mesh is not None else []))
        real = frame.real if frame.real is not None else self._real()
        if real is not None:
            self.real.setData(real[:, 0], real[:, 1])
        brushes = None
        if frame.generated_labels is not None:
            palette = [pg.mkBrush(*c, 220) for c in CLASS_COLOURS]  # as the class legend (store.pictures)
            brushes = [palette[int(k) % len(palette)] for k in frame.generated_labels]
        self.generated.setData(
            frame.generated[:, 0], frame.generated[:, 1], brush=brushes or pg.mkBrush(*GENERATED_COLOUR, 220)
        )
        segments = arrows(frame)
        segments = np.concatenate([segments, arrow_heads(segments, frame.extent)])  # each tip shows the way
        self.arrows.setData(segments[:, :, 0].reshape(-1), segments[:, :, 1].reshape(-1))
        for name, item in self.layers.items():
            available = self._has(item)
            item.setVisible(self.toggles[name].isChecked() and available)
            box = self.toggles[name]  # a layer this frame cannot have is greyed, and says why
            box.setEnabled(available)
            box.setToolTip(
                LAYER_TIPS[name] if available else f"{LAYER_TIPS[name]} (not available: {UNAVAILABLE[name]})"
            )
        self.colour_bar.setVisible(frame.heatmap is not None and self.toggles["D(x)"].isChecked())
        self.current.setVisible(self._ring_applies())
        self._update_key()
        self._count_outside()
        if self.frames_drawn == 0:
            self.plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.0)
        self.frames_drawn += 1
        self.legend.setText(self._legend_text(frame))
        self.frame_shown.emit(frame.step)

    def _show_layer(self, item, on: bool) -> None:
        item.setVisible(on and self._has(item))
        self._update_key()

    def _want_legend(self, on: bool) -> None:
        self.key.wanted = on
        self._update_key()

    def _update_key(self) -> None:
        """The legend lists what is drawn now."""
        shown = [name for name, item in self.layers.items() if item.isVisible()]
        self.key.show_layers(shown + (["current z"] if self.current.isVisible() else []))

    def _count_outside(self) -> None:
        """Say how many generated points the view does not show (they left the plane, e.g. as training diverges)."""
        if self.frame is None:
            return
        (x0, x1), (y0, y1) = self.plot.getViewBox().viewRange()
        self.key.show_outside(int(outside(self.frame.generated, (x0, x1, y0, y1)).sum()), len(self.frame.generated))

    def mark_current(self) -> None:
        """Ring the sample of the explorer's current z and class (a 2D model's generator is cheap: UI thread)."""
        panel = self.panel
        if panel.source is None or not self.applies_to(panel.source):
            return
        y = None if panel.y is None else panel.y[None]
        point = np.asarray(panel.source.backend.generate(panel.z[None], y), np.float32).reshape(-1, 2)
        self.current.setData(point[:, 0], point[:, 1])

    def _ring_applies(self) -> bool:
        """The ring shows the current z through the loaded weights: only over a frame of the same step."""
        source = self.panel.source
        return self.frame is not None and source is not None and self.frame.step == source.step

    def _legend_text(self, frame: Live2DFrame) -> str:
        """One or two short lines (the checkboxes' tooltips explain each layer)."""
        where = "live" if self.live_check.isChecked() else f"saved frame {self.slider.value() + 1} of {len(self.saved)}"
        parts = [f"<b>step {frame.step:,}</b> · {where}"]
        if frame.heatmap is not None:
            low, high = frame.field_range or (0.0, 1.0)
            parts.append(f"D(x) {low:.2f}–{high:.2f}")
        if self._ring_applies():
            parts.append("○ current z")
        if frame.generated_labels is not None and self.class_names:
            parts.append(class_legend(self.class_names))
        return " · ".join(parts)


def _polylines(lines: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of several polylines in one curve, separated by NaN."""
    if not lines:
        return np.zeros(0), np.zeros(0)
    gap = np.full((1, 2), np.nan, np.float32)
    path = np.concatenate([np.vstack([np.asarray(line, np.float32).reshape(-1, 2), gap]) for line in lines])
    return path[:, 0], path[:, 1]
