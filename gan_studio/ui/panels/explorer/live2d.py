"""The explorer's Live 2D tab (models of 2D points): real points, generated points, and the
discriminator's D(x) as a heatmap behind them (GANs) or the decoded latent grid (VAEs).

It redraws whenever the panel reloads the run, which it does each time training writes a new
checkpoint, so the view follows training (see the explorer panel's docstring).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout

from gan_studio.explore.live2d import Live2DFrame, live_frame
from gan_studio.ui.panels.explorer.tab import ExplorerTab
from gan_studio.ui.style import PLOT_BACKGROUND

# D(x): blue where D says "fake", neutral near 0.5, red where it says "real"
HEATMAP_COLOURS = pg.ColorMap([0.0, 0.5, 1.0], [(38, 84, 160), (34, 37, 44), (170, 52, 52)])


class Live2DTab(ExplorerTab):
    TAB_TITLE = "Live 2D"

    frame_shown = Signal(int)  # the training step now drawn

    def __init__(self, panel):
        super().__init__(panel)
        self.frame: Live2DFrame | None = None
        self.frames_drawn = 0
        self.plot = pg.PlotWidget(background=PLOT_BACKGROUND)
        self.plot.setAspectLocked(True)
        self.plot.setMenuEnabled(False)
        self.plot.showGrid(x=False, y=False)
        self.heatmap = pg.ImageItem(axisOrder="row-major")
        self.heatmap.setColorMap(HEATMAP_COLOURS)
        self.heatmap.setZValue(-10)
        self.mesh = pg.PlotCurveItem(pen=pg.mkPen((90, 160, 235, 200), width=1), connect="finite")
        self.real = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(200, 205, 215, 110))
        self.generated = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(242, 142, 43, 220))
        for item in (self.heatmap, self.mesh, self.real, self.generated):
            self.plot.addItem(item)
        self.legend = QLabel("")
        self.legend.setObjectName("hint")
        self.legend.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.legend)

    def applies_to(self, source) -> bool:
        return source.kind == "points"

    def source_changed(self, source, reloaded: bool) -> None:
        if self.applies_to(source):
            self.refresh()

    def refresh(self) -> None:
        """Compute a frame from the current weights in the render thread."""
        panel = self.panel
        if panel.source is None or panel.loaded is None or not self.applies_to(panel.source):
            return
        source, real = panel.source, panel.loaded.real
        extent = panel.loaded.backdrop[1] if panel.loaded.backdrop else None
        y = None if panel.y is None else panel.y.copy()
        panel.submit("live", lambda: live_frame(source, real, y, extent=extent), self._show)

    def _show(self, result) -> None:
        frame: Live2DFrame = result.value
        self.frame = frame
        x0, x1, y0, y1 = frame.extent
        if frame.heatmap is not None:
            self.heatmap.setImage(frame.heatmap, autoLevels=False, levels=(0.0, 1.0))
            self.heatmap.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
            self.heatmap.setVisible(True)
        else:
            self.heatmap.setVisible(False)
        if frame.mesh is not None:
            lines = [np.vstack([line, [np.nan, np.nan]]) for line in frame.mesh]
            path = np.concatenate(lines)
            self.mesh.setData(path[:, 0], path[:, 1])
            self.mesh.setVisible(True)
        else:
            self.mesh.setVisible(False)
        if frame.real is not None:
            self.real.setData(frame.real[:, 0], frame.real[:, 1])
        self.generated.setData(frame.generated[:, 0], frame.generated[:, 1])
        if self.frames_drawn == 0:
            self.plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.0)
        self.frames_drawn += 1
        self.legend.setText(f"step {frame.step} · grey: real · orange: generated · {frame.caption}")
        self.frame_shown.emit(frame.step)
