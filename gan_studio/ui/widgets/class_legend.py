"""The legend of class colours for models of 2D points: one coloured dot and name per class, as rich text
(the 2D view and the class grid colour each class's points alike, store.pictures.CLASS_COLOURS)."""

from __future__ import annotations

import html

from gan_studio.store.pictures import class_colour


def class_legend(names: list[str]) -> str:
    return " ".join(f"<span style='color:rgb{class_colour(k)}'>●</span>{html.escape(name, quote=False)}"
                    for k, name in enumerate(names))  # fmt: skip
