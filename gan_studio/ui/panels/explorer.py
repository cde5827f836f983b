"""The latent explorer panel: the current sample large, its neighbours, and tabs to steer z and y.

The panel owns the explorer's state (source, z, y) and its render thread. Tabs (one file each:
explorer_latent, explorer_condition, explorer_interpolate, explorer_arithmetic, explorer_encode,
explorer_live2d) read and change that state through the panel and submit their own render jobs.

Rendering is off the UI thread with latest-request-wins (`gan_studio.explore.renderer`); results
come back through a queued signal, and `image_shown` is emitted once new pixels are in the image.

Live updates while training: the panel never touches the trainer's model. When the current run's
checkpoints/last.pt changes (polled every 500 ms, and checked at once on each trainer update),
the run is reloaded in the render thread and everything re-renders with the new weights. Training
in the app with a small "checkpoint every" makes the 2D view follow closely.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gan_studio.errors import DataError, GanStudioError
from gan_studio.explore import latent as latent_ops
from gan_studio.explore.backends import BACKEND_CHOICES, ExplorerSource, is_onnx_file, open_source
from gan_studio.explore.encoding import run_dataset
from gan_studio.explore.live2d import fixed_inputs, plane_extent
from gan_studio.explore.renderer import Renderer, RenderResult
from gan_studio.explore.saving import samples_to_picture, save_latent, save_picture, to_pictures
from gan_studio.ui.panels.explorer_arithmetic import ArithmeticTab
from gan_studio.ui.panels.explorer_condition import ConditionTab
from gan_studio.ui.panels.explorer_encode import EncodeTab
from gan_studio.ui.panels.explorer_interpolate import InterpolateTab
from gan_studio.ui.panels.explorer_latent import LatentTab
from gan_studio.ui.panels.explorer_live2d import Live2DTab
from gan_studio.ui.widgets.explorer_image import ImageCanvas, grid_cells

POLL_MS = 500  # how often the run's last checkpoint is checked for changes
NEIGHBOUR_DELAY_MS = 120  # the neighbour grid waits for a pause in dragging
NEIGHBOUR_RADIUS = 0.5  # per-dimension std of a neighbour's offset from z
CLOUD_POINTS = 1500  # generated points drawn behind 2D point samples
WIDE_LAYOUT_PX = 820  # from this width on, the image and the tabs sit side by side


@dataclass
class Batch:
    """A rendered batch: the raw samples and the picture the UI shows (with its grid cells)."""

    samples: np.ndarray
    picture: np.ndarray
    cells: tuple | None


@dataclass
class LoadedSource:
    """What the render thread prepares when a source opens: the source and, for 2D points, a backdrop."""

    source: ExplorerSource
    checkpoint_mtime: int | None
    backdrop: tuple[np.ndarray, tuple] | None = None  # (generated cloud, extent) for point models
    real: np.ndarray | None = None  # training points (2D models), when the dataset loads
    keep_state: bool = False


def _mtime(path: Path | None) -> int | None:
    try:
        return os.stat(path).st_mtime_ns if path else None
    except OSError:
        return None


class ExplorerPanel(QWidget):
    """See the module docstring. Panel protocol: TITLE, set_run(path), on_update(update), open_source(path)."""

    TITLE = "Explorer"

    image_shown = Signal()  # the main image shows the latest z / y
    source_changed = Signal(object)  # ExplorerSource, or None when closed
    message = Signal(str)  # errors and notes shown on the status line
    _result = Signal(object)  # RenderResult from the render thread (queued to the UI thread)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.source: ExplorerSource | None = None
        self.loaded: LoadedSource | None = None
        self.z = np.zeros(1, np.float32)
        self.y: np.ndarray | None = None
        self.seed = 0
        self._generation = 0
        self._loading = False
        self._run_path: Path | None = None
        self._requested_path: Path | None = None
        self._neighbour_z = np.zeros((0, 1), np.float32)
        self.shown_z: np.ndarray | None = None  # the z (and y) of the image on screen
        self.shown_y: np.ndarray | None = None
        self.renderer = Renderer(self._result.emit)
        self._result.connect(self._on_result)
        self._build()
        self._poll_timer = QTimer(self)
        self._poll_timer.setInterval(POLL_MS)
        self._poll_timer.timeout.connect(self.check_checkpoint)
        self._neighbour_timer = QTimer(self)
        self._neighbour_timer.setSingleShot(True)
        self._neighbour_timer.setInterval(NEIGHBOUR_DELAY_MS)
        self._neighbour_timer.timeout.connect(self._render_neighbours)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self._show_source_state()

    # layout ---------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.source_label = QLabel("No model open: choose a run, or open a run folder or an .onnx file.")
        self.source_label.setWordWrap(True)
        open_run = QPushButton("Open run…")
        open_run.setToolTip("open a run directory (its checkpoints/last.pt)")
        open_run.clicked.connect(self._ask_run)
        open_onnx = QPushButton("Open .onnx…")
        open_onnx.setToolTip("open an exported generator (runs in ONNX Runtime)")
        open_onnx.clicked.connect(self._ask_onnx)
        self.backend_combo = QComboBox()
        self.backend_combo.addItems(BACKEND_CHOICES)
        self.backend_combo.setToolTip("auto: ONNX Runtime when the run has an export of this step, else torch")
        self.backend_combo.currentTextChanged.connect(self._backend_chosen)
        self.backend_label = QLabel("")
        self.backend_label.setObjectName("hint")
        self.backend_label.setToolTip("inference backend, and the time from a change to new pixels")
        top = QHBoxLayout()
        top.addWidget(open_run)
        top.addWidget(open_onnx)
        top.addStretch(1)
        top.addWidget(QLabel("Backend"))
        top.addWidget(self.backend_combo)

        self.main_view = ImageCanvas(min_side=160, caption="the sample for the current z (and class)")
        self.neighbours_view = ImageCanvas(min_side=96, caption="neighbours of z (click one to go there)")
        self.neighbours_view.cell_clicked.connect(self._neighbour_clicked)
        self.caption = QLabel("")
        self.caption.setObjectName("hint")
        self.caption.setWordWrap(True)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.main_view, 3)
        self.neighbours_label = QLabel("Neighbours (centre = current z; click one to go there)")
        self.neighbours_label.setObjectName("hint")
        left_layout.addWidget(self.neighbours_label)
        left_layout.addWidget(self.neighbours_view, 2)
        left_layout.addWidget(self.caption)
        left_layout.addWidget(self.backend_label)

        self.tabs = QTabWidget()
        self.latent_tab = LatentTab(self)
        self.condition_tab = ConditionTab(self)
        self.interpolate_tab = InterpolateTab(self)
        self.arithmetic_tab = ArithmeticTab(self)
        self.encode_tab = EncodeTab(self)
        self.live_tab = Live2DTab(self)
        self._tab_list = [self.latent_tab, self.condition_tab, self.interpolate_tab, self.arithmetic_tab,
                          self.encode_tab, self.live_tab]  # fmt: skip
        for tab in self._tab_list:
            self.tabs.addTab(tab, tab.TAB_TITLE)

        self.splitter = splitter = QSplitter()
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(left)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([420, 630])  # proportions: the tabs get the larger share
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.status_label.setObjectName("problem")
        layout = QVBoxLayout(self)
        layout.addWidget(self.source_label)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status_label)

    def minimumSizeHint(self) -> QSize:
        """As narrow as the stacked layout (so a dock or scroll area can make it narrow)."""
        hint = super().minimumSizeHint()
        parts = [self.splitter.widget(i).minimumSizeHint() for i in range(self.splitter.count())]
        return QSize(max(p.width() for p in parts) + 24, hint.height())

    def resizeEvent(self, event):
        """Side by side when wide; the image above the tabs in a narrow dock."""
        super().resizeEvent(event)
        wide = event.size().width() >= WIDE_LAYOUT_PX
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.splitter.orientation() != orientation:
            self.splitter.setOrientation(orientation)
            self.splitter.setSizes([420, 630])

    # panel protocol -----------------------------------------------------------------------------
    def set_run(self, run_path) -> None:
        """The app's current run changed (None: no run). Loads it now, or once it has a checkpoint."""
        if run_path is None:
            self.close_source()
            return
        run_path = Path(run_path)
        if self._run_path == run_path and self.source is not None:
            return
        if not (run_path / "checkpoints" / "last.pt").exists():  # a run that has just started
            self.close_source()
            self._run_path = self._requested_path = run_path
            self._poll_timer.start()
            self.source_label.setText(f"Waiting for the first checkpoint of {run_path.name}…")
            return
        self.open_source(run_path)

    def on_update(self, update: dict) -> None:
        """A trainer update of the current run: new weights may be on disk, check at once."""
        if update.get("kind") in ("sample", "metrics", "finished", "paused", "event"):
            self.check_checkpoint()

    def open_source(self, path, backend: str | None = None) -> None:
        """Open a run directory or an .onnx file (loaded in the render thread; `source_changed` follows)."""
        path = Path(path)
        self._requested_path = path
        self._run_path = None if is_onnx_file(path) else path
        if self._run_path is not None:
            self._poll_timer.start()
        else:
            self._poll_timer.stop()
        self._load(path, backend or self.backend_combo.currentText(), keep_state=False)

    def close_source(self) -> None:
        self._generation += 1
        self._poll_timer.stop()
        self._run_path = self._requested_path = None
        self.source = self.loaded = None
        self.main_view.clear_picture()
        self.neighbours_view.clear_picture()
        self._show_source_state()
        self.source_changed.emit(None)

    def check_checkpoint(self) -> None:
        """Reload the run when its last checkpoint changed (or first appeared)."""
        if self._run_path is None or self._loading:
            return
        if self.source is not None and self.source.loaded is None:
            return  # an .onnx file does not change with training
        mtime = _mtime(self._run_path / "checkpoints" / "last.pt")
        if mtime is None or (self.loaded is not None and mtime == self.loaded.checkpoint_mtime):
            return
        self._load(self._run_path, self.backend_combo.currentText(), keep_state=self.source is not None)

    def shutdown(self) -> None:
        """Stop the render thread (the main window calls this on close)."""
        self._poll_timer.stop()
        self.renderer.close()

    # loading ------------------------------------------------------------------------------------------
    def _load(self, path: Path, backend: str, keep_state: bool) -> None:
        self._loading = True
        if not keep_state:
            self._generation += 1
            self.source_label.setText(f"Opening {path.name}…")
        checkpoint = path / "checkpoints" / "last.pt" if not is_onnx_file(path) else None

        def work() -> LoadedSource:
            mtime = _mtime(checkpoint)
            source = open_source(path, backend="auto" if is_onnx_file(path) else backend)
            return LoadedSource(source, mtime, *self._point_backdrop(source), keep_state=keep_state)

        self.renderer.submit("source", work, tag=(self._generation, self._source_ready, self._source_failed))

    @staticmethod
    def _point_backdrop(source: ExplorerSource):
        """(backdrop, real points) for 2D point models; (None, None) for images."""
        if source.kind != "points":
            return None, None
        z, y = fixed_inputs(CLOUD_POINTS, source.latent_dim, source.num_classes, seed=1)
        cloud = np.asarray(source.backend.generate(z, y), np.float32).reshape(-1, 2)
        real = None
        if source.info:
            try:
                dataset = run_dataset(source.info, source.sample_shape, source.value_range)
                real = dataset.take(range(0, len(dataset), max(1, len(dataset) // 2000))).numpy()
            except GanStudioError:
                real = None
        extent = plane_extent(real if real is not None else cloud)
        return (cloud, extent), real

    def _source_failed(self, result: RenderResult) -> None:
        self._loading = False
        if self.source is None:
            self.source_label.setText("No model open.")

    def _source_ready(self, result: RenderResult) -> None:
        self._loading = False
        loaded: LoadedSource = result.value
        source = loaded.source
        same_shape = (
            self.source is not None
            and loaded.keep_state
            and (self.source.latent_dim, self.source.num_classes) == (source.latent_dim, source.num_classes)
        )
        self.loaded, self.source = loaded, source
        self.status_label.setText("")
        if not same_shape:
            self.seed = 0
            self.z = latent_ops.seed_latent(self.seed, source.latent_dim)
            self.y = latent_ops.one_hot_vector(0, source.num_classes) if source.num_classes else None
        self._show_source_state()
        for tab in self._tab_list:
            tab.source_changed(source, reloaded=same_shape)
        self.source_changed.emit(source)
        self.render()

    def _show_source_state(self) -> None:
        source = self.source
        for tab in self._tab_list:
            self.tabs.setTabVisible(self.tabs.indexOf(tab), source is not None and tab.applies_to(source))
        if source is None:
            self.backend_label.setText("")
            return
        kind = f"{source.latent_dim}-d z" + (f", {source.num_classes} classes" if source.num_classes else "")
        self.source_label.setText(f"<b>{source.title}</b> · {kind}")
        self.source_label.setToolTip(f"{source.path}\n{source.note}")
        self.backend_label.setText(source.backend.name)
        self.neighbours_view.setVisible(source.kind == "images")
        self.neighbours_label.setVisible(source.kind == "images")

    # state changes from the tabs -----------------------------------------------------------------------
    def set_latent(self, z: np.ndarray, y: np.ndarray | None = None, seed: int | None = None) -> None:
        """Make z (and y, when given) current: sliders follow and the image re-renders."""
        if self.source is None:
            return
        z = np.asarray(z, np.float32).reshape(-1)
        if z.size != self.source.latent_dim:
            self._show_error(f"z has {z.size} values, this model takes {self.source.latent_dim}")
            return
        self.z = z.copy()
        if seed is not None:
            self.seed = seed
        if y is not None and self.source.num_classes:
            self.set_condition(y, render=False)
        self.latent_tab.show_latent(self.z)
        self.render()

    def move_latent(self, z: np.ndarray) -> None:
        """A slider moved: z changed along one direction (the sliders already show it)."""
        self.z = np.asarray(z, np.float32)
        self.render()

    def set_condition(self, y: np.ndarray, render: bool = True) -> None:
        self.y = np.asarray(y, np.float32).reshape(-1)
        self.condition_tab.show_condition(self.y)
        if render:
            self.render()

    # rendering ---------------------------------------------------------------------------------------------
    def submit(self, channel: str, work, on_done, on_error=None) -> int | None:
        """Run `work` in the render thread (latest wins per channel); `on_done(result)` on the UI thread
        when it succeeds. Errors are shown on the status line, then given to `on_error(result)`.
        Nothing happens without a source."""
        if self.source is None or self.renderer.closed:
            return None
        return self.renderer.submit(channel, work, tag=(self._generation, on_done, on_error))

    def render_batch(self, channel: str, z: np.ndarray, y: np.ndarray | None, columns: int, on_done) -> int | None:
        """Generate a batch (z (N, latent), y (N, K) or None) and its picture in the render thread."""
        source, backdrop = self.source, self.loaded.backdrop if self.loaded else None
        if source is None:
            return None

        def work() -> Batch:
            samples = source.backend.generate(z, y)
            picture = samples_to_picture(samples, source.value_range, columns, backdrop=backdrop)
            cells = grid_cells(len(z), columns, samples.shape[2:]) if samples.ndim == 4 else None
            return Batch(samples, picture, cells)

        return self.submit(channel, work, on_done)

    def batch_condition(self, n: int) -> np.ndarray | None:
        """The current y repeated for a batch of n, or None for unconditional models."""
        return None if self.y is None else np.repeat(self.y[None], n, axis=0)

    def render(self) -> None:
        """Render the current z / y into the main image (and, after a pause, the neighbours)."""
        if self.source is None:
            return
        self.status_label.setText("")
        source, z, y = self.source, self.z.copy(), None if self.y is None else self.y.copy()
        backdrop = self.loaded.backdrop if self.loaded else None

        def work() -> np.ndarray:
            samples = source.backend.generate(z[None], None if y is None else y[None])
            if samples.ndim == 4:
                return to_pictures(samples, source.value_range)[0]
            return samples_to_picture(samples, source.value_range, 1, backdrop=backdrop)

        self.submit("main", work, lambda result: self._show_main(result, z, y))
        self._neighbour_timer.start()

    def _show_main(self, result: RenderResult, z: np.ndarray, y: np.ndarray | None) -> None:
        self.shown_z, self.shown_y = z, y
        self.main_view.set_picture(result.value)
        screen_ms = (time.perf_counter() - result.submitted_at) * 1000.0
        dropped = self.renderer.stats.by_channel.get("main", {}).get("dropped", 0)
        self.backend_label.setText(
            f"{self.source.backend.name} · render {result.compute_ms:.1f} ms · to screen {screen_ms:.1f} ms"
            + (f" · {dropped} stale requests dropped" if dropped else "")
        )
        parts = [f"seed {self.seed}" if self.seed is not None else "edited z"]
        if self.y is not None:
            parts.append("class " + latent_ops.describe_condition(self.y, self.source.condition_names()))
        self.caption.setText(" · ".join(parts))
        self.image_shown.emit()

    def _render_neighbours(self) -> None:
        if self.source is None or self.source.kind != "images":
            return
        near = latent_ops.neighbours(self.z, 8, NEIGHBOUR_RADIUS, seed=self.seed or 0)
        self._neighbour_z = np.concatenate([near[:4], self.z[None], near[4:]])  # centre = current z
        self.render_batch("neighbours", self._neighbour_z, self.batch_condition(9), 3,
                          lambda r: self.neighbours_view.set_picture(r.value.picture, r.value.cells))  # fmt: skip

    def _neighbour_clicked(self, index: int) -> None:
        if index < len(self._neighbour_z) and index != 4:
            self.seed = None
            self.set_latent(self._neighbour_z[index])

    def _on_result(self, result: RenderResult) -> None:
        generation, on_done, on_error = result.tag
        if generation != self._generation:
            return  # made for a model that is no longer open
        if result.ok:
            on_done(result)
            return
        self._show_error(result.error)
        if on_error is not None:
            on_error(result)

    def _show_error(self, text: str) -> None:
        self.status_label.setText(text)
        self.message.emit(text)

    # saving -------------------------------------------------------------------------------------------
    def about(self) -> dict:
        """Where the current sample comes from (stored beside saved pictures and latents)."""
        source = self.source
        return {
            "model": source.model_name,
            "source": str(source.path),
            "step": source.step,
            "seed": self.seed,
            "class_names": source.condition_names() if source.num_classes else None,
            "condition": latent_ops.describe_condition(self.y, source.condition_names()) or None,
        }

    def save_image(self, path) -> Path:
        """Write the main image as PNG and, beside it, the z and y that made it (.json)."""
        if self.main_view.picture is None:
            raise DataError("nothing to save yet: no image has been drawn")
        written = save_picture(self.main_view.picture, path)
        save_latent(written.with_suffix(".json"), self.z, self.y, image=written.name, **self.about())
        return written

    def save_grid(self, path) -> Path:
        """Write the neighbour grid as PNG and its nine z (row by row, centre = current) as .json."""
        if self.neighbours_view.picture is None:
            raise DataError("nothing to save yet: the neighbour grid has not been drawn")
        written = save_picture(self.neighbours_view.picture, path)
        save_latent(written.with_suffix(".json"), self.z, self.y, image=written.name,
                    grid_z=self._neighbour_z.tolist(), **self.about())  # fmt: skip
        return written

    # file dialogs ---------------------------------------------------------------------------------------
    def _ask_run(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a run directory")
        if folder:
            self.open_source(folder)

    def _ask_onnx(self) -> None:
        path = self.ask_open_path("Open an exported model", "ONNX models (*.onnx)")
        if path:
            self.open_source(path)

    def _backend_chosen(self, backend: str) -> None:
        if self._requested_path is not None and not is_onnx_file(self._requested_path):
            self._load(self._requested_path, backend, keep_state=self.source is not None)

    def ask_save_path(self, title: str, suggestion: str, pattern: str) -> str:
        """A save-file dialog (empty string when cancelled)."""
        path, _ = QFileDialog.getSaveFileName(self, title, suggestion, pattern)
        return path

    def ask_open_path(self, title: str, pattern: str) -> str:
        """An open-file dialog (empty string when cancelled)."""
        path, _ = QFileDialog.getOpenFileName(self, title, "", pattern)
        return path

    def run_guarded(self, action, *args):
        """Call `action(*args)`; a GanStudioError is shown on the status line instead of raised."""
        try:
            return action(*args)
        except GanStudioError as exc:
            self._show_error(str(exc))
            return None
