"""A pyqtgraph axis that writes large numbers as TensorBoard does: 0, 500k, 1M, 1.5M, 2M (pyqtgraph wrote
"500000  1e+06  1.5e+06" on a run of 2,000,000 steps). Smaller numbers keep pyqtgraph's labels."""

from __future__ import annotations

import pyqtgraph as pg

from gan_studio.ui.number_text import COMPACT_FROM, tick_text


class CountAxis(pg.AxisItem):
    """An AxisItem whose linear ticks read 500k / 1M / 1.5M once they reach 10,000."""

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph's name
        if self.logMode or not values or max(abs(v * scale) for v in values) < COMPACT_FROM:
            return super().tickStrings(values, scale, spacing)
        return [tick_text(v * scale, spacing * scale) for v in values]
