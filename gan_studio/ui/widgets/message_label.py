"""A wrapped label for messages that may hold long paths or names: it breaks those too, so no panel widens.

A QLabel wraps only at spaces, and its minimum width is its longest word: one message naming
"/home/me/very_long_folder/…/file.png" made the whole Setup wider than its dock, cutting off every
field beside it. `MessageLabel` shows its text with a zero-width break opportunity after path
separators and punctuation inside long words (and every few characters where a word has none),
so Qt can wrap anywhere there; `text()` still returns the text as it was set.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

ZERO_WIDTH_SPACE = "\u200b"
LONG_WORD = 20  # words this long or longer get break opportunities
_LONG_WORD = re.compile(rf"\S{{{LONG_WORD},}}")
_AFTER_PUNCTUATION = re.compile(r"([/\\_\-.,:;=&?@+|])")
_UNBROKEN_RUN = re.compile(rf"([^{ZERO_WIDTH_SPACE}]{{{LONG_WORD}}})(?=[^{ZERO_WIDTH_SPACE}])")


def breakable(text: str) -> str:
    """`text` with zero-width spaces where its long words may be wrapped."""

    def open_up(match: re.Match) -> str:
        word = _AFTER_PUNCTUATION.sub(rf"\1{ZERO_WIDTH_SPACE}", match.group(0))
        return _UNBROKEN_RUN.sub(rf"\1{ZERO_WIDTH_SPACE}", word)

    return _LONG_WORD.sub(open_up, text)


class MessageLabel(QLabel):
    """Plain text, word-wrapped, breakable inside long words. `role`: the style's object name ("problem",
    "hint") or empty."""

    def __init__(self, text: str = "", role: str = "", parent=None):
        super().__init__(parent)
        if role:
            self.setObjectName(role)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self._text = ""
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self._text = text or ""
        super().setText(breakable(self._text))

    def text(self) -> str:
        return self._text
