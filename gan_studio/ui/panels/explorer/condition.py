"""The explorer's Condition tab (conditional models): pick a class by name, or mix classes with one
weight slider per class, and draw a class x seed grid (rows classes, columns seeds)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gan_studio.errors import DataError
from gan_studio.explore import latent as latent_ops
from gan_studio.explore.saving import label_rows, save_enlarged_png, save_latent
from gan_studio.store.pictures import grid_classes
from gan_studio.ui.panels.explorer.canvas import ImageCanvas
from gan_studio.ui.panels.explorer.tab import ExplorerTab
from gan_studio.ui.widgets.class_legend import class_legend
from gan_studio.ui.widgets.compact_combo import CompactComboBox
from gan_studio.ui.widgets.flow_row import flow_row, labelled, seed_spin_box
from gan_studio.ui.widgets.wheel_guard import guard_wheel

WEIGHT_STEPS = 100  # a class weight slider goes 0..100 (%)


class ConditionTab(ExplorerTab):
    TAB_TITLE = "Class"

    grid_ready = Signal()  # the class x seed grid was drawn

    def __init__(self, panel):
        super().__init__(panel)
        self.names: list[str] = []
        self.weight_sliders: list[QSlider] = []
        self._grid_inputs: tuple[np.ndarray, np.ndarray] | None = None
        self.one_class = QRadioButton("One class")
        self.one_class.setChecked(True)
        self.mix = QRadioButton("Mix classes")
        self.one_class.toggled.connect(self._mode_changed)
        self.class_combo = CompactComboBox()
        self.class_combo.currentIndexChanged.connect(self._class_picked)
        self.mix_label = QLabel("")
        self.mix_label.setWordWrap(True)  # "condition: 0.68 mode 2 + 0.32 mode 5" is wider than a narrow tab
        self._weights_body = QWidget()
        self._weights_grid = QGridLayout(self._weights_body)
        self._weights_grid.setContentsMargins(2, 2, 2, 2)
        self.weights_scroll = weights_scroll = QScrollArea()
        weights_scroll.setWidgetResizable(True)
        weights_scroll.setWidget(self._weights_body)
        weights_scroll.hide()  # shown while mixing: with one class, its room goes to the class grid

        self.seeds_box = guard_wheel(QSpinBox())
        self.seeds_box.setRange(1, 16)
        self.seeds_box.setValue(6)
        self.first_seed_box = seed_spin_box()
        self.first_seed_box.setRange(0, 999_999)
        draw = QPushButton("Draw class grid")
        draw.setToolTip("a row per class, a column per seed: the same z down each column")
        draw.clicked.connect(self.draw_grid)
        save = QPushButton("Save grid…")
        save.clicked.connect(self._ask_save_grid)
        self.grid_view = ImageCanvas(min_side=120, caption="rows: classes, columns: seeds (click to use one)")
        self.grid_view.cell_clicked.connect(self._grid_clicked)
        self.grid_legend = QLabel("")  # for 2D points: which colour is which class
        self.grid_legend.setTextFormat(Qt.TextFormat.RichText)
        self.grid_legend.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addWidget(flow_row(self.one_class, self.class_combo, self.mix))
        layout.addWidget(self.mix_label)
        layout.addWidget(weights_scroll, 1)
        layout.addWidget(flow_row(labelled("Seeds", self.seeds_box), labelled("from", self.first_seed_box)))
        layout.addWidget(flow_row(draw, save))
        layout.addWidget(self.grid_view, 2)
        layout.addWidget(self.grid_legend)

    def applies_to(self, source) -> bool:
        return source.num_classes > 0

    def source_changed(self, source, reloaded: bool) -> None:
        if not source.num_classes:
            return
        if reloaded and self.names == source.condition_names():
            if self._grid_inputs is not None:
                self.draw_grid()  # the same classes and seeds through the new weights
            return
        self.names = source.condition_names()
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItems(self.names)
        self.class_combo.blockSignals(False)
        for slider in self.weight_sliders:
            slider.deleteLater()
        while self._weights_grid.count():
            self._weights_grid.takeAt(0).widget().deleteLater()
        self.weight_sliders = []
        for i, name in enumerate(self.names):
            slider = guard_wheel(QSlider(Qt.Orientation.Horizontal))
            slider.setRange(0, WEIGHT_STEPS)
            slider.setValue(WEIGHT_STEPS if i == 0 else 0)
            slider.valueChanged.connect(self._weights_changed)
            self._weights_grid.addWidget(QLabel(name), i, 0)
            self._weights_grid.addWidget(slider, i, 1)
            self.weight_sliders.append(slider)
        self.one_class.blockSignals(True)
        self.one_class.setChecked(True)
        self.one_class.blockSignals(False)
        self.class_combo.setEnabled(True)
        self.weights_scroll.hide()
        for slider in self.weight_sliders:
            slider.setEnabled(False)
        self.show_condition(self.panel.y)
        self.grid_view.clear_picture()
        self.draw_grid()

    # picking ---------------------------------------------------------------------------------------------
    def select_class(self, name_or_index) -> None:
        """Condition on one class, given by name or index."""
        index = self.names.index(name_or_index) if isinstance(name_or_index, str) else int(name_or_index)
        self.one_class.setChecked(True)
        self.class_combo.setCurrentIndex(index)
        self._class_picked(index)

    def set_weights(self, weights) -> None:
        """Mix classes: one weight per class (normalised), e.g. 0.5 '3' + 0.5 '8'."""
        latent_ops.mix_condition(weights, len(self.names))  # ConfigError for a wrong count or bad weights
        self.mix.setChecked(True)
        for slider, w in zip(self.weight_sliders, weights, strict=True):
            slider.blockSignals(True)
            slider.setValue(int(round(float(w) * WEIGHT_STEPS)))
            slider.blockSignals(False)
        self._weights_changed()

    def show_condition(self, y: np.ndarray) -> None:
        """Reflect y (set from elsewhere: a pasted or loaded z, a grid click) in the widgets, quietly: a mix of
        classes switches to Mix classes, with its weights (one class shows in either mode)."""
        self.mix_label.setText("condition: " + latent_ops.describe_condition(y, self.names))
        mixed = int(np.count_nonzero(np.asarray(y) > 1e-6)) > 1
        widgets = [self.class_combo, *self.weight_sliders, self.one_class, self.mix]
        for w in widgets:
            w.blockSignals(True)
        try:
            if mixed:
                self.mix.setChecked(True)
            top = int(np.argmax(y))
            self.class_combo.setCurrentIndex(top)
            peak = float(np.max(y)) or 1.0
            for slider, w in zip(self.weight_sliders, y, strict=True):
                slider.setValue(int(round(float(w) / peak * WEIGHT_STEPS)))
        finally:
            for w in widgets:
                w.blockSignals(False)
        self._show_mode()

    def _show_mode(self) -> None:
        """One class: the class box; Mix classes: the weight sliders."""
        mixing = self.mix.isChecked()
        self.class_combo.setEnabled(not mixing)
        self.weights_scroll.setVisible(mixing)
        for slider in self.weight_sliders:
            slider.setEnabled(mixing)

    def _mode_changed(self, *_):
        self._show_mode()
        if self.panel.source is None or not self.names:
            return
        if self.mix.isChecked():
            self._weights_changed()
        else:
            self._class_picked(self.class_combo.currentIndex())

    def _class_picked(self, index: int) -> None:
        if self.panel.source is not None and 0 <= index < len(self.names) and self.one_class.isChecked():
            self.panel.set_condition(latent_ops.one_hot_vector(index, len(self.names)))

    def _weights_changed(self, *_):
        if self.panel.source is None or not self.mix.isChecked():
            return
        weights = [s.value() for s in self.weight_sliders]
        y = self.panel.run_guarded(latent_ops.mix_condition, weights, len(self.names))
        if y is not None:
            self.panel.set_condition(y)

    # class x seed grid ----------------------------------------------------------------------------------
    def draw_grid(self) -> None:
        source = self.panel.source
        if source is None or not source.num_classes:
            return
        first = self.first_seed_box.value()
        seeds = list(range(first, first + self.seeds_box.value()))
        z, y = latent_ops.class_seed_inputs(seeds, source.num_classes, source.latent_dim)
        self._grid_inputs = (z, y, seeds)
        self.panel.render_batch("grid", z, y, len(seeds), self._show_grid)

    def _show_grid(self, result) -> None:
        batch = result.value
        if batch.cells is None:  # 2D points: every class and seed on the plane, coloured by class
            self.grid_view.set_picture(batch.picture, points=batch.points_px)
            self.grid_legend.setText(class_legend(self.names))
        else:
            self.grid_legend.setText("")
            rows, cols, cell_h, cell_w, pad, _ = batch.cells
            row_names = [self.names[k] for k in grid_classes(len(self.names))]
            picture, margin = label_rows(batch.picture, row_names, cell_h, pad)
            self.grid_view.set_picture(picture, (rows, cols, cell_h, cell_w, pad, margin))
        self.grid_ready.emit()

    def _grid_clicked(self, index: int) -> None:
        if self._grid_inputs is None:
            return
        z, y, seeds = self._grid_inputs
        if index < len(z):
            self.panel.set_latent(z[index], y[index], seed=seeds[index % len(seeds)])

    def save_grid(self, path):
        if self.grid_view.picture is None or self._grid_inputs is None:
            raise DataError("nothing to save yet: draw the class × seed grid first")
        z, y, seeds = self._grid_inputs
        written, scale = save_enlarged_png(self.grid_view.picture, path)
        save_latent(written.with_suffix(".json"), z[0], y[0], image=written.name, scale=scale, seeds=seeds,
                    grid_z=z.tolist(), grid_y=y.tolist(), **self.panel.about())  # fmt: skip
        return written

    def _ask_save_grid(self) -> None:
        path = self.panel.ask_save_path("Save the class × seed grid", "classes.png", "PNG images (*.png)")
        if path:
            self.panel.run_guarded(self.save_grid, path)
