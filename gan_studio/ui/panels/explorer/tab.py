"""The base of the explorer's tabs: a title, which models a tab applies to, and source and opening hooks."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget


class ExplorerTab(QWidget):
    """A tab of the explorer panel; `panel` is the ExplorerPanel holding the state (z, y, source)."""

    TAB_TITLE = ""

    def __init__(self, panel):
        super().__init__()
        self.panel = panel

    def applies_to(self, source) -> bool:
        """Whether the tab is shown for this source (e.g. only conditional models get Condition)."""
        return True

    def source_changed(self, source, reloaded: bool) -> None:
        """A model was opened (`reloaded`: the same run with new weights, the state was kept)."""

    def tab_opened(self) -> None:
        """The user brought this tab to the front (its state may have changed on another tab meanwhile)."""
