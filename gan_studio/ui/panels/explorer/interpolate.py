"""The explorer's Interpolate tab: a path between two latent points A and B (linear or spherical),
shown as a strip of N samples and as an animation; the strip exports as PNG, the animation as GIF."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from gan_studio.errors import DataError
from gan_studio.explore import latent as latent_ops
from gan_studio.explore.saving import enlargement, save_enlarged_png, save_gif, save_latent
from gan_studio.store.pictures import points_picture, to_uint8
from gan_studio.ui.panels.explorer.canvas import ImageCanvas
from gan_studio.ui.panels.explorer.tab import ExplorerTab
from gan_studio.ui.widgets.flow_row import flow_row, labelled
from gan_studio.ui.widgets.message_label import MessageLabel
from gan_studio.ui.widgets.wheel_guard import guard_wheel


class InterpolateTab(ExplorerTab):
    TAB_TITLE = "Path"

    strip_ready = Signal()

    def __init__(self, panel):
        super().__init__(panel)
        self.a: tuple[np.ndarray, np.ndarray | None] | None = None
        self.b: tuple[np.ndarray, np.ndarray | None] | None = None
        self.path_z: np.ndarray | None = None
        self.path_y: np.ndarray | None = None
        self.frames: list[np.ndarray] = []
        self._frame = 0
        set_a = QPushButton("A = current")
        set_a.setToolTip("remember the current z (and class) as the start")
        set_a.clicked.connect(lambda: self.set_end("a"))
        set_b = QPushButton("B = current")
        set_b.setToolTip("remember the current z (and class) as the end")
        set_b.clicked.connect(lambda: self.set_end("b"))
        self.ends_label = MessageLabel("Set A and B to two samples you like.")
        self.mode_combo = QComboBox()
        self.mode_combo.addItems(latent_ops.INTERPOLATION_MODES)
        self.mode_combo.setToolTip("spherical follows the great circle, so middle samples keep a typical norm")
        self.steps_box = guard_wheel(QSpinBox())
        self.steps_box.setRange(2, 64)
        self.steps_box.setValue(8)
        self.draw_button = draw = QPushButton("Draw strip")
        draw.clicked.connect(self.draw)
        self._update_draw_button()
        self.strip_view = ImageCanvas(min_side=80, caption="the path from A (left) to B (right); click to use one")
        self.strip_view.cell_clicked.connect(self._strip_clicked)
        self.animation_view = ImageCanvas(min_side=120, caption="the path as an animation")
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self.play)
        self.fps_box = guard_wheel(QSpinBox())
        self.fps_box.setRange(1, 60)
        self.fps_box.setValue(12)
        self.fps_box.setSuffix(" fps")
        export_png = QPushButton("Export strip PNG…")
        export_png.clicked.connect(self._ask_export_png)
        export_gif = QPushButton("Export GIF…")
        export_gif.clicked.connect(self._ask_export_gif)
        self.strip_buttons = (self.play_button, export_png, export_gif)  # on once a strip is drawn
        for button in self.strip_buttons:
            button.setEnabled(False)
            button.setToolTip("Draw the strip first")
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._next_frame)

        layout = QVBoxLayout(self)
        layout.addWidget(flow_row(set_a, set_b))
        layout.addWidget(flow_row(labelled("Path", self.mode_combo), labelled("Steps", self.steps_box), draw))
        layout.addWidget(self.ends_label)
        layout.addWidget(self.strip_view, 1)
        layout.addWidget(self.animation_view, 2)
        layout.addWidget(flow_row(self.play_button, self.fps_box))
        layout.addWidget(flow_row(export_png, export_gif))

    def source_changed(self, source, reloaded: bool) -> None:
        if not reloaded:
            self.a = self.b = None
            self.path_z = None
            self.frames = []
            self.play_button.setChecked(False)
            self.strip_view.clear_picture()
            self.animation_view.clear_picture()
            self.ends_label.setText("Set A and B to two samples you like.")
            self._update_draw_button()
            for button in self.strip_buttons:
                button.setEnabled(False)
        elif self.path_z is not None:
            self.draw()  # the same path through the new weights

    def set_end(self, which: str, z: np.ndarray | None = None, y: np.ndarray | None = None) -> None:
        """Set end A or B (to the current z and y unless given)."""
        panel = self.panel
        end = (panel.z.copy() if z is None else np.asarray(z, np.float32),
               (None if panel.y is None else panel.y.copy()) if y is None else np.asarray(y, np.float32))  # fmt: skip
        setattr(self, which, end)
        done = [name.upper() for name in ("a", "b") if getattr(self, name) is not None]
        self.ends_label.setText(f"{' and '.join(done)} set." + ("" if len(done) == 2 else " Set the other end."))
        self._update_draw_button()
        if self.a is not None and self.b is not None:
            self.draw()

    def _update_draw_button(self) -> None:
        """Draw strip works once both ends are set; until then it is greyed out and says so."""
        missing = [name.upper() for name in ("a", "b") if getattr(self, name) is None]
        self.draw_button.setEnabled(not missing)
        self.draw_button.setToolTip(f"Set {' and '.join(missing)} first (the buttons above), then draw the path"
                                    if missing else "Draw the path from A to B again (after changing Path or Steps)")  # fmt: skip

    def draw(self) -> None:
        """Render the strip from A to B (conditions are interpolated linearly alongside z)."""
        if self.a is None or self.b is None or self.panel.source is None:
            return
        steps, mode = self.steps_box.value(), self.mode_combo.currentText()
        self.path_z = latent_ops.interpolation_path(self.a[0], self.b[0], steps, mode)
        self.path_y = None
        if self.a[1] is not None and self.b[1] is not None:
            self.path_y = latent_ops.interpolation_path(self.a[1], self.b[1], steps, "linear")
        self.panel.render_batch("strip", self.path_z, self.path_y, steps, self._show_strip)

    def _show_strip(self, result) -> None:
        batch = result.value
        self.strip_view.set_picture(batch.picture, batch.cells)
        self.samples = batch.samples
        if batch.samples.ndim == 4:
            self.frames = list(to_uint8(batch.samples, self.panel.source.value_range))
        else:  # 2D points: the path drawn over the model's distribution, one frame per position
            cloud, extent = self.panel.loaded.backdrop
            self.frames = [points_picture(cloud, batch.samples[: i + 1], extent, connect=True)
                           for i in range(len(batch.samples))]  # fmt: skip
        self._frame = 0
        self.animation_view.set_picture(self.frames[0])
        for button in self.strip_buttons:
            button.setEnabled(True)
            button.setToolTip("")
        self.strip_ready.emit()

    def play(self, on: bool) -> None:
        self.play_button.setText("Pause" if on else "Play")
        if on and self.frames:
            self._timer.start(int(1000 / self.fps_box.value()))
        else:
            self._timer.stop()

    def _next_frame(self) -> None:
        if not self.frames:
            return
        n = len(self.frames)
        cycle = list(range(n)) + list(range(n - 2, 0, -1))  # forward, then back
        self._frame = (self._frame + 1) % len(cycle)
        self.animation_view.set_picture(self.frames[cycle[self._frame]])

    def _strip_clicked(self, index: int) -> None:
        if self.path_z is not None and index < len(self.path_z):
            self.panel.seed = None
            self.panel.set_latent(self.path_z[index], None if self.path_y is None else self.path_y[index])

    # export -------------------------------------------------------------------------------------------
    def export_png(self, path):
        if self.strip_view.picture is None:
            raise DataError("nothing to export yet: set A and B and draw the strip")
        written, scale = save_enlarged_png(self.strip_view.picture, path)
        about = self.panel.about()
        names = about.get("class_names") or []
        ends = {}  # the strip's two ends (the panel's own seed and condition are those of its current sample)
        for end, (z, y) in (("a", self.a), ("b", self.b)):
            ends[f"{end}_z"] = np.asarray(z).tolist()
            ends[f"{end}_y"] = None if y is None else np.asarray(y).tolist()
            ends[f"{end}_condition"] = latent_ops.describe_condition(y, names) or None if y is not None else None
        about = {key: value for key, value in about.items() if key not in ("seed", "condition")}
        path_y = None if self.path_y is None else self.path_y.tolist()
        save_latent(written.with_suffix(".json"), self.a[0], self.a[1], image=written.name, scale=scale,
                    path_z=self.path_z.tolist(), path_y=path_y, mode=self.mode_combo.currentText(), **ends,
                    **about)  # fmt: skip
        return written

    def export_gif(self, path, scale: int | None = None):
        if not self.frames:
            raise DataError("nothing to export yet: set A and B and draw the strip")
        scale = scale or enlargement(*self.frames[0].shape[:2])
        return save_gif(self.frames, path, fps=self.fps_box.value(), scale=scale)

    def _ask_export_png(self) -> None:
        path = self.panel.ask_save_path("Export the strip", "interpolation.png", "PNG images (*.png)")
        if path:
            self.panel.run_guarded(self.export_png, path)

    def _ask_export_gif(self) -> None:
        path = self.panel.ask_save_path("Export the animation", "interpolation.gif", "GIF animations (*.gif)")
        if path:
            self.panel.run_guarded(self.export_gif, path)
