"""The picture view's drawing: shrunk pictures keep their thin strokes, enlarged ones keep sharp pixels."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage, QPainter

from gan_studio.ui.widgets.image_view import PictureItem


def _painted(picture: np.ndarray, scale: float) -> np.ndarray:
    """What the view's picture item draws of `picture` at `scale` screen pixels per picture pixel (grey levels)."""
    item = PictureItem(axisOrder="row-major")
    item.setImage(picture, autoLevels=False, levels=(0, 255))
    height, width = picture.shape
    canvas = QImage(round(width * scale), round(height * scale), QImage.Format.Format_Grayscale8)
    canvas.fill(QColor(128, 128, 128))
    painter = QPainter(canvas)
    painter.scale(scale, scale)
    item.paint(painter)
    painter.end()
    bits = canvas.constBits()
    return np.frombuffer(bits, np.uint8).reshape(canvas.height(), canvas.bytesPerLine())[:, : canvas.width()].copy()


def test_a_shrunk_picture_keeps_every_thin_stroke(qapp):
    """The memorisation strip's header lost letters ("pixe s") in the Metrics panel, drawn at ~0.75x:
    nearest-neighbour shrinking skips whole columns of the picture. One-pixel lines on an odd and an even
    column both show at half size."""
    picture = np.full((8, 40), 255, np.uint8)
    picture[:, 21] = 0
    picture[:, 30] = 0
    shrunk = _painted(picture, 0.5)
    darkest_by_column = shrunk.min(axis=0)
    for column in (21, 30):
        near = darkest_by_column[column // 2 - 1 : column // 2 + 2]
        assert near.min() < 200, (column, darkest_by_column.tolist())


def test_an_enlarged_picture_keeps_sharp_pixels(qapp):
    """Small samples zoomed in are meant to show their pixels, not a blur."""
    picture = np.full((6, 6), 255, np.uint8)
    picture[::2, ::2] = 0
    enlarged = _painted(picture, 4.0)
    assert set(np.unique(enlarged).tolist()) == {0, 255}
    assert (enlarged[:4, :4] == 0).all() and (enlarged[:4, 4:8] == 255).all()
