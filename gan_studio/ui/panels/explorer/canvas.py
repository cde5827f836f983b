"""An image view for the explorer: one persistent pyqtgraph ImageItem, pixels kept square.

`set_picture(picture)` replaces the image (uint8 (H, W) or (H, W, C)) and emits `shown`; pictures
that are grids of cells (`set_picture(picture, cells=grid_cells(...))`) report
clicks on a cell with `cell_clicked(index)`, so a grid of samples can be picked from, and
`mark_cells({index: (text, colour)})` outlines chosen cells (or rings chosen points) with a badge (the
A−B+C pool's group members). (Not `show` and `clear`: GraphicsLayoutWidget already uses those names,
`clear` for emptying its layout.)
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsRectItem, QSizePolicy

from gan_studio.ui.style import PLOT_BACKGROUND


class _ClickableImage(pg.ImageItem):
    def __init__(self, on_click):
        super().__init__(axisOrder="row-major")
        self._on_click = on_click

    def mouseClickEvent(self, ev):
        if ev.button() == Qt.MouseButton.LeftButton:
            pos = ev.pos()
            self._on_click(pos.x(), pos.y())
            ev.accept()


POINT_CLICK_PX = 10  # a click this near a marked point picks it


class ImageCanvas(pg.GraphicsLayoutWidget):
    """A fixed-aspect view of one picture; see the module docstring."""

    shown = Signal()  # a new picture is in the ImageItem
    cell_clicked = Signal(int)

    def __init__(self, parent=None, min_side: int = 96, caption: str = ""):
        super().__init__(parent)
        self.setBackground(PLOT_BACKGROUND)
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.view = self.addViewBox(lockAspect=True, enableMouse=False, invertY=True)
        self.view.setMenuEnabled(False)
        self.view.setDefaultPadding(0.0)
        self.image = _ClickableImage(self._clicked)
        self.view.addItem(self.image)
        self._shape: tuple[int, ...] | None = None
        self._cells: tuple[int, ...] | None = None
        self._points: np.ndarray | None = None
        self._min_side = min_side
        self._marks: list = []  # outlines and badges of marked cells
        self.picture: np.ndarray | None = None
        self.setMinimumSize(min_side, min_side)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        if caption:
            self.setToolTip(caption)

    def sizeHint(self) -> QSize:
        return QSize(self._min_side * 2, self._min_side * 2)

    def set_picture(self, picture: np.ndarray, cells: tuple[int, ...] | None = None,
                    points: np.ndarray | None = None) -> None:  # fmt: skip
        """Display uint8 `picture`; `cells` (from `grid_cells`) describes a grid, and `points` the (N, 2) pixel
        positions of marked points, for clicks on a cell or a point (`cell_clicked` gives its index)."""
        picture = np.asarray(picture)
        if picture.ndim == 3 and picture.shape[2] == 1:
            picture = picture[:, :, 0]
        self.picture = picture
        self._cells = cells
        self._points = None if points is None else np.asarray(points, dtype=np.float64)
        self.image.setImage(picture, autoLevels=False, levels=(0, 255))
        if picture.shape[:2] != (self._shape or (None, None))[:2]:
            self._shape = picture.shape
            self._fit()
        self.shown.emit()

    def _fit(self) -> None:
        """Show the whole picture (also right for views that were hidden when the picture came)."""
        shape = getattr(self, "_shape", None)  # resizeEvent also comes during construction
        if shape is not None:
            height, width = shape[:2]
            self.view.setRange(QRectF(0, 0, width, height), padding=0.0)

    def showEvent(self, event):
        super().showEvent(event)
        self._fit()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._fit()

    def mark_cells(self, marks: dict[int, tuple[str, str]]) -> None:
        """Outline the grid cells (or ring the marked points) `marks` names ({index: (text, colour)}) and badge
        each with its text in a small label at its top left; {} removes the marks."""
        for item in self._marks:
            self.view.removeItem(item)
        self._marks = []
        for index, (text, colour) in marks.items():
            box = self._mark_box(index)
            if box is None:
                continue
            x, y, width, height = box
            outline = (QGraphicsRectItem if self._cells is not None else QGraphicsEllipseItem)(x, y, width, height)
            pen = QPen(QColor(colour), 2)
            pen.setCosmetic(True)  # 2 screen pixels at any zoom
            outline.setPen(pen)
            fill = QColor(colour)
            fill.setAlpha(210)  # the sample shows through
            badge = pg.TextItem(text, color="#ffffff", fill=fill, anchor=(0, 0) if self._cells is not None else (0, 1))
            badge.textItem.document().setDocumentMargin(1)
            font = badge.textItem.font()
            font.setPointSizeF(max(6.0, font.pointSizeF() * 0.75))
            badge.setFont(font)
            badge.setPos(x + (width if self._cells is None else 0), y)
            for item in (outline, badge):
                self.view.addItem(item)
                self._marks.append(item)

    def _mark_box(self, index: int) -> tuple[float, float, float, float] | None:
        """(x, y, width, height) in picture pixels around grid cell or marked point `index` (None: no such one)."""
        if self._points is not None:
            if index >= len(self._points) or not np.all(np.isfinite(self._points[index])):
                return None
            x, y = self._points[index]
            return x - POINT_CLICK_PX / 2, y - POINT_CLICK_PX / 2, POINT_CLICK_PX, POINT_CLICK_PX
        if self._cells is None:
            return None
        rows, cols, cell_h, cell_w, pad, left = self._cells
        row, col = divmod(index, cols)
        if row >= rows:
            return None
        x, y = left + pad + col * (cell_w + pad), pad + row * (cell_h + pad)
        return x - pad / 2, y - pad / 2, cell_w + pad, cell_h + pad

    def clear_picture(self) -> None:
        self.mark_cells({})
        self.picture = None
        self._cells = None
        self._points = None
        self._shape = None
        self.image.clear()

    def _clicked(self, x: float, y: float) -> None:
        if self._points is not None and len(self._points):
            distance = np.hypot(self._points[:, 0] - x, self._points[:, 1] - y)
            distance[~np.isfinite(distance)] = np.inf
            nearest = int(np.argmin(distance))
            if distance[nearest] <= POINT_CLICK_PX:
                self.cell_clicked.emit(nearest)
            return
        if self._cells is None:
            return
        rows, cols, cell_h, cell_w, pad, left = self._cells
        col, row = int((x - left - pad) // (cell_w + pad)), int((y - pad) // (cell_h + pad))
        if 0 <= row < rows and 0 <= col < cols:
            self.cell_clicked.emit(row * cols + col)
