"""Runs panel: the runs of a workspace folder with status and last metrics; open, resume, fork, compare, delete.

The list refreshes itself every few seconds, so runs started by a headless or cluster
`gan-studio train` in the same folder appear (and can be opened and followed live). Deleting asks
for confirmation and only ever removes a folder that holds a run.json. Fork copies a run up to one of its
kept checkpoints into a new run folder beside it (store/fork.py), which then opens, ready to resume.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gan_studio.errors import GanStudioError
from gan_studio.events import RESUMABLE_STATUSES, Advice, Diverged, Failed, Finished, Paused, Resumed, Started
from gan_studio.paths import default_workspace
from gan_studio.state.run_state import RunState
from gan_studio.store.fork import fork_run, kept_checkpoints
from gan_studio.store.lock import holder_of
from gan_studio.store.rundir import RunDir, list_runs
from gan_studio.ui.panels import RunSubscription
from gan_studio.ui.style import ACCENT, ERROR, MUTED, OK, TEXT, WARNING

REFRESH_MS = 3000
COLUMNS = ("Run", "Model", "Data", "Status", "Step", "Last metrics", "Created")
STATUS_COLOURS = {"running": ACCENT, "paused": WARNING, "interrupted": WARNING, "finished": OK, "stopped": TEXT, "diverged": ERROR,
                  "failed": ERROR}  # fmt: skip
SUMMARY_FIELDS = (("d_loss", "D"), ("g_loss", "G"), ("loss", "loss"), ("recon", "recon"), ("kl", "KL"))


def resumable(path: Path, status: str | None) -> tuple[bool, str]:
    """(whether the Resume button may continue this run, why not): stopped, paused, failed or
    diverged runs, "running" ones whose writer died, and finished ones (with more steps set in the
    Setup, as `train --resume RUN --steps N`); never a run another process holds."""
    holder = holder_of(path)
    if holder:
        return False, f"being trained by {holder}"
    if status in RESUMABLE_STATUSES or status in ("running", "interrupted", "finished"):
        return True, ""
    return False, f"the run is {status or 'unreadable'}"


def metrics_summary(last: dict) -> str:
    """'D 0.62  G 1.93' from a run's last metric record."""
    parts = []
    for key, label in SUMMARY_FIELDS:
        value = last.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            parts.append(f"{label} {value:.3g}")
        elif isinstance(value, str):
            parts.append(f"{label} {value}")
    return "  ".join(parts)


class RunsPanel(QWidget):
    """A table of the workspace's runs and what can be done with them."""

    TITLE = "Runs"

    open_requested = Signal(object)  # Path
    resume_requested = Signal(object)
    compare_requested = Signal(object)
    deleted = Signal(object)
    workspace_changed = Signal(object)
    message = Signal(str, str)

    def __init__(self, workspace: str | Path | None = None, parent=None):
        super().__init__(parent)
        self.subscription = RunSubscription(self.on_event)
        self.workspace = Path(workspace) if workspace else default_workspace()
        self.current_run: Path | None = None
        self.protected: set[Path] = set()  # runs that may not be deleted now (the one training)
        self.runs: list[dict] = []
        self._shown_current: Path | None = None

        self.workspace_label = QLabel()
        self.workspace_label.setObjectName("hint")
        self.workspace_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        change = QPushButton("Change…")
        change.setToolTip("Choose the folder that holds your runs")
        change.clicked.connect(self._choose_workspace)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("runs_table")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.itemDoubleClicked.connect(lambda _item: self._emit_selected(self.open_requested))
        self.table.itemSelectionChanged.connect(self._update_buttons)

        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("Show this run (followed live while another process trains it)")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue a stopped run from its last checkpoint")
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("Overlay this run's curves on the plots of the current run")
        self.fork_button = QPushButton("Fork…")
        self.fork_button.setToolTip("Copy this run up to one of its kept checkpoints into a new run, to continue "
                                    "from there with other settings (the run itself stays as it is)")  # fmt: skip
        self.delete_button = QPushButton("Delete…")
        self.refresh_button = QPushButton("Refresh")
        self.open_button.clicked.connect(lambda: self._emit_selected(self.open_requested))
        self.resume_button.clicked.connect(lambda: self._emit_selected(self.resume_requested))
        self.compare_button.clicked.connect(lambda: self._emit_selected(self.compare_requested))
        self.fork_button.clicked.connect(self._fork_selected)
        self.delete_button.clicked.connect(self._delete_selected)
        self.refresh_button.clicked.connect(self.refresh)

        top = QHBoxLayout()
        top.addWidget(QLabel("Workspace:"))
        top.addWidget(self.workspace_label, 1)
        top.addWidget(change)
        buttons = QHBoxLayout()
        for button in (self.open_button, self.resume_button, self.fork_button, self.compare_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self._auto_refresh)
        self.timer.start()
        self.set_workspace(self.workspace)

    # workspace -------------------------------------------------------------------------------------------------
    def set_workspace(self, folder: str | Path) -> None:
        self.workspace = Path(folder).expanduser()
        self.workspace_label.setText(str(self.workspace))
        self.workspace_label.setToolTip(str(self.workspace))
        self.refresh()
        self.workspace_changed.emit(self.workspace)

    def _choose_workspace(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Runs workspace", str(self.workspace))
        if folder:
            self.set_workspace(folder)

    # the list -----------------------------------------------------------------------------------------------------
    def _auto_refresh(self) -> None:
        if self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        runs = list_runs(self.workspace)
        if runs == self.runs and self._shown_current == self.current_run:
            return  # nothing changed: keep the table (and the selection) as it is
        self.runs, self._shown_current = runs, self.current_run
        selected = self.selected_run()
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(self.runs))
        for row, summary in enumerate(self.runs):
            self._fill_row(row, summary)
        if selected is not None:
            self.select_run(selected)
        self._update_buttons()

    def _fill_row(self, row: int, summary: dict) -> None:
        path = Path(summary["path"])
        created = summary.get("created") or 0
        status = summary.get("status", "?") if "error" not in summary else "unreadable"
        values = [
            summary.get("name", path.name),
            summary.get("model", "?"),
            summary.get("data", "?"),
            status,
            f"{summary.get('step', 0):,}",
            metrics_summary(summary.get("last") or {}) or summary.get("error", ""),
            time.strftime("%Y-%m-%d %H:%M", time.localtime(created)) if created else "",
        ]
        current = self.current_run is not None and path == self.current_run
        for column, text in enumerate(values):
            item = QTableWidgetItem(str(text))
            item.setData(Qt.ItemDataRole.UserRole, str(path))
            item.setToolTip(str(path) if column == 0 else str(text))
            if column == 3:
                item.setForeground(QColor(STATUS_COLOURS.get(status, MUTED)))
            if current:
                font = QFont(item.font())
                font.setBold(True)
                item.setFont(font)
            self.table.setItem(row, column, item)

    def selected_run(self) -> Path | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return Path(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def select_run(self, path: str | Path) -> bool:
        path = Path(path)
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and Path(item.data(Qt.ItemDataRole.UserRole)) == path:
                self.table.selectRow(row)
                return True
        return False

    def status_of(self, path: str | Path) -> str | None:
        for summary in self.runs:
            if Path(summary["path"]) == Path(path):
                return summary.get("status")
        return None

    def set_protected(self, paths: set[Path]) -> None:
        self.protected = set(paths)
        self._update_buttons()

    def _update_buttons(self) -> None:
        path = self.selected_run()
        status = self.status_of(path) if path is not None else None
        self.open_button.setEnabled(path is not None)
        self.compare_button.setEnabled(path is not None and self.current_run is not None and path != self.current_run)
        can_resume, why_not = resumable(path, status) if path is not None else (False, "")
        self.resume_button.setEnabled(can_resume and path not in self.protected)
        tip = ("Train this finished run further: set more steps in the Setup, then Resume" if status == "finished"
               else "Continue this run from its last checkpoint" if can_resume or not why_not
               else f"Cannot resume: {why_not}")  # fmt: skip
        self.resume_button.setToolTip(tip)
        self.delete_button.setEnabled(path is not None and path not in self.protected)
        self.fork_button.setEnabled(path is not None)

    def _emit_selected(self, signal) -> None:
        path = self.selected_run()
        if path is not None:
            signal.emit(path)

    # forking ----------------------------------------------------------------------------------------------------------
    def choose_checkpoint(self, run_name: str, names: list[str]) -> str | None:
        """Ask which kept checkpoint to fork from, newest first (tests replace this to answer without a dialog)."""
        choices = list(reversed(names))
        choice, ok = QInputDialog.getItem(self, "Fork run", f"Fork {run_name} from the checkpoint:", choices, 0, False)
        return choice if ok and choice else None

    def _step_of(self, path: Path) -> int | None:
        return next((summary.get("step") for summary in self.runs if Path(summary["path"]) == path), None)

    def _fork_selected(self) -> None:
        path = self.selected_run()
        if path is not None:
            self.fork(path)

    def fork(self, path: str | Path) -> Path | None:
        """Fork a run from a kept checkpoint the user picks; opens the new run. None when cancelled or refused."""
        path = Path(path)
        names = kept_checkpoints(path)
        newest_step = f"step-{self._step_of(path)}"
        if "last" in names and newest_step in names:
            names.remove("last")  # the same state as the newest numbered checkpoint: offer it once
        if not names:
            self.message.emit("warning", f"{path.name} has no kept checkpoint to fork from yet")
            return None
        start_from = self.choose_checkpoint(path.name, names)
        if start_from is None:
            return None
        try:
            fork = fork_run(path, start_from)
        except GanStudioError as exc:
            self.message.emit("error", f"could not fork {path.name}: {exc}")
            return None
        self.message.emit("info", f"forked {path.name} at {start_from} into {fork.name}: Resume continues it")
        self.refresh()
        self.select_run(fork)
        self.open_requested.emit(fork)
        return fork

    # deleting ---------------------------------------------------------------------------------------------------------
    def confirm(self, title: str, question: str) -> bool:
        """Ask the user (tests replace this to answer without a dialog)."""
        answer = QMessageBox.question(self, title, question, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)  # fmt: skip
        return answer == QMessageBox.StandardButton.Yes

    def _delete_selected(self) -> None:
        path = self.selected_run()
        if path is not None:
            self.delete_run(path)

    def delete_run(self, path: str | Path) -> bool:
        """Delete a run folder after confirmation; only folders holding a run.json are removed."""
        path = Path(path)
        if path in self.protected:
            self.message.emit("warning", f"{path.name} is training: stop it before deleting it")
            return False
        if path.is_symlink() or not RunDir(path).exists():
            self.message.emit("error", f"{path} is not a run folder (no run.json); nothing was deleted")
            return False
        holder = holder_of(path)
        if holder:
            self.message.emit("warning", f"{path.name} is being trained by {holder}: stop it before deleting it")
            return False
        if not self.confirm("Delete run", f"Delete the run {path.name} and all its files?\n\n{path}"):
            return False
        try:
            shutil.rmtree(path)
        except OSError as exc:
            self.message.emit("error", f"could not delete {path}: {exc.strerror or exc}")
            self.refresh()
            return False
        self.message.emit("info", f"deleted {path.name}")
        self.deleted.emit(path)
        self.refresh()
        return True

    # the panel protocol -------------------------------------------------------------------------------------------------
    def set_run(self, run: RunState | None) -> None:
        self.subscription.follow(run)
        self.current_run = run.path if run is not None else None
        self.refresh()
        if self.current_run is not None:
            self.select_run(self.current_run)

    def on_event(self, event) -> None:
        if isinstance(event, (Started, Finished, Diverged, Failed, Paused, Resumed, Advice)):
            self.refresh()

    # preferences --------------------------------------------------------------------------------------------------------
    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("runs/workspace", str(self.workspace))

    def restore_settings(self, settings: QSettings) -> None:
        folder = settings.value("runs/workspace")
        if isinstance(folder, str) and folder:
            self.set_workspace(folder)
