"""Keyboard focus that follows the screen: Tab visits a panel's fields in the order its layouts show them.

Qt's focus chain follows the order widgets were created, so a form built (or swapped in) later is
reached after everything below it. `follow_layout_order` re-threads the chain through a widget's
layouts, top to bottom and left to right, as drawn.
"""

from __future__ import annotations

from itertools import pairwise

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLayout, QWidget


def widgets_in_layout_order(root: QWidget) -> list[QWidget]:
    """The widgets that take Tab focus under `root`, in the order its layouts place them."""
    found: list[QWidget] = []

    def visit_widget(widget: QWidget) -> None:
        layout = widget.layout()
        if layout is not None:
            visit_layout(layout)
        elif widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
            found.append(widget)

    def visit_layout(layout: QLayout) -> None:
        for index in range(layout.count()):
            item = layout.itemAt(index)
            if item is None:
                continue
            if item.widget() is not None:
                visit_widget(item.widget())
            elif item.layout() is not None:
                visit_layout(item.layout())

    visit_widget(root)
    return found


def follow_layout_order(root: QWidget) -> list[QWidget]:
    """Make Tab move through `root`'s widgets in layout order (hidden ones are skipped by Qt); returns them."""
    widgets = widgets_in_layout_order(root)
    for before, after in pairwise(widgets):
        QWidget.setTabOrder(before, after)
    return widgets
