"""A pyqtgraph ViewBox that zooms with Ctrl+wheel only: the plain wheel goes on to what holds the plot (the
Plots panel's scrolling list), so scrolling past a plot no longer zooms every linked x axis."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt

ZOOM_MODIFIER = Qt.KeyboardModifier.ControlModifier
ZOOM_HINT = "Ctrl+wheel zooms, drag pans; the wheel alone scrolls the plots"


class CtrlWheelViewBox(pg.ViewBox):
    """Zooms on Ctrl+wheel (also over an axis); ignores the plain wheel so that it scrolls the panel."""

    def wheelEvent(self, ev, axis=None):  # noqa: N802 - pyqtgraph's name
        if not ev.modifiers() & ZOOM_MODIFIER:
            ev.ignore()
            return
        super().wheelEvent(ev, axis)
