"""The mouse wheel over a control inside a scrolling panel scrolls the panel, unless the control has the focus.

Qt gives the wheel to whatever combo box, spin box or slider is under the pointer: scrolling the
Setup's form down changed "g loss" to "saturating" on the way, and scrolling the Explorer's list of
latent sliders moved the sliders it passed. A guarded control takes the wheel only once it has the
keyboard focus (clicked or tabbed into); before that, its scroll area gets the wheel.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QWidget


class _WheelGuard(QObject):
    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            area = scroll_area_of(watched)
            if area is not None:
                QApplication.sendEvent(area.viewport(), event)
                return True
        return False


def scroll_area_of(widget: QWidget) -> QAbstractScrollArea | None:
    """The nearest scroll area `widget` lies in (None outside any)."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea):
            return parent
        parent = parent.parentWidget()
    return None


def guard_wheel(widget: QWidget) -> QWidget:
    """Guard `widget` (see the module docstring); returns it."""
    widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the wheel alone gives no focus
    widget.installEventFilter(_WheelGuard(widget))
    return widget
