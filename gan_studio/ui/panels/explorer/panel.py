"""The latent explorer panel: the current sample large, its neighbours, and tabs to steer z and y.

The explorer's state (source, z, y, seed) and its render jobs are Qt-free
(`gan_studio.explore.state.ExplorerState`); this panel shows them and runs the jobs in its render
thread. Tabs (one file each in this package: latent, condition, interpolate, arithmetic, encode,
live2d) change the state through the panel and submit their own jobs.

Rendering is off the UI thread with latest-request-wins (`gan_studio.explore.renderer`); results
come back through a queued signal, and `image_shown` is emitted once new pixels are in the image.

Live updates while training: the panel never touches the trainer's model. When the current run
saves a checkpoint (a Checkpoint event of its RunState), the run is reloaded in the render thread
and everything re-renders with the new weights. A model of 2D points also saves the 2D view's frame
at each sample step: the 2D view follows those, and plays them before the run's first checkpoint
(only the sliders, the ring of the current z and the other tabs need the weights, and wait for it).
"""

from __future__ import annotations

import html
import re
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gan_studio.errors import DataError, GanStudioError
from gan_studio.events import Checkpoint, Finished, Sample
from gan_studio.explore.backends import BACKEND_CHOICES, exports_of, is_onnx_file
from gan_studio.explore.frames import saved_frames
from gan_studio.explore.renderer import Renderer, RenderResult
from gan_studio.explore.saving import save_enlarged_png, save_latent
from gan_studio.explore.state import ExplorerState, LoadedSource, checkpoint_mtime, load_job
from gan_studio.state.run_state import RunState
from gan_studio.store.rundir import RunDir
from gan_studio.ui.panels import RunSubscription
from gan_studio.ui.panels.explorer.arithmetic import ArithmeticTab
from gan_studio.ui.panels.explorer.canvas import ImageCanvas
from gan_studio.ui.panels.explorer.condition import ConditionTab
from gan_studio.ui.panels.explorer.encode import EncodeTab
from gan_studio.ui.panels.explorer.interpolate import InterpolateTab
from gan_studio.ui.panels.explorer.latent import LatentTab
from gan_studio.ui.panels.explorer.live2d import Live2DTab
from gan_studio.ui.widgets.message_label import MessageLabel
from gan_studio.ui.widgets.page_stack import PageStack

NO_MODEL = "No model open: choose a run, or open a run folder or an .onnx file."
TAB_MIN_WIDTH = 220  # narrower than its controls, a tab scrolls sideways instead of widening the window
TAB_BAR_MARGIN = 16  # the tab widget's frame around its bar
NEIGHBOUR_DELAY_MS = 120  # the neighbour grid waits for a pause in dragging


def scrolling(widget: QWidget) -> QScrollArea:
    """`widget` in a vertical scroll area (a tab's controls may be taller than the panel)."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    area.setWidget(widget)
    area.setMinimumWidth(
        min(TAB_MIN_WIDTH, widget.minimumSizeHint().width() + area.verticalScrollBar().sizeHint().width())
    )
    return area


class ExplorerPanel(QWidget):
    """See the module docstring. Panel protocol: TITLE, set_run(run state), on_event(event); also open_source(path)."""

    TITLE = "Explorer"
    SCROLLS_ITSELF = True  # its image stays put while the controls beside it scroll

    image_shown = Signal()  # the main image shows the latest z / y
    source_changed = Signal(object)  # ExplorerSource, or None when closed
    message = Signal(str)  # errors and notes shown on the status line
    _result = Signal(object)  # RenderResult from the render thread (queued to the UI thread)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.subscription = RunSubscription(self.on_event)
        self.state = ExplorerState()
        self._loading = False
        self._exports_seen: list = []  # the run's exports when it was loaded (exports_of)
        self._run_path: Path | None = None
        self._requested_path: Path | None = None
        self._previous_paths: tuple[Path | None, Path | None] = (None, None)  # before the last open_source
        self._app_run_path: Path | None = None  # the window's current run (the explorer may show another)
        self._waiting: RunState | None = None  # the run opened as soon as it has a checkpoint
        self._frames_run: Path | None = None  # ... whose saved 2D-view frames play meanwhile
        self.dialog_folder = Path.home()  # where file dialogs open: the folder last chosen in one
        self.runs_folder: Path | None = None  # where Open run… starts: the app's workspace (the main window sets it)
        self._neighbour_z = np.zeros((0, 1), np.float32)
        self.shown_z: np.ndarray | None = None  # the z (and y) of the image on screen
        self.shown_y: np.ndarray | None = None
        self.renderer = Renderer(self._result.emit)
        self._result.connect(self._on_result)
        self._build()
        self._neighbour_timer = QTimer(self)
        self._neighbour_timer.setSingleShot(True)
        self._neighbour_timer.setInterval(NEIGHBOUR_DELAY_MS)
        self._neighbour_timer.timeout.connect(self._render_neighbours)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self._show_source_state()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """On first show: the image column gets 4/9 of the width, the controls the rest."""
        super().showEvent(event)
        self._reload_if_exported_elsewhere()
        if not self._sized and self.splitter.width() > 0:
            self._sized = True
            width = self.splitter.width()
            self.splitter.setSizes([width * 4 // 9, width - width * 4 // 9])

    def tab_index(self, tab: QWidget) -> int:
        """The index of a tab in the tab bar (its page may be the scroll area around it)."""
        for index in range(self.tabs.count()):
            page = self.tabs.widget(index)
            if page is tab or (isinstance(page, QScrollArea) and page.widget() is tab):
                return index
        return -1

    def _tab_opened(self, index: int) -> None:
        opened = next((tab for tab in self._tab_list if self.tab_index(tab) == index), None)
        if opened is not None:
            opened.tab_opened()

    def show_tab(self, tab: QWidget) -> None:
        self.tabs.setCurrentIndex(self.tab_index(tab))

    # the state (gan_studio.explore.state) ------------------------------------------------------------
    source = property(lambda self: self.state.source)
    loaded = property(lambda self: self.state.loaded)
    z = property(lambda self: self.state.z)
    y = property(lambda self: self.state.y)

    @property
    def seed(self) -> int | None:
        return self.state.seed

    @seed.setter
    def seed(self, seed: int | None) -> None:
        self.state.seed = seed

    # layout ---------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.source_label = QLabel(NO_MODEL)
        self.source_label.setWordWrap(True)
        self.source_label.setTextFormat(Qt.TextFormat.RichText)  # names are escaped: a run called "<b>" shows as such
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
        self.backend_label.setWordWrap(True)
        self.backend_label.setToolTip("inference backend, and the time from a change to new pixels")
        top = QHBoxLayout()
        top.addWidget(open_run)
        top.addWidget(open_onnx)
        top.addStretch(1)
        top.addWidget(QLabel("Backend"))
        top.addWidget(self.backend_combo)

        self.main_view = ImageCanvas(min_side=120, caption="the sample for the current z (and class)")
        self.neighbours_view = ImageCanvas(min_side=72, caption="neighbours of z (click one to go there)")
        self.neighbours_view.cell_clicked.connect(self._neighbour_clicked)
        self.caption = QLabel("")
        self.caption.setObjectName("hint")
        self.caption.setWordWrap(True)
        images = QWidget()  # image models: the sample of z, and its neighbours
        images_layout = QVBoxLayout(images)
        images_layout.setContentsMargins(0, 0, 0, 0)
        images_layout.addWidget(self.main_view, 3)
        self.neighbours_label = QLabel("Neighbours (centre = current z; click one to go there)")
        self.neighbours_label.setObjectName("hint")
        self.neighbours_label.setWordWrap(True)
        images_layout.addWidget(self.neighbours_label)
        images_layout.addWidget(self.neighbours_view, 2)
        self.live_tab = Live2DTab(self)  # models of 2D points: the plane, GAN Lab style
        self.image_stack = PageStack()
        self.image_stack.addWidget(images)
        self.image_stack.addWidget(self.live_tab)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.image_stack, 1)
        left_layout.addWidget(self.caption)
        left_layout.addWidget(self.backend_label)
        for label in (self.caption, self.backend_label):  # two lines kept, so that the image above does not
            label.setMinimumHeight(2 * label.fontMetrics().lineSpacing())  # jump as timings wrap or not

        self.tabs = QTabWidget()
        self.latent_tab = LatentTab(self)
        self.condition_tab = ConditionTab(self)
        self.interpolate_tab = InterpolateTab(self)
        self.arithmetic_tab = ArithmeticTab(self)
        self.encode_tab = EncodeTab(self)
        self._tab_list = [self.latent_tab, self.condition_tab, self.interpolate_tab, self.arithmetic_tab,
                          self.encode_tab, self.live_tab]  # fmt: skip
        for tab in self._tab_list[:-1]:
            self.tabs.addTab(scrolling(tab), tab.TAB_TITLE)
        self.tabs.currentChanged.connect(self._tab_opened)

        # the image column stays where it is while the controls beside it scroll: what a slider does
        # is always in view
        self.splitter = splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(left)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 5)
        self._sized = False
        self.status_label = MessageLabel(role="problem")
        layout = QVBoxLayout(self)
        layout.addWidget(self.source_label)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status_label)

    # panel protocol -----------------------------------------------------------------------------
    def set_run(self, run: RunState | None) -> None:
        """The app's current run changed (None: no run). Loads it now, or once it has a checkpoint."""
        self.subscription.follow(run)
        previous, self._app_run_path = self._app_run_path, (run.path if run is not None else None)
        if run is None or run.path is None:
            if self._requested_path is None or self._requested_path == previous:
                self.close_source()  # a run or file opened here on its own stays open
            return
        run_path = run.path
        if self._run_path == run_path and self.source is not None:
            self._reload_if_exported_elsewhere()  # opened again after `gan-studio export`: the export is used
            return
        if run.checkpoint_step is None:  # a run that has just started
            self.close_source()
            self._run_path = self._requested_path = run_path
            self._waiting = run
            self._show_source_state()
            self._play_frames_if_saved()
            return
        self.open_source(run_path)

    def _waiting_text(self) -> str:
        """What the header says while the run has no checkpoint: what waits for one, and how to get one now."""
        run = self._waiting
        every = (run.info.get("train_config") or {}).get("checkpoint_every")
        when = f" (every {every:,} steps)" if isinstance(every, int) and every > 0 else ""
        pause = ": pause the training to explore it now" if run.trained_here else ""  # a followed run: not here
        if self._frames_run is None:
            return f"Waiting for the first checkpoint of {html.escape(run.name)}{when}{pause}"
        return (f"<b>{html.escape(run.name)}</b> · the 2D view shows the frames training saves at each sample step; "
                f"the sliders, the ring of the current z and the other tabs wait for its first checkpoint{when}{pause}")  # fmt: skip

    def _play_frames_if_saved(self) -> None:
        """A run with no checkpoint yet that has saved 2D-view frames: the 2D view plays them (they hold all it draws
        but the current z's ring)."""
        if self.source is not None or self._waiting is None or self._frames_run is not None:
            return
        if not saved_frames(self._waiting.path):
            return
        self._frames_run = self._waiting.path
        self._show_source_state()
        self.live_tab.follow_frames(self._frames_run)

    def on_event(self, event) -> None:
        """New weights were saved: reload the run (keeping z, y and the tab's state); a new 2D-view frame
        was saved: the playback gets it (before the first checkpoint too)."""
        if isinstance(event, (Checkpoint, Finished)):
            self.check_checkpoint()
        elif isinstance(event, Sample):
            if self._frames_run is not None or (self.source is not None and self.source.kind == "points"):
                self.live_tab.load_saved_frames()
            else:
                self._play_frames_if_saved()

    def open_source(self, path, backend: str | None = None) -> None:
        """Open a run directory or an .onnx file (loaded in the render thread; `source_changed` follows)."""
        path = Path(path)
        self._previous_paths = (self._requested_path, self._run_path)
        self._requested_path = path
        self._run_path = None if is_onnx_file(path) else path
        self._load(path, backend or self.backend_combo.currentText(), keep_state=False)

    def run_deleted(self, run_path: Path) -> None:
        """A run folder was deleted: close it if it is what the explorer shows (or waits for)."""
        if self._requested_path is not None and Path(run_path) in (self._requested_path, self._run_path):
            self.close_source()

    def close_source(self) -> None:
        self._run_path = self._requested_path = None
        self._waiting = self._frames_run = None
        self._drop_source()

    def _drop_source(self) -> None:
        """Close the open model and clear what it drew (the requested paths stay)."""
        self.state.close()
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
        mtime = checkpoint_mtime(self._run_path / "checkpoints" / "last.pt")
        if mtime is None or (self.loaded is not None and mtime == self.loaded.checkpoint_mtime):
            return
        self._reload_run()

    def exports_changed(self, run_path: Path) -> None:
        """An export of `run_path` was written: reload it, so that the "auto" backend can pick the export."""
        if self._run_path == Path(run_path) and self.source is not None and not self._loading:
            self._reload_run()

    def _reload_if_exported_elsewhere(self) -> None:
        """Reload the open run when its exports changed since it was loaded (an export made by the CLI, or
        another window), so that the "auto" backend can pick it."""
        if self._run_path is None or self._loading or self.source is None or self.source.loaded is None:
            return
        if exports_of(self._run_path) != self._exports_seen:
            self._reload_run()

    def _reload_run(self) -> None:
        """Load the open run again (new weights or exports), keeping z, y and the tabs' state."""
        self._load(self._run_path, self.backend_combo.currentText(), keep_state=self.source is not None)

    def shutdown(self) -> None:
        """Stop the render thread (the main window calls this on close)."""
        self.renderer.close()

    # loading ------------------------------------------------------------------------------------------
    def _load(self, path: Path, backend: str, keep_state: bool) -> None:
        if self.renderer.closed:  # the window is closing
            return
        self._loading = True
        self._exports_seen = exports_of(path) if path.is_dir() else []
        if not keep_state:
            self.state.generation += 1
            self.source_label.setText(f"Opening {html.escape(path.name)}…")
        failed = self._reload_failed if keep_state else self._open_failed
        self.renderer.submit("source", load_job(path, backend, keep_state),
                             tag=(self.state.generation, self._source_ready, failed))  # fmt: skip

    def _reload_failed(self, result: RenderResult) -> None:
        """The open run's new weights could not be read (e.g. a checkpoint being replaced): the model stays."""
        self._loading = False
        if self.source is None:
            self.source_label.setText(NO_MODEL)

    def _open_failed(self, result: RenderResult) -> None:
        """Another run or file was asked for and could not be opened: the previous model must not go on
        drawing under its name. The run stays requested, so its first good checkpoint opens it."""
        self._loading = False
        name = self._requested_path.name if self._requested_path is not None else "the model"
        if self.source is not None and self._requested_path is not None and is_onnx_file(self._requested_path):
            # a file that is no model to draw (an encoder, a damaged file): what was open stays open
            self._requested_path, self._run_path = self._previous_paths
            self._show_source_state()
            self.status_label.setText(f"could not open {name}: {result.error}")
            return
        self._drop_source()
        self.source_label.setText(f"Could not open <b>{html.escape(name)}</b>")
        self.status_label.setText(result.error)

    def _source_ready(self, result: RenderResult) -> None:
        self._loading = False
        loaded: LoadedSource = result.value
        self._waiting = self._frames_run = None  # the run's own weights from now on
        same_shape = self.state.take(loaded)
        self.status_label.setText("")
        self._show_source_state()
        for tab in self._tab_list:
            tab.source_changed(loaded.source, reloaded=same_shape)
        self.source_changed.emit(loaded.source)
        self.render()

    def _show_source_state(self) -> None:
        source = self.source
        for tab in self._tab_list[:-1]:
            self.tabs.setTabVisible(self.tab_index(tab), source is not None and tab.applies_to(source))
        points = self._frames_run is not None if source is None else self.live_tab.applies_to(source)
        if points != (self.image_stack.currentIndex() == 1) and self.splitter.width() > 0:
            width = self.splitter.width()  # the plane needs room: 3/5 of the width, the image 4/9...
            share = width * 3 // 5 if points else width * 4 // 9
            tabs = self.tabs.tabBar().sizeHint().width() + TAB_BAR_MARGIN  # ...but every tab's title shows
            share = max(min(share, width - tabs), width * 2 // 5)
            self.splitter.setSizes([share, width - share])
        self.image_stack.setCurrentIndex(1 if points else 0)
        if source is None:
            self.backend_label.setText("")
            self.source_label.setText(NO_MODEL if self._waiting is None else self._waiting_text())
            self.source_label.setToolTip("")
            self.caption.setText("")
            self.status_label.setText("")
            return
        kind = f"{source.latent_dim}-d z" + (f", {source.num_classes} classes" if source.num_classes else "")
        self.source_label.setText(f"<b>{html.escape(source.title)}</b> · {kind}")
        self.source_label.setToolTip(f"{source.path}\n{source.note}")
        self.backend_label.setText(source.backend.name)
        self.neighbours_view.setVisible(source.kind == "images")
        self.neighbours_label.setVisible(source.kind == "images")

    # state changes from the tabs -----------------------------------------------------------------------
    def set_latent(self, z: np.ndarray, y: np.ndarray | None = None, seed: int | None = None) -> None:
        """Make z (and y, when given) current: sliders follow and the image re-renders."""
        if self.source is None:
            return
        try:
            self.state.set_latent(z, seed if seed is not None else self.state.seed)
        except GanStudioError as exc:
            self._show_error(str(exc))
            return
        if seed is not None:
            self.latent_tab.show_seed(seed)  # the Seed box says what is drawn: copied, it gives this z
        if y is not None and self.source.num_classes:
            self.set_condition(y, render=False)
        self.latent_tab.show_latent(self.state.z)
        self.render()

    def move_latent(self, z: np.ndarray) -> None:
        """A slider moved: z changed along one direction (the sliders already show it)."""
        self.state.z = np.asarray(z, np.float32)
        self.render()

    def set_condition(self, y: np.ndarray, render: bool = True) -> None:
        self.state.set_condition(y)
        self.condition_tab.show_condition(self.state.y)
        if render:
            self.render()

    # rendering ---------------------------------------------------------------------------------------------
    def submit(self, channel: str, work, on_done, on_error=None) -> int | None:
        """Run `work` in the render thread (latest wins per channel); `on_done(result)` on the UI thread
        when it succeeds. Errors are shown on the status line, then given to `on_error(result)`.
        Nothing happens without a source (or a run whose saved 2D-view frames play before its first checkpoint)."""
        if (self.source is None and self._frames_run is None) or self.renderer.closed:
            return None
        return self.renderer.submit(channel, work, tag=(self.state.generation, on_done, on_error))

    def render_batch(self, channel: str, z: np.ndarray, y: np.ndarray | None, columns: int, on_done) -> int | None:
        """Generate a batch (z (N, latent), y (N, K) or None) and its picture in the render thread."""
        if self.source is None:
            return None
        return self.submit(channel, self.state.batch_job(z, y, columns), on_done)

    def batch_condition(self, n: int) -> np.ndarray | None:
        """The current y repeated for a batch of n, or None for unconditional models."""
        return self.state.batch_condition(n)

    def render(self) -> None:
        """Render the current z / y into the main image (and, after a pause, the neighbours)."""
        if self.source is None:
            return
        self.status_label.setText("")
        z, y = self.state.z.copy(), None if self.state.y is None else self.state.y.copy()
        self.submit("main", self.state.main_job(), lambda result: self._show_main(result, z, y))
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
        self.caption.setText(self.state.caption())
        self.live_tab.mark_current()
        self.image_shown.emit()

    def _render_neighbours(self) -> None:
        if self.source is None or self.source.kind != "images":
            return
        self._neighbour_z = self.state.neighbour_latents()
        self.render_batch("neighbours", self._neighbour_z, self.batch_condition(9), 3,
                          lambda r: self.neighbours_view.set_picture(r.value.picture, r.value.cells))  # fmt: skip

    def _neighbour_clicked(self, index: int) -> None:
        if index < len(self._neighbour_z) and index != 4:
            self.state.seed = None
            self.set_latent(self._neighbour_z[index])

    def _on_result(self, result: RenderResult) -> None:
        generation, on_done, on_error = result.tag
        if generation != self.state.generation:
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
        return self.state.about()

    def save_image(self, path) -> Path:
        """Write the main image as PNG and, beside it, the z and y that made it (.json)."""
        if self.main_view.picture is None:
            raise DataError("nothing to save yet: no image has been drawn")
        written, scale = save_enlarged_png(self.main_view.picture, path)
        save_latent(written.with_suffix(".json"), self.z, self.y, image=written.name, scale=scale, **self.about())
        return written

    def save_grid(self, path) -> Path:
        """Write the neighbour grid as PNG and its nine z (row by row, centre = current) as .json."""
        if self.neighbours_view.picture is None:
            raise DataError("nothing to save yet: the neighbour grid has not been drawn")
        written, scale = save_enlarged_png(self.neighbours_view.picture, path)
        save_latent(written.with_suffix(".json"), self.z, self.y, image=written.name, scale=scale,
                    grid_z=self._neighbour_z.tolist(), **self.about())  # fmt: skip
        return written

    # file dialogs ---------------------------------------------------------------------------------------
    def _ask_run(self) -> None:
        start = self.runs_folder if self.runs_folder is not None and self.runs_folder.is_dir() else self.dialog_folder
        folder = QFileDialog.getExistingDirectory(self, "Open a run directory", str(start))
        if folder:
            self.dialog_folder = self.runs_folder = Path(folder).parent
            self.open_source(folder)

    def _ask_onnx(self) -> None:
        run = self._app_run_path or self._run_path
        exports = RunDir(run).exports_dir if run is not None else None
        start = exports if exports is not None and exports.is_dir() else None  # the open run's exports first
        path = self.ask_open_path("Open an exported model", "ONNX models (*.onnx)", start)
        if path:
            self.open_source(path)

    def _backend_chosen(self, backend: str) -> None:
        if self._requested_path is not None and not is_onnx_file(self._requested_path):
            self._load(self._requested_path, backend, keep_state=self.source is not None)

    def ask_save_path(self, title: str, suggestion: str, pattern: str) -> str:
        """A save-file dialog (empty string when cancelled), suggesting `suggestion` after the open model's
        name and step (as the Samples panel names its grids), in the folder last chosen."""
        if self.source is not None:
            name = Path(self.source.path).stem  # an export's name may hold its step already
            step = "" if re.search(rf"step-0*{self.source.step}$", name) else f"-step-{self.source.step}"
            suggestion = f"{name}{step}-{suggestion}"
        path, _ = QFileDialog.getSaveFileName(self, title, str(self.dialog_folder / suggestion), pattern)
        if path:
            self.dialog_folder = Path(path).parent
        return path

    def ask_open_path(self, title: str, pattern: str, start: Path | None = None) -> str:
        """An open-file dialog in `start`, or the folder last chosen (empty string when cancelled). A file
        chosen from `start` (a run's exports) does not move that folder: it is no place to save pictures."""
        path, _ = QFileDialog.getOpenFileName(self, title, str(start or self.dialog_folder), pattern)
        if path and start is None:
            self.dialog_folder = Path(path).parent
        return path

    def run_guarded(self, action, *args):
        """Call `action(*args)`; a GanStudioError is shown on the status line instead of raised."""
        try:
            return action(*args)
        except GanStudioError as exc:
            self._show_error(str(exc))
            return None
