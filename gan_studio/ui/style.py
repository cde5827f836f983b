"""The app's look: a dark Fusion palette, a small style sheet, plot colours and the app icon.

Kept in code (not a resource file) so an installed package looks the same as a checkout.
"""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QLinearGradient, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QApplication

from gan_studio.paths import private_temporary_cache_dir, user_cache_dir

WINDOW = "#23262d"
BASE = "#1b1d22"
PANEL = "#2a2e36"
TEXT = "#dde1e8"
MUTED = "#9aa3b2"
ACCENT = "#4c9eeb"
FOCUS = "#6cb4ff"  # the frame of the widget that has the keyboard focus
ERROR = "#ff6b6b"
WARNING = "#f2b84b"
OK = "#59c27a"
PLOT_BACKGROUND = "#1b1d22"
PLOT_FOREGROUND = "#c9ced8"

METRIC_COLOURS = {
    "d_loss": "#4c9eeb",
    "g_loss": "#f28e2b",
    "d_real": "#59c27a",
    "d_fake": "#e15759",
    "recon": "#76b7b2",
    "kl": "#edc948",
    "loss": "#b07aa1",
}
EXTRA_COLOURS = ["#ff9da7", "#9c755f", "#8cd17d", "#a0cbe8", "#ffbe7d", "#d4a6c8"]

STYLE_SHEET = f"""
QMainWindow::separator {{ background: {WINDOW}; width: 4px; height: 4px; }}
QDockWidget {{ color: {TEXT}; font-weight: 600; }}
QDockWidget::title {{ background: {PANEL}; padding: 5px 8px; border-bottom: 1px solid #353a44; }}
QGroupBox {{ border: 1px solid #3a3f4a; border-radius: 6px; margin-top: 14px; padding: 8px 6px 6px 6px;
             font-weight: 600; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; color: {MUTED}; }}
QLabel#hint {{ color: {MUTED}; }}
QLabel#caption {{ color: {MUTED}; font-size: 8pt; }}
QLabel#stat {{ font-size: 11pt; font-weight: 600; }}
QLabel#problem {{ color: {ERROR}; font-size: 8pt; }}
QLabel#state_label {{ color: {MUTED}; }}
QLineEdit[invalid="true"] {{ border: 1px solid {ERROR}; }}
QLineEdit[live="true"], QComboBox[live="true"] {{ border: 1px solid {ACCENT}; }}
QLineEdit, QComboBox, QAbstractSpinBox {{ padding: 3px 5px; border: 1px solid #3d4350; border-radius: 4px;
                                          background: {BASE}; }}
QLineEdit:disabled, QComboBox:disabled, QAbstractSpinBox:disabled {{ color: #6b7280; }}
QAbstractSpinBox {{ padding-right: 18px; }}
QAbstractSpinBox::up-button, QAbstractSpinBox::down-button {{ subcontrol-origin: border; width: 16px;
    border-left: 1px solid #3d4350; background: #2c313b; }}
QAbstractSpinBox::up-button {{ subcontrol-position: top right; border-top-right-radius: 4px; }}
QAbstractSpinBox::down-button {{ subcontrol-position: bottom right; border-bottom-right-radius: 4px; }}
QAbstractSpinBox::up-button:hover, QAbstractSpinBox::down-button:hover {{ background: #3a404c; }}
QAbstractSpinBox::up-button:pressed, QAbstractSpinBox::down-button:pressed {{ background: {ACCENT}; }}
QPushButton {{ padding: 5px 12px; border: 1px solid #454b57; border-radius: 5px; background: #323742; }}
QPushButton:hover {{ background: #3a404c; }}
QPushButton:pressed {{ background: #2a2e36; }}
QPushButton:disabled {{ color: #6b7280; background: #2a2d34; border-color: #363a43; }}
QPushButton#start_button:enabled {{ background: #2f7d4f; border-color: #3c9a63; color: white; font-weight: 600; }}
QPushButton#start_button:enabled:hover {{ background: #36905b; }}
QPushButton#stop_button:enabled {{ background: #8a3434; border-color: #a84545; color: white; }}
/* where the keyboard is: a 2 px accent frame (the padding shrinks by the extra pixel, so nothing moves) */
QLineEdit:focus, QComboBox:focus, QAbstractSpinBox:focus {{ border: 2px solid {FOCUS}; padding: 2px 4px; }}
QAbstractSpinBox:focus {{ padding-right: 17px; }}
QLineEdit[invalid="true"]:focus {{ border: 2px solid {ERROR}; }}
QPushButton:focus, QPushButton#start_button:enabled:focus, QPushButton#stop_button:enabled:focus {{
    border: 2px solid {FOCUS}; padding: 4px 11px; }}
QCheckBox:focus, QRadioButton:focus {{ color: {FOCUS}; }}
QSlider:focus, QTableView:focus, QListView:focus, QTreeView:focus, QTabBar:focus {{ border: 1px solid {FOCUS};
    border-radius: 3px; }}
/* a drop-down's list has one frame, open (focused) or not: Qt sizes the popup before the focus frame would
   appear, and the frame then hid the last choice behind a scroll arrow */
QComboBox QAbstractItemView, QComboBox QAbstractItemView:focus {{ border: 1px solid #3d4350; border-radius: 0px; }}
QComboBox {{ combobox-popup: 0; }}
QComboBox QAbstractItemView::item {{ padding: 3px 6px; }}
QProgressBar {{ border: 1px solid #3d4350; border-radius: 4px; background: {BASE}; text-align: center;
                min-height: 18px; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 3px; }}
QTableWidget {{ gridline-color: #313640; background: {BASE}; alternate-background-color: #20232a; }}
QHeaderView::section {{ background: {PANEL}; color: {MUTED}; border: none; padding: 4px 6px; }}
QStatusBar {{ color: {MUTED}; }}
QToolTip {{ color: {TEXT}; background: {PANEL}; border: 1px solid #454b57; padding: 4px; }}
QFrame#banner_error {{ background: #4a2326; border: 1px solid #7a3036; border-radius: 5px; }}
QFrame#banner_warning {{ background: #4a3b1e; border: 1px solid #7a6230; border-radius: 5px; }}
QFrame#banner_info {{ background: #1f3448; border: 1px solid #2f5474; border-radius: 5px; }}
"""


# The spin boxes' arrows: a style sheet that frames a spin box must draw its arrows too, and it can only draw
# pictures (files), so these small SVGs are written next to the app's cache when the style is applied.
ARROWS = {
    "up": "M1 6 L5 2 L9 6 Z",
    "down": "M1 2 L5 6 L9 2 Z",
}
ARROW_COLOURS = {"": TEXT, "-off": "#5a606c"}  # "-off": at the end of the range, or disabled


def arrow_files(folder: Path) -> Path:
    """Write the arrow pictures into `folder` (unless already there); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, path in ARROWS.items():
        for suffix, colour in ARROW_COLOURS.items():
            svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="8" viewBox="0 0 10 8">'
                   f'<path d="{path}" fill="{colour}"/></svg>')  # fmt: skip
            file = folder / f"arrow-{name}{suffix}.svg"
            if not file.exists() or file.read_text() != svg:
                file.write_text(svg)
    return folder


def arrow_rules(folder: Path) -> str:
    """The style sheet's rules that draw the spin boxes' up and down arrows from the files in `folder`."""
    rules = []
    for name in ARROWS:
        url = (folder / f"arrow-{name}").as_posix()
        rules.append(f"QAbstractSpinBox::{name}-arrow {{ image: url({url}.svg); width: 10px; height: 8px; }}")
        rules.append(f"QAbstractSpinBox::{name}-arrow:disabled, QAbstractSpinBox::{name}-arrow:off "
                     f"{{ image: url({url}-off.svg); }}")  # fmt: skip
    return "\n".join(rules) + "\n"


def style_folder() -> Path:
    """Where the arrow pictures go: the app's cache, else the temporary folder (a read-only home)."""
    try:
        return arrow_files(user_cache_dir() / "style")
    except OSError:
        pass
    temporary = private_temporary_cache_dir("style", create=True)
    try:
        return arrow_files(temporary) if temporary is not None else Path()
    except OSError:
        return Path()


def metric_colour(name: str) -> str:
    """A fixed colour per metric (the same in every run and every plot)."""
    if name in METRIC_COLOURS:
        return METRIC_COLOURS[name]
    return EXTRA_COLOURS[sum(map(ord, name)) % len(EXTRA_COLOURS)]


def dark_palette() -> QPalette:
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: WINDOW,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: BASE,
        QPalette.ColorRole.AlternateBase: "#20232a",
        QPalette.ColorRole.ToolTipBase: PANEL,
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: "#323742",
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.BrightText: "#ffffff",
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: ACCENT,
        QPalette.ColorRole.PlaceholderText: "#6b7280",
    }
    for role, colour in roles.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b7280"))
    return palette


STYLED = "gan_studio_styled"  # the app property apply_style sets


def apply_style(app: QApplication) -> None:
    """Fusion + dark palette + style sheet for the widgets, matching colours for pyqtgraph. Once per app: each
    of these re-styles every widget there is, so styling an app again cost seconds per window alive."""
    if app.property(STYLED) is True:
        return
    app.setProperty(STYLED, True)
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    font = QFont(app.font())
    if font.pointSizeF() < 9.5:
        font.setPointSizeF(9.5)
    app.setFont(font)
    app.setStyleSheet(STYLE_SHEET + arrow_rules(style_folder()))
    pg.setConfigOptions(antialias=True, background=PLOT_BACKGROUND, foreground=PLOT_FOREGROUND)
    app.setWindowIcon(app_icon())


def app_icon(size: int = 256) -> QIcon:
    """The GAN Studio icon, drawn in code: two overlapping curves (real and generated) on a tile."""
    return QIcon(icon_pixmap(size))


def icon_pixmap(size: int = 256) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size / 256
    gradient = QLinearGradient(0, 0, size, size)
    gradient.setColorAt(0, QColor("#2b5d8c"))
    gradient.setColorAt(1, QColor("#1b2a3f"))
    painter.setBrush(gradient)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawRoundedRect(QRectF(8 * s, 8 * s, 240 * s, 240 * s), 48 * s, 48 * s)
    for colour, offset in (("#4c9eeb", 0.0), ("#f28e2b", 26.0)):
        path = QPainterPath(QPointF(36 * s, (176 - offset) * s))
        path.cubicTo(QPointF(90 * s, (40 - offset) * s), QPointF(150 * s, (230 - offset) * s),
                     QPointF(220 * s, (90 - offset) * s))  # fmt: skip
        painter.setPen(QPen(QColor(colour), 18 * s, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
    painter.end()
    return pixmap
