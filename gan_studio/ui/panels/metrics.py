"""Metrics panel: quality numbers of the current run, live during training and in full on demand.

The live table shows the newest values the trainer logs every eval_every steps (mode coverage
on ring8/grid25, a Frechet distance elsewhere, label accuracy of conditional image models); the
plots panel draws their history. "Evaluate now" computes the full report of `gan-studio eval`
(floor and ceiling included) on the run's last checkpoint in a background thread, never on the
UI thread, and shows the table and the memorisation strip: generated samples beside their nearest
training images in pixel and in feature space. A report saved earlier (RUN/eval/report.json)
is shown when a run is opened.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gan_studio.errors import GanStudioError
from gan_studio.evaluate.report import eval_dir, evaluate_run, format_value, read_report, report_path, table_rows
from gan_studio.events import Checkpoint, Finished, Metrics, Paused, Started
from gan_studio.metric_names import METRICS, metrics_where
from gan_studio.state.run_state import RunState
from gan_studio.store.pictures import read_picture
from gan_studio.ui.panels import RunSubscription
from gan_studio.ui.widgets.image_view import ImageView
from gan_studio.ui.workers import TaskThread


def quality_metrics() -> list[str]:
    """The live quality metrics (gan_studio.metric_names), in the order shown."""
    return metrics_where("quality")


REPORT_WATCH_MS = 2000  # how often report.json is looked at for a report another process saved
REPORT_COLUMNS = ("metric", "model", "real (floor)", "noise (ceiling)", "better")


class EvaluationThread(TaskThread):
    """`evaluate_run` in the background; progress messages arrive on `message`, cancel stops it."""

    message = Signal(str)

    def __init__(self, run_path: Path, n: int | None, parent=None):
        super().__init__(self._evaluate, parent)
        self.run_path = run_path
        self.n = n

    def _evaluate(self, _report_progress):
        return evaluate_run(self.run_path, n=self.n, progress=self.message.emit, cancel=self.cancel_event.is_set)


EVALUATE_TIP = "Compute every metric of `gan-studio eval` on the run's last checkpoint (in the background)"


class MetricsPanel(QWidget):
    """Live quality metrics and the on-demand full evaluation of the current run."""

    TITLE = "Metrics"

    message = Signal(str, str)  # (level, text) for the window's status line
    evaluated = Signal(object)  # the report dict of a finished evaluation

    def __init__(self, parent=None):
        super().__init__(parent)
        self.subscription = RunSubscription(self.on_event)
        self.run_path: Path | None = None
        self.report: dict | None = None
        self.thread: EvaluationThread | None = None
        self._threads: set[EvaluationThread] = set()  # kept alive until they finish
        self._report_stamp: tuple | None = None  # report.json's (mtime, size) when it was read
        self._report_watch = QTimer(self)  # a report saved by `gan-studio eval` in another process comes in
        self._report_watch.setInterval(REPORT_WATCH_MS)
        self._report_watch.timeout.connect(self._reload_if_changed)
        self._report_watch.start()

        self.run_label = QLabel("no run")
        self.run_label.setObjectName("hint")

        self.live_table = QTableWidget(0, 3)
        self.live_table.setObjectName("live_table")
        self.live_table.setHorizontalHeaderLabels(["live metric", "value", "step"])
        self._setup_table(self.live_table)
        rows_shown = len(quality_metrics())
        self.live_table.setMaximumHeight(
            self.live_table.horizontalHeader().sizeHint().height()
            + rows_shown * self.live_table.verticalHeader().defaultSectionSize()
            + 4
        )
        self.live_hint = QLabel("To log these during training, set \"eval every\" in the Setup's training settings "
                                "(Show advanced settings).")  # fmt: skip
        self.live_hint.setObjectName("hint")
        self.live_hint.setWordWrap(True)
        live_box = QGroupBox("During training")
        live_layout = QVBoxLayout(live_box)
        live_layout.addWidget(self.live_table)
        live_layout.addWidget(self.live_hint)

        self.evaluate_button = QPushButton("Evaluate now")
        self.evaluate_button.setToolTip(EVALUATE_TIP)
        self.evaluate_button.clicked.connect(self.evaluate_now)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.samples_spin = QSpinBox()
        self.samples_spin.setRange(0, 50_000)
        self.samples_spin.setSingleStep(500)
        self.samples_spin.setSpecialValueText("default")
        self.samples_spin.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # not handed the focus when a button greys out
        self.samples_spin.setToolTip("Generated samples (default: 2,500 for 2D points, 2,000 for images)")
        self.status_label = QLabel("")
        self.status_label.setObjectName("hint")
        self.status_label.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.evaluate_button)
        buttons.addWidget(self.cancel_button)
        self.samples_caption = QLabel("samples")  # the box read "default n" alone (review s16Z #14)
        self.samples_caption.setBuddy(self.samples_spin)
        self.samples_caption.setToolTip(self.samples_spin.toolTip())
        buttons.addSpacing(8)
        buttons.addWidget(self.samples_caption)
        buttons.addWidget(self.samples_spin)
        buttons.addStretch(1)

        self.summary_label = QLabel("No report yet.")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.report_table = QTableWidget(0, len(REPORT_COLUMNS))
        self.report_table.setObjectName("report_table")
        self.report_table.setHorizontalHeaderLabels(list(REPORT_COLUMNS))
        self._setup_table(self.report_table)
        self.notes_label = QLabel("")
        self.notes_label.setObjectName("hint")
        self.notes_label.setWordWrap(True)
        report_box = QGroupBox("Full evaluation")
        report_layout = QVBoxLayout(report_box)
        report_layout.addLayout(buttons)
        report_layout.addWidget(self.status_label)
        report_layout.addWidget(self.summary_label)
        report_layout.addWidget(self.report_table)
        report_layout.addWidget(self.notes_label)

        self.strip = ImageView("Memorisation check: is a sample a copy of a training image?", zooms=False)
        self.strip.setMinimumHeight(220)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.run_label)
        layout.addWidget(live_box)
        layout.addWidget(report_box, 1)
        layout.addWidget(self.strip, 1)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self._update_buttons()

    @staticmethod
    def _setup_table(table: QTableWidget) -> None:
        """The metric name takes the room left and wraps; numbers fit their contents; no sideways scrolling."""
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        table.setWordWrap(True)
        table.setTextElideMode(Qt.TextElideMode.ElideNone)
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, table.columnCount()):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)

    # panel protocol ---------------------------------------------------------------------------
    def set_run(self, run: RunState | None) -> None:
        if self.thread is not None:
            self.cancel()
        self.subscription.follow(run)
        self.run_path = run.path if run is not None else None
        self.report = None
        self.status_label.setText("")
        self.run_label.setText(run.name if run is not None else "no run")
        self.strip.setVisible(run is None or run.data_info.get("kind") != "points")  # no memorisation check there
        if self.run_path is not None:
            self._report_stamp = self._stamp()
            self.report = read_report(self.run_path)
        self._show_live()
        self._show_report()
        self._update_buttons()

    def on_event(self, event) -> None:
        if isinstance(event, Metrics) and any(k in quality_metrics() for k in event.values):
            self._show_live()
        elif isinstance(event, (Finished, Started, Paused, Checkpoint)):
            self._update_buttons()

    @property
    def live(self) -> dict[str, tuple[float, int]]:
        """field -> (newest value, its step) of the live metrics the run logged."""
        run = self.subscription.run
        return {k: v for k, v in run.last_values.items() if k in quality_metrics()} if run is not None else {}

    def _show_live(self) -> None:
        live = self.live
        keys = [k for k in quality_metrics() if k in live]
        self.live_table.setRowCount(len(keys))
        for row, key in enumerate(keys):
            label, unit = METRICS[key].label, METRICS[key].unit
            value, step = live[key]
            for column, text in enumerate((label, format_value(value, unit), f"{step:,}")):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.live_table.setItem(row, column, item)
        self.live_hint.setVisible(not keys)
        self.live_table.setVisible(bool(keys))  # empty, it took the room of five rows from the report below

    def live_value(self, key: str) -> float | None:
        """The newest live value of a metric (None when not logged)."""
        return self.live[key][0] if key in self.live else None

    # full evaluation --------------------------------------------------------------------------
    def evaluate_now(self) -> None:
        """Start the full evaluation of the current run in the background."""
        if self.run_path is None or self.thread is not None:
            return
        thread = EvaluationThread(self.run_path, self.samples_spin.value() or None)
        thread.message.connect(self.status_label.setText)
        thread.succeeded.connect(lambda report, t=thread: self._on_evaluated(t, report))
        thread.failed.connect(lambda text, t=thread: self._on_failed(t, text))
        thread.finished.connect(lambda t=thread: self._on_thread_finished(t))
        self.thread = thread
        self._threads.add(thread)
        self.status_label.setText("starting the evaluation…")
        self._update_buttons()
        self._show_report()
        thread.start()

    def cancel(self) -> None:
        """Stop the running evaluation at its next stage (its result, if any, is ignored)."""
        if self.thread is not None:
            self.thread.cancel()
            self.thread = None
            self.status_label.setText("evaluation cancelled")
            self._update_buttons()

    def shutdown(self) -> None:
        """Cancel and wait for background evaluations (the app is quitting)."""
        self.cancel()
        for thread in list(self._threads):
            thread.cancel()
            thread.wait(10_000)

    def _stamp(self) -> tuple | None:
        try:
            stat = report_path(self.run_path).stat()
        except (OSError, TypeError):
            return None
        return stat.st_mtime_ns, stat.st_size

    def _reload_if_changed(self) -> None:
        """Show the run's report again when report.json changed under it (`gan-studio eval` in a terminal)."""
        if self.run_path is None or self.thread is not None or not self.isVisible():
            return
        stamp = self._stamp()
        if stamp != self._report_stamp:
            self._report_stamp = stamp
            self.report = read_report(self.run_path)
            self._show_report()

    def _on_evaluated(self, thread: EvaluationThread, report: dict) -> None:
        if thread is not self.thread:
            return  # cancelled, or another run was opened meanwhile
        self.thread = None
        self._report_stamp = self._stamp()
        self.report = report
        self.status_label.setText(f"evaluated in {report.get('seconds', 0):.1f} s")
        self._show_report()
        self._update_buttons()
        self.evaluated.emit(report)

    def _on_failed(self, thread: EvaluationThread, text: str) -> None:
        if thread is not self.thread:
            return
        self.thread = None
        self.status_label.setText(f"evaluation failed: {text}")
        self.message.emit("error", f"evaluation failed: {text}")
        self._show_report()
        self._update_buttons()

    def _on_thread_finished(self, thread: EvaluationThread) -> None:
        self._threads.discard(thread)
        thread.deleteLater()

    def _update_buttons(self) -> None:
        running = self.thread is not None
        run = self.subscription.run
        saved = run is not None and run.checkpoint_step is not None
        self.evaluate_button.setEnabled(self.run_path is not None and saved and not running)
        self.evaluate_button.setToolTip(EVALUATE_TIP if saved or run is None else
                                        "Available once the run has saved a checkpoint")  # fmt: skip
        self.cancel_button.setEnabled(running)

    def _show_report(self) -> None:
        report = self.report
        rows = table_rows(report) if report else []
        self.report_table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for column, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{row[0]}: model {row[1]}, real data {row[2]}, noise {row[3]} ({row[4]} is better)")
                if 0 < column < 4:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.report_table.setItem(r, column, item)
        self.report_table.resizeRowsToContents()
        if self.thread is not None:
            self.summary_label.setText("Evaluating… (the table fills in when it is done)")
            return
        if not report:
            self.summary_label.setText("No report yet: press Evaluate now." if self.run_path else "No run.")
            self.notes_label.setText("")
            self.strip.set_picture(None, "no memorisation check yet")
            return
        lines = [f"{report['model']} on {report['dataset']}, step {report['step']}, {report['n']} samples "
                 f"(seed {report.get('seed', 0)})", report["reference"]["note"]]  # fmt: skip
        run = self.subscription.run
        if run is not None and isinstance(report.get("step"), int) and run.step > report["step"]:
            lines.insert(1, f"the run is at step {run.step:,} now: Evaluate now for a report of it")
        if "classifier" in report:
            lines.append(f"classifier test accuracy {100 * report['classifier']['test_accuracy']:.2f} %")
        self.summary_label.setText("\n".join(lines))
        self.notes_label.setText("\n".join(report.get("notes", [])))
        strip = eval_dir(self.run_path) / "nearest.png" if self.run_path else None
        if "memorisation" in report and strip is not None and strip.is_file():
            try:
                self.strip.set_picture(read_picture(strip))
            except GanStudioError as exc:
                self.strip.set_picture(None, str(exc))
        else:
            self.strip.set_picture(None, "no memorisation check for 2D points" if report.get("kind") == "points"
                                   else "no memorisation picture")  # fmt: skip
