"""An inline message strip for errors and notices: readable, not modal, closable.

The window shows problems here (bad dataset, diverged run, a crash in the worker) instead of a
blocking dialog, so the app keeps working and tests can read the text.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton

LEVEL_PREFIX = {"error": "Error", "warning": "Warning", "info": ""}


class MessageBanner(QFrame):
    """One message at a time, coloured by level; hidden when there is none."""

    shown = Signal(bool)  # True when a message appears, False when it is dismissed

    def __init__(self, parent=None):
        super().__init__(parent)
        self.level = ""
        self.message = ""
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.clear)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_message(self, level: str, text: str) -> None:
        self.level, self.message = level, text
        prefix = LEVEL_PREFIX.get(level, "")
        escaped = html.escape(text, quote=False)
        self.label.setText(f"<b>{prefix}:</b> {escaped}" if prefix else escaped)
        self.setObjectName(f"banner_{level}")
        self.style().unpolish(self)
        self.style().polish(self)
        self.show()
        self.shown.emit(True)

    def text(self) -> str:
        """The message as plain text ('' when none is shown)."""
        return self.message

    def clear(self) -> None:
        self.level, self.message = "", ""
        self.label.clear()
        self.hide()
        self.shown.emit(False)
