"""The explorer's Arithmetic tab: vector arithmetic on z as in the DCGAN paper (Radford et al. 2016).

Draw a pool of samples, click samples into groups A, B and C (or add the current z), and see
mean(A) - mean(B) + mean(C): e.g. "smiling woman" - "neutral woman" + "neutral man".
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
)

from gan_studio.explore import latent as latent_ops
from gan_studio.ui.panels.explorer.canvas import ImageCanvas
from gan_studio.ui.panels.explorer.tab import ExplorerTab
from gan_studio.ui.widgets.flow_row import flow_row, labelled, seed_spin_box
from gan_studio.ui.widgets.wheel_guard import guard_wheel

GROUPS = ("A", "B", "C")
GROUP_COLOURS = {"A": "#4c9eeb", "B": "#e8843c", "C": "#3fae6a"}  # the pool's marks of each group's members
POOL_COLUMNS = 8


class ArithmeticTab(ExplorerTab):
    TAB_TITLE = "A−B+C"

    result_ready = Signal()  # the A - B + C image was drawn
    pool_ready = Signal()

    def __init__(self, panel):
        super().__init__(panel)
        self.groups: dict[str, list[np.ndarray]] = {g: [] for g in GROUPS}
        self.pool_z: np.ndarray | None = None
        self.pool_y: np.ndarray | None = None  # the condition the pool was drawn with (conditional models)
        self.result_z: np.ndarray | None = None
        self.first_seed_box = seed_spin_box()
        self.first_seed_box.setRange(0, 999_999)
        self.first_seed_box.setValue(100)
        self.pool_size_box = guard_wheel(QSpinBox())
        self.pool_size_box.setRange(4, 64)
        self.pool_size_box.setValue(16)
        draw = QPushButton("Draw pool")
        draw.clicked.connect(self.draw_pool)
        self.target = QButtonGroup(self)
        target_buttons = []
        for i, name in enumerate(GROUPS):
            button = QRadioButton(name)
            button.setChecked(i == 0)
            self.target.addButton(button, i)
            target_buttons.append(button)
        add_current = QPushButton("Add current z")
        add_current.clicked.connect(lambda: self.add_to_group(self.target_group(), self.panel.z))
        clear = QPushButton("Clear groups")
        clear.clicked.connect(self.clear_groups)
        self.pool_view = ImageCanvas(min_side=100, caption="the pool: click samples into the chosen group")
        self.pool_view.cell_clicked.connect(self._pool_clicked)
        self.group_views = {g: ImageCanvas(min_side=32, caption=f"group {g}") for g in GROUPS}
        self.group_labels = {g: QLabel(f"{g} (0)") for g in GROUPS}
        for g, label in self.group_labels.items():
            label.setStyleSheet(f"color: {GROUP_COLOURS[g]}; font-weight: bold")  # as the pool marks its members
        self.result_view = ImageCanvas(min_side=32, caption="mean(A) - mean(B) + mean(C)")
        use = self.use_button = QPushButton("Use result")
        use.setToolTip("put the result's z into the sliders (once A, B and C each hold a sample)")
        use.setEnabled(False)
        use.clicked.connect(self.use_result)

        groups = QGridLayout()
        groups.setHorizontalSpacing(3)  # four pictures and their operators fit a narrow panel
        for col, g in enumerate(GROUPS):
            groups.addWidget(self.group_labels[g], 0, 2 * col)
            groups.addWidget(self.group_views[g], 1, 2 * col)
            groups.addWidget(QLabel("−" if g == "A" else "+" if g == "B" else "="), 1, 2 * col + 1)
        groups.addWidget(QLabel("Result"), 0, 6)
        groups.addWidget(self.result_view, 1, 6)
        layout = QVBoxLayout(self)
        layout.addWidget(flow_row(labelled("Pool from seed", self.first_seed_box),
                                  labelled("size", self.pool_size_box), draw))  # fmt: skip
        layout.addWidget(flow_row(QLabel("A click adds to"), *target_buttons))
        layout.addWidget(flow_row(add_current, clear))
        layout.addWidget(self.pool_view, 3)
        layout.addLayout(groups, 2)
        layout.addWidget(flow_row(use))

    def source_changed(self, source, reloaded: bool) -> None:
        if reloaded:
            self._refresh()
            if self.pool_z is not None:
                self.draw_pool()  # the same seeds through the new weights
            return
        self.clear_groups()
        self.pool_z = None
        self.pool_view.clear_picture()
        self.draw_pool()  # something to click into the groups from the start

    def target_group(self) -> str:
        return GROUPS[max(0, self.target.checkedId())]

    def draw_pool(self) -> None:
        source = self.panel.source
        if source is None:
            return
        first = self.first_seed_box.value()
        self.pool_z = np.stack([latent_ops.seed_latent(s, source.latent_dim)
                                for s in range(first, first + self.pool_size_box.value())])  # fmt: skip
        condition = self.panel.batch_condition(len(self.pool_z))
        self.pool_y = None if condition is None else condition[0].copy()
        self.panel.render_batch("pool", self.pool_z, condition, POOL_COLUMNS, self._show_pool)

    def tab_opened(self) -> None:
        """Coming back after the class was changed on another tab: the pool is drawn again in that class (it showed
        the old class's samples until Draw pool)."""
        current = self.panel.batch_condition(1)
        if (
            self.pool_z is not None
            and current is not None
            and (self.pool_y is None or not np.array_equal(current[0], self.pool_y))
        ):
            self.draw_pool()

    def _show_pool(self, result) -> None:
        batch = result.value
        self.pool_view.set_picture(batch.picture, batch.cells, points=batch.points_px)  # 2D points: click a point
        self._mark_members()
        self.pool_ready.emit()

    def pool_members(self) -> dict[int, str]:
        """{pool index: the groups it is in, e.g. "A" or "A×2 C"} for the pool's samples in a group."""
        marks: dict[int, str] = {}
        if self.pool_z is None:
            return marks
        for index, z in enumerate(self.pool_z):
            parts = []
            for g in GROUPS:
                times = sum(1 for member in self.groups[g] if member.shape == z.shape and np.array_equal(member, z))
                if times:
                    parts.append(g if times == 1 else f"{g}×{times}")
            if parts:
                marks[index] = " ".join(parts)
        return marks

    def _mark_members(self) -> None:
        marks = self.pool_members()
        self.pool_view.mark_cells({index: (text, GROUP_COLOURS[text[0]]) for index, text in marks.items()})

    def _pool_clicked(self, index: int) -> None:
        if self.pool_z is not None and index < len(self.pool_z):
            self.add_to_group(self.target_group(), self.pool_z[index])

    def add_to_group(self, group: str, z: np.ndarray) -> None:
        self.groups[group].append(np.asarray(z, np.float32).copy())
        self._refresh()

    def clear_groups(self) -> None:
        for g in GROUPS:
            self.groups[g].clear()
            self.group_views[g].clear_picture()
            self.group_labels[g].setText(f"{g} (0)")
        self._mark_members()
        self.result_z = None
        self.result_view.clear_picture()
        self.use_button.setEnabled(False)

    def _refresh(self) -> None:
        """Redraw the groups' members and, once every group has one, the result."""
        if self.panel.source is None:
            return
        for g in GROUPS:
            members = self.groups[g]
            self.group_labels[g].setText(f"{g} ({len(members)})")
            self.group_labels[g].setToolTip(f"group {g}: {len(members)} sample{'s' if len(members) != 1 else ''}")
            if members:
                z = np.stack(members)
                self.panel.render_batch(f"group-{g}", z, self.panel.batch_condition(len(z)), min(len(z), 3),
                                        lambda r, view=self.group_views[g]: view.set_picture(r.value.picture))  # fmt: skip
        self._mark_members()
        complete = all(self.groups[g] for g in GROUPS)
        self.use_button.setEnabled(complete)
        if complete:
            self.result_z = latent_ops.arithmetic(self.groups["A"], self.groups["B"], self.groups["C"])
            self.panel.render_batch("arithmetic", self.result_z[None], self.panel.batch_condition(1), 1,
                                    self._show_result)  # fmt: skip

    def _show_result(self, result) -> None:
        self.result_view.set_picture(result.value.picture)
        self.result_ready.emit()

    def use_result(self) -> None:
        if self.result_z is not None:
            self.panel.seed = None
            self.panel.set_latent(self.result_z)
