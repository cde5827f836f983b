"""The explorer's Encode tab (VAEs): pick an image of the run's dataset or drop an image file; see
it, its reconstruction, and get its z (the mean of q(z|x)) into the sliders for editing."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from gan_studio.data.imagefiles import IMAGE_EXTENSIONS
from gan_studio.explore.encoding import Encoding, encode, load_image_file, run_dataset
from gan_studio.store.pictures import samples_picture
from gan_studio.ui.panels.explorer.canvas import ImageCanvas
from gan_studio.ui.panels.explorer.tab import ExplorerTab
from gan_studio.ui.widgets.compact_combo import CompactComboBox
from gan_studio.ui.widgets.flow_row import flow_row, labelled
from gan_studio.ui.widgets.wheel_guard import guard_wheel

IMAGE_SUFFIXES = tuple(sorted(IMAGE_EXTENSIONS))  # what a dataset folder reads
ENCODE_HINT = "Pick an image from the dataset, or drop an image file here."
UNLIKE_DATA_SIGMA = 1.5  # mean σ of q(z|x) above which an input is called unlike the data (real digits: about 0.3)
POINT_HINT = "Pick a point of the dataset: its z is shown on the 2D view and in the sliders."


class EncodeTab(ExplorerTab):
    TAB_TITLE = "Encode"

    encoded = Signal(object)  # the Encoding now shown (its mu is the current z)

    def __init__(self, panel):
        super().__init__(panel)
        self.setAcceptDrops(True)
        self.encoding: Encoding | None = None
        self.index_box = guard_wheel(QSpinBox())
        self.index_box.setRange(0, 0)
        self.index_box.setToolTip("index of the image in the run's training data")
        self.pick_button = pick = QPushButton("Encode dataset image")
        pick.clicked.connect(lambda: self.encode_dataset_image(self.index_box.value()))
        random_pick = QPushButton("Random")
        random_pick.clicked.connect(self._random_image)
        self.open_file_button = open_file = QPushButton("Open image file…")
        open_file.clicked.connect(self._ask_file)
        self.index_caption = QLabel("Image #")
        self.label_combo = CompactComboBox()
        self.label_combo.setToolTip("the class given to the conditional VAE's encoder and decoder")
        self.info = QLabel(ENCODE_HINT)
        self.info.setWordWrap(True)
        self.input_view = ImageCanvas(min_side=80, caption="the input")
        self.recon_view = ImageCanvas(min_side=80, caption="its reconstruction: decoder(mean of q(z|x))")

        self.label_caption = QLabel("class")
        views = QGridLayout()
        views.addWidget(QLabel("Input"), 0, 0)
        views.addWidget(QLabel("Reconstruction"), 0, 1)
        views.addWidget(self.input_view, 1, 0)
        views.addWidget(self.recon_view, 1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(flow_row(labelled(self.index_caption, self.index_box), pick, random_pick))
        layout.addWidget(flow_row(open_file, labelled(self.label_caption, self.label_combo)))
        layout.addWidget(self.info)
        layout.addLayout(views, 1)

    def applies_to(self, source) -> bool:
        return source.family == "vae"

    def source_changed(self, source, reloaded: bool) -> None:
        self.label_combo.setVisible(source.num_classes > 0)
        self.label_caption.setVisible(source.num_classes > 0)
        if not reloaded:
            self.label_combo.clear()
            self.label_combo.addItems(source.condition_names())
            self.encoding = None
            self.input_view.clear_picture()
            self.recon_view.clear_picture()
        size = (source.info.get("dataset") or {}).get("size")
        self.index_box.setRange(0, max(0, int(size) - 1) if isinstance(size, int) else 10**6)
        points = source.kind == "points"  # a model of 2D points encodes points: no image files
        self.index_caption.setText("Point #" if points else "Image #")
        self.pick_button.setText("Encode dataset point" if points else "Encode dataset image")
        self.open_file_button.setVisible(not points)
        if not reloaded:
            self.info.setText(POINT_HINT if points else ENCODE_HINT)
        if source.family == "vae" and source.encoder is None:
            self.info.setText(
                "This export has no encoder beside it: export the run again (File → Export to ONNX writes both), "
                "or open the run directory to encode images."
            )
        elif reloaded and self.encoding is not None:  # the same image through the new weights
            x, label = self.encoding.input, self.encoding.label
            self.panel.submit("encode", lambda: encode(source, x, label), self._show_reconstruction)

    # encoding -----------------------------------------------------------------------------------------
    def encode_dataset_image(self, index: int) -> None:
        """Encode image `index` of the run's training data (its label is used by a cVAE)."""
        source = self.panel.source
        if source is None:
            return
        self.index_box.blockSignals(True)
        self.index_box.setValue(int(index))
        self.index_box.blockSignals(False)

        def work():
            dataset = run_dataset(source.info, source.sample_shape, source.value_range)
            i = int(index) % len(dataset)
            label = int(dataset.y[i]) if source.num_classes and dataset.y is not None else None
            return encode(source, dataset.take([i])[0].numpy(), label)

        self.panel.submit("encode", work, self._show)

    def encode_file(self, path) -> None:
        """Encode an image file, converted to the model's channels and size."""
        source = self.panel.source
        if source is None:
            return
        label = self.label_combo.currentIndex() if source.num_classes else None

        def work():
            return encode(source, load_image_file(path, source.sample_shape), label)

        self.panel.submit("encode", work, self._show)

    def _show_reconstruction(self, result) -> None:
        """The encoding's pictures (the image and its reconstruction), leaving the sliders' z alone."""
        enc: Encoding = result.value
        self.encoding = enc
        if enc.label is not None:
            self.label_combo.setCurrentIndex(enc.label)
        for view, x in ((self.input_view, enc.input), (self.recon_view, enc.reconstruction)):
            picture_range = (0.0, 1.0) if x.ndim == 3 else self.panel.source.value_range
            view.set_picture(samples_picture(x[None], picture_range, 1, padding=0, backdrop=self._backdrop()))

    def _show(self, result) -> None:
        enc: Encoding = result.value
        source = self.panel.source
        self._show_reconstruction(result)
        y = None if enc.label is None else np.eye(source.num_classes, dtype=np.float32)[enc.label]
        self.panel.seed = None
        self.panel.set_latent(enc.mu, y)
        spread = float(np.mean(enc.sigma))
        text = f"z = mean of q(z|x) is in the sliders now (mean σ of q: {spread:.3f}); edit it there."
        if spread > UNLIKE_DATA_SIGMA:  # wider than the prior itself: the encoder is guessing
            text += (f" σ above {UNLIKE_DATA_SIGMA:g}, wider than the prior's 1: this input is unlike the training data "
                     "(a light background where the model learned dark ones, another size or framing?)")  # fmt: skip
        self.info.setText(text)
        self.encoded.emit(enc)

    def _backdrop(self):
        loaded = self.panel.loaded
        return loaded.backdrop if loaded is not None else None

    def _random_image(self) -> None:
        self.index_box.setValue(int(np.random.default_rng().integers(0, self.index_box.maximum() + 1)))
        self.encode_dataset_image(self.index_box.value())

    def _ask_file(self) -> None:
        pattern = "Images (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES) + ")"
        path = self.panel.ask_open_path("Encode an image", pattern)
        if path:
            self.encode_file(path)

    # drag and drop ------------------------------------------------------------------------------------------
    def dragEnterEvent(self, event):
        if self._dropped_image(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event):
        path = self._dropped_image(event)
        if path is not None:
            event.acceptProposedAction()
            self.encode_file(path)

    @staticmethod
    def _dropped_image(event) -> str | None:
        mime = event.mimeData()
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            local = url.toLocalFile()
            if local.lower().endswith(IMAGE_SUFFIXES):
                return local
        return None
