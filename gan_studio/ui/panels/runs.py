"""Runs panel: the runs of a workspace folder with status and last metrics; open, resume, fork, compare, delete.

The list refreshes itself every few seconds, so runs started by a headless or cluster
`gan-studio train` in the same folder appear (and can be opened and followed live). Deleting asks
for confirmation and only ever removes a folder that holds a run.json. Fork copies a run up to one of its
kept checkpoints into a new run folder beside it (store/fork.py), which then opens, ready to resume.
"""

from __future__ import annotations

import html
import os
import shutil
import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QStyledItemDelegate,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gan_studio.errors import GanStudioError
from gan_studio.events import RESUMABLE_STATUSES, Advice, Diverged, Failed, Finished, Metrics, Paused, Resumed, Started
from gan_studio.metric_names import metrics_where, short_label
from gan_studio.paths import default_workspace
from gan_studio.state.run_state import RunState
from gan_studio.store.fork import fork_run, kept_checkpoints
from gan_studio.store.lock import holder_of
from gan_studio.store.rundir import RunDir, list_runs, runs_folder_near
from gan_studio.ui.panels import RunSubscription
from gan_studio.ui.style import ACCENT, ERROR, MUTED, OK, TEXT, WARNING

REFRESH_MS = 3000
COLUMNS = ("Run", "Model", "Data", "Status", "Step", "Last metrics", "Created")
STATUS_COLOURS = {"running": ACCENT, "paused": WARNING, "interrupted": WARNING, "finished": OK, "stopped": TEXT, "diverged": ERROR,
                  "failed": ERROR}  # fmt: skip
ADVICE_COLOURS = {"warning": WARNING, "error": ERROR}  # a run whose latest advice is one of these is flagged ⚑
# the widest a column is made to fit its contents (px); longer cells are elided and say all in their tooltip
COLUMN_CAPS = (290, 90, 150, 100, 80, 340, 140)
CREATED_COLUMN = COLUMNS.index("Created")
METRICS_COLUMN = COLUMNS.index("Last metrics")
# a narrow table: columns that give up room, in turn, down to a floor (px): the last metrics first (the run's name
# is what tells its row from the others, and runs of one folder differ only at the end of theirs), the name last
SHRINK_STAGES = tuple((tuple(COLUMNS.index(name) for name in names), floor) for names, floor in (
    (("Last metrics",), 160), (("Last metrics", "Data"), 90), (("Run", "Data", "Last metrics"), 90),
    (("Run", "Data", "Last metrics"), 48)))  # fmt: skip
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
STEP_COLUMN = COLUMNS.index("Step")
ERROR_LENGTH = 48  # characters of a broken run's error shown in its row
ROWS_IN_VIEW = 3  # the default layout gives the panel the height of this many rows
ROW_PADDING = 8  # px above and below a row's text
WORKSPACE_PATH_MIN = 240  # px of the workspace's path in view for it to sit beside the buttons


def short_error(error: str, run_path: str | Path = "") -> str:
    """The reason of a broken run's error for its row: the path in front cut to what lies inside the run at
    `run_path`, without the details in brackets, at most ERROR_LENGTH characters ('run.json: not valid JSON' from
    '/…/run/run.json: not valid JSON (line 1 …)')."""
    head, sep, reason = error.partition(": ")
    if sep and ("/" in head or "\\" in head):
        inside = Path(head).relative_to(run_path) if run_path and Path(head).is_relative_to(run_path) else Path()
        error = f"{inside.as_posix()}: {reason}" if inside.parts else reason
    error = error.split(" (", 1)[0].strip()
    return error if len(error) <= ERROR_LENGTH else error[: ERROR_LENGTH - 1].rstrip() + "…"


class ElideRightDelegate(QStyledItemDelegate):
    """Cells cut at their end ('unreadable: run.json is not…'); the table cuts names in the middle."""

    def initStyleOption(self, option, index) -> None:  # noqa: N802 - Qt's name
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideRight


class SortableItem(QTableWidgetItem):
    """A table cell that sorts by its SORT_ROLE key (steps and dates as numbers, names without case)."""

    def __init__(self, text: str, key):
        super().__init__(text)
        self.setData(SORT_ROLE, key)

    def __lt__(self, other) -> bool:
        mine, theirs = self.data(SORT_ROLE), other.data(SORT_ROLE)
        try:
            return mine < theirs
        except TypeError:
            return str(mine) < str(theirs)


def resumable(path: Path, status: str | None, holder: str | None = None) -> tuple[bool, str]:
    """(whether the Resume button may continue this run, why not): stopped, paused, failed or
    diverged runs, "running" ones whose writer died, and finished ones (with more steps set in the
    Setup, as `train --resume RUN --steps N`); never a run another process holds (`holder`, read from
    its lock when not given)."""
    holder = holder if holder is not None else holder_of(path)
    if holder:
        return False, f"being trained by {holder}"
    if status in RESUMABLE_STATUSES or status in ("running", "interrupted", "finished"):
        return True, ""
    if status == "link":  # a planted link must not make the app write into the folder it leads to
        return False, "the run folder is a symlink, not followed for training: resume it by its own path"
    return False, f"the run is {status or 'broken'}"


def metrics_summary(last: dict) -> str:
    """'D 0.62  G 1.93  D(x) 0.8  D(G(z)) 0.2' from a run's last metric record (the catalogue's summary metrics,
    as `gan-studio runs` lists them)."""
    parts = []
    for key in metrics_where("summary"):
        label, value = short_label(key), last.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            parts.append(f"{label} {value:.3g}")
        elif isinstance(value, str):
            parts.append(f"{label} {value}")
    return "  ".join(parts)


# the list's own keys, as the About box lists them
LIST_KEYS = {Qt.Key.Key_Return: "in the Runs list: open the selected run",
             Qt.Key.Key_Delete: "in the Runs list: delete the selected run (asks first)"}  # fmt: skip


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
        self._summaries: dict = {}  # list_runs' cache: a workspace of hundreds of runs stalled the window
        self.subscription = RunSubscription(self.on_event)
        self.workspace = Path(workspace) if workspace else default_workspace()
        self.current_run: Path | None = None
        self.protected: set[Path] = set()  # runs that may not be deleted now (the one training)
        self.training = False  # a training runs in the app: no run can be resumed until it stops
        self.runs: list[dict] = []
        self._shown_current: Path | None = None

        self.workspace_label = QLabel()
        self.workspace_label.setObjectName("hint")
        self.workspace_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # a long workspace path is cut in its middle (the full path in the tooltip), never widening the panel
        self.workspace_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
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
        rows = self.table.verticalHeader()  # rows as high as their text needs (the style's 30 px left two in view)
        rows.setMinimumSectionSize(self.table.fontMetrics().height() + ROW_PADDING)
        rows.setDefaultSectionSize(self.table.fontMetrics().height() + ROW_PADDING)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)  # no half-scrolled top row
        self.table.setShowGrid(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # run names differ at their end (the time)
        self.table.setWordWrap(False)
        self._elide_right = ElideRightDelegate(self.table)
        self.table.setItemDelegateForColumn(COLUMNS.index("Last metrics"), self._elide_right)
        header = self.table.horizontalHeader()
        # columns fit their contents up to COLUMN_CAPS until the person drags one; the last fills the rest
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setSortIndicator(CREATED_COLUMN, Qt.SortOrder.DescendingOrder)  # newest first
        self.table.setSortingEnabled(True)
        self._sized_by_user = False
        self._fitting = False
        header.sectionResized.connect(self._on_section_resized)
        self.table.itemDoubleClicked.connect(lambda _item: self._emit_selected(self.open_requested))
        self.table.itemSelectionChanged.connect(self._update_buttons)
        for keys, slot in (((Qt.Key.Key_Return, Qt.Key.Key_Enter), lambda: self._emit_selected(self.open_requested)),
                           ((Qt.Key.Key_Delete,), self._delete_selected)):  # fmt: skip
            for key in keys:
                shortcut = QShortcut(QKeySequence(key), self.table)
                shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
                shortcut.activated.connect(slot)
                shortcut.setWhatsThis(LIST_KEYS.get(key, ""))  # the About box lists it (the keypad's Enter: Return's)

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

        # the workspace sits beside the buttons below the table when the panel is wide enough, above it when not:
        # on a 1366x768 screen the row it saves is one more run in view
        self.workspace_row = QWidget()
        workspace_layout = QHBoxLayout(self.workspace_row)
        workspace_layout.setContentsMargins(0, 0, 0, 0)
        workspace_layout.addWidget(QLabel("Workspace:"))
        workspace_layout.addWidget(self.workspace_label, 1)
        workspace_layout.addWidget(change)
        self.workspace_row.setMinimumWidth(1)  # beside the buttons it never holds the panel wide: it moves above
        self._above = QHBoxLayout()
        self._beside = QHBoxLayout()  # between the buttons and Refresh
        buttons = QHBoxLayout()
        for button in (self.open_button, self.resume_button, self.fork_button, self.compare_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addLayout(self._beside, 1)
        buttons.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        # a folder without runs whose runs/ (or, for a run's own folder, whose parent) holds some: a link there
        self.elsewhere_note = QLabel()
        self.elsewhere_note.setWordWrap(True)
        self.elsewhere_note.setTextFormat(Qt.TextFormat.RichText)
        self.elsewhere_note.linkActivated.connect(lambda folder: self.set_workspace(folder))
        self.elsewhere_note.hide()
        layout.addLayout(self._above)
        layout.addWidget(self.elsewhere_note)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self._place_workspace_row()

        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self._auto_refresh)
        self.timer.start()
        self.set_workspace(self.workspace)

    # workspace -------------------------------------------------------------------------------------------------
    def set_workspace(self, folder: str | Path) -> None:
        self.workspace = Path(folder).expanduser()
        self.workspace_label.setToolTip(str(self.workspace))
        self._show_workspace()
        self.refresh()
        self.workspace_changed.emit(self.workspace)

    def _show_workspace(self) -> None:
        label = self.workspace_label
        width = max(label.width(), 40)
        label.setText(label.fontMetrics().elidedText(str(self.workspace), Qt.TextElideMode.ElideMiddle, width))

    def _choose_workspace(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Runs workspace", str(self.workspace))
        if folder:
            self.set_workspace(folder)

    # the list -----------------------------------------------------------------------------------------------------
    def _auto_refresh(self) -> None:
        if self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        runs = list_runs(self.workspace, self._summaries)  # unchanged runs are not read again every few seconds
        self._show_runs_elsewhere(None if runs else runs_folder_near(self.workspace))
        if runs == self.runs and self._shown_current == self.current_run:
            return  # nothing changed: keep the table (and the selection) as it is
        self.runs, self._shown_current = runs, self.current_run
        selected = self.selected_run()
        scrolled = self.table.verticalScrollBar().value()
        self.table.setSortingEnabled(False)  # filling a sorted table would move rows while they are filled
        self.table.setRowCount(len(self.runs))
        for row, summary in enumerate(self.runs):
            self._fill_row(row, summary)
        self.table.setSortingEnabled(True)  # sorts by the header's column and order
        if selected is not None and not self.select_run(selected, scroll=False):
            self.table.clearSelection()  # the selected run is gone (deleted): its row's neighbour is not chosen
        self.table.verticalScrollBar().setValue(scrolled)
        if not self._sized_by_user:
            self.fit_columns()
        self._update_buttons()

    def _show_runs_elsewhere(self, near: tuple[Path, int] | None) -> None:
        """Say where the runs are when this folder holds none but one near it does (its runs/ folder: the folder
        GAN_STUDIO_HOME names, not its workspace; or the workspace above a run's own folder)."""
        self.elsewhere_note.setVisible(near is not None)
        if near is None:
            return
        folder, count = near
        link = f'<a href="{html.escape(str(folder), quote=True)}" style="color:{ACCENT}">show them</a>'
        self.elsewhere_note.setText(f"No runs in this folder; {html.escape(str(folder))} holds {count:,} "
                                    f"run{'s' if count != 1 else ''}: {link}")  # fmt: skip

    def fit_columns(self) -> None:
        """Each column as wide as its contents, at most its COLUMN_CAPS width (the rest is elided)."""
        self._fitting = True
        try:
            header = self.table.horizontalHeader()
            titles = [header.sectionSizeHint(c) for c in range(len(COLUMNS))]  # no column cuts its title
            content = [max(self.table.sizeHintForColumn(c), titles[c]) for c in range(len(COLUMNS))]
            widths = [min(width, cap) for width, cap in zip(content, COLUMN_CAPS, strict=True)]
            viewport = self._viewport_width()
            room = viewport - sum(widths)
            if room > 0:  # room to spare: the last metrics take what they need of it before Created pads out
                widths[METRICS_COLUMN] += min(room, content[METRICS_COLUMN] - widths[METRICS_COLUMN])
            # a narrow table: the long-text columns give up room (SHRINK_STAGES) so Created stays in view; what
            # they cut is in their tooltips
            for stage, (columns, floor) in enumerate(SHRINK_STAGES):
                room = viewport - sum(widths)
                if room >= 0 or viewport <= 100:
                    break
                last_resort = stage == len(SHRINK_STAGES) - 1  # only a very narrow table cuts a title, not Created
                floors = {c: floor if last_resort else max(floor, titles[c]) for c in columns}
                shrinkable = [c for c in columns if widths[c] > floors[c]]
                if not shrinkable:
                    continue
                spare = sum(widths[c] - floors[c] for c in shrinkable)
                for c in shrinkable:
                    widths[c] -= round(min(-room, spare) * (widths[c] - floors[c]) / spare)
            for column, width in enumerate(widths[:-1]):
                self.table.setColumnWidth(column, width)
        finally:
            self._fitting = False

    def _viewport_width(self) -> int:
        """The table's width for columns: less the vertical scroll bar's as soon as the rows need one (it
        appears after the fit, and took its width from Created: '2026-1… 14:50')."""
        table = self.table
        width = table.width() - 2 * table.frameWidth()
        rows_height = table.rowCount() * table.verticalHeader().defaultSectionSize()
        if rows_height > table.height() - 2 * table.frameWidth() - table.horizontalHeader().height():
            width -= table.verticalScrollBar().sizeHint().width()
        return width

    def height_for_rows(self, rows: int = ROWS_IN_VIEW) -> int:
        """The panel's height that shows `rows` rows of runs whole (with its header, buttons and workspace row)."""
        table = self.table
        shown = rows * table.verticalHeader().defaultSectionSize() + table.horizontalHeader().sizeHint().height()
        return self.sizeHint().height() - table.sizeHint().height() + shown + 2 * table.frameWidth()

    def workspace_beside_buttons(self) -> bool:
        """Whether the workspace row sits beside the buttons (the panel is wide enough to show its path there)."""
        return self._beside.indexOf(self.workspace_row) >= 0

    def _place_workspace_row(self) -> None:
        buttons = (self.open_button, self.resume_button, self.fork_button, self.compare_button, self.delete_button,
                   self.refresh_button)  # fmt: skip
        taken = sum(button.sizeHint().width() + 6 for button in buttons) + 12
        others = self.workspace_row.sizeHint().width()  # "Workspace:" and Change… (the path's label asks for none)
        beside = self.width() - taken - others >= WORKSPACE_PATH_MIN
        if self._above.count() + self._beside.count() and beside == self.workspace_beside_buttons():
            return
        for holder in (self._above, self._beside):
            holder.removeWidget(self.workspace_row)
        while self._beside.count():
            self._beside.takeAt(0)
        if beside:
            self._beside.addSpacing(12)
            self._beside.addWidget(self.workspace_row)
        else:
            self._beside.addStretch(1)
            self._above.addWidget(self.workspace_row)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._place_workspace_row()
        self._show_workspace()
        if not self._sized_by_user:
            QTimer.singleShot(0, self.fit_columns)  # once the table has its new width

    def _on_section_resized(self, column: int, _old: int, _new: int) -> None:
        if not self._fitting and column != len(COLUMNS) - 1 and self.table.isVisible():
            self._sized_by_user = True  # a dragged column keeps its width

    def _fill_row(self, row: int, summary: dict) -> None:
        path = Path(summary["path"])
        created = summary.get("created") or 0
        if not isinstance(created, (int, float)) or isinstance(created, bool):
            created = 0
        error = summary.get("error")
        status = summary.get("status", "?") if error is None else summary.get("status") or "broken"  # as `runs` says
        step = summary.get("step", 0)
        step = step if isinstance(step, int) and not isinstance(step, bool) else 0
        name, model, data = (str(summary.get(key, default)) for key, default in
                             (("name", path.name), ("model", "?"), ("data", "?")))  # fmt: skip
        metrics = metrics_summary(summary.get("last") or {})
        advice = summary.get("advice") if error is None else None
        flagged = isinstance(advice, dict) and advice.get("severity") in ADVICE_COLOURS
        status_tip = f"{status}: {error}" if error else status
        if flagged:  # a collapsed or blown-up run is not shown as a plain green "finished"
            status_tip += (f"\nlatest training-health advice, step {advice.get('step', '?')} ({advice['severity']}): "
                           f"{advice.get('message', '')}")  # fmt: skip
        cells = [  # (text, sort key, tooltip)
            (name, name, f"{name}\n{path}"),  # the whole name (cut in its middle in a narrow column), and where
            (model, model, model),
            (data, data, data),
            (f"{status} ⚑" if flagged else status, status, status_tip),
            ("", -1, "") if error else (f"{step:,}", step, f"step {step:,}"),  # unknown, not 0 (as `runs`)
            (f"{status}: {short_error(error, path)}" if error else metrics, metrics, error or metrics),
            (time.strftime("%Y-%m-%d %H:%M", time.localtime(created)) if created else "", float(created),
             time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created)) if created else ""),
        ]  # fmt: skip
        current = self.current_run is not None and path == self.current_run
        for column, (text, key, tip) in enumerate(cells):
            item = SortableItem(text, key.lower() if isinstance(key, str) else key)
            item.setData(Qt.ItemDataRole.UserRole, str(path))
            item.setToolTip(tip + ("\n(the run open in the window)" if current and column == 0 else ""))
            if column == 3:
                colour = ADVICE_COLOURS[advice["severity"]] if flagged else STATUS_COLOURS.get(status, MUTED)
                item.setForeground(QColor(colour))
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

    def select_run(self, path: str | Path, scroll: bool = True) -> bool:
        path = Path(path)
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and Path(item.data(Qt.ItemDataRole.UserRole)) == path:
                self.table.selectRow(row)
                if scroll:
                    self.table.scrollToItem(item)
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

    def set_training(self, training: bool) -> None:
        """While the app trains a run, Resume is greyed for every run, saying why (it refused only once pressed)."""
        self.training = training
        self._update_buttons()

    def _update_buttons(self) -> None:
        path = self.selected_run()
        status = self.status_of(path) if path is not None else None
        readable = path is not None and not any(
            Path(s["path"]) == Path(path) and s.get("error") for s in self.runs
        )  # an unreadable run (its run.json damaged) has nothing to compare or fork; Open says why
        self.open_button.setEnabled(path is not None)
        self.compare_button.setEnabled(readable and self.current_run is not None and path != self.current_run)
        self.compare_button.setToolTip(  # which run it is compared with: the open one, not another selected one
            f"Overlay this run's curves on those of the open run, {Path(self.current_run).name}"
            if self.current_run is not None
            else "Open a run first (or train one), then select another run to compare it with"
        )
        holder = holder_of(path) if path is not None else None  # its lock, read once for both buttons
        can_resume, why_not = resumable(path, status, holder or "") if path is not None else (False, "")
        self.resume_button.setEnabled(can_resume and path not in self.protected and not self.training)
        tip = ("A training is already running: stop it first" if self.training and can_resume
               else "Train this finished run further: set more steps in the Setup, then Resume" if status == "finished"
               else "Continue this run from its last checkpoint" if can_resume or not why_not
               else f"Cannot resume: {why_not}")  # fmt: skip
        self.resume_button.setToolTip(tip)
        self.delete_button.setEnabled(path is not None and path not in self.protected and not holder)
        self.delete_button.setToolTip(f"Cannot delete: being trained by {holder}" if holder else
                                      "Cannot delete the run being trained: stop it first" if path in self.protected
                                      else "Delete this run's folder and all its files (asks first)")  # fmt: skip
        self.fork_button.setEnabled(readable)

    def _emit_selected(self, signal) -> None:
        path = self.selected_run()
        if path is not None:
            signal.emit(self.link_target(path) or path)

    def link_target(self, path: Path) -> Path | None:
        """The real folder of a symlinked run in the workspace (the listing does not follow the link: Open opens
        the run by its own path, as its row says), or None."""
        target = next(
            (s.get("target") for s in self.runs if Path(s["path"]) == path and s.get("status") == "link"), None
        )
        return Path(target) if target else None

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
        self.refresh()
        self.select_run(fork)
        self.open_requested.emit(fork)
        # said last, so that it is the message that stays (opening it while another run trains says its own)
        self.message.emit("info", f"forked {path.name} at {start_from} into {fork.name}: Resume continues it")
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
        if path.is_symlink():
            self.message.emit("error", f"{path.name} is a symbolic link to {os.path.realpath(path)}, not a run folder: "
                                       "remove the link (or the run) in a file manager; nothing was deleted")  # fmt: skip
            return False
        if not RunDir(path).exists():
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
        elif isinstance(event, Metrics):
            self._show_step_of_current(event.step)

    def _show_step_of_current(self, step: int) -> None:
        """The open run's Step cell follows its training at each logged step (the list re-reads the folder
        only every few seconds: a fast run was hundreds of steps ahead of its row)."""
        if self.current_run is None:
            return
        for row in range(self.table.rowCount()):
            item = self.table.item(row, STEP_COLUMN)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == str(self.current_run):
                item.setText(f"{step:,}")
                item.setData(SORT_ROLE, step)
                item.setToolTip(f"step {step:,}")
                return

    # preferences --------------------------------------------------------------------------------------------------------
    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("runs/workspace", str(self.workspace))
        settings.setValue("runs/sort_column", self.table.horizontalHeader().sortIndicatorSection())
        settings.setValue("runs/sort_descending", self.table.horizontalHeader().sortIndicatorOrder()
                          == Qt.SortOrder.DescendingOrder)  # fmt: skip
        if self._sized_by_user:
            settings.setValue("runs/column_widths", [self.table.columnWidth(c) for c in range(len(COLUMNS))])
        else:
            settings.remove("runs/column_widths")

    def restore_settings(self, settings: QSettings) -> None:
        folder = settings.value("runs/workspace")
        if isinstance(folder, str) and folder:
            self.set_workspace(folder)
        try:
            column = int(settings.value("runs/sort_column", CREATED_COLUMN))
            descending = str(settings.value("runs/sort_descending", True)).lower() in ("true", "1")
            widths = [int(w) for w in settings.value("runs/column_widths", []) or []]
        except (TypeError, ValueError):
            return  # a stale or hand-edited preference: keep the defaults
        if 0 <= column < len(COLUMNS):
            order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
            self.table.sortByColumn(column, order)
        if len(widths) == len(COLUMNS) and all(20 <= w <= 2000 for w in widths):
            self._fitting = True
            for c, width in enumerate(widths[:-1]):
                self.table.setColumnWidth(c, width)
            self._fitting = False
            self._sized_by_user = True
