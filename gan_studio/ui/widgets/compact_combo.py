"""A combo box that may be narrower than its longest entry, and that the mouse wheel does not change in passing.

A QComboBox is at least as wide as its longest item ("color,translation,cutout"), which made the
Setup's form wider than its dock and cut off every field. `CompactComboBox` asks only for room
for a few characters and opens its list as wide as the items need. Inside a scrolling panel the
wheel changes its choice only once it has the focus (`wheel_guard`).
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox

from gan_studio.ui.widgets.wheel_guard import guard_wheel

MIN_CHARACTERS = 8


class CompactComboBox(QComboBox):
    def __init__(self, parent=None, min_characters: int = MIN_CHARACTERS):
        super().__init__(parent)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(min_characters)
        guard_wheel(self)

    def showPopup(self) -> None:  # noqa: N802 - Qt's name
        view = self.view()
        scroll_bar = view.verticalScrollBar().sizeHint().width()
        view.setMinimumWidth(view.sizeHintForColumn(0) + scroll_bar + 2 * view.frameWidth())
        super().showPopup()
