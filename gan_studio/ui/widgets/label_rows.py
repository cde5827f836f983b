"""Rows for labels along a line (the plots' marker labels at a plot's top edge): each label goes into the first
row where it overlaps no other, so labels of nearby markers stack instead of printing over each other."""

from __future__ import annotations

LABEL_GAP_PX = 6  # air between two labels in one row


def stack_rows(
    spans: list[tuple[float, float]], gap: float = LABEL_GAP_PX, order: list[int] | None = None
) -> list[int]:
    """The row (0 = the first) of each (left, right) span: placed in `order` (the most important first; left to
    right by default), each in the first row where it keeps `gap` from every span already there."""
    rows: list[list[tuple[float, float]]] = []
    placed = [0] * len(spans)
    for index in order if order is not None else sorted(range(len(spans)), key=lambda i: spans[i][0]):
        left, right = spans[index]
        row = next(
            (
                r
                for r, taken in enumerate(rows)
                if all(left >= end + gap or right + gap <= start for start, end in taken)
            ),
            len(rows),
        )
        if row == len(rows):
            rows.append([])
        rows[row].append((left, right))
        placed[index] = row
    return placed
