"""A label beside its controls on one line when the width holds both, else above them.

A plain row makes its panel as wide as the label and the controls together, or cuts the label
("step 200 · grid 1 c") when the panel is narrower. This row asks only for the wider of the two,
and puts the label on a line of its own when one line cannot hold it whole beside the controls.
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QBoxLayout, QLayout, QSizePolicy, QWidget


class LabelBeside(QWidget):
    """`label` left of `controls`, or above them when narrow; call `rearrange()` after the label's text changes."""

    def __init__(self, label: QWidget, controls: QWidget, parent=None):
        super().__init__(parent)
        self.label, self.controls = label, controls
        self.box = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self.box.setContentsMargins(0, 0, 0, 0)
        self.box.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)  # the minimum is this widget's own
        self.box.addWidget(label)
        self.box.addWidget(controls, 1)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)  # as tall as its lines

    def one_line_width(self) -> int:
        return self.label.sizeHint().width() + self.box.spacing() + self.controls.minimumSizeHint().width()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        width = max(self.label.minimumSizeHint().width(), self.controls.minimumSizeHint().width())
        return QSize(width, self.sizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802
        return self.box.sizeHint()

    def rearrange(self) -> None:
        wanted = (QBoxLayout.Direction.LeftToRight if self.width() >= self.one_line_width()
                  else QBoxLayout.Direction.TopToBottom)  # fmt: skip
        if self.box.direction() != wanted:
            self.box.setDirection(wanted)
            self.updateGeometry()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.rearrange()
