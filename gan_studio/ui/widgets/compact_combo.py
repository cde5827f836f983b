"""A combo box that may be narrower than its longest entry, and that the mouse wheel does not change in passing.

A QComboBox is at least as wide as its longest item ("color,translation,cutout"), which made the
Setup's form wider than its dock and cut off every field. `CompactComboBox` asks only for room
for a few characters and opens its list as wide as the items need.

A QComboBox also takes the wheel whenever the pointer is over it: scrolling the Setup's form
changed "g loss" to "saturating" on the way down. Here the wheel changes the choice only when the
box has the keyboard focus (clicked or tabbed into); otherwise it scrolls the panel.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

MIN_CHARACTERS = 8


class CompactComboBox(QComboBox):
    def __init__(self, parent=None, min_characters: int = MIN_CHARACTERS):
        super().__init__(parent)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(min_characters)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the wheel gives no focus

    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()  # to the scroll area around it

    def showPopup(self) -> None:  # noqa: N802 - Qt's name
        view = self.view()
        scroll_bar = view.verticalScrollBar().sizeHint().width()
        view.setMinimumWidth(view.sizeHintForColumn(0) + scroll_bar + 2 * view.frameWidth())
        super().showPopup()
