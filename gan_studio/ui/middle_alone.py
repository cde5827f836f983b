"""View → "Plots, Metrics and Explorer alone": the middle group of tabs gets the whole window, and back.

On a laptop screen (1024×700, or 1366×768 at a scale factor) the Explorer shares the window with the
Setup, Run controls, Samples and Runs, and its image and controls are cramped. This hides every
dock outside the group of tabs the Plots are in, keeping the layout it had; choosing it again (or
Reset layout) brings that layout back. Preferences saved meanwhile keep the full layout, so the
next start is not left with hidden panels.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray
from PySide6.QtWidgets import QDockWidget, QMainWindow

from gan_studio.ui.dock_shares import DockShares


class MiddleAlone:
    """Hides and brings back the docks around the middle group of tabs of `window`."""

    def __init__(self, window: QMainWindow, middle: list[QDockWidget], shares: DockShares, version: int):
        self._window, self._middle, self._shares, self._version = window, list(middle), shares, version
        self._saved: tuple[QByteArray, dict] | None = None  # the layout (state, dock shares) to go back to

    @property
    def active(self) -> bool:
        return self._saved is not None

    def group(self) -> list[QDockWidget]:
        """The middle panels (Plots, Metrics, Explorer), wherever they are now."""
        return self._middle

    def toggle(self) -> None:
        if self.active:
            self.leave()
            return
        group = self.group()
        front = next((dock for dock in group if dock.isVisible() and not dock.visibleRegion().isEmpty()), group[0])
        self._saved = (self._window.saveState(self._version), dict(self._shares.shares))
        for dock in self._window.findChildren(QDockWidget):
            if dock not in group:
                dock.hide()
        for dock in group:  # a floating or hidden one comes back into the window (the window was left empty)
            dock.setFloating(False)
            dock.show()
        front.raise_()

    def leave(self) -> None:
        """Back to the layout from before (nothing to do when not alone)."""
        if self._saved is None:
            return
        state, shares = self._saved
        self._saved = None
        self._window.restoreState(state, self._version)
        self._shares.shares = shares

    def layout_to_save(self) -> tuple[QByteArray, dict]:
        """The layout the preferences keep: the full one, also while the middle is alone."""
        return self._saved or (self._window.saveState(self._version), self._shares.shares)
