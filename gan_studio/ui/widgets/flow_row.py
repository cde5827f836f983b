"""A row of controls that wraps onto further lines when the panel is too narrow for it (Qt's flow layout).

A plain QHBoxLayout makes its panel as wide as all its widgets together; in a narrow dock the
rest then hides behind a horizontal scroll bar. `FlowRow` lays its widgets left to right and
starts a new line where the next one would not fit, so every control stays in view.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLayout, QLayoutItem, QSizePolicy, QSpinBox, QWidget

from gan_studio.ui.widgets.wheel_guard import guard_wheel


class FlowRow(QLayout):
    """Widgets left to right, wrapped onto as many lines as the width needs."""

    def __init__(self, *widgets: QWidget, spacing: int = 6):
        super().__init__()
        self._items: list[QLayoutItem] = []
        self.setContentsMargins(0, 0, 0, 0)
        self._spacing = spacing
        for widget in widgets:
            self.addWidget(widget)

    # QLayout's item list ---------------------------------------------------------------------------
    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 - Qt's names
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    # geometry ----------------------------------------------------------------------------------------
    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return self._arrange(QRect(0, 0, width, 0), place=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802
        super().setGeometry(rect)
        self._arrange(rect, place=True)

    def sizeHint(self) -> QSize:  # noqa: N802
        """All on one line."""
        visible = [item.sizeHint() for item in self._visible()]
        width = sum(s.width() for s in visible) + self._spacing * max(0, len(visible) - 1)
        return QSize(width, max((s.height() for s in visible), default=0))

    def minimumSize(self) -> QSize:  # noqa: N802
        """As narrow as the widest single widget."""
        size = QSize()
        for item in self._visible():
            size = size.expandedTo(item.minimumSize())
        return size

    def _visible(self) -> list[QLayoutItem]:
        return [item for item in self._items if not (item.widget() and item.widget().isHidden())]

    def _arrange(self, rect: QRect, place: bool) -> int:
        """Lay the items out in `rect` (moving them when `place`); returns the height used."""
        x, y, line_height = rect.x(), rect.y(), 0
        for item in self._visible():
            hint = item.sizeHint()
            if x > rect.x() and x + hint.width() > rect.right() + 1:  # does not fit: next line
                x, y, line_height = rect.x(), y + line_height + self._spacing, 0
            if place:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._spacing
            line_height = max(line_height, hint.height())
        return y + line_height - rect.y()


def seed_spin_box() -> QSpinBox:
    """A spin box for seeds (up to 2^31): as wide as seven digits, not ten plus the style's padding, so the
    rows holding one wrap less in a narrow panel (a larger seed still shows, scrolled within the box)."""
    box = guard_wheel(QSpinBox())
    box.setMinimumWidth(box.fontMetrics().horizontalAdvance("0000000") + 36)
    return box


def flow_row(*widgets: QWidget) -> QWidget:
    """A widget holding `widgets` in a FlowRow (for adding to a vertical layout)."""
    holder = QWidget()
    holder.setLayout(FlowRow(*widgets))
    policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
    policy.setHeightForWidth(True)
    holder.setSizePolicy(policy)
    return holder


def labelled(caption: str | QWidget, widget: QWidget) -> QWidget:
    """A caption (text, or a widget such as a radio button) and its control, kept together on one
    line of a FlowRow."""
    pair = QWidget()
    layout = QHBoxLayout(pair)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(QLabel(caption) if isinstance(caption, str) else caption)
    layout.addWidget(widget)
    return pair
