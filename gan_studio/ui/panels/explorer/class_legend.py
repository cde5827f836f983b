"""The legend of class colours for models of 2D points: one coloured dot and name per class, as rich text
(the 2D view and the class grid colour each class's points alike, store.pictures.CLASS_COLOURS)."""

from __future__ import annotations

from gan_studio.store.pictures import CLASS_COLOURS


def class_colour(index: int) -> tuple[int, int, int]:
    return CLASS_COLOURS[index % len(CLASS_COLOURS)]


def class_legend(names: list[str]) -> str:
    return " ".join(f"<span style='color:rgb{class_colour(k)}'>●</span>{_html(name)}" for k, name in enumerate(names))


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
