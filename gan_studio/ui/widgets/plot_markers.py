"""Markers on the training plots: a dotted line at the step of a hyperparameter change or a piece of advice, with
one label per step along the plot's top edge, stacked in rows where labels would overlap."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt

from gan_studio.events import Advice, HParamChanged
from gan_studio.ui.widgets.label_rows import stack_rows

HPARAM_COLOUR = "#c8a2ff"
ADVICE_COLOURS = {"info": "#6fc3df", "warning": "#f0b44c", "error": "#ff6b6b"}  # the least severe first
MARKER_LABEL_FILL = (27, 29, 34, 120)  # behind a marker's text: readable, and a curve under it still shows
LABEL_TOP_PX = 2  # the first row of marker labels below the plot's top edge
MAX_LABEL_ROWS = 3  # more rows would cover the plot: a label that fits in none shows on its line's tooltip only


@dataclass
class Marker:
    """A vertical line at a step on every plot, with one label: the hyperparameter changes made at that step
    ("lr_g, lr_d 0.001 → 0.05"), or the advice given at it (in the colour of the most severe)."""

    step: int
    kind: str  # "hparam" or "advice"
    events: list = field(default_factory=list)
    lines: list = field(default_factory=list)

    @property
    def text(self) -> str:
        if self.kind == "advice":
            return "⚑ " + ", ".join(dict.fromkeys(event.code.replace("_", " ") for event in self.events))
        changes: dict[tuple[str, str], list[str]] = {}  # (old, new) -> the names changed so
        for event in self.events:
            changes.setdefault((_short(event.old), _short(event.new)), []).append(event.name)
        return "; ".join(f"{', '.join(names)} {old} → {new}" for (old, new), names in changes.items())

    @property
    def colour(self) -> str:
        if self.kind != "advice":
            return HPARAM_COLOUR
        severities = list(ADVICE_COLOURS)
        worst = max((e.severity for e in self.events), key=lambda s: severities.index(s) if s in severities else 1)
        return ADVICE_COLOURS.get(worst, ADVICE_COLOURS["warning"])

    @property
    def rank(self) -> int:
        """0 for the most important label: rate changes, then errors, warnings and notes."""
        return 0 if self.kind != "advice" else len(ADVICE_COLOURS) - list(ADVICE_COLOURS.values()).index(self.colour)

    def pen(self):
        return pg.mkPen(self.colour, width=1, style=Qt.PenStyle.DotLine)

    def holds(self, event: HParamChanged | Advice) -> bool:
        """Whether the event is already shown (a run read from disk, then followed live, repeats some)."""
        key = _marker_key(event)
        return any(_marker_key(known) == key for known in self.events)


def place_labels(plot: pg.PlotItem, markers: list[Marker]) -> None:
    """Put the plot's marker labels along its top edge, in rows where they would overlap: a label sits right
    of its line, or left of it near the right edge; rate changes and errors first; one that fits in no row is
    left to its line's tooltip (Ctrl+wheel zooms in to spread them)."""
    view = plot.getViewBox()
    height = view.height()
    mine = [(marker, line) for marker in markers for line in marker.lines if line.getViewBox() is view]
    if height <= 0 or not mine:
        return
    mine.sort(key=lambda pair: pair[0].rank)  # the most important labels get the first rows
    lines = [line for _, line in mine]
    left_edge, right_edge = view.viewRange()[0]
    right_px = view.mapViewToScene(QPointF(right_edge, 0)).x()
    shown, spans = [], []
    for line in lines:
        inside = left_edge <= line.value() <= right_edge
        line.label.setVisible(inside)
        if not inside:
            continue
        x = view.mapViewToScene(QPointF(line.value(), 0)).x()
        width = line.label.boundingRect().width()
        flip = x + width > right_px  # near the right edge: the label goes left of its line
        line.label.anchors = [(1, 0), (1, 0)] if flip else [(0, 0), (0, 0)]
        shown.append(line)
        spans.append((x - width, x) if flip else (x, x + width))
    # one pitch for every row, the tallest label's and 3 pixels of air: labels are placed at a fraction of their
    # line, which ends a pixel short of the view, and snap to whole pixels: rows of a label's height and one pixel
    # of air overlapped by up to 2 pixels in the app's font
    row_px = max((line.label.boundingRect().height() for line in shown), default=0) + 3
    for line, row in zip(shown, stack_rows(spans, order=list(range(len(spans)))), strict=True):
        top = LABEL_TOP_PX + row * row_px
        fits = row < MAX_LABEL_ROWS and top + row_px <= height
        line.label.setVisible(fits)
        if fits:
            line.label.setPosition(1.0 - top / height)


def _short(value) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def _marker_key(event: HParamChanged | Advice) -> tuple:
    if isinstance(event, Advice):
        return ("advice", event.code)
    return ("hparam", event.name, _short(event.old), _short(event.new))
