"""Run controls panel: Start, Pause/Resume, Step, Stop, and the progress of the current run.

Pause, Resume, Step and Stop call the RunSession directly (which files them with the trainer's
thread-safe controls); Start asks the window, which knows the Setup. The buttons follow the
session's state. Progress shows step / total, epoch, ETA and samples/s from the run's state.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,  # fmt: skip
)

from gan_studio.data.prepare import CHANGED, ELSEWHERE, WAITING, prepared_elsewhere
from gan_studio.events import Advice, Finished, Metrics, Paused, Started
from gan_studio.progress_rate import ProgressRate
from gan_studio.state.run_state import RunState
from gan_studio.ui.number_text import compact_count, format_duration, format_epoch, short_duration
from gan_studio.ui.panels import RunSubscription
from gan_studio.ui.style import ERROR, WARNING
from gan_studio.ui.widgets.fit_label import FitLabel

INFO_COLOUR = "#6fc3df"

STATE_TEXT = {
    "idle": "Ready",
    "starting": "Loading data and building the model…",
    "running": "Training",
    "paused": "Paused",
    "stopping": "Stopping (saving a checkpoint)…",
    "following": "Viewing a run",
}


class RunControlsPanel(QWidget):
    """Buttons that drive the training and a progress read-out."""

    TITLE = "Run controls"

    start_requested = Signal()

    def __init__(self, session=None, parent=None):
        """`session`: the RunSession the buttons drive (None: a panel that only shows progress)."""
        super().__init__(parent)
        self.session = session
        self.subscription = RunSubscription(self.on_event)
        self.state = "idle"
        self._start_allowed = True
        self._preparing_again = ""  # why the data is prepared again, when it changed since it was last prepared
        self._preparing_where = ""  # where, when not in the dataset cache (it cannot be written)
        self._data_rate = ProgressRate()  # of the data's preparation (or download), for its ETA
        self.total_steps = 0
        self._seconds_per_step: float | None = None
        self._last_record: dict | None = None

        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("start_button")
        self.start_button.setToolTip("Train a new run with the Setup (Ctrl+Return)")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setObjectName("pause_button")
        self.pause_button.setToolTip("Pause or resume the training (Space)")
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("Train exactly one step while paused")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stop_button")
        self.stop_button.setToolTip("Stop: saves a checkpoint, so the run can be resumed later")
        self.start_button.clicked.connect(self.start_requested.emit)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.step_button.clicked.connect(lambda: self.session and self.session.single_step())
        self.stop_button.clicked.connect(lambda: self.session and self.session.stop())

        buttons = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.step_button, self.stop_button):
            button.setMinimumWidth(72)
            buttons.addWidget(button)

        self.progress = QProgressBar()
        self.progress.setObjectName("train_progress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("no run")
        self.state_label = QLabel(STATE_TEXT["idle"])
        self.state_label.setWordWrap(True)  # "Waiting for another process that is preparing…" is wider than the panel
        self.state_label.setObjectName("state_label")
        self.health_label = QLabel("")
        self.health_label.setObjectName("health")
        self.health_label.setWordWrap(True)
        self.health_label.setTextFormat(Qt.TextFormat.RichText)
        self.health_label.linkActivated.connect(lambda _link: self._show_advice_dialog())
        self.step_value = FitLabel("–")  # these give way to the panel's width: a 7-digit run never widens it
        self.epoch_value = FitLabel("–")
        self.eta_value = FitLabel("–")
        self.rate_value = FitLabel("–")
        stats = QGridLayout()
        for column, (name, value) in enumerate(
            [
                ("step", self.step_value),
                ("epoch", self.epoch_value),
                ("ETA", self.eta_value),
                ("samples/s", self.rate_value),
            ]  # fmt: skip
        ):
            caption = QLabel(name)
            caption.setObjectName("caption")
            value.setObjectName("stat")
            stats.addWidget(caption, 0, column)
            stats.addWidget(value, 1, column)
            stats.setColumnStretch(column, 1)  # the room beyond the short forms is shared evenly

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addLayout(stats)
        layout.addWidget(self.state_label)
        layout.addWidget(self.health_label)
        layout.addStretch(1)
        self.set_state("idle")
        if session is not None:
            session.state_changed.connect(self.set_state)
            session.data_progress.connect(self.show_data_progress)

    # state -------------------------------------------------------------------------------------------
    def set_state(self, state: str) -> None:
        if state == "starting" and self.state != "starting":
            self._preparing_again = self._preparing_where = ""  # a new start: its data is judged afresh
            self.state_label.setToolTip("")
            self._data_rate = ProgressRate()
        self.state = state
        active = state in ("starting", "running", "paused", "stopping")
        self.start_button.setEnabled(not active and self._start_allowed)
        self.pause_button.setEnabled(state in ("starting", "running", "paused"))
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.step_button.setEnabled(state == "paused")
        self.stop_button.setEnabled(state in ("starting", "running", "paused"))
        self.state_label.setText(STATE_TEXT.get(state, state))
        if state == "starting":
            self.progress.setRange(0, 0)  # busy indicator until the first step
        elif state == "paused":
            self.eta_value.setText("paused")
        elif state == "idle" and (self.progress.maximum() == 0 or self.progress.format().startswith("preparing")):
            self.set_run(self.subscription.run)  # a start that failed: back to the open run's figures, or none
        elif state == "idle" and self.subscription.run is not None and self.subscription.run.status == "interrupted":
            self.eta_value.setText("–")  # a followed training that died: no end to wait for
        self._clear_stale_rate()

    def show_data_progress(self, done: int, total: int) -> None:
        """Downloading or preparing the dataset, before the first step (Stop cancels it)."""
        if self.state != "starting":
            return
        if total == WAITING:
            self.progress.setRange(0, 0)
            self.state_label.setText("Waiting for another process that is preparing the same data…")
            return
        if total == CHANGED:
            self._preparing_again = f"it changed since it was last prepared, when it had {done:,} images"
            return
        if total == ELSEWHERE:
            self._preparing_where = " in a temporary folder (the dataset cache cannot be written)"
            self.state_label.setToolTip(prepared_elsewhere())
            return
        if total:
            scale = max(1, -(-total // 1_000_000))  # QProgressBar holds ints; keep big byte counts in range
            self.progress.setRange(0, total // scale)
            self.progress.setValue(min(done, total) // scale)
            self.progress.setFormat(f"preparing data: {done:,} / {total:,} (%p%)")
            self._data_rate.update(done)
            left = self._data_rate.seconds_left(done, total)  # the CLI's line had an ETA, the window none
            if left is not None:
                self.eta_value.set_texts(format_duration(left), short_duration(left))
        else:
            self.progress.setRange(0, 0)
        again, where = self._preparing_again, self._preparing_where
        self.state_label.setText(f"Preparing the data again{where}: {again} (Stop cancels)…" if again else
                                 f"Preparing the data{where} (done once; Stop cancels)…")  # fmt: skip

    def set_start_allowed(self, allowed: bool) -> None:
        self._start_allowed = allowed
        self.set_state(self.state)

    def toggle_pause(self) -> None:
        """The Pause button and Space: pause when running, resume when paused."""
        if self.pause_button.isEnabled() and self.session is not None:
            self.session.toggle_pause()

    # the panel protocol ---------------------------------------------------------------------------------
    def set_run(self, run: RunState | None) -> None:
        self.subscription.follow(run)
        self._seconds_per_step = None
        self._last_record = None
        self.total_steps = 0
        for label in (self.step_value, self.epoch_value, self.eta_value, self.rate_value):
            label.setText("–")  # nothing of the previous run stays for a run without records
        if run is None:
            self.health_label.setText("")
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("no run")
            return
        self.total_steps = run.total_steps
        self._show_health(run)
        point = run.progress
        if point is not None:
            self._show({"step": point.step, "epoch": point.epoch, "time": point.seconds,
                        "samples_per_s": point.samples_per_s})  # fmt: skip
        self._show({"step": run.step})
        if run.status == "finished":
            self.eta_value.setText("done")
        self._clear_stale_rate()

    def on_event(self, event) -> None:
        if isinstance(event, Started):
            self.total_steps = event.total_steps or self.total_steps
            self._show({"step": event.step})
            self._show_health(self.subscription.run)  # advice of steps after a rewind's step is gone
        elif isinstance(event, Metrics) and "samples_per_s" in event.values:
            self._show({"step": event.step, **event.values})
        elif isinstance(event, Paused):  # the step the run stopped at, not the last logged one
            self._show({"step": event.step})
            self.eta_value.setText("paused")
        elif isinstance(event, Finished):
            self._show({"step": event.step})
            self.eta_value.setText("done" if event.status == "finished" else "–")
        elif isinstance(event, Advice):
            self._show_health(self.subscription.run)
        self._clear_stale_rate()

    def _clear_stale_rate(self) -> None:
        """samples/s is the speed of a training going on (in the app, or the followed run's trainer): "–" while
        paused, after a stop and for a run that is not training (it went on showing the last rate)."""
        run = self.subscription.run
        trained_elsewhere = self.state in ("idle", "following") and run is not None and run.status == "running"
        if self.state not in ("starting", "running") and not trained_elsewhere:
            self.rate_value.setText("–")

    def _show_health(self, run: RunState | None) -> None:
        """The training-health advisor's gravest finding (the newest of that severity) in one line, with how many
        more there are; "details" shows them all: what the advisor saw and what to do."""
        advice = run.advice if run is not None else []
        if not advice:
            self.health_label.setText("Health: nothing to report" if run is not None and run.family else "")
            self.health_label.setToolTip("The training-health advisor watches the metrics and explains problems here")
            return
        gravity = {"info": 0, "warning": 1, "error": 2}
        shown = max(reversed(advice), key=lambda a: gravity.get(a.severity, 1))  # an error outranks a later warning
        colour = {"info": INFO_COLOUR, "warning": WARNING, "error": ERROR}.get(shown.severity, WARNING)
        headline = shown.message.split(":", 1)[0]  # the advisor starts each message with its condition
        link = f"+{len(advice) - 1} more" if len(advice) > 1 else "details"  # all of them, in the details
        self.health_label.setText(f"<span style='color:{colour}'>⚑ step {shown.step:,}: {html.escape(headline, quote=False)}</span>"
                                  f" · <a href='details' style='color:{INFO_COLOUR}'>{link}</a>")  # fmt: skip
        self.health_label.setToolTip(self.advice_details())

    def advice_details(self) -> str:
        """Every finding of the run so far: what the advisor saw, and what to do."""
        run = self.subscription.run
        advice = run.advice if run is not None else []
        return "\n\n".join(f"step {a.step:,} ({a.severity}): {a.message}\nWhat to do: {a.action}" for a in advice)

    def _show_advice_dialog(self) -> None:
        QMessageBox.information(self, "Training health", self.advice_details() or "Nothing to report.")

    def _show(self, record: dict) -> None:
        record = {k: v for k, v in record.items() if v is not None}
        step = int(record.get("step") or 0)
        last = self._last_record
        if last is not None and "time" in record and "time" in last and step > last.get("step", 0):
            per_step = (record["time"] - last["time"]) / (step - last["step"])
            if per_step > 0:
                previous = self._seconds_per_step
                self._seconds_per_step = per_step if previous is None else 0.8 * previous + 0.2 * per_step
        if "time" in record:
            self._last_record = record
        total = max(self.total_steps, step, 1)
        self.progress.setRange(0, total)
        self.progress.setValue(step)
        self.progress.setFormat(f"step {step:,} of {total:,} (%p%)")
        self.step_value.set_texts(f"{step:,} / {total:,}", f"{compact_count(step)} / {compact_count(total)}",
                                  compact_count(step))  # fmt: skip
        if "epoch" in record:
            epoch = float(record["epoch"])
            self.epoch_value.set_texts(format_epoch(epoch), compact_count(epoch, plain_below=1000))
        if "samples_per_s" in record:
            rate = float(record["samples_per_s"])
            self.rate_value.set_texts(f"{rate:,.0f}", compact_count(rate))
        if self.state == "paused" and step < total:
            self.eta_value.setText("paused")  # a Step while paused logs, but the run is still paused
        elif self._seconds_per_step is not None and step < total:
            left = self._seconds_per_step * (total - step)
            self.eta_value.set_texts(format_duration(left), short_duration(left))  # "4 min …" in a narrow column
        elif step >= total:
            self.eta_value.setText("done")
