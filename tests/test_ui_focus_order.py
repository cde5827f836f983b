"""Keyboard focus (offscreen): Tab in the Setup visits the fields in the order they are on screen, also after
the model (and with it the model's settings form) changes."""

from __future__ import annotations

from PySide6.QtCore import Qt

from gan_studio.ui.panels.setup import SetupPanel


def tab_chain(start, stop_at) -> list:
    """The widgets Tab reaches from `start` (visible, enabled, taking Tab) until it gets to `stop_at`."""
    seen, widget = [], start
    for _ in range(2000):
        widget = widget.nextInFocusChain()
        if widget is stop_at:
            return seen
        if widget.isVisible() and widget.isEnabled() and widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
            seen.append(widget)
    raise AssertionError("the focus chain never came back")


def test_tab_follows_the_screen_model_dataset_model_settings_training_advanced_reset(qtbot):
    panel = SetupPanel()
    qtbot.addWidget(panel)
    panel.show()
    for model in ("dcgan", "cgan", "vae", "cdcgan"):  # each change swaps in another (sometimes new) form
        panel.set_model(model)
        chain = tab_chain(panel.model_combo, panel.model_combo)
        model_fields = [e.editor for e in panel.model_form.editors.values() if e.editor.isVisible()]
        train_fields = [e.editor for e in panel.train_form.editors.values() if e.editor.isVisible()]
        assert chain[0] is panel.dataset.combo, model
        first_model, last_model = chain.index(model_fields[0]), chain.index(model_fields[-1])
        first_train, last_train = chain.index(train_fields[0]), chain.index(train_fields[-1])
        assert chain[first_model : last_model + 1] == model_fields, model  # the model's settings, top to bottom
        assert last_model < first_train  # ...before Training, as on screen
        assert chain[first_train : last_train + 1] == train_fields, model
        assert chain[last_train + 1 : last_train + 3] == [panel.advanced_check, panel.reset_button], model
        # Shift+Tab from the first model setting goes back up, not to the bottom of the form
        assert model_fields[0].previousInFocusChain() not in (panel.reset_button, panel.advanced_check)
