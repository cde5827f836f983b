"""The dataset picker: built-in sets, a local file or folder, and downloadable sets.

Downloads run in a background thread (`ensure_dataset` with a progress callback and a cancel
event) with a progress bar and a Cancel button; a finished download is verified and cached, so
it happens once per machine. A local path chosen or typed is described under its field soon after
("image folder, 6 images, 2 classes", or the error Start would give), read in a background thread
too (listing a folder of 200,000 files takes seconds); an answer for a path changed since is dropped.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gan_studio.data import BUILTIN_NAMES, DATASET_DESCRIPTIONS, DOWNLOADABLE
from gan_studio.errors import DataError
from gan_studio.paths import pasted_path
from gan_studio.ui.widgets.compact_combo import CompactComboBox
from gan_studio.ui.widgets.message_label import MessageLabel
from gan_studio.ui.workers import TaskThread, describe_error

LOCAL_PATH = "__local__"  # the combo's entry for a file or folder on disk
RECENT_LIMIT = 8  # dataset files and folders remembered for the Recent menu
NOT_DOWNLOADED = "Not downloaded yet: it downloads when you press Start (or Download now)."
DATASET_FILE_FILTER = "Datasets (*.zip *.npz);;Zip archives of images (*.zip);;NumPy archives (*.npz)"
DESCRIBE_DELAY_MS = 300  # typing pauses this long before the path is read
_DESCRIBING: set[TaskThread] = set()  # kept until they end (a picker closed meanwhile drops their answer)


def described(spec: str) -> tuple[str, bool, str]:
    """(spec, ok, one line on it): what describe_source says, or why it cannot be trained on (run in a thread)."""
    from gan_studio.data.describe import describe_source

    try:
        return spec, True, describe_source(spec)
    except Exception as exc:  # noqa: BLE001 - shown under the field, never raised across threads
        return spec, False, describe_error(exc)


def wait_for_descriptions(timeout_ms: int = 5000) -> None:
    """Let the paths being read finish (a thread destroyed while it runs takes the app down)."""
    for task in list(_DESCRIBING):
        task.wait(timeout_ms)


def dataset_is_downloaded(name: str) -> bool:
    """True when a downloadable set is already in the cache (checked without network)."""
    from gan_studio.data.download import ensure_dataset

    try:
        ensure_dataset(name, download=False)
    except DataError:
        return False
    return True


PATH_TIP = (
    "an image folder (a sub-folder per class), a .zip of images, a folder of MNIST-style IDX files or of "
    "CIFAR-10's python files, or an .npz with x (and y, class_names)"
)


class DatasetPicker(QWidget):
    """Choose a dataset: `spec()` is a built-in name or a path."""

    changed = Signal()
    download_finished = Signal(bool, str)  # (ok, message)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.download_task: TaskThread | None = None
        self._after_download = None

        self.combo = CompactComboBox()
        self.combo.setObjectName("data_combo")
        for name in BUILTIN_NAMES:
            self.combo.addItem(name, name)
            self.combo.setItemData(self.combo.count() - 1, DATASET_DESCRIPTIONS.get(name, ""),
                                   Qt.ItemDataRole.ToolTipRole)  # fmt: skip
        self.combo.insertSeparator(self.combo.count())
        self.combo.addItem("Local file or folder…", LOCAL_PATH)
        self.description = QLabel()
        self.description.setObjectName("hint")
        self.description.setWordWrap(True)

        self.path_edit = QLineEdit()
        self.path_edit.setObjectName("data_path")
        self.path_edit.setPlaceholderText("a folder, .zip or .npz")
        self.path_edit.setToolTip(PATH_TIP)
        self.path_edit.textChanged.connect(lambda text: self.path_edit.setToolTip(text or PATH_TIP))  # whole path
        folder_button = QPushButton("Folder…")
        file_button = QPushButton("File…")
        self.recent: list[str] = []  # the local datasets trained on, newest first (kept by the Setup's settings)
        self.recent_button = QPushButton("Recent")
        self.recent_button.setToolTip("The datasets on disk trained on lately")
        self.recent_button.setMenu(QMenu(self.recent_button))
        self.recent_button.menu().aboutToShow.connect(self._fill_recent_menu)
        self.recent_button.hide()
        folder_button.clicked.connect(self._browse_folder)
        file_button.clicked.connect(self._browse_file)
        self.path_row = QWidget()  # the path on a line of its own, as wide as the Setup: a path is long
        path_layout = QVBoxLayout(self.path_row)
        path_layout.setContentsMargins(0, 0, 0, 0)
        path_layout.addWidget(self.path_edit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.recent_button)
        buttons.addStretch(1)
        buttons.addWidget(folder_button)
        buttons.addWidget(file_button)
        path_layout.addLayout(buttons)
        self.source_note = MessageLabel(role="hint")  # what the path holds, or why it cannot be trained on
        self.source_note.hide()
        path_layout.addWidget(self.source_note)
        self._describe_timer = QTimer(self)
        self._describe_timer.setSingleShot(True)
        self._describe_timer.setInterval(DESCRIBE_DELAY_MS)
        self._describe_timer.timeout.connect(self._describe_path)
        self._described_spec = ""  # the path the note is (or is being) read for
        self._closed = False  # the window closes: no path is read any more

        self.download_button = QPushButton("Download")
        self.download_button.clicked.connect(lambda: self.start_download())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_download)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.download_note = MessageLabel()  # before and after a download: wraps, so it is read whole
        self.download_row = QWidget()
        download_layout = QHBoxLayout(self.download_row)
        download_layout.setContentsMargins(0, 0, 0, 0)
        download_layout.addWidget(self.download_note, 1)
        download_layout.addWidget(self.progress, 1)
        download_layout.addWidget(self.download_button)
        download_layout.addWidget(self.cancel_button)

        self.problem_label = MessageLabel(role="problem")
        self.problem_label.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.combo, self.description, self.path_row, self.download_row, self.problem_label):
            layout.addWidget(widget)
        self.combo.currentIndexChanged.connect(self._on_selection)
        self.path_edit.textChanged.connect(lambda _text: self.changed.emit())
        self.path_edit.textChanged.connect(lambda _text: self._describe_soon())
        self._on_selection()

    # the choice ---------------------------------------------------------------------------------------
    def choice(self) -> str:
        """The combo's entry: a built-in name or LOCAL_PATH."""
        return self.combo.currentData()

    def spec(self) -> str:
        """A built-in name or the typed path (what TrainConfig.data takes; pasted with quotes or as a file:// URL)."""
        return pasted_path(self.path_edit.text()) if self.choice() == LOCAL_PATH else self.choice()

    def set_spec(self, spec: str) -> None:
        """Select a built-in by name, or the local entry with `spec` as its path."""
        index = self.combo.findData(spec)
        if index >= 0:
            self.combo.setCurrentIndex(index)
        else:
            self.combo.setCurrentIndex(self.combo.findData(LOCAL_PATH))
            self.path_edit.setText(spec)

    def is_local(self) -> bool:
        return self.choice() == LOCAL_PATH

    def _on_selection(self) -> None:
        local = self.is_local()
        self.path_row.setVisible(local)
        if local:
            self.description.setText(f"A dataset on disk: {PATH_TIP}")
        else:
            self.description.setText(DATASET_DESCRIPTIONS.get(self.choice(), ""))
        self._refresh_download_row()
        self._describe_timer.start()
        self.changed.emit()

    # what the local path holds ------------------------------------------------------------------------
    def _describe_soon(self) -> None:
        """The path changed: it is read once typing pauses; the note on the path before goes now."""
        self._describe_timer.start()
        if self.source_note.isVisibleTo(self) and self.spec() != self._described_spec:
            self._show_note("reading…", problem=False)

    def _describe_path(self) -> None:
        """Read the local path in the background; its answer shows under the field (a missing path is already
        said by the Setup's problem line)."""
        spec = self.spec() if self.is_local() and not self._closed else ""
        if not spec or self.path_problem() is not None:
            self._described_spec = ""
            self.source_note.hide()
            return
        if spec == self._described_spec:
            return
        self._described_spec = spec
        self._show_note("reading…", problem=False)
        task = TaskThread(lambda _report: described(spec))
        task.succeeded.connect(self._on_described)
        task.finished.connect(lambda: (_DESCRIBING.discard(task), task.deleteLater()))
        _DESCRIBING.add(task)
        task.start()

    def shutdown(self) -> None:
        """The window closes: no path is read from now on (a pause timer firing while the window waits for other
        work would start one), and the ones being read are let finish."""
        self._closed = True
        self._describe_timer.stop()
        wait_for_descriptions()

    def _on_described(self, answer: tuple[str, bool, str]) -> None:
        spec, ok, text = answer
        if spec == self._described_spec and self.is_local() and spec == self.spec():  # else a stale answer
            self._show_note(text, problem=not ok)

    def _show_note(self, text: str, problem: bool) -> None:
        self.source_note.setText(text)
        self.source_note.setObjectName("problem" if problem else "hint")
        self.source_note.style().unpolish(self.source_note)
        self.source_note.style().polish(self.source_note)
        self.source_note.show()

    def set_problem(self, text: str | None) -> None:
        self.problem_label.setText(text or "")
        self.problem_label.setVisible(bool(text))

    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Dataset folder", self.path_edit.text())
        if folder:
            self.path_edit.setText(folder)

    def _browse_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Dataset file", self.path_edit.text(), DATASET_FILE_FILTER)
        if path:
            self.path_edit.setText(path)

    # recent datasets on disk -----------------------------------------------------------------------------
    def remember(self, spec: str) -> None:
        """Put a local dataset trained on at the top of the Recent menu (built-in sets are in the list anyway)."""
        if spec in BUILTIN_NAMES or not spec:
            return
        self.set_recent([spec, *self.recent])

    def set_recent(self, paths) -> None:
        """The Recent menu's datasets (as saved: a list, or one path, which QSettings gives back as a str)."""
        paths = [paths] if isinstance(paths, str) else list(paths or [])
        unique = [p for i, p in enumerate(paths) if isinstance(p, str) and p and p not in paths[:i]]
        self.recent = unique[:RECENT_LIMIT]
        self.recent_button.setVisible(bool(self.recent))

    def _fill_recent_menu(self) -> None:
        menu = self.recent_button.menu()
        menu.clear()
        for path in self.recent:
            action = menu.addAction(path)
            there = Path(path).expanduser().exists()
            action.setEnabled(there)  # a moved or unplugged folder is listed, greyed, so its name is still seen
            action.setToolTip(path if there else f"{path}: not there any more")
            action.triggered.connect(lambda _checked=False, p=path: self.path_edit.setText(p))
        menu.setToolTipsVisible(True)

    # downloads -------------------------------------------------------------------------------------------
    @property
    def downloading(self) -> bool:
        return self.download_task is not None

    def needs_download(self) -> bool:
        return self.choice() in DOWNLOADABLE and not dataset_is_downloaded(self.choice())

    def _refresh_download_row(self, note: str = NOT_DOWNLOADED, problem: bool = False) -> None:
        downloading = self.downloading
        self.download_row.setVisible(downloading or self.needs_download())
        focus_moves = downloading and self.download_button.hasFocus()
        self.cancel_button.setVisible(downloading)
        if focus_moves:  # the pressed button hides: focus goes to Cancel, not to a field further down
            self.cancel_button.setFocus()
        self.download_button.setVisible(not downloading)
        self.progress.setVisible(downloading)
        self.download_note.setVisible(not downloading)
        self.download_note.setText(note)
        self.download_note.setObjectName("problem" if problem else "hint")
        self.download_note.style().unpolish(self.download_note)
        self.download_note.style().polish(self.download_note)

    def start_download(self, then=None) -> None:
        """Download the selected set in the background; `then()` runs after a successful download."""
        name = self.choice()
        if name not in DOWNLOADABLE or self.downloading:
            return
        from gan_studio.data.download import ensure_dataset

        task = TaskThread(lambda report: ensure_dataset(name, progress=report, cancel=task.cancel_event), self)
        task.progress.connect(self._on_progress)
        task.succeeded.connect(lambda _folder: self._on_done(True, f"{name} downloaded"))
        task.failed.connect(lambda message: self._on_done(False, message))
        self.download_task, self._after_download = task, then
        self.progress.setRange(0, 0)
        self.progress.setFormat(f"downloading {name}…")
        self._refresh_download_row()
        self.changed.emit()
        task.start()

    def cancel_download(self) -> None:
        if self.download_task is not None:
            self.download_task.cancel()
            self.progress.setFormat("cancelling…")

    def _on_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * done / total))
            self.progress.setFormat(f"{done / 1e6:.1f} of {total / 1e6:.1f} MB (%p%)")
        else:
            self.progress.setRange(0, 0)
            self.progress.setFormat(f"{done / 1e6:.1f} MB")

    def _on_done(self, ok: bool, message: str) -> None:
        task, then = self.download_task, self._after_download
        self.download_task, self._after_download = None, None
        if task is not None:
            task.wait(1000)
            task.deleteLater()
        if ok:
            self._refresh_download_row()
        else:
            self._refresh_download_row(f"download failed: {message[:300]}", problem=True)
        self.changed.emit()
        self.download_finished.emit(ok, message)
        if ok and then is not None:
            then()

    def path_problem(self) -> str | None:
        """What is wrong with the choice itself (empty or missing path, download running), if anything."""
        spec = self.spec()
        if not spec:
            return "choose a dataset file or folder"
        if self.downloading:
            return "downloading the dataset…"
        if self.is_local() and not Path(spec).expanduser().exists():
            return f"no such file or folder: {spec}"
        return None
