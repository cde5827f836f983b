"""A zoomable, pannable picture (one persistent pyqtgraph ImageItem) with optional row labels.

Used for sample grids: `set_picture(array)` swaps the pixels with `setImage` (no new items),
`set_row_labels(names)` writes a class name left of each row of a grid, the mouse wheel zooms.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QTextOption
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from gan_studio.explore.saving import label_rows
from gan_studio.ui.style import MUTED, PLOT_BACKGROUND

GRID_PADDING = 2  # pixels between and around the tiles of a grid (store/pictures.py)
ZOOM_STEP = 1.25


class PictureItem(pg.ImageItem):
    """An ImageItem drawn smoothly when shown smaller than its pixels (nearest-neighbour shrinking dropped whole
    strokes: letters of a header, grid lines, thin details of a sample) and as sharp pixels when enlarged (small
    samples zoomed in are meant to show their pixels)."""

    def paint(self, painter, *args) -> None:
        to_screen = painter.deviceTransform()
        screen_pixels_per_pixel = min(math.hypot(to_screen.m11(), to_screen.m12()),
                                      math.hypot(to_screen.m21(), to_screen.m22()))  # fmt: skip
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, screen_pixels_per_pixel < 1)
        super().paint(painter, *args)


class ImageView(QWidget):
    """A caption above a picture that zooms with the wheel or `zoom()`."""

    def __init__(self, caption: str = "", parent=None, zooms: bool = True):
        """`zooms` False: a picture that always shows whole, for a panel that scrolls (the wheel scrolls it)."""
        super().__init__(parent)
        self.caption = QLabel(caption)
        self.caption.setObjectName("hint")
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(PLOT_BACKGROUND)
        self.view = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.image = PictureItem(axisOrder="row-major")
        self.view.addItem(self.image)
        self.view.setMouseEnabled(x=zooms, y=zooms)  # not zooming: the view ignores the wheel, its panel scrolls
        self.placeholder = pg.TextItem("", color=MUTED, anchor=(0.5, 0.5))
        self.placeholder.textItem.document().setDefaultTextOption(QTextOption(Qt.AlignmentFlag.AlignCenter))
        self.view.addItem(self.placeholder)
        self.row_labels: list[str] = []
        self.picture: np.ndarray | None = None  # the pixels given (what Save writes)
        self.shown: np.ndarray | None = None  # what is drawn: the picture with its row labels
        self.user_zoomed = False  # the user zoomed or panned: resizing keeps their view
        self.view.sigRangeChangedManually.connect(lambda *_: setattr(self, "user_zoomed", True))
        self._fit_next = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.caption)
        layout.addWidget(self.graphics, 1)
        self.set_picture(None, "no picture yet")

    def set_picture(self, picture: np.ndarray | None, placeholder: str = "") -> None:
        """Show uint8 (H, W) or (H, W, C) pixels, or the placeholder text when None (row labels are kept)."""
        first = self.picture is None or picture is None or picture.shape[:2] != self.picture.shape[:2]
        first, self._fit_next = first or self._fit_next, False
        self.picture = picture
        if picture is None:
            self.image.clear()
            self.shown = None
            self.placeholder.setText(placeholder)
            self._wrap_placeholder()
            self.placeholder.setPos(0, 0)
            self.placeholder.show()
            self.view.setRange(xRange=(-50, 50), yRange=(-50, 50), padding=0)
            return
        self.placeholder.hide()
        self._draw()
        if first:
            self.fit()

    def set_row_labels(self, names: list[str]) -> None:
        """Write names[i] left of row i of the grid shown (one row per class), in the picture itself, so a
        label is never cut off and zooms with its row."""
        self.row_labels = list(names)
        if self.picture is not None:
            self._draw()
            self.fit()

    def _draw(self) -> None:
        picture = self.picture
        if self.row_labels:
            cell = (picture.shape[0] - GRID_PADDING) / len(self.row_labels) - GRID_PADDING
            picture, _ = label_rows(picture, self.row_labels, max(1, int(round(cell))), GRID_PADDING,
                                    font_size=max(9, min(14, int(cell * 0.4))))  # fmt: skip
        self.shown = picture
        self.image.setImage(picture, autoLevels=False, levels=(0, 255))

    def fit_on_next_picture(self) -> None:
        """Show the next picture whole, whatever the zoom was (a new run starts unzoomed)."""
        self._fit_next = True

    def _wrap_placeholder(self) -> None:
        """The placeholder wraps to the view's width (in a narrow panel it was cut at both ends)."""
        self.placeholder.setTextWidth(max(60, self.graphics.width() - 16))
        self.placeholder.setPos(0, 0)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if self.picture is None:
            self._wrap_placeholder()
        if not self.user_zoomed:
            self.fit()

    def fit(self) -> None:
        """Show the whole picture (and its labels)."""
        self.user_zoomed = False
        if self.shown is None:
            return
        height, width = self.shown.shape[:2]
        self.view.setRange(xRange=(0, width), yRange=(0, height), padding=0.02)

    def zoom(self, factor: float) -> None:
        """factor > 1 zooms in."""
        self.view.scaleBy((1 / factor, 1 / factor))
        self.user_zoomed = True

    def zoom_in(self) -> None:
        self.zoom(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom(1 / ZOOM_STEP)
