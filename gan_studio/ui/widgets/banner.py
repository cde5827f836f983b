"""An inline message strip for errors and notices: readable, not modal, closable, one line until opened.

The window shows problems here (bad dataset, diverged run, a crash in the worker) instead of a
blocking dialog, so the app keeps working and tests can read the text. It floats in the menu bar's
row (the window places it), so it starts as one line and covers no panel's controls; "more" opens the
whole message, wrapped. Escape dismisses it (the window's keys).
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QToolButton

LEVEL_PREFIX = {"error": "Error", "warning": "Warning", "info": ""}
MORE, LESS = "more ▾", "less ▴"


class MessageBanner(QFrame):
    """One message at a time, coloured by level; hidden when there is none."""

    shown = Signal(bool)  # True when a message appears, False when it is dismissed
    resized = Signal()  # opened or closed to one line: the window places it again

    def __init__(self, parent=None):
        super().__init__(parent)
        self.level = ""
        self.message = ""
        self.topic = ""  # what the message is about ("setup", "training"; "" for anything else)
        self.expanded = False
        self.label = QLabel()
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # elided, not widened
        self.more_button = more = QToolButton()
        more.setAutoRaise(True)
        more.setToolTip("Show the whole message")
        more.clicked.connect(lambda: self.set_expanded(not self.expanded))
        self.close_button = close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.clear)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 1, 4, 1)
        layout.setSpacing(4)
        layout.addWidget(self.label, 1)
        layout.addWidget(more, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_message(self, level: str, text: str, topic: str = "") -> None:
        """`topic`: what the message is about, so that it can go when that changes (`clear_about`)."""
        self.level, self.message, self.expanded, self.topic = level, text, False, topic
        self.setObjectName(f"banner_{level}")
        self.style().unpolish(self)
        self.style().polish(self)
        self._render()
        self.show()
        self.shown.emit(True)

    def set_expanded(self, expanded: bool) -> None:
        """The whole message, wrapped (True), or its first line, cut to the width with "…" (False)."""
        self.expanded = expanded
        self._render()
        self.resized.emit()

    def fits_one_line(self) -> bool:
        """Whether the message reads whole on one line at the banner's width (beside the close button)."""
        width = self._prefix_width() + self.label.fontMetrics().horizontalAdvance(self.message)
        return "\n" not in self.message and width <= self._text_room(False)

    def _prefix_width(self) -> int:
        """The width of the bold "Error: " in front of the message (0 for a notice)."""
        prefix = LEVEL_PREFIX.get(self.level, "")
        if not prefix:
            return 0
        bold = QFont(self.label.font())
        bold.setBold(True)
        return QFontMetrics(bold).horizontalAdvance(f"{prefix}: ")

    def _text_room(self, with_more: bool) -> int:
        """The label's width at the banner's width, with or without the "more" button beside it."""
        layout = self.layout()
        margins = layout.contentsMargins()
        buttons = self.close_button.sizeHint().width() + layout.spacing()
        if with_more:
            buttons += self.more_button.sizeHint().width() + layout.spacing()
        return self.contentsRect().width() - margins.left() - margins.right() - buttons

    def _render(self) -> None:
        whole = self.fits_one_line()
        self.more_button.setVisible(not whole or self.expanded)
        self.more_button.setText(LESS if self.expanded else MORE)
        self.label.setWordWrap(self.expanded)
        shown, tip = self.message, ""
        if not (self.expanded or whole):  # its first line, cut to the room left beside "more" and the close button
            first_line = self.message.splitlines()[0] if self.message else ""
            room = max(40, self._text_room(True) - self._prefix_width())
            shown = self.label.fontMetrics().elidedText(first_line, Qt.TextElideMode.ElideRight, room)
            shown += " …" if shown == first_line else ""  # whole, yet more lines follow
            tip = self.message
        prefix = LEVEL_PREFIX.get(self.level, "")
        escaped = html.escape(shown, quote=False)
        self.label.setText(f"<b>{prefix}:</b> {escaped}" if prefix else escaped)
        self.label.setToolTip(tip)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if self.message and not self.expanded:
            self._render()  # cut again to the new width

    def text(self) -> str:
        """The message as plain text ('' when none is shown)."""
        return self.message

    def clear_about(self, topic: str) -> None:
        """Dismiss the message if it is about `topic` (one that no longer holds: the Setup is valid now)."""
        if self.topic == topic and self.message:
            self.clear()

    def clear(self) -> None:
        self.level, self.message, self.expanded, self.topic = "", "", False, ""
        self.label.clear()
        self.label.setToolTip("")
        self.hide()
        self.shown.emit(False)
