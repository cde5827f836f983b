"""Setup panel: choose a model and a dataset, and edit every hyperparameter before pressing Start.

The model picker lists the six registered models with their descriptions; the dataset picker
(widgets/dataset_picker.py) the built-in sets, a local file or folder, and downloadable sets. The settings forms are generated from the model's config
and the TrainConfig, validated as they are typed; `problems()` is empty when Start may be pressed.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from gan_studio.config import live_fields, saved_values
from gan_studio.data import is_point_dataset
from gan_studio.engine.recipes import recipe_for
from gan_studio.engine.settings import TrainConfig, configs_from_values, read_recipe
from gan_studio.errors import ConfigError
from gan_studio.events import HParamChanged
from gan_studio.models import MODEL_NAMES, MODELS, DCGANConfig, get_spec, names_where
from gan_studio.models.gan_losses import GAN_LOSSES
from gan_studio.state.run_state import RunState
from gan_studio.store.checkpoint import MOVABLE_SETTINGS, RESUMABLE_SETTINGS
from gan_studio.ui.panels import RunSubscription
from gan_studio.ui.widgets.compact_combo import CompactComboBox
from gan_studio.ui.widgets.config_form import ConfigForm, field_label, field_tooltip
from gan_studio.ui.widgets.dataset_picker import DatasetPicker
from gan_studio.ui.widgets.flow_row import flow_row
from gan_studio.ui.widgets.focus_order import follow_layout_order

DEFAULT_MODEL = "dcgan"
DEFAULT_DATA = "shapes"
# settings about the person's own files, not about the recipe's model: a recipe that does not name them keeps them
KEPT_FROM_SETUP = ("skip_bad_files",)


# What a new user gets with one click: the app's defaults differ from the library's where the
# library's are too slow for a laptop CPU (DCGAN at full width takes ~1 s a step on 2 cores).
APP_MODEL_DEFAULTS: dict[type, dict[str, Any]] = {
    # as training/dcgan-shapes.toml: small and fast, recognisable shapes by step 1,500 on one CPU core
    DCGANConfig: {"ngf": 16, "ndf": 16, "latent_dim": 64, "lr_g": 2e-3, "lr_d": 2e-3, "ema_decay": 0.99},
}
APP_TRAIN_DEFAULTS: dict[str, Any] = {"steps": 3000, "sample_every": 100, "log_every": 10, "checkpoint_every": 500}


class SetupPanel(QWidget):
    """Model, dataset, hyperparameters, device and seed of the next run."""

    TITLE = "Setup"

    validity_changed = Signal(bool)
    live_edited = Signal(str, object)  # a live hyperparameter edited while training
    download_finished = Signal(bool, str)  # (ok, message)

    def __init__(self, session=None, parent=None):
        """`session`: the RunSession that live hyperparameter edits go to (None: only `live_edited` is emitted)."""
        super().__init__(parent)
        self.subscription = RunSubscription(self.on_event)
        if session is not None:
            self.live_edited.connect(lambda name, value: session.set_hparams(**{name: value}))
        self._valid = False
        self._training = False

        # model ---------------------------------------------------------------------------------
        self.model_combo = CompactComboBox()
        self.model_combo.setObjectName("model_combo")
        for name in MODEL_NAMES:
            self.model_combo.addItem(f"{MODELS[name].display_name}  ({name})", name)
            self.model_combo.setItemData(self.model_combo.count() - 1, MODELS[name].description,
                                         Qt.ItemDataRole.ToolTipRole)  # fmt: skip
        self.model_description = QLabel()
        self.model_description.setObjectName("hint")
        self.model_description.setWordWrap(True)

        # dataset -------------------------------------------------------------------------------
        self.dataset = DatasetPicker()
        self.dataset.changed.connect(self.revalidate)
        self.dataset.download_finished.connect(self.download_finished.emit)

        # forms ---------------------------------------------------------------------------------
        self.model_forms: dict[type, ConfigForm] = {}
        self.model_form_box = QGroupBox("Model settings")
        self.model_form_layout = QVBoxLayout(self.model_form_box)
        self.train_form = ConfigForm(TrainConfig, exclude=("data",))
        self.train_form.setObjectName("train_form")
        self.train_form.reset(APP_TRAIN_DEFAULTS)
        self.train_form.changed.connect(self.revalidate)
        self.train_form.live_edited.connect(self.live_edited.emit)
        train_box = QGroupBox("Training")
        QVBoxLayout(train_box).addWidget(self.train_form)
        self.advanced_check = QCheckBox("Show advanced settings")
        self.advanced_check.toggled.connect(self._set_show_advanced)
        self.reset_button = QPushButton("Reset to defaults")
        self.reset_button.clicked.connect(self.reset_defaults)

        # layout ---------------------------------------------------------------------------------
        model_box = QGroupBox("Model")
        model_layout = QVBoxLayout(model_box)
        model_layout.addWidget(self.model_combo)
        model_layout.addWidget(self.model_description)
        data_box = QGroupBox("Dataset")
        QVBoxLayout(data_box).addWidget(self.dataset)

        content = self.content = QWidget()
        content.setObjectName("setup_content")
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(6, 6, 6, 6)
        content_layout.addWidget(model_box)
        content_layout.addWidget(data_box)
        content_layout.addWidget(self.model_form_box)
        content_layout.addWidget(train_box)
        content_layout.addWidget(flow_row(self.advanced_check, self.reset_button))  # wraps when narrow
        content_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(content)
        self.setMinimumWidth(330)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        self.model_combo.currentIndexChanged.connect(self._on_model_changed)
        self.set_model(DEFAULT_MODEL)
        self.set_dataset(DEFAULT_DATA)
        self._on_model_changed()

    # the chosen model --------------------------------------------------------------------------------
    def model_name(self) -> str:
        return self.model_combo.currentData()

    def set_model(self, name: str) -> None:
        index = self.model_combo.findData(name)
        if index < 0:
            raise ConfigError(f"unknown model '{name}'")
        self.model_combo.setCurrentIndex(index)

    @property
    def model_form(self) -> ConfigForm:
        return self._form_for(get_spec(self.model_name()).config_cls)

    def _form_for(self, config_cls) -> ConfigForm:
        form = self.model_forms.get(config_cls)
        if form is None:
            form = ConfigForm(config_cls)
            form.setObjectName(f"model_form_{config_cls.__name__}")
            form.set_show_advanced(self.advanced_check.isChecked())
            form.changed.connect(self.revalidate)
            form.live_edited.connect(self.live_edited.emit)
            self.model_forms[config_cls] = form
            self.model_form_layout.addWidget(form)
            form.reset(APP_MODEL_DEFAULTS.get(config_cls, {}))
        return form

    def _on_model_changed(self) -> None:
        name = self.model_name()
        spec = get_spec(name)
        self.model_description.setText(spec.description)
        current = self._form_for(spec.config_cls)
        for form in self.model_forms.values():
            form.setVisible(form is current)
        self.model_form_box.setTitle(f"{MODELS[name].display_name} settings")
        follow_layout_order(self.content)  # a form made now would come last in the Tab order
        self.revalidate()

    # the chosen dataset --------------------------------------------------------------------------------
    def dataset_spec(self) -> str:
        """A built-in name or the typed path."""
        return self.dataset.spec()

    def set_dataset(self, spec: str) -> None:
        self.dataset.set_spec(spec)

    def needs_download(self) -> bool:
        return self.dataset.needs_download()

    def start_download(self, then=None) -> None:
        self.dataset.start_download(then)

    # validation and the resulting configs ----------------------------------------------------------------
    def _data_problem(self) -> str | None:
        issue = self.dataset.path_problem()
        model = get_spec(self.model_name())
        if issue is None and is_point_dataset(self.dataset_spec()) and not model.supports_points:
            issue = f"{model.name} is for images: choose an image dataset, or {names_where('supports_points')} for 2D points"
        return issue

    def problems(self) -> list[str]:
        """Everything that must be fixed before Start (empty when the setup is valid)."""
        found = []
        data_issue = self._data_problem()
        self.dataset.set_problem(data_issue)
        if data_issue:
            found.append(data_issue)
        found += self.model_form.problems()
        found += self.train_form.problems()
        if not found:  # each form is fine alone: do the model's and the training settings fit together?
            try:
                model_config, train_config = self.model_form.config(), self.train_form.config(data=self.dataset_spec())
            except ConfigError as exc:
                return [str(exc)]
            pairing = recipe_for(get_spec(self.model_name())).problems(model_config, train_config)
            self.train_form.show_pairing_problems(pairing)
            found += pairing
        return found

    def not_applicable(self) -> set[str]:
        """Model settings that do nothing for this model and dataset (hidden from the form)."""
        spec = get_spec(self.model_name())
        points = is_point_dataset(self.dataset_spec())
        names = set() if spec.conditional else {"label_embed_dim", "label_layers"}
        if points:
            names.add("image_size")
        fixed_objective = GAN_LOSSES.get(str(self.model_form.raw_values().get("loss", "")))
        if fixed_objective is not None and fixed_objective.generator:  # hinge: G's objective is -D, whatever g_loss
            names.add("g_loss")
        if spec.family == "vae":
            architecture = str(self.model_form.raw_values().get("architecture", "auto"))
            conv = architecture == "conv" or (architecture == "auto" and not points)
            names |= {"hidden", "layers"} if conv else {"channels", "label_layers"}
        return names

    def show_refusal(self, setting: str, text: str) -> None:
        """Mark the field of `setting` with why the training refused it when it started (as a problem found while
        typing is marked); any change of the Setup checks it again."""
        editor = self.model_form.editors.get(setting) or self.train_form.editors.get(setting)
        if editor is not None:
            editor.show_refusal(text)

    def revalidate(self) -> None:
        self.model_form.set_not_applicable(self.not_applicable())
        self._show_what_sets_the_length()
        valid = not self.problems()
        if valid != self._valid:
            self._valid = valid
            self.validity_changed.emit(valid)

    def _show_what_sets_the_length(self) -> None:
        """epochs > 0 decides the run's length and steps is not used: say so on the steps field, greyed (it
        went on showing 20000 while a run of 0.00001 epochs trained 1 step)."""
        steps = self.train_form.editors["steps"]
        try:
            by_epochs = float(self.train_form.raw_values().get("epochs") or 0) > 0
        except ValueError:
            by_epochs = False
        if not self._training:  # a bad value stays editable: greyed, it held Start back with no way to fix it
            steps.setEnabled(not by_epochs or steps.problem() is not None)
        steps.editor.setToolTip("epochs is set, so it decides the length: steps is not used (set epochs to 0 to "
                                "train by steps)" if by_epochs else field_tooltip(steps.spec))  # fmt: skip

    @property
    def valid(self) -> bool:
        return self._valid

    def build(self):
        """(model name, model config, train config) for Trainer.new; raises ConfigError."""
        issues = self.problems()
        if issues:
            raise ConfigError("; ".join(issues))
        return self.model_name(), self.model_form.config(), self.train_form.config(data=self.dataset_spec())

    def changes_from(self, info: dict[str, Any]) -> dict[str, Any]:
        """The settings the forms hold that differ from a run's (`info`: run.json's, live changes included):
        what a Resume of that run should change (e.g. more steps, or the run's data in its new place, which
        the resume checks). ConfigError when the forms hold another model or a bad value."""
        if self.model_name() != info.get("model"):
            raise ConfigError(f"the Setup shows {self.model_name()}, but the run is {info.get('model')}: "
                              "a resume continues the run's own model (start a new run to train this one)")  # fmt: skip
        _, model_config, train_config = self.build()
        recorded = {**(info.get("model_config") or {}), **(info.get("train_config") or {})}
        now = {**asdict(model_config), **asdict(train_config)}
        changes = {key: value for key, value in now.items() if key in recorded and recorded[key] != value}
        fixed = [f"{field_label(key)} ({recorded[key]} in the run, {value} here)" for key, value in changes.items()
                 if key not in (*RESUMABLE_SETTINGS, *MOVABLE_SETTINGS, *live_fields(type(model_config)))]  # fmt: skip
        if fixed:
            raise ConfigError(f"{', '.join(fixed)} cannot change when resuming (only steps, cadences, device, "
                              "precision and rates can): put it back, or start a new run with these settings")  # fmt: skip
        return changes

    # the panel protocol ----------------------------------------------------------------------------------------
    def set_run(self, run: RunState | None) -> None:
        """The setup describes the next run (opening a run fills it via `load_run_settings`); while a
        run trains, its live hyperparameter changes show in the fields."""
        self.subscription.follow(run)

    def on_event(self, event) -> None:
        """Keep live hyperparameter fields in step with changes the trainer applied."""
        if isinstance(event, HParamChanged):
            editor = self.model_form.editors.get(event.name)
            if editor is not None and event.new is not None:
                editor.set_value(event.new)

    # while training ---------------------------------------------------------------------------------------
    def set_training(self, training: bool) -> None:
        """Lock the setup while a run trains, except the hyperparameters that apply live."""
        self._training = training
        for widget in (self.model_combo, self.dataset, self.reset_button):
            widget.setEnabled(not training)
        live = live_fields(get_spec(self.model_name()).config_cls) if training else None
        self.model_form.set_live(live)
        self.train_form.set_live(() if training else None)
        self._show_what_sets_the_length()

    def live_editor(self, name: str) -> QLineEdit:
        """The line edit of a live hyperparameter (for shortcuts and tests)."""
        return self.model_form.editors[name].editor

    # presets, runs and preferences ---------------------------------------------------------------------------
    def reset_defaults(self) -> None:
        form = self.model_form
        form.reset(APP_MODEL_DEFAULTS.get(form.config_cls, {}))
        self.train_form.reset(APP_TRAIN_DEFAULTS)
        self.revalidate()

    def _set_show_advanced(self, show: bool) -> None:
        for form in (*self.model_forms.values(), self.train_form):
            form.set_show_advanced(show)

    def load_run_settings(self, info: dict[str, Any]) -> None:
        """Fill the forms with a run's settings (from its run.json), e.g. to train a variant of it."""
        model = info.get("model")
        if model not in MODELS:
            return
        self.set_model(model)
        if isinstance(info.get("model_config"), dict):  # an older run's settings as it trained, not today's defaults
            self.model_form.set_values(saved_values(self.model_form.config_cls, info["model_config"]))
        train = dict(info.get("train_config") or {})
        data = train.pop("data", None)
        self.train_form.set_values(train)
        if isinstance(data, str) and data:
            self.set_dataset(data)
        self.revalidate()

    def load_recipe(self, path: str | Path) -> str:
        """Fill the forms with a TOML recipe (e.g. training/dcgan-paper.toml) exactly as `gan-studio train
        --config` would train it: settings it leaves out take the config defaults, but for KEPT_FROM_SETUP
        (about the person's files, not the recipe's model). ConfigError names a bad file. Returns what the
        person should know of their data ('' or "its dataset, shapes, replaces /photos: …")."""
        model, values, _ = read_recipe(path)
        if model is None:
            raise ConfigError('the recipe does not say which model (model = "dcgan", ...)', path)
        _, train_config, model_config = configs_from_values(model, values, source=path)
        train = asdict(train_config)
        named = {name.replace("-", "_") for name in values}
        current = self.train_form.raw_values()
        train.update({name: current[name] for name in KEPT_FROM_SETUP if name not in named and name in current})
        before = self.dataset_spec()
        self.load_run_settings({"model": model, "model_config": asdict(model_config), "train_config": train})
        if not before or before == self.dataset_spec():
            return ""
        note = f"its dataset, {self.dataset_spec()}, replaces {before}"
        if self.dataset.combo.findData(before) < 0:  # the person's own files: the path box keeps them
            note += ': choose "Local file or folder…" under Dataset to train it on yours'
        return note

    def current_settings(self) -> dict[str, Any]:
        return {"model": self.model_name(), "data": self.dataset_spec(), "model_config": self.model_form.raw_values(),
                "train_config": self.train_form.raw_values()}  # fmt: skip

    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("setup/model", self.model_name())
        settings.setValue("setup/data", self.dataset_spec())
        settings.setValue("setup/recent_data", self.dataset.recent)
        settings.setValue("setup/advanced", self.advanced_check.isChecked())
        for form in self.model_forms.values():
            for name, value in form.raw_values().items():
                settings.setValue(f"setup/{form.config_cls.__name__}/{name}", value)
        for name, value in self.train_form.raw_values().items():
            settings.setValue(f"setup/TrainConfig/{name}", value)

    def restore_settings(self, settings: QSettings) -> None:
        from gan_studio.ui.settings import read_bool

        self.advanced_check.setChecked(read_bool(settings, "setup/advanced", False))
        model = settings.value("setup/model")
        if model in MODELS:
            self.set_model(model)
        for config_cls in {spec.config_cls for spec in MODELS.values()}:
            self._restore_form(settings, self._form_for(config_cls), config_cls.__name__)
        self._restore_form(settings, self.train_form, "TrainConfig")
        data = settings.value("setup/data")
        if isinstance(data, str) and data:
            self.set_dataset(data)
        self.dataset.set_recent(settings.value("setup/recent_data") or [])
        self._on_model_changed()

    @staticmethod
    def _restore_form(settings: QSettings, form: ConfigForm, group: str) -> None:
        saved = {}
        for name in form.editors:
            value = settings.value(f"setup/{group}/{name}")
            if value is not None:
                saved[name] = value
        form.set_values(saved)
