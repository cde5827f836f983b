"""A form generated from a config dataclass: one editor per field, tooltips, validation.

Fields come from `field_specs(config_cls)`: choices become a combo box, booleans a check box,
numbers and text a line edit (so 2e-4 can be typed). Each value is checked as it is typed with
the same `coerce`/`check_value`/`problems` as the CLI; a problem is shown under its field.
While training, `set_live(names)` leaves only the hyperparameters that may change at run time
editable; editing one emits `live_edited(name, value)`.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from gan_studio.config import FieldSpec, apply_values, check_value, coerce, field_specs, problems, spelled_as
from gan_studio.errors import ConfigError
from gan_studio.ui.widgets.compact_combo import CompactComboBox
from gan_studio.ui.widgets.message_label import MessageLabel


def in_words(message: str, names: list[str]) -> str:
    """A validation message with config names ("batch_size") spelled as the form labels them ("batch size")."""
    return spelled_as(message, names, field_label)


def field_label(name: str) -> str:
    """'lr_g' -> 'lr g', 'd_steps' -> 'd steps': the field name as a form label."""
    return name.replace("_", " ")


def format_value(value: Any) -> str:
    """A config value as the text of a line edit (floats in short form: 2e-4 -> '0.0002')."""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def field_tooltip(spec: FieldSpec) -> str:
    limits = []
    if spec.choices:
        limits.append("one of " + ", ".join(map(str, spec.choices)))
    if spec.low is not None:
        limits.append(f"at least {spec.low:g}")
    if spec.high is not None:
        limits.append(f"at most {spec.high:g}")
    extra = f"<br><i>{'; '.join(limits)}</i>" if limits else ""
    return f"<b>{spec.name}</b>: {spec.help}<br>default: {format_value(spec.default)}{extra}"


class FieldEditor(QWidget):
    """The editor of one field and the label that shows its problem."""

    changed = Signal()
    committed = Signal()  # editing finished (Return, focus out, a choice picked, a box ticked)

    def __init__(self, spec: FieldSpec, parent=None):
        super().__init__(parent)
        self.spec = spec
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        if spec.choices:
            self.editor = CompactComboBox()
            for choice in spec.choices:
                self.editor.addItem(str(choice), choice)
            self.editor.currentIndexChanged.connect(self._on_change)
            self.editor.activated.connect(lambda _i: self.committed.emit())
        elif spec.type is bool:
            self.editor = QCheckBox()
            self.editor.toggled.connect(self._on_change)
            self.editor.clicked.connect(lambda _c: self.committed.emit())
        else:
            self.editor = QLineEdit()
            self.editor.textChanged.connect(self._on_change)
            self.editor.editingFinished.connect(self.committed.emit)
        self.editor.setObjectName(f"field_{spec.name}")
        self.editor.setToolTip(field_tooltip(spec))
        self.problem_label = MessageLabel(role="problem")
        self.problem_label.hide()
        layout.addWidget(self.editor)
        layout.addWidget(self.problem_label)
        self.set_value(spec.default)

    def raw_value(self) -> Any:
        if isinstance(self.editor, QComboBox):
            return self.editor.currentData()
        if isinstance(self.editor, QCheckBox):
            return self.editor.isChecked()
        return self.editor.text().strip()

    def set_value(self, value: Any) -> None:
        if isinstance(self.editor, QComboBox):
            index = self.editor.findData(value)
            if index < 0:
                index = self.editor.findText(str(value))
            if index >= 0:
                self.editor.setCurrentIndex(index)
        elif isinstance(self.editor, QCheckBox):
            self.editor.setChecked(bool(coerce(self.spec, value)) if value is not None else False)
        else:
            self.editor.setText(format_value(value))
        self.validate()

    def value(self) -> Any:
        """The coerced, checked value; raises ConfigError with the field's problem."""
        raw = self.raw_value()
        if raw == "":
            raise ConfigError(f"{self.spec.name}: a value is needed")
        value = coerce(self.spec, raw)
        issue = check_value(self.spec, value)
        if issue:
            raise ConfigError(issue)
        return value

    def problem(self) -> str | None:
        """What is wrong with the value, in the form's words ("batch size must be...", not "batch_size")."""
        try:
            self.value()
        except ConfigError as exc:
            return in_words(str(exc), [self.spec.name])
        return None

    def validate(self) -> str | None:
        issue = self.problem()
        self._show_problem(issue)
        return issue

    def show_refusal(self, text: str) -> None:
        """A problem only the training found when it started (a batch larger than the dataset), shown as the
        field's own until the value is checked again (`validate`, on any change). It does not hold Start back."""
        self._show_problem(in_words(text, [self.spec.name]))

    def _show_problem(self, issue: str | None) -> None:
        self.problem_label.setText(issue or "")
        self.problem_label.setVisible(bool(issue))
        self.editor.setProperty("invalid", bool(issue))
        self.editor.style().unpolish(self.editor)
        self.editor.style().polish(self.editor)

    def _on_change(self, *_args) -> None:
        self.validate()
        self.changed.emit()


class ConfigForm(QWidget):
    """Editors for the fields of one config dataclass (minus `exclude`), with live validation."""

    changed = Signal()
    live_edited = Signal(str, object)  # (field name, new valid value) while training

    def __init__(self, config_cls, exclude: tuple[str, ...] = (), parent=None):
        super().__init__(parent)
        self.config_cls = config_cls
        self.editors: dict[str, FieldEditor] = {}
        self._show_advanced = False
        self._labels: dict[str, QLabel] = {}
        self._not_applicable: set[str] = set()
        self._live: tuple[str, ...] | None = None
        self._live_values: dict[str, Any] = {}
        self._form = QFormLayout(self)
        self._form.setContentsMargins(0, 0, 0, 0)
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        for spec in field_specs(config_cls):
            if spec.name in exclude:
                continue
            editor = FieldEditor(spec)
            editor.changed.connect(self.changed.emit)
            editor.committed.connect(lambda name=spec.name: self._on_committed(name))
            label = QLabel(field_label(spec.name))
            label.setToolTip(field_tooltip(spec))
            label.setBuddy(editor.editor)
            self._form.addRow(label, editor)
            self.editors[spec.name] = editor
            self._labels[spec.name] = label
        self.general_problem = MessageLabel(role="problem")
        self.general_problem.hide()
        self._form.addRow(self.general_problem)
        self._update_visibility()

    # values --------------------------------------------------------------------------------------
    def set_values(self, values: dict[str, Any]) -> None:
        """Fill editors from a dict (unknown names and unusable values are ignored)."""
        for name, value in values.items():
            editor = self.editors.get(name)
            if editor is None or value is None:
                continue
            try:
                editor.set_value(value)
            except ConfigError:
                continue  # e.g. a stale preference that no longer fits the field
        self.changed.emit()

    def reset(self, defaults: dict[str, Any] | None = None) -> None:
        for editor in self.editors.values():
            editor.set_value(editor.spec.default)
        if defaults:
            self.set_values(defaults)
        self.changed.emit()

    def raw_values(self) -> dict[str, Any]:
        return {name: editor.raw_value() for name, editor in self.editors.items()}

    def values(self) -> dict[str, Any]:
        """Coerced values; raises ConfigError naming the first bad field."""
        return {name: editor.value() for name, editor in self.editors.items()}

    def config(self, **extra: Any):
        """The config instance the form describes (plus `extra` values); raises ConfigError."""
        return apply_values(self.config_cls(), {**self.values(), **extra})

    def problems(self) -> list[str]:
        """Every problem of the form: per field, then the config's own checks."""
        found = [issue for editor in self.editors.values() if (issue := editor.validate())]
        general: list[str] = []
        if not found:
            try:
                general = problems(self.config_cls(**self.values()))
            except (ConfigError, TypeError) as exc:
                general = [str(exc)]
            general = [in_words(issue, list(self.editors)) for issue in general]
        self.general_problem.setText("\n".join(general))
        self.general_problem.setVisible(bool(general))
        return found + general

    def show_pairing_problems(self, issues: list[str]) -> None:
        """Shows problems of these settings together with another form's (after `problems`, which clears them)."""
        if issues:
            text = "\n".join(
                filter(None, [self.general_problem.text(), *(in_words(i, list(self.editors)) for i in issues)])
            )
            self.general_problem.setText(text)
            self.general_problem.setVisible(True)

    # presentation ----------------------------------------------------------------------------------
    def set_show_advanced(self, show: bool) -> None:
        self._show_advanced = show
        self._update_visibility()

    def set_not_applicable(self, names: set[str]) -> None:
        """Hide fields that do nothing for the current model and data (a problem shows its field anyway)."""
        self._not_applicable = set(names)
        self._update_visibility()

    def _update_visibility(self) -> None:
        for name, editor in self.editors.items():
            wanted = (self._show_advanced or not editor.spec.advanced) and name not in self._not_applicable
            self._form.setRowVisible(self._labels[name], wanted or bool(editor.problem()))

    def set_live(self, names: tuple[str, ...] | None) -> None:
        """None: everything editable. A tuple: only those fields stay editable (training)."""
        self._live = names
        self._live_values = {}
        for name, editor in self.editors.items():
            if names is not None and name in names and not editor.problem():
                self._live_values[name] = editor.value()
            live = names is not None and name in names
            editor.setEnabled(names is None or live)
            editor.editor.setProperty("live", live)
            editor.editor.style().unpolish(editor.editor)
            editor.editor.style().polish(editor.editor)

    def _on_committed(self, name: str) -> None:
        if self._live is None or name not in self._live:
            return
        editor = self.editors[name]
        try:
            value = editor.value()
        except ConfigError:
            return
        if self._live_values.get(name) == value:
            return  # focus left the field without a change
        self._live_values[name] = value
        self.live_edited.emit(name, value)
