"""The explorer's Latent tab: one slider per direction of z, bases, seed, and saving/loading z.

Bases: the latent dimensions; GANSpace principal directions of the outputs (computed in the render
thread from sampled z); for VAEs, the dimensions ordered by mean KL over a data batch with the KL
per dimension as bars (active units first).
"""

from __future__ import annotations

import random

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QVBoxLayout,
)

from gan_studio.errors import ConfigError
from gan_studio.explore import directions
from gan_studio.explore import latent as latent_ops
from gan_studio.explore.encoding import run_dataset
from gan_studio.explore.saving import load_latent, save_latent
from gan_studio.ui.panels.explorer.sliders import LatentSliders
from gan_studio.ui.panels.explorer.tab import ExplorerTab
from gan_studio.ui.widgets.compact_combo import CompactComboBox
from gan_studio.ui.widgets.flow_row import flow_row, labelled, seed_spin_box

BASES = {"axes": "Latent dimensions", "pca": "Principal directions (GANSpace)", "kl": "VAE dimensions by KL"}
COMPUTING = {
    "pca": "computing: generating samples and their principal directions…",
    "kl": "computing: encoding the run's data (read, or prepared again if it changed, first)…",
}
PCA_SAMPLES = 512  # sampled z for the principal directions
KL_SAMPLES = 1000  # data samples averaged for the KL per dimension


class LatentTab(ExplorerTab):
    TAB_TITLE = "Latent"

    basis_ready = Signal(object)  # the SliderBasis now shown

    def __init__(self, panel):
        super().__init__(panel)
        self.basis: directions.SliderBasis | None = None
        self.pca_samples = PCA_SAMPLES
        self.basis_combo = CompactComboBox()
        self.basis_combo.setToolTip("which directions the sliders move z along")
        self.basis_combo.activated.connect(lambda _: self.choose_basis(self.basis_combo.currentData()))
        self.basis_title = QLabel("")
        self.basis_title.setWordWrap(True)
        self.basis_step: int | None = None  # the model step the shown PCA/KL directions were computed from
        self.recompute_button = QPushButton("Recompute")
        self.recompute_button.setToolTip("compute the directions again from the model shown now")
        self.recompute_button.clicked.connect(lambda: self.choose_basis(self.basis.kind if self.basis else "axes"))
        self.recompute_button.hide()
        self.seed_box = seed_spin_box()
        self.seed_box.setRange(0, 2**31 - 1)
        self.seed_box.setToolTip("z drawn from this seed (the same as `gan-studio sample --n 1 --seed N`)")
        self.seed_box.valueChanged.connect(self.use_seed)
        randomise = QPushButton("Randomise")
        randomise.clicked.connect(lambda: self.seed_box.setValue(random.randrange(0, 1_000_000)))
        reset_all = QPushButton("Reset all")
        reset_all.setToolTip("set every slider to 0")
        reset_all.clicked.connect(self.reset_all)
        self.sliders = LatentSliders()
        self.sliders.value_changed.connect(self._slider_moved)

        buttons = {
            "Copy z": (self.copy_z, "copy z (and y) as text"),
            "Paste z": (self.paste_z, "paste z as text: JSON or numbers separated by commas/spaces"),
        }
        actions = []
        for text, (action, tip) in buttons.items():
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda _checked=False, act=action: act())  # not clicked(checked) into act
            actions.append(button)
        # the files in one menu: four buttons took two more rows from the sliders in a small window
        self.files_menu = QMenu(self)
        files = {
            "Save image…": (self._ask_save_image, "PNG of the image, with its z and y in a .json beside it"),
            "Save grid…": (self._ask_save_grid, "PNG of the neighbour grid, with its z in a .json beside it"),
            "Save z…": (self._ask_save_z, "z and y as .json"),
            "Load z…": (self._ask_load_z, "load a saved z (.json)"),
        }
        for text, (action, tip) in files.items():
            item = self.files_menu.addAction(text)
            item.setToolTip(tip)
            item.triggered.connect(lambda _checked=False, act=action: act())
        self.files_menu.setToolTipsVisible(True)
        files_button = QPushButton("Save / load")
        files_button.setToolTip("save the image, the neighbour grid or z; load a saved z")
        files_button.setMenu(self.files_menu)
        actions.append(files_button)

        basis_row = QHBoxLayout()
        basis_row.addWidget(QLabel("Sliders"))
        basis_row.addWidget(self.basis_combo, 1)
        basis_row.addWidget(self.recompute_button)
        layout = QVBoxLayout(self)
        layout.addLayout(basis_row)
        layout.addWidget(self.basis_title)
        layout.addWidget(flow_row(labelled("Seed", self.seed_box), randomise, reset_all))
        layout.addWidget(self.sliders, 1)
        layout.addWidget(flow_row(*actions))

    # source and bases ---------------------------------------------------------------------------------
    def source_changed(self, source, reloaded: bool) -> None:
        self.basis_combo.clear()
        kinds = ["axes", "pca"] + (["kl"] if source.family == "vae" and source.encoder is not None else [])
        for kind in kinds:
            self.basis_combo.addItem(BASES[kind], kind)
        keep = reloaded and self.basis is not None and self.basis.latent_dim == source.latent_dim
        if keep:
            self.basis_combo.setCurrentIndex(max(0, kinds.index(self.basis.kind)))
            self._say_if_basis_is_older(source.step)
            self.show_latent(self.panel.z)
            return
        self.show_seed(self.panel.seed or 0)
        self._set_basis(directions.axes_basis(source.latent_dim))

    def choose_basis(self, kind: str) -> None:
        """Switch the sliders to a basis; PCA and KL are computed in the render thread."""
        source = self.panel.source
        if source is None:
            return
        if kind == "axes":
            self._set_basis(directions.axes_basis(source.latent_dim))
            return
        self.basis_title.setText(COMPUTING[kind])  # what takes the time: a wait of 20 s said only "computing…"
        if kind == "pca":
            backend, y = source.backend, None if self.panel.y is None else self.panel.y.copy()
            samples = self.pca_samples

            def work():
                return directions.pca_basis(backend.generate, source.latent_dim, y, n_samples=samples)

        elif kind == "kl":

            def work():
                dataset = run_dataset(source.info, source.sample_shape, source.value_range)
                pick = np.random.default_rng(0).permutation(len(dataset))[:KL_SAMPLES]
                x = dataset.take(pick).numpy()
                y = None
                if source.num_classes:
                    y = np.eye(source.num_classes, dtype=np.float32)[dataset.y[pick].numpy()]
                return directions.kl_basis(source.encoder, x, y)

        else:
            raise ConfigError(f"unknown slider basis '{kind}'")
        self.panel.submit("basis", work, lambda result: self._set_basis(result.value), self._basis_failed)

    def _basis_failed(self, result) -> None:
        """Keep the sliders on the basis they had (the error is on the status line)."""
        if self.basis is not None:
            self.basis_combo.setCurrentIndex(max(0, self.basis_combo.findData(self.basis.kind)))
            self.basis_title.setText(self.basis.title)

    def _say_if_basis_is_older(self, step: int) -> None:
        """Directions computed from an earlier checkpoint of a training run stay (the sliders do not jump at every
        checkpoint, and computing them costs seconds), said so beside a Recompute button."""
        older = self.basis is not None and self.basis.kind != "axes" and self.basis_step not in (None, step)
        self.recompute_button.setVisible(older)
        if older:
            self.basis_title.setText(f"{self.basis.title} — computed from step {self.basis_step:,}; the model shown "
                                     f"is at step {step:,}")  # fmt: skip

    def _set_basis(self, basis: directions.SliderBasis) -> None:
        self.basis = basis
        self.basis_step = self.panel.source.step if self.panel.source is not None else None
        self.recompute_button.hide()
        index = self.basis_combo.findData(basis.kind)
        if index >= 0:
            self.basis_combo.setCurrentIndex(index)
        self.basis_title.setText(basis.title)
        self.sliders.set_basis(basis.labels, basis.scores, basis.score_name, basis.active)
        self.show_latent(self.panel.z)
        self.basis_ready.emit(basis)

    # z ------------------------------------------------------------------------------------------------------
    def show_latent(self, z: np.ndarray) -> None:
        """Put z's coordinates into the sliders (without re-rendering)."""
        if self.basis is not None and self.basis.latent_dim == z.size:
            self.sliders.set_values(self.basis.coordinates(z))

    def _slider_moved(self, index: int, value: float) -> None:
        if self.basis is None:
            return
        self.panel.seed = None
        self.panel.move_latent(self.basis.with_coordinate(self.panel.z, index, value))

    def use_seed(self, seed: int) -> None:
        source = self.panel.source
        if source is not None:
            self.panel.set_latent(latent_ops.seed_latent(seed, source.latent_dim), seed=seed)

    def reset_all(self) -> None:
        if self.basis is not None:
            self.panel.seed = None
            self.panel.set_latent(self.basis.with_coordinates(self.panel.z, np.zeros(len(self.basis))))

    def copy_z(self) -> str:
        text = latent_ops.z_to_text(self.panel.z, self.panel.y)
        QGuiApplication.clipboard().setText(text)
        return text

    def paste_z(self, text: str | None = None) -> None:
        """Use z (and y) from `text`, or from the clipboard."""
        source = self.panel.source
        if source is None:
            return
        text = QGuiApplication.clipboard().text() if text is None else text
        parsed = self.panel.run_guarded(latent_ops.z_from_text, text, source.latent_dim)
        if parsed is None:
            return
        z, y = parsed
        if y is not None and (not source.num_classes or y.size != source.num_classes):
            y = None
        self.panel.seed = None
        self.panel.set_latent(z, y)

    def save_z(self, path):
        return save_latent(path, self.panel.z, self.panel.y, **self.panel.about())

    def load_z(self, path) -> None:
        source = self.panel.source
        loaded = self.panel.run_guarded(load_latent, path, source.latent_dim, source.num_classes)
        if loaded is not None:
            z, y, record = loaded
            self.panel.seed = record.get("seed") if isinstance(record.get("seed"), int) else None
            self.panel.set_latent(z, y, seed=self.panel.seed)

    def show_seed(self, seed: int) -> None:
        """Put a seed in the box without drawing its z again."""
        self.seed_box.blockSignals(True)
        self.seed_box.setValue(seed)
        self.seed_box.blockSignals(False)

    # dialogs ----------------------------------------------------------------------------------------------
    def _ask_save_image(self) -> None:
        path = self.panel.ask_save_path("Save the image", "sample.png", "PNG images (*.png)")
        if path:
            self.panel.run_guarded(self.panel.save_image, path)

    def _ask_save_grid(self) -> None:
        path = self.panel.ask_save_path("Save the neighbour grid", "neighbours.png", "PNG images (*.png)")
        if path:
            self.panel.run_guarded(self.panel.save_grid, path)

    def _ask_save_z(self) -> None:
        path = self.panel.ask_save_path("Save z", "latent.json", "Latent vectors (*.json)")
        if path:
            self.panel.run_guarded(self.save_z, path)

    def _ask_load_z(self) -> None:
        if self.panel.source is None:
            return
        path = self.panel.ask_open_path("Load z", "Latent vectors (*.json)")
        if path:
            self.load_z(path)
