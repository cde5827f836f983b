"""A stack of pages whose minimum size is its current page's, not the largest page's.

QStackedWidget asks for room for every page at once: the Explorer's image column was as wide as the 2D
view's playback row even when showing images, and with the other panels the window could not fit a
1024 px wide screen. Pages not shown ask for nothing (their size policy is Ignored while hidden).
"""

from __future__ import annotations

from PySide6.QtWidgets import QSizePolicy, QStackedWidget, QWidget


class PageStack(QStackedWidget):
    """A QStackedWidget sized by the page on show."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._policies: dict[int, QSizePolicy] = {}  # each page's own policy, given back while it is shown
        self.currentChanged.connect(self._size_by_current)

    def addWidget(self, page: QWidget) -> int:  # noqa: N802 - Qt's name
        self._policies[id(page)] = page.sizePolicy()
        index = super().addWidget(page)
        self._size_by_current()
        return index

    def _size_by_current(self, *_) -> None:
        current = self.currentWidget()
        for index in range(self.count()):
            page = self.widget(index)
            own = self._policies.get(id(page), page.sizePolicy())
            shown = page is current
            page.setSizePolicy(own if shown else QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored))
        self.updateGeometry()
