"""The 2D view's colours and its key: a legend of the layers drawn, on the plane; swatches for the Layers menu;
a note on the plane when generated points lie outside the view (they would vanish without a word); and what of
these does not fit a small plane (the note, the colour bar's caption), said in a line below it instead."""

from __future__ import annotations

import html

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFontMetricsF, QIcon, QLinearGradient, QPainter, QPixmap
from PySide6.QtWidgets import QLabel

from gan_studio.store.pictures import CLASS_COLOURS

# D(x): blue where D says "generated", a mid grey at 1/2 (D cannot tell: it stands out from the dark background),
# red where D says "real"
HEATMAP_COLOURS = pg.ColorMap([0.0, 0.5, 1.0], [(35, 95, 215), (128, 130, 138), (220, 55, 45)])
HEATMAP_TICKS = [(0.0, "0"), (0.5, "½"), (1.0, "1")]
HEATMAP_LABEL = "D(x): 0 generated, ½ can't tell, 1 real"
HEATMAP_SHORT_LABEL = "D(x)"  # on a colour bar too short for the whole caption (which then goes below the plane)
NOTE_COLOUR = "#ffe678"
NOTE_MARGIN_PX = 8  # the note keeps this far from the plane's edges
GENERATED_COLOUR = CLASS_COLOURS[0]
REAL_FILL, REAL_EDGE = (250, 250, 250), (15, 15, 18, 140)  # white with a dark rim: seen on every colour of D(x)
CONTOUR_COLOUR = (250, 250, 250)
MESH_COLOUR = (190, 225, 255, 190)
GRADIENT_COLOUR = (140, 245, 140, 230)
CURRENT_COLOUR = (255, 230, 0)  # the ring of the current z: no class colour, nor the real points' white
POINT_SIZE, REAL_SIZE = 5, 7
KEY_BACKGROUND = (20, 22, 26, 190)
SWATCH_PX = 12


def contour_pen():
    return pg.mkPen(CONTOUR_COLOUR, width=1.6, style=Qt.PenStyle.DashLine)


def _samples() -> dict[str, pg.GraphicsObject]:
    """Stand-ins drawn in the legend, one per layer (never added to the plot)."""
    line = {"x": [0, 1], "y": [0, 0]}
    return {
        "real": pg.ScatterPlotItem(size=REAL_SIZE, pen=pg.mkPen(*REAL_EDGE), brush=pg.mkBrush(*REAL_FILL)),
        "generated": pg.ScatterPlotItem(size=REAL_SIZE, pen=None, brush=pg.mkBrush(*GENERATED_COLOUR)),
        "G's gradient": pg.PlotDataItem(
            **line,
            pen=pg.mkPen(GRADIENT_COLOUR, width=1.5),
            symbol="t2",
            symbolSize=9,
            symbolPen=None,
            symbolBrush=GRADIENT_COLOUR,
        ),  # fmt: skip
        "z grid": pg.PlotDataItem(**line, pen=pg.mkPen(MESH_COLOUR, width=1.5)),
        "D = ½": pg.PlotDataItem(**line, pen=contour_pen()),
        "current z": pg.ScatterPlotItem(size=11, pen=pg.mkPen(CURRENT_COLOUR, width=2), brush=None),
    }


KEY_NAMES = {"generated": "generated", "real": "real", "G's gradient": "G's gradient →", "z grid": "z grid",
             "D = ½": "D = ½", "current z": "current z"}  # fmt: skip


def swatch(name: str) -> QIcon:
    """A small square of a layer's colour for the Layers menu (D(x): its colour scale)."""
    pixmap = QPixmap(SWATCH_PX, SWATCH_PX)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    colour = {"real": REAL_FILL, "generated": GENERATED_COLOUR, "G's gradient": GRADIENT_COLOUR, "z grid": MESH_COLOUR,
              "D = ½": CONTOUR_COLOUR}.get(name)  # fmt: skip
    if colour is None:
        gradient = QLinearGradient(0, SWATCH_PX, 0, 0)  # 0 at the bottom, as on the colour bar
        for position, rgb in zip(HEATMAP_COLOURS.pos, HEATMAP_COLOURS.getColors(), strict=True):
            gradient.setColorAt(float(position), QColor(*(int(v) for v in rgb)))
        painter.fillRect(pixmap.rect(), gradient)
    else:
        painter.fillRect(pixmap.rect(), QColor(*colour))
    painter.end()
    return QIcon(pixmap)


LEGEND_MIN_WIDTH = 260  # px of plane below which the legend is left out (Layers -> legend shows what it would say)


class PlaneKey:
    """The legend of the layers shown (top left of the plane), the note on points outside the view (bottom) and
    the colour bar's caption; `below`, a label under the plot, says whichever of the last two the plane cuts."""

    def __init__(self, plot_item: pg.PlotItem, colour_bar: pg.ColorBarItem, below: QLabel):
        self.legend = pg.LegendItem(offset=(2, 2), brush=pg.mkBrush(*KEY_BACKGROUND), labelTextSize="8pt",
                                    verSpacing=-8, horSpacing=6)  # fmt: skip
        self.legend.setParentItem(plot_item.getViewBox())
        self.samples = _samples()
        self.shown: list[str] = []
        self.wanted = True  # the Layers menu's "legend"
        self.colour_bar, self.below = colour_bar, below
        self.outside_note = pg.LabelItem("", size="9pt", color=NOTE_COLOUR)
        self.outside_note.setParentItem(plot_item.getViewBox())
        self.outside_note.anchor(itemPos=(0.5, 1.0), parentPos=(0.5, 1.0), offset=(0, -4))
        self.outside = (0, 0)
        self.view = plot_item.getViewBox()
        self.view.sigResized.connect(lambda *_: self._fit())
        colour_bar.getAxis("left").geometryChanged.connect(self._fit)

    def show_layers(self, names: list[str]) -> None:
        """List these layers (in the order of KEY_NAMES); the legend is hidden when none is drawn."""
        names = [name for name in KEY_NAMES if name in names]
        if names != self.shown:
            self.shown = names
            self.legend.clear()
            for name in names:
                self.legend.addItem(self.samples[name], KEY_NAMES[name])
            for sample, _ in self.legend.items:
                sample.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # a stand-in: clicking it changes nothing
        self._fit()

    def show_outside(self, count: int, total: int) -> None:
        """Say how many of the generated points lie outside the view (nothing when none does)."""
        self.outside = (count, total)
        self._fit()

    def _fit(self) -> None:
        """The legend on a plane wide enough for it (on a small one it covered a third of the plane); the note on
        one line, or two, where it fits the plane, else below the plot, as the colour bar's caption is where
        the bar is too short for it (on a 1024 px screen both were cut: ',000 generated', 'the view')."""
        self.legend.setVisible(bool(self.shown) and self.wanted and self.view.width() >= LEGEND_MIN_WIDTH)
        count, total = self.outside
        below = []
        note = f"{count:,} of {total:,} generated points outside the view" if count else ""
        for text in (note, note.replace(" points ", " points<br>")) if note else ():
            self.outside_note.setText(
                f"<span style='background-color: rgba(20, 22, 26, 200)'>&nbsp;{text}&nbsp;</span>"
            )
            if self.outside_note.item.boundingRect().width() <= self.view.width() - NOTE_MARGIN_PX:
                break
        else:
            if note:
                below.append(f"<span style='color:{NOTE_COLOUR}'>{html.escape(note)}</span>")
            self.outside_note.setText("")
        note_below = bool(below)
        self.outside_note.setVisible(bool(note) and not note_below)
        axis = self.colour_bar.getAxis("left")  # (the bar's caption; its values are on the right)
        whole = QFontMetricsF(axis.label.font()).horizontalAdvance(HEATMAP_LABEL) + NOTE_MARGIN_PX <= axis.height()
        caption = HEATMAP_LABEL if whole or axis.height() <= 0 else HEATMAP_SHORT_LABEL
        if axis.labelText != caption:
            axis.setLabel(caption)
        if self.colour_bar.isVisible() and axis.labelText != HEATMAP_LABEL:
            below.append(f"colour: {html.escape(HEATMAP_LABEL)}")
        self.below.setText("<br>".join(below))
        self.below.setVisible(bool(below))
        if below and note_below:  # the note's lines at least: a wrapped label was given too few in a tight column
            self.below.setMinimumHeight(self.below.fontMetrics().lineSpacing() * (2 + (len(below) > 1)))
        else:
            self.below.setMinimumHeight(0)
