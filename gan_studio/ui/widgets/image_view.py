"""A zoomable, pannable picture (one persistent pyqtgraph ImageItem) with optional row labels.

Used for sample grids: `set_picture(array)` swaps the pixels with `setImage` (no new items),
`set_row_labels(names)` writes a class name left of each row of a grid, the mouse wheel zooms.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from gan_studio.ui.style import MUTED, PLOT_BACKGROUND

GRID_PADDING = 2  # pixels between and around the tiles of a grid (store/pictures.py)
ZOOM_STEP = 1.25


class ImageView(QWidget):
    """A caption above a picture that zooms with the wheel or `zoom()`."""

    def __init__(self, caption: str = "", parent=None):
        super().__init__(parent)
        self.caption = QLabel(caption)
        self.caption.setObjectName("hint")
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(PLOT_BACKGROUND)
        self.view = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        self.placeholder = pg.TextItem("", color=MUTED, anchor=(0.5, 0.5))
        self.view.addItem(self.placeholder)
        self.labels: list[pg.TextItem] = []
        self.picture: np.ndarray | None = None
        self._fit_next = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.caption)
        layout.addWidget(self.graphics, 1)
        self.set_picture(None, "no picture yet")

    def set_picture(self, picture: np.ndarray | None, placeholder: str = "") -> None:
        """Show uint8 (H, W) or (H, W, C) pixels, or the placeholder text when None."""
        first = self.picture is None or picture is None or picture.shape[:2] != self.picture.shape[:2]
        first, self._fit_next = first or self._fit_next, False
        self.picture = picture
        if picture is None:
            self.image.clear()
            self.placeholder.setText(placeholder)
            self.placeholder.setPos(0, 0)
            self.placeholder.show()
            self.set_row_labels([])
            self.view.setRange(xRange=(-50, 50), yRange=(-50, 50), padding=0)
            return
        self.placeholder.hide()
        levels = (0, 255)
        self.image.setImage(picture, autoLevels=False, levels=levels)
        if first:
            self.fit()

    def set_row_labels(self, names: list[str]) -> None:
        """Write names[i] left of row i of the grid shown (one row per class)."""
        for item in self.labels:
            self.view.removeItem(item)
        self.labels = []
        if self.picture is None or not names:
            return
        height = self.picture.shape[0]
        cell = (height - GRID_PADDING) / len(names)
        for row, name in enumerate(names):
            item = pg.TextItem(name, color=MUTED, anchor=(1.0, 0.5))
            item.setPos(-3, GRID_PADDING / 2 + cell * (row + 0.5))
            self.view.addItem(item)
            self.labels.append(item)
        self.fit()

    def fit_on_next_picture(self) -> None:
        """Show the next picture whole, whatever the zoom was (a new run starts unzoomed)."""
        self._fit_next = True

    def fit(self) -> None:
        """Show the whole picture (and its labels)."""
        if self.picture is None:
            return
        height, width = self.picture.shape[:2]
        left = -max((len(item.toPlainText()) for item in self.labels), default=0) * 7 - 6
        self.view.setRange(xRange=(min(left, 0), width), yRange=(0, height), padding=0.02)

    def zoom(self, factor: float) -> None:
        """factor > 1 zooms in."""
        self.view.scaleBy((1 / factor, 1 / factor))

    def zoom_in(self) -> None:
        self.zoom(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom(1 / ZOOM_STEP)
