"""The Explorer's Path tab without a model (offscreen): Draw strip is greyed out, saying what is missing,
until both ends of the path are set."""

from __future__ import annotations

import numpy as np

from gan_studio.ui.panels.explorer import ExplorerPanel


def test_draw_strip_waits_for_both_ends_and_says_which_is_missing(qtbot):
    panel = ExplorerPanel()
    qtbot.addWidget(panel)
    try:
        tab = panel.interpolate_tab
        assert not tab.draw_button.isEnabled() and "Set A and B first" in tab.draw_button.toolTip()
        tab.set_end("a", z=np.zeros(4, np.float32))
        assert not tab.draw_button.isEnabled() and "Set B first" in tab.draw_button.toolTip()
        tab.set_end("b", z=np.ones(4, np.float32))
        assert tab.draw_button.isEnabled()
        tab.source_changed(None, reloaded=False)  # another model: the ends are gone
        assert not tab.draw_button.isEnabled()
    finally:
        panel.shutdown()
