"""Samples panel: the run's fixed-noise grid, live, with a timeline of every saved grid.

The grid from the run's fixed noise updates as training saves new ones (samples/step-*.png);
the timeline slider scrubs back through all of them. A batch of real data (samples/real.png) is
shown beside it. Conditional models get each row labelled with its class name. Zoom with the
wheel or the buttons; Save PNG writes the grid on screen.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gan_studio.errors import GanStudioError, RunError
from gan_studio.events import Sample, Started
from gan_studio.files import atomic_write
from gan_studio.state.run_state import RunState
from gan_studio.store.pictures import read_picture
from gan_studio.ui.panels import RunSubscription
from gan_studio.ui.widgets.class_legend import class_legend
from gan_studio.ui.widgets.flow_row import flow_row
from gan_studio.ui.widgets.image_view import ImageView
from gan_studio.ui.widgets.label_beside import LabelBeside

GENERATED_CAPTION = "Generated (fixed noise)"
TIMELINE_SLIDER_MIN = 80  # the timeline slider shrinks to this, no further (below it the position takes its own line)


class SamplesPanel(QWidget):
    """Generated grid with a timeline, and the real batch beside it."""

    TITLE = "Samples"

    message = Signal(str, str)  # (level, text) for the window's status line

    def __init__(self, parent=None):
        super().__init__(parent)
        self.subscription = RunSubscription(self.on_event)
        self.run_name = ""
        self.steps: list[tuple[int, Path]] = []
        self.class_names: list[str] = []
        self.current: tuple[int, Path] | None = None

        self.generated = ImageView(GENERATED_CAPTION)
        self.generated.caption.setWordWrap(True)
        self.generated.setObjectName("generated_view")
        self.real = ImageView("Real data")
        self.splitter = splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.generated)
        splitter.addWidget(self.real)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)

        self.zoom_out_button = QPushButton("−")
        self.zoom_in_button = QPushButton("+")
        self.fit_button = QPushButton("Fit")
        self.save_button = QPushButton("Save PNG…")
        self.save_button.setToolTip("Save the grid on screen (Ctrl+S)")
        for button, tip in ((self.zoom_out_button, "Zoom out"), (self.zoom_in_button, "Zoom in (or use the wheel)"),
                            (self.fit_button, "Show the whole grids")):  # fmt: skip
            button.setToolTip(tip)
        self.zoom_in_button.clicked.connect(lambda: self._zoom(1.25))
        self.zoom_out_button.clicked.connect(lambda: self._zoom(0.8))
        self.fit_button.clicked.connect(self._fit)
        self.save_button.clicked.connect(self.save_dialog)
        self.zoom_in_button.setFixedWidth(32)
        self.zoom_out_button.setFixedWidth(32)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("timeline")
        self.slider.setToolTip("Scrub through every grid the run saved")
        self.slider.setMinimumWidth(TIMELINE_SLIDER_MIN)
        self.slider.setRange(0, 0)
        self.slider.valueChanged.connect(self._on_slider)
        self.follow_check = QCheckBox("follow latest")
        self.follow_check.setChecked(True)
        self.follow_check.setToolTip("Jump to each new grid as training saves it")
        self.follow_check.toggled.connect(self._on_follow_toggled)
        self.position_label = QLabel("no grids yet")
        self.position_label.setMinimumWidth(60)

        scrubbing = QWidget()  # the position's text grows with the run: the slider gives way, nothing jumps
        scrubbing_row = QHBoxLayout(scrubbing)
        scrubbing_row.setContentsMargins(0, 0, 0, 0)
        scrubbing_row.addWidget(self.slider, 1)
        scrubbing_row.addWidget(self.follow_check)
        self.timeline = LabelBeside(self.position_label, scrubbing)  # on two lines in a narrow pane

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(flow_row(self.zoom_out_button, self.zoom_in_button, self.fit_button, self.save_button))
        layout.addWidget(splitter, 1)
        layout.addWidget(self.timeline)
        self.set_run(None)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """The generated and the real grids side by side in a wide pane, one above the other in a tall one."""
        super().resizeEvent(event)
        size = event.size()
        tall = size.height() > 1.25 * size.width()
        orientation = Qt.Orientation.Vertical if tall else Qt.Orientation.Horizontal
        if self.splitter.orientation() != orientation:
            self.splitter.setOrientation(orientation)
            extent = size.height() if tall else size.width()
            self.splitter.setSizes([extent * 3 // 5, extent * 2 // 5])

    # the panel protocol ---------------------------------------------------------------------------------------
    def set_run(self, run: RunState | None) -> None:
        self.subscription.follow(run)
        self.steps, self.current, self.class_names = [], None, []
        self.run_name = run.name if run is not None else ""
        if run is None:
            self._refresh_slider()
            self.generated.set_picture(None, "no run")
            self.real.set_picture(None, "no run")
            self.position_label.setText("no grids yet")
            return
        self.class_names = run.grid_row_labels
        coloured = run.conditional and run.data_kind == "points"  # each class's points in its colour: say which
        self.generated.caption.setText(GENERATED_CAPTION + (" · " + class_legend(run.class_names) if coloured else ""))
        self._show_real(run.real_picture)
        self.follow_check.setChecked(True)
        self.generated.fit_on_next_picture()
        self._show_grids_of(run)

    def _show_grids_of(self, run: RunState) -> None:
        self.steps = list(run.samples)
        self._refresh_slider()
        if self.steps:
            self.show_index(len(self.steps) - 1)
        else:
            self.current = None
            self.generated.set_picture(None, "the first grid appears after a few steps")
            self.position_label.setText("no grids yet")

    def on_event(self, event) -> None:
        run = self.subscription.run
        if isinstance(event, Started) and run is not None:  # (re)started at its step: later grids are of a
            self._show_grids_of(run)  # history that is gone (the RunState dropped them)
        if isinstance(event, Sample) and run is not None:
            found = [path for step, path in run.samples if step == event.step]
            if found:
                self._add_sample(event.step, found[0])
            if self.real.picture is None:
                self._show_real(run.real_picture)

    def _add_sample(self, step: int, path: Path) -> None:
        if path.name == "real.png":
            return
        existing = [i for i, (s, _) in enumerate(self.steps) if s == step]
        if existing:  # rewritten (the final grid of a run): redraw it if it is on screen
            self.steps[existing[0]] = (step, path)
            if self.current is not None and self.current[0] == step:
                self.show_index(existing[0])
            return
        self.steps.append((step, path))
        self.steps.sort()
        self._refresh_slider()
        if self.follow_check.isChecked():
            self.show_index(len(self.steps) - 1)
        else:
            self._update_position_label()

    # showing -------------------------------------------------------------------------------------------------
    def show_index(self, index: int) -> None:
        """Show the index-th saved grid (oldest first)."""
        if not self.steps:
            return
        index = max(0, min(index, len(self.steps) - 1))
        step, path = self.steps[index]
        try:
            picture = read_picture(path)
        except GanStudioError as exc:
            self.generated.set_picture(None, "cannot read this grid")
            self.message.emit("warning", str(exc))
            return
        self.current = (step, path)
        self.generated.set_picture(picture)
        self.generated.set_row_labels(self.class_names)
        if self.slider.value() != index:
            self.slider.blockSignals(True)
            self.slider.setValue(index)
            self.slider.blockSignals(False)
        self._update_position_label()

    def _show_real(self, path: Path | None) -> None:
        if path is None:
            self.real.set_picture(None, "no real batch saved")
            return
        try:
            self.real.set_picture(read_picture(path))
        except GanStudioError as exc:
            self.real.set_picture(None, "cannot read the real batch")
            self.message.emit("warning", str(exc))
            return
        self.real.set_row_labels(self.class_names)

    def _refresh_slider(self) -> None:
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(self.steps) - 1))
        self.slider.setEnabled(len(self.steps) > 1)
        self.slider.blockSignals(False)

    def _update_position_label(self) -> None:
        if self.current is None:
            return
        index = self.slider.value()
        self.position_label.setText(f"step {self.current[0]:,}  ·  grid {index + 1} of {len(self.steps)}")
        self.timeline.rearrange()  # the position, longer now, may need a line of its own

    def _on_slider(self, index: int) -> None:
        self.show_index(index)
        at_end = index == len(self.steps) - 1
        if self.follow_check.isChecked() != at_end:
            self.follow_check.blockSignals(True)
            self.follow_check.setChecked(at_end)
            self.follow_check.blockSignals(False)

    def _on_follow_toggled(self, follow: bool) -> None:
        if follow and self.steps:
            self.show_index(len(self.steps) - 1)

    def _zoom(self, factor: float) -> None:
        self.generated.zoom(factor)
        self.real.zoom(factor)

    def _fit(self) -> None:
        self.generated.fit()
        self.real.fit()

    # saving ---------------------------------------------------------------------------------------------------
    def save_png(self, destination: str | Path) -> Path:
        """Write the grid on screen to `destination` (a .png); RunError when there is none."""
        if self.current is None:
            raise RunError("no grid to save yet")
        destination = Path(destination)
        if destination.suffix.lower() != ".png":
            destination = destination.with_suffix(".png")
        try:  # written beside and renamed: a full disk leaves a file already there as it was, and no partial one
            atomic_write(destination, Path(self.current[1]).read_bytes(), durable=False)
        except OSError as exc:
            raise RunError(f"cannot save the grid: {exc.strerror or exc}", destination) from None
        return destination

    def save_dialog(self) -> None:
        if self.current is None:
            self.message.emit("warning", "no grid to save yet")
            return
        run_name = self.run_name or "samples"
        suggested = str(Path.home() / f"{run_name}-step-{self.current[0]}.png")
        path, _ = QFileDialog.getSaveFileName(self, "Save grid", suggested, "PNG images (*.png)")
        if not path:
            return
        try:
            saved = self.save_png(path)
        except GanStudioError as exc:
            self.message.emit("error", str(exc))
            return
        self.message.emit("info", f"saved {saved}")
