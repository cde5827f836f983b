"""The 2D view's colours and its key: a legend of the layers drawn, on the plane; swatches for the Layers menu;
and a note on the plane when generated points lie outside the view (they would vanish without a word)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QLinearGradient, QPainter, QPixmap

from gan_studio.store.pictures import CLASS_COLOURS

# D(x): blue where D says "generated", a mid grey at 1/2 (D cannot tell: it stands out from the dark background),
# red where D says "real"
HEATMAP_COLOURS = pg.ColorMap([0.0, 0.5, 1.0], [(35, 95, 215), (128, 130, 138), (220, 55, 45)])
HEATMAP_TICKS = [(0.0, "0"), (0.5, "½"), (1.0, "1")]
HEATMAP_LABEL = "D(x): 0 generated, ½ can't tell, 1 real"
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
    """The legend of the layers shown (top left of the plane) and the note on points outside the view (bottom)."""

    def __init__(self, plot_item: pg.PlotItem):
        self.legend = pg.LegendItem(offset=(2, 2), brush=pg.mkBrush(*KEY_BACKGROUND), labelTextSize="8pt",
                                    verSpacing=-8, horSpacing=6)  # fmt: skip
        self.legend.setParentItem(plot_item.getViewBox())
        self.samples = _samples()
        self.shown: list[str] = []
        self.wanted = True  # the Layers menu's "legend"
        self.outside_note = pg.LabelItem("", size="9pt", color=(255, 230, 120))
        self.outside_note.setParentItem(plot_item.getViewBox())
        self.outside_note.anchor(itemPos=(0.5, 1.0), parentPos=(0.5, 1.0), offset=(0, -4))
        self.outside = (0, 0)
        self.view = plot_item.getViewBox()
        self.view.sigResized.connect(lambda *_: self._fit())

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
        """The legend on a plane wide enough for it (on a small one it covered a third of the plane), the note on
        two lines on a narrow one (one line was cut at the plane's edges)."""
        self.legend.setVisible(bool(self.shown) and self.wanted and self.view.width() >= LEGEND_MIN_WIDTH)
        count, total = self.outside
        joint = " " if self.view.width() >= LEGEND_MIN_WIDTH else "<br>"
        text = f"{count:,} of {total:,} generated points{joint}outside the view" if count else ""
        self.outside_note.setText(f"<span style='background-color: rgba(20, 22, 26, 200)'>&nbsp;{text}&nbsp;</span>"
                                  if text else "")  # fmt: skip
        self.outside_note.setVisible(bool(count))
