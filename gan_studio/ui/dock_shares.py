"""Docks keep their share of the window when it is resized: shrunk to its minimum and grown back, the
window looks as it did, instead of one dock keeping what the others gave up.

Qt's main window hands a size change to whichever docks can take it, so after shrinking and
growing back the Setup may take half the width and the plots a sliver. `DockShares` remembers
each dock's width and height as a share of the window when the person arranges them (the first
layout, a separator dragged, a dock moved or floated) and lays the docks out in those shares
again after every resize of the window.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow


class DockShares(QObject):
    """Remembers and restores the share of the window each docked panel takes.

    It reaches its window and docks through Qt (its parent, the window's children), holding no Python
    reference to them: a reference cycle of Qt wrappers would be broken by Python's garbage
    collector in whatever thread it runs, and a Qt object destroyed off the GUI thread can deadlock.
    """

    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self.shares: dict[str, tuple[float, float]] = {}  # dock object name -> (width, height) share
        window.installEventFilter(self)  # a separator dragged ends with a mouse release on the window
        for dock in window.findChildren(QDockWidget):
            dock.dockLocationChanged.connect(self.remember_soon)
            dock.topLevelChanged.connect(self.remember_soon)
            dock.visibilityChanged.connect(self.remember_soon)

    @property
    def window(self) -> QMainWindow:
        return self.parent()

    def laid_out(self) -> list[QDockWidget]:
        """Docked panels in view (a dock behind another's tab is moved out of the window, not hidden)."""
        return [dock for dock in self.window.findChildren(QDockWidget)
                if dock.isVisible() and not dock.isFloating() and not dock.visibleRegion().isEmpty()]  # fmt: skip

    def remember(self) -> None:
        """The current arrangement is the one to keep: record every docked panel's share."""
        width, height = self.window.width(), self.window.height()
        if width <= 0 or height <= 0:
            return
        self.window.layout().activate()  # a dock just hidden or shown: its neighbours take their new sizes now
        self.shares = {dock.objectName(): (dock.width() / width, dock.height() / height) for dock in self.laid_out()}

    def remember_soon(self, *_) -> None:
        QTimer.singleShot(0, self.remember)  # once Qt has laid the docks out

    def restore(self, docks: list[QDockWidget] | None = None) -> None:
        """Lay the docks out in their remembered shares of the window's current size (`docks`: those to lay
        out, for a window not shown yet; else the docks in view)."""
        docks = [dock for dock in (self.laid_out() if docks is None else docks) if dock.objectName() in self.shares]
        if not docks:
            return
        window = self.window
        widths = [round(self.shares[dock.objectName()][0] * window.width()) for dock in docks]
        window.resizeDocks(docks, widths, Qt.Orientation.Horizontal)
        # heights: a dock in a group of tabs is shorter than its row by the tab bar, so its neighbour
        # in the row (if any) says how tall the row is; without one (that neighbour hidden), the group's dock
        # does, or the row would take whatever the others give up at every resize
        untabbed = [dock for dock in docks if not window.tabifiedDockWidgets(dock)]
        areas = {window.dockWidgetArea(dock) for dock in untabbed}
        sized = untabbed + [dock for dock in docks if dock not in untabbed and window.dockWidgetArea(dock) not in areas]
        heights = [round(self.shares[dock.objectName()][1] * window.height()) for dock in sized]
        window.resizeDocks(sized, heights, Qt.Orientation.Vertical)
        if len(sized) > len(untabbed):  # a group's size holds its tab bar too: ask again for that much more
            window.layout().activate()
            wanted = [height + (height - dock.height() if dock not in untabbed else 0)
                      for dock, height in zip(sized, heights, strict=True)]  # fmt: skip
            window.resizeDocks(sized, wanted, Qt.Orientation.Vertical)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if watched is self.window and event.type() == QEvent.Type.MouseButtonRelease:
            self.remember_soon()
        return False
