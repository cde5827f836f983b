"""The app's style in offscreen Qt, judged from rendered pixels: the widget with the keyboard focus is
framed in the focus colour (fields, combo boxes, spin boxes, buttons), and spin boxes draw their arrows."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QStyle,
    QStyleOptionSpinBox,
    QWidget,
)

from gan_studio.ui.app import create_app
from gan_studio.ui.style import FOCUS, TEXT


def pixels(widget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    width, height, line = image.width(), image.height(), image.bytesPerLine()
    return (
        np.frombuffer(image.constBits(), np.uint8, line * height)
        .reshape(height, line)[:, : width * 3]
        .reshape(height, width, 3)
    )


def near(picture: np.ndarray, colour: str, tolerance: int = 40) -> int:
    """How many pixels of `picture` are within `tolerance` of `colour` in every channel."""
    c = QColor(colour)
    target = np.array([c.red(), c.green(), c.blue()], np.int16)
    return int((np.abs(picture.astype(np.int16) - target).max(axis=2) <= tolerance).sum())


def make(kind):
    if kind is QComboBox:
        widget = QComboBox()
        widget.addItems(["bce", "hinge"])
    elif kind is QSpinBox:
        widget = QSpinBox()
        widget.setRange(0, 100)
        widget.setValue(50)
    else:
        widget = kind("Start" if kind is QPushButton else "0.002")
    widget.setFixedWidth(160)
    return widget


@pytest.mark.parametrize("kind", [QLineEdit, QComboBox, QSpinBox, QPushButton])
def test_the_focused_widget_is_framed_in_the_focus_colour(qtbot, kind):
    create_app()
    window = QWidget()
    qtbot.addWidget(window)
    focused, other = make(kind), make(kind)
    row = QHBoxLayout(window)
    row.addWidget(focused)
    row.addWidget(other)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    focused.setFocus()
    qtbot.waitUntil(focused.hasFocus)
    framed, plain = near(pixels(focused), FOCUS), near(pixels(other), FOCUS)
    assert plain < 10  # the same widget without focus has no such frame
    frame_length = 2 * (focused.width() + focused.height())
    assert framed >= frame_length, (kind.__name__, framed, frame_length)  # at least a 1 px ring all round


def test_spin_boxes_draw_their_up_and_down_arrows(qtbot):
    create_app()
    box = make(QSpinBox)
    qtbot.addWidget(box)
    box.resize(160, 30)
    box.show()
    qtbot.waitExposed(box)
    picture = pixels(box)
    option = QStyleOptionSpinBox()
    box.initStyleOption(option)
    for control in (QStyle.SubControl.SC_SpinBoxUp, QStyle.SubControl.SC_SpinBoxDown):
        rect = box.style().subControlRect(QStyle.ComplexControl.CC_SpinBox, option, control, box)
        button = picture[rect.top() : rect.bottom() + 1, rect.left() : rect.right() + 1]
        assert rect.width() >= 8 and near(button, TEXT, 60) >= 6, control  # a visible light arrow in each


def test_a_drop_down_list_shows_every_choice_without_scrolling(qtbot):
    """Under the style sheet the menu-like popup was one row short: the last choice hid behind a scroll arrow
    (the x-axis, backend and slider drop-downs in a real window)."""
    create_app()
    window = QWidget()
    qtbot.addWidget(window)
    combo = QComboBox(window)
    combo.addItems(["steps", "epochs", "time"])
    window.resize(300, 200)
    window.show()
    QApplication.processEvents()
    combo.showPopup()
    QApplication.processEvents()
    view = combo.view()
    rows = sum(view.sizeHintForRow(i) for i in range(combo.count()))
    shown = view.viewport().height()
    assert shown >= rows, (shown, rows)  # every row in view, none behind a scroll arrow
    combo.hidePopup()


def test_the_arrow_pictures_go_to_the_private_temporary_cache_when_the_cache_cannot_be_written(tmp_path, monkeypatch):
    """A read-only home: the spin boxes' arrows are written to this user's own temporary cache folder (the one
    prepared data falls back to), never to a folder of the shared temporary folder someone else made."""
    from gan_studio.paths import temporary_cache_dir
    from gan_studio.ui.style import style_folder

    (tmp_path / "not-a-folder").write_text("x")
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path / "not-a-folder"))
    folder = style_folder()
    assert folder == temporary_cache_dir() / "style" and list(folder.glob("arrow-*.svg"))
    shutil.rmtree(temporary_cache_dir())
    temporary_cache_dir().symlink_to(tmp_path, target_is_directory=True)  # made in advance by someone else
    assert style_folder() == Path() and not (tmp_path / "style").exists()
