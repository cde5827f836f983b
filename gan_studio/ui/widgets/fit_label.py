"""A one-line label that never widens its panel: it shows the first of its texts that fits its width (say
"2,000,000 / 2,000,000", then "2M / 2M"), elides the last one if none fits, and its tooltip says the full text.

A QLabel's minimum width is its text's: a run of 2,000,000 steps (or 1e9 steps and an ETA of months) made the
Run controls, and so the window, wider than a 1024 px screen. `FitLabel` asks for its shortest form's width
and takes what the layout gives it, so the layout never moves with the numbers it shows.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy

MIN_CHARACTERS = 3  # the least it keeps room for: "2M…"


class FitLabel(QLabel):
    """Plain one-line text; `set_texts(full, shorter, ...)` gives it shorter forms of the same text."""

    def __init__(self, text: str = "", parent=None):
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._texts: tuple[str, ...] = ("",)
        self.set_texts(text)

    def set_texts(self, full: str, *shorter: str) -> None:
        """Show `full` where it fits, else the first of `shorter` that does (the last one elided if none does)."""
        texts = (full or "", *shorter)
        if texts != self._texts:
            self._texts = texts
            self.updateGeometry()
        self._fit()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self.set_texts(text)

    def text(self) -> str:
        """The full text, whichever form is shown."""
        return self._texts[0]

    def shown_text(self) -> str:
        return super().text()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        """Room for the shortest form: a layout shares what it has beyond that, and the longer forms show where
        they fit (the whole of '2,000,000 / 2,000,000' took the room the epoch beside it needed)."""
        hint = super().sizeHint()
        margins = self.contentsMargins()
        width = self.fontMetrics().horizontalAdvance(self._texts[-1]) + margins.left() + margins.right() + 2
        return QSize(width, hint.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(self.fontMetrics().horizontalAdvance("M" * MIN_CHARACTERS), super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        metrics, room = self.fontMetrics(), self.contentsRect().width()
        shown = next((text for text in self._texts if metrics.horizontalAdvance(text) <= room), None)
        if shown is None:
            shown = metrics.elidedText(self._texts[-1], Qt.TextElideMode.ElideRight, room)
        if shown != super().text():
            super().setText(shown)
        self.setToolTip("" if shown == self._texts[0] else self._texts[0])
