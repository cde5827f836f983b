"""A scrollable column of latent sliders: label, slider (-3..3), value, reset, and an optional bar.

One row per basis direction (100 rows for a 100-d z scroll). The bar beside a slider shows a score
of its direction (a VAE dimension's KL, a principal direction's explained variance); inactive VAE
units are greyed. Moving a slider emits `value_changed(index, value)`; `set_values` updates the
rows without emitting.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gan_studio.ui.widgets.wheel_guard import guard_wheel

SLIDER_RANGE = 3.0  # sliders span [-3, 3] (z ~ N(0, 1))
SLIDER_STEPS_PER_UNIT = 100  # resolution 0.01
SLIDER_MIN_WIDTH = 32
BAR_WIDTH = 36


def to_ticks(value: float) -> int:
    clipped = max(-SLIDER_RANGE, min(SLIDER_RANGE, float(value)))
    return int(round(clipped * SLIDER_STEPS_PER_UNIT))


class ScoreBar(QWidget):
    """A small horizontal bar: `fraction` of its width filled (tooltip gives the exact value)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.fraction = 0.0
        self.active = True
        self.setFixedWidth(BAR_WIDTH)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)

    def set_score(self, fraction: float, active: bool, tooltip: str) -> None:
        self.fraction = float(np.clip(fraction, 0.0, 1.0))
        self.active = active
        self.setToolTip(tooltip)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(BAR_WIDTH, 12)

    def paintEvent(self, event):
        painter = QPainter(self)
        rect = QRectF(self.rect()).adjusted(1, 3, -1, -3)
        painter.fillRect(rect, QColor("#2b2d31"))
        filled = QRectF(rect.left(), rect.top(), rect.width() * self.fraction, rect.height())
        painter.fillRect(filled, QColor("#e8873a" if self.active else "#6b6f76"))
        painter.end()


class _Row:
    """The widgets of one slider row."""

    def __init__(self, grid: QGridLayout, index: int, on_move, on_reset):
        self.label = QLabel()  # as wide as its text: "z12", "PC3 4.1%", "z7 0.13"
        self.bar = ScoreBar()
        self.slider = guard_wheel(QSlider(Qt.Orientation.Horizontal))  # scrolling the list moves no slider
        self.slider.setRange(-to_ticks(SLIDER_RANGE), to_ticks(SLIDER_RANGE))
        self.slider.setPageStep(SLIDER_STEPS_PER_UNIT // 2)
        self.slider.setMinimumWidth(SLIDER_MIN_WIDTH)  # the slider gives way; the value and reset never do
        self.value = QLabel("0.00")
        self.value.setFixedWidth(self.value.fontMetrics().horizontalAdvance("-3.00") + 4)
        self.value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.reset = QToolButton()
        self.reset.setText("↺")
        self.reset.setToolTip("reset this slider to 0")
        self.reset.setAutoRaise(True)
        self.reset.setFixedWidth(self.reset.fontMetrics().horizontalAdvance("↺") + 10)
        for col, widget in enumerate((self.label, self.bar, self.slider, self.value, self.reset)):
            grid.addWidget(widget, index, col)
        self.slider.valueChanged.connect(lambda ticks: on_move(index, ticks))
        self.reset.clicked.connect(lambda: on_reset(index))

    def widgets(self):
        return (self.label, self.bar, self.slider, self.value, self.reset)


class LatentSliders(QScrollArea):
    """See the module docstring."""

    value_changed = Signal(int, float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)  # only narrower than a row
        self._body = QWidget()
        outer = QVBoxLayout(self._body)
        outer.setContentsMargins(4, 2, 4, 2)
        self._grid = QGridLayout()
        self._grid.setVerticalSpacing(1)
        self._grid.setHorizontalSpacing(3)  # five columns in a panel beside the 2D plane
        self._grid.setColumnStretch(2, 1)
        outer.addLayout(self._grid)
        outer.addStretch(1)  # rows stay compact when there are few
        self.setWidget(self._body)
        self.rows: list[_Row] = []
        self._quiet = False

    def set_basis(self, labels: list[str], scores: np.ndarray | None = None, score_name: str = "",
                  active: np.ndarray | None = None) -> None:  # fmt: skip
        """One row per label (rows are reused); bars only when there are scores."""
        while len(self.rows) < len(labels):
            self.rows.append(_Row(self._grid, len(self.rows), self._moved, self._reset_one))
        top = float(np.max(scores)) if scores is not None and len(scores) and np.max(scores) > 0 else 1.0
        for i, row in enumerate(self.rows):
            visible = i < len(labels)
            for widget in row.widgets():
                widget.setVisible(visible)
            if not visible:
                continue
            row.label.setText(labels[i])
            row.bar.setVisible(scores is not None)
            if scores is not None:
                is_active = True if active is None else bool(active[i])
                tip = f"{score_name}: {float(scores[i]):.4g}" + ("" if is_active else " (inactive unit)")
                row.bar.set_score(float(scores[i]) / top, is_active, tip)
        self._count = len(labels)

    def __len__(self) -> int:
        return getattr(self, "_count", 0)

    def set_values(self, values: np.ndarray) -> None:
        """Show `values` (one per visible row) without emitting value_changed."""
        for index, value in enumerate(values[: len(self)]):
            self.set_value(index, value)

    def value(self, index: int) -> float:
        return self.rows[index].slider.value() / SLIDER_STEPS_PER_UNIT

    def slider(self, index: int) -> QSlider:
        return self.rows[index].slider

    def _moved(self, index: int, ticks: int) -> None:
        value = ticks / SLIDER_STEPS_PER_UNIT
        self.rows[index].value.setText(f"{value:.2f}")
        if not self._quiet:
            self.value_changed.emit(index, value)

    def _reset_one(self, index: int) -> None:
        self.set_value(index, 0.0)
        self.value_changed.emit(index, 0.0)

    def set_value(self, index: int, value: float) -> None:
        """Show `value` on one row without emitting value_changed."""
        self._quiet = True
        try:
            self.rows[index].slider.setValue(to_ticks(value))
            self.rows[index].value.setText(f"{float(value):.2f}")
        finally:
            self._quiet = False
