"""The app's look: a dark Fusion palette, a small style sheet, plot colours and the app icon.

Kept in code (not a resource file) so an installed package looks the same as a checkout.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QLinearGradient, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QApplication

WINDOW = "#23262d"
BASE = "#1b1d22"
PANEL = "#2a2e36"
TEXT = "#dde1e8"
MUTED = "#9aa3b2"
ACCENT = "#4c9eeb"
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
QLineEdit, QComboBox, QSpinBox {{ padding: 3px 5px; border: 1px solid #3d4350; border-radius: 4px;
                                  background: {BASE}; }}
QLineEdit:disabled, QComboBox:disabled {{ color: #6b7280; }}
QPushButton {{ padding: 5px 12px; border: 1px solid #454b57; border-radius: 5px; background: #323742; }}
QPushButton:hover {{ background: #3a404c; }}
QPushButton:pressed {{ background: #2a2e36; }}
QPushButton:disabled {{ color: #6b7280; background: #2a2d34; border-color: #363a43; }}
QPushButton#start_button:enabled {{ background: #2f7d4f; border-color: #3c9a63; color: white; font-weight: 600; }}
QPushButton#start_button:enabled:hover {{ background: #36905b; }}
QPushButton#stop_button:enabled {{ background: #8a3434; border-color: #a84545; color: white; }}
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


def apply_style(app: QApplication) -> None:
    """Fusion + dark palette + style sheet for the widgets, matching colours for pyqtgraph."""
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    font = QFont(app.font())
    if font.pointSizeF() < 9.5:
        font.setPointSizeF(9.5)
    app.setFont(font)
    app.setStyleSheet(STYLE_SHEET)
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
