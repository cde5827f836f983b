"""The main window: composes the panels as docks, the menus, shortcuts, status bar and preferences.

Panels follow the protocol of gan_studio/ui/panels/__init__.py; the window only wires them to the
RunSession (the current run) and to each other. Optional panels written separately (Metrics,
Explorer) are added when their module imports.
"""

from __future__ import annotations

import html
import importlib
import json
import math
import os
import sys
import traceback
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QObject, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTextEdit,
    QToolButton,
    QWidget,
)

import gan_studio
from gan_studio.engine.settings import recipe_title
from gan_studio.errors import GanStudioError, RunError
from gan_studio.paths import default_workspace, recipe_folder
from gan_studio.state.comparison import differences
from gan_studio.state.run_state import RunState
from gan_studio.store.rundir import RunDir
from gan_studio.ui.dock_shares import DockShares
from gan_studio.ui.middle_alone import MiddleAlone
from gan_studio.ui.panels.plots import PlotsPanel
from gan_studio.ui.panels.run_controls import RunControlsPanel
from gan_studio.ui.panels.runs import RunsPanel
from gan_studio.ui.panels.samples import SamplesPanel
from gan_studio.ui.panels.setup import SetupPanel
from gan_studio.ui.session import ACTIVE_STATES, RunSession
from gan_studio.ui.settings import app_settings
from gan_studio.ui.widgets.banner import MessageBanner
from gan_studio.ui.widgets.mnemonics import add_mnemonics
from gan_studio.ui.workers import TaskThread

# (module, class) of panels other parts of the project provide; skipped when not importable
OPTIONAL_PANELS = (("gan_studio.ui.panels.metrics", "MetricsPanel"), ("gan_studio.ui.panels.explorer", "ExplorerPanel"))
SETTINGS_VERSION = 2  # bump when the dock layout changes incompatibly
DEFAULT_SIZE = (1440, 900)  # the window's first size, when the screen is large enough
SETUP_WIDTH = 330  # the left column (Setup, Run controls)
SETUP, TRAINING = "setup", "training"  # what a message is about: it goes when the Setup is valid, the training over
DOCK_TITLE_PX = 28  # a dock's title bar

ABOUT_TEXT = f"""<h3>GAN Studio {gan_studio.__version__}</h3>
<p>Train and explore VAEs, conditional VAEs, GANs, conditional GANs, DCGANs and conditional DCGANs
on your own machine: live loss curves, sample grids, latent exploration and ONNX export.</p>
<p>The same training runs headless with <code>gan-studio train</code>; runs written by it (also on a
cluster) open here and are followed live.</p>"""
# keys the window's key filter (WindowKeys) gives a meaning, beside the actions' shortcuts
WINDOW_KEYS = (("Space / Return", "on a focused button: press it"), ("Esc", "dismiss the message"))


def about_text(shortcuts: list[tuple[str, str]]) -> str:
    """The About box: what GAN Studio is, and every (keys, what they do) of the window."""
    rows = "".join(f"<tr><td><b>{html.escape(keys)}</b>&nbsp;&nbsp;</td><td>{html.escape(what)}</td></tr>"
                   for keys, what in shortcuts)  # fmt: skip
    return f"{ABOUT_TEXT}<p><b>Shortcuts</b></p><table>{rows}</table>"


class WindowKeys(QObject):
    """Space, Enter and Escape in the main window, as a keyboard user expects them on the desktop.

    Space pauses and resumes training wherever the focus is, except where Space does something there: text
    fields take it as a character; a button (push, check box, radio, toggle) is pressed or toggled by it; a
    drop-down opens. A spin box or number field pauses (its line edit would accept the shortcut override, e.g.
    the sample-count box). Enter on a focused push or tool button presses it (Qt does that only in dialogs: in
    the window it did nothing). Escape dismisses the message banner, when one shows and the focus is in the
    window (a dialog or a drop-down's list keeps its own Escape).
    """

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        kind = event.type()
        if kind == QEvent.Type.ShortcutOverride and event.key() == Qt.Key.Key_Space and not event.modifiers():
            if space_acts_on(QApplication.focusWidget()):
                event.accept()  # the focused widget gets the key (a check box would not claim it itself)
            else:
                event.ignore()  # the window's shortcut gets the key
            return True
        if kind != QEvent.Type.KeyPress or watched is not (QApplication.focusWidget() or self.window):
            return False  # (a key the focused widget left to its parents comes here again: acted on once)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and unmodified(event) and self._is_button(watched):
            watched.click()
            return True
        if event.key() == Qt.Key.Key_Escape and not event.modifiers() and self.window.banner.isVisible():
            if watched.window() is self.window:
                self.window.banner.clear()
                return True
        return False

    def _is_button(self, widget) -> bool:
        """A push or tool button of the main window (a dialog's buttons take Enter themselves, as its default)."""
        return isinstance(widget, (QPushButton, QToolButton)) and widget.isEnabled() and widget.window() is self.window


def unmodified(event) -> bool:
    """No modifier held (the keypad's Enter carries the keypad "modifier": still plain Enter)."""
    return not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier


def space_acts_on(focus: QWidget | None) -> bool:
    """Whether Space, pressed in the focused widget, types, toggles, presses or opens something there."""
    if isinstance(focus, (QTextEdit, QPlainTextEdit, QComboBox, QAbstractButton)):
        return True
    return (
        isinstance(focus, QLineEdit) and not isinstance(focus.parent(), QAbstractSpinBox) and focus.validator() is None
    )


def initial_size() -> QSize:
    """The first window size: DEFAULT_SIZE, or the screen's available area when that is smaller."""
    screen = QGuiApplication.primaryScreen()
    width, height = DEFAULT_SIZE
    if screen is not None:
        available = screen.availableGeometry()
        width, height = min(width, available.width()), min(height, available.height())
    return QSize(width, height)


def available_area(widget: QWidget) -> QRect | None:
    """The available geometry (without task bars) of the screen the widget is on, or the primary one."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else None


def fits(size: QSize, area: QRect) -> bool:
    return size.width() <= area.width() and size.height() <= area.height()


def scale_factor_asked() -> float:
    """The scale factor `gan-studio app --scale` (or the user) asked Qt for, 1 when none."""
    try:
        factor = float(os.environ.get("QT_SCALE_FACTOR") or 1)
    except ValueError:
        return 1.0
    return factor if math.isfinite(factor) and factor > 0 else 1.0


def largest_scale_that_fits(minimum: QSize, room: QRect, factor: float) -> float:
    """The largest scale factor, in quarters, at which a window of `minimum` size fits the `room` that `factor`
    leaves (window and room in the same scaled pixels: the room grows as the factor shrinks)."""
    ratio = min(room.width() / max(1, minimum.width()), room.height() / max(1, minimum.height()))
    return math.floor(factor * ratio * 4 + 1e-9) / 4


def scale_note(minimum: QSize, room: QRect, screen) -> str:
    """What to tell the user when a scale factor above 1 leaves the screen too small for the window (its panels
    scroll, buttons are cut): the screen's size, the room left, and the largest --scale that fits; "" when no
    factor above 1 was asked for (a small screen at its own scale: the panels scroll, nothing to change)."""
    factor = scale_factor_asked()
    if factor <= 1:
        return ""
    size = screen.geometry().size() if screen is not None else room.size()
    pixels = f"{round(size.width() * factor)}x{round(size.height() * factor)}"
    fitting = largest_scale_that_fits(minimum, room, factor)
    advice = f"try --scale {fitting:g} or less" if fitting >= 1 else "try it without --scale"
    return (
        f"--scale {factor:g} is too large for this {pixels} screen: {advice} (at {factor:g} it has room for "
        f"{room.width()}x{room.height()}, the window needs {minimum.width()}x{minimum.height()}: its panels "
        "scroll)"
    )  # the advice first: a one-line banner shows the start


def read_shares(text) -> dict[str, tuple[float, float]] | None:
    """Dock shares saved as JSON ({dock name: [width share, height share]}); None when absent or not sane."""
    try:
        raw = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    shares = {}
    for name, share in raw.items():
        if (
            isinstance(share, list)
            and len(share) == 2
            and all(isinstance(v, (int, float)) and 0 < v <= 1 for v in share)
        ):
            shares[str(name)] = (float(share[0]), float(share[1]))
    return shares or None


def load_optional_panel(module_name: str, class_name: str):
    """The panel class, or None when its module is not there (only that ImportError is silent)."""
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if exc.name == module_name:
            return None
        raise
    return getattr(module, class_name, None)


class MainWindow(QMainWindow):
    """GAN Studio's window."""

    def __init__(self, workspace: str | Path | None = None, persist: bool = True,
                 screen_size: tuple[int, int] | None = None):  # fmt: skip
        """`persist`: read preferences and layout at start and save them on close. `screen_size`: lay out as on
        a screen of that size, not the one the window is on (`gan-studio screenshot --size` offscreen)."""
        super().__init__()
        self._screen_size = screen_size
        self.setWindowTitle("")  # the app's display name is added by Qt: "GAN Studio", or "RUN — GAN Studio"
        self.setObjectName("main_window")
        self.setDockNestingEnabled(True)
        self.resize(initial_size())
        self.session = RunSession(self)
        self.export_task: TaskThread | None = None
        self._shown_once = False
        self._closed = False
        self._status_topic = ""  # what the status bar's message is about (see show_message)
        self._last_state = ""  # the session's state before the one _on_state_changed is told of
        self._scale_note = ""  # said once shown: --scale leaves the screen too small for the window

        self.setup = SetupPanel(self.session)
        self.controls = RunControlsPanel(self.session)
        self.plots = PlotsPanel()
        self.samples = SamplesPanel()
        self.runs = RunsPanel(workspace)
        self.panels: list[QWidget] = [self.setup, self.controls, self.plots, self.samples, self.runs]
        self.optional_panels: dict[str, QWidget] = {}
        for module_name, class_name in OPTIONAL_PANELS:
            panel = self._create_optional_panel(module_name, class_name)
            if panel is not None:
                self.optional_panels[class_name] = panel
                self.panels.append(panel)

        # messages float in the menu bar's row, one line until opened (then over the docks): showing or closing
        # one never moves a dock
        self.banner = MessageBanner(self)
        self.banner.shown.connect(lambda _shown: self._place_banner())
        self.banner.resized.connect(self._place_banner)
        central = QWidget()
        self.setCentralWidget(central)
        central.hide()  # every panel is a dock; the central area takes no space

        self.docks: dict[str, QDockWidget] = {}
        self._build_docks()
        self._fit_minimum_to_screen()
        self._size_docks()
        self.dock_shares = DockShares(self)
        plots = self.docks[PlotsPanel.TITLE]
        self.middle_alone = MiddleAlone(self, [plots, *self.tabifiedDockWidgets(plots)], self.dock_shares,
                                        SETTINGS_VERSION)  # fmt: skip
        self._build_menus()
        self.menuBar().setMinimumHeight(self.banner.sizeHint().height())  # a one-line message fits in its row
        self._build_status_bar()
        self._connect()
        self._on_state_changed(self.session.state)
        self._window_keys = WindowKeys(self)
        if QApplication.instance() is not None:
            QApplication.instance().installEventFilter(self._window_keys)
        self._default_state = self.saveState(SETTINGS_VERSION)
        self._reset_layout_when_shown = False  # a layout saved on a larger screen: the default one, once shown
        self.persist = persist
        if persist:
            self.restore_preferences()
            if workspace is None and os.environ.get("GAN_STUDIO_HOME"):  # set for this start: it wins too
                workspace = default_workspace()
            if workspace is not None:  # an explicit folder wins over the remembered one
                self.runs.set_workspace(workspace)
        self.controls.set_start_allowed(self.setup.valid)
        self._chosen_size = self.size()  # the first or restored size, kept on the screen when shown

    # construction -------------------------------------------------------------------------------------------
    def _create_optional_panel(self, module_name: str, class_name: str):
        try:
            panel_class = load_optional_panel(module_name, class_name)
            return panel_class() if panel_class is not None else None
        except Exception:  # noqa: BLE001 - a broken optional panel must not stop the app
            traceback.print_exc(file=sys.stderr)
            return None

    def _dock(self, panel: QWidget, area: Qt.DockWidgetArea, scroll: bool = False) -> QDockWidget:
        """A dock holding `panel` (`scroll`: inside a scroll area, for a panel that may be taller than its slot)."""
        title = getattr(panel, "TITLE", type(panel).__name__)
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{type(panel).__name__}")
        if scroll:  # a panel that asks for more room than the layout has scrolls instead of widening the window
            area_widget = QScrollArea()
            area_widget.setWidgetResizable(True)
            area_widget.setFrameShape(QScrollArea.Shape.NoFrame)
            area_widget.setWidget(panel)
            dock.setWidget(area_widget)
        else:
            dock.setWidget(panel)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)  # fmt: skip
        self.addDockWidget(area, dock)
        # docked again (from floating) into a group of tabs: it comes to the front, not its neighbour
        dock.topLevelChanged.connect(lambda floating, d=dock: floating or QTimer.singleShot(0, d.raise_))
        dock.visibilityChanged.connect(lambda _visible: QTimer.singleShot(0, self._place_banner))  # stays on top
        self.docks[title] = dock
        return dock

    def _build_docks(self) -> None:
        """Setup and Run controls on the left; Plots, Metrics and the Explorer share the wide middle slot
        (tabs); Samples on the right; Runs below."""
        left, right, bottom = (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea,
                               Qt.DockWidgetArea.BottomDockWidgetArea)  # fmt: skip
        self.setCorner(Qt.Corner.BottomLeftCorner, left)
        setup = self._dock(self.setup, left)
        controls = self._dock(self.controls, left)
        self.splitDockWidget(setup, controls, Qt.Orientation.Vertical)
        plots = self._dock(self.plots, right)
        samples = self._dock(self.samples, right)
        self.splitDockWidget(plots, samples, Qt.Orientation.Horizontal)
        self._dock(self.runs, bottom)
        for panel in self.optional_panels.values():  # the explorer scrolls its controls itself
            self.tabifyDockWidget(plots, self._dock(panel, right, scroll=not getattr(panel, "SCROLLS_ITSELF", False)))
        plots.raise_()

    def _size_docks(self) -> None:
        """The default layout: Setup SETUP_WIDTH wide, the middle 60% of the rest, Runs 3 rows high."""
        setup, controls, plots, samples, runs = (self.docks[panel.TITLE] for panel in
                                                 (self.setup, self.controls, self.plots, self.samples, self.runs))  # fmt: skip
        width, height = self.width(), self.height()
        left = min(SETUP_WIDTH, int(width * 0.32))  # a small screen: every column gives up some room
        middle = max(min(420, int((width - left) * 0.7)), int((width - left) * 0.6))
        self.resizeDocks([setup, plots, samples], [left, middle, width - left - middle], Qt.Orientation.Horizontal)
        self.resizeDocks([setup, controls], [height - 230, 170], Qt.Orientation.Vertical)
        runs_height = min(max(170, self.runs.height_for_rows() + DOCK_TITLE_PX), height // 3)  # 3 runs in view
        self.resizeDocks([plots, runs], [height - runs_height - 80, runs_height], Qt.Orientation.Vertical)

    def lay_out_for_this_size(self) -> None:
        """The default layout for the window's size now (a window made at one size and resized before it was
        shown kept the shares of the first: `gan-studio screenshot` drew a Setup half the window wide)."""
        self._size_docks()
        self.dock_shares.remember_soon()

    def _fit_minimum_to_screen(self) -> None:
        """When the panels' minimum sizes add up to more than the screen has (a small screen, or a large
        scale factor: 1.5 on 1440x900 leaves 960x600), every panel scrolls in its dock instead, so that the
        window fits the screen."""
        area = QRect(0, 0, *self._screen_size) if self._screen_size else available_area(self)
        minimum = self.minimumSizeHint()
        if area is None or fits(minimum, area):
            return
        if not self._screen_size:
            self._scale_note = scale_note(minimum, area, self.screen() or QGuiApplication.primaryScreen())
        for dock in self.docks.values():
            panel = dock.widget()
            if isinstance(panel, QScrollArea):
                continue
            scroller = QScrollArea()
            scroller.setWidgetResizable(True)
            scroller.setFrameShape(QScrollArea.Shape.NoFrame)
            scroller.setWidget(panel)
            dock.setWidget(scroller)
        self.setMinimumSize(0, 0)
        self.resize(initial_size())

    def _action(self, menu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        self.addAction(action)  # shortcuts work while the menu bar is hidden or a dock floats
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.new_action = self._action(file_menu, "&New run", self.new_run, QKeySequence.StandardKey.New,
                                       "Close the current run and set up a new one")  # fmt: skip
        self.open_action = self._action(file_menu, "&Open run…", self.open_run_dialog, "Ctrl+O",
                                        "Open a run folder (followed live while it is being trained)")  # fmt: skip
        self.resume_action = self._action(file_menu, "&Resume run", self.resume_current,
                                          tip="Continue the current run from its last checkpoint")  # fmt: skip
        self.load_recipe_action = self._action(file_menu, "&Load recipe…", self.load_recipe_dialog, "Ctrl+L",
                                               "Fill the Setup with a TOML recipe (as gan-studio train --config)")  # fmt: skip
        self.recipes_menu = file_menu.addMenu("Re&cipes")
        self._fill_recipes_menu()
        file_menu.addSeparator()
        self.export_action = self._action(file_menu, "&Export to ONNX…", self.export_current, "Ctrl+E",
                                          "Export the current run's generator (or VAE decoder) to ONNX")  # fmt: skip
        self.save_grid_action = self._action(file_menu, "&Save grid as PNG…", self.samples.save_dialog, "Ctrl+S")
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.quit, QKeySequence.StandardKey.Quit)

        run_menu = bar.addMenu("&Training")
        self.start_action = self._action(run_menu, "&Start", self.start_training, "Ctrl+Return",
                                         "Train a new run with the Setup")  # fmt: skip
        self.start_action_enter = QAction("Start", self)  # the keypad's Enter
        self.start_action_enter.setShortcut(QKeySequence("Ctrl+Enter"))
        self.start_action_enter.triggered.connect(lambda _c=False: self.start_training())
        self.addAction(self.start_action_enter)
        self.pause_action = self._action(run_menu, "&Pause / Resume", self.controls.toggle_pause, "Space")
        self.step_action = self._action(run_menu, "S&tep", self.session.single_step, "Ctrl+Right",
                                        tip="One step while paused")  # fmt: skip
        self.stop_action = self._action(
            run_menu, "St&op", self.session.stop, "Ctrl+.", tip="Stop and save a checkpoint"
        )
        self.step_action.setEnabled(False)
        self.stop_action.setEnabled(False)

        view_menu = bar.addMenu("&View")
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        self.alone_action = self._action(view_menu, "Plots, Metrics and Explorer &alone", self.toggle_middle_alone,
                                         "Ctrl+Shift+M", "The middle panels take the whole window (again: the "
                                         "others come back): for a small screen")  # fmt: skip
        self.alone_action.setCheckable(True)
        self._action(view_menu, "&Reset layout", self.reset_layout)
        add_mnemonics(view_menu.actions())  # the panels' items: "&Setup", "Run &controls", …

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&About GAN Studio", self.show_about)

    def _build_status_bar(self) -> None:
        self.state_label = QLabel("Ready")
        self.run_label = QLabel("no run")
        self.statusBar().addPermanentWidget(self.run_label)
        self.statusBar().addPermanentWidget(self.state_label)

    def _connect(self) -> None:
        s = self.session
        s.run_changed.connect(self._on_run_changed)
        s.state_changed.connect(self._on_state_changed)
        s.run_opened.connect(lambda run: self.setup.load_run_settings(run.settings_now()))  # live changes included
        s.message.connect(self.show_message)
        s.refused.connect(lambda text: self.show_message("warning", text, TRAINING))
        s.setting_refused.connect(self.setup.show_refusal)
        self.controls.start_requested.connect(self.start_training)
        self.setup.validity_changed.connect(self.controls.set_start_allowed)
        self.setup.validity_changed.connect(lambda valid: valid and self.forget_messages_about(SETUP))
        self.setup.download_finished.connect(lambda ok, text: self.show_message("info" if ok else "error", text))
        self.runs.open_requested.connect(self.open_run)
        self.runs.resume_requested.connect(self.resume_run)
        self.runs.compare_requested.connect(self.compare_run)
        self.runs.deleted.connect(self._on_run_deleted)
        explorer = self.optional_panels.get("ExplorerPanel")
        if explorer is not None:  # its Open run… starts where the runs are
            explorer.runs_folder = self.runs.workspace
            self.runs.workspace_changed.connect(lambda folder: setattr(explorer, "runs_folder", Path(folder)))
        for panel in (self.samples, self.runs):
            panel.message.connect(self.show_message)

    # panels ---------------------------------------------------------------------------------------------------
    def _for_panels(self, method: str, argument) -> None:
        """Call a protocol method on every panel; a panel's bug is reported, never fatal."""
        if self._closed:
            return  # updates still queued when the window closed go nowhere
        for panel in self.panels:
            try:
                getattr(panel, method)(argument)
            except Exception as exc:  # noqa: BLE001
                traceback.print_exc(file=sys.stderr)
                self.show_message("error", f"the {getattr(panel, 'TITLE', 'panel')} panel failed: {exc}")

    def _on_run_changed(self, run: RunState | None) -> None:
        self._protect_training_run()
        if run is not None:
            run.on_listener_error = lambda exc: self.show_message("error", f"a panel failed: {exc}")
        self._for_panels("set_run", run)
        self.run_label.setText(run.name if run else "no run")
        self.setWindowTitle(run.name if run else "")

    def _protect_training_run(self) -> None:
        """The run being trained cannot be deleted or resumed from the Runs panel."""
        training = self.session.state in ("running", "paused", "stopping") and self.session.run_path is not None
        self.runs.set_protected({self.session.run_path} if training else set())

    def _on_state_changed(self, state: str) -> None:
        active = state in ACTIVE_STATES
        if state == "starting":  # a new start: problems of earlier attempts no longer hold
            self.statusBar().clearMessage()
            self.banner.clear()
        elif not active:  # "stop the current training first" no longer holds
            self.forget_messages_about(TRAINING)
        started, self._last_state = state == "running" and self._last_state == "starting", state
        if started and self.session.run is not None:
            train_config = self.session.run.info.get("train_config")  # a start that trains (not one that failed):
            if isinstance(train_config, dict) and isinstance(train_config.get("data"), str):  # Recent offers its data
                self.setup.dataset.remember(train_config["data"])
        self.controls.set_state(state)
        self.setup.set_training(active)
        self.runs.set_training(active)
        self._protect_training_run()
        self.state_label.setText(self.controls.state_label.text())
        self.new_action.setEnabled(not active)
        self.open_action.setEnabled(True)  # while a run trains, the run chosen opens in the Explorer
        self.resume_action.setEnabled(not active)  # the run on view is the one training
        self.pause_action.setEnabled(state in ("starting", "running", "paused"))  # Space is free otherwise
        self.step_action.setEnabled(state == "paused")  # as the Run controls' buttons
        self.stop_action.setEnabled(state in ("starting", "running", "paused"))

    # messages --------------------------------------------------------------------------------------------------
    def show_status(self, text: str, timeout_ms: int = 0) -> None:
        """A status-bar message, elided with "…" where it would run into the run's name (whole in the tooltip)."""
        bar = self.statusBar()
        room = bar.width() - sum(w.sizeHint().width() for w in (self.run_label, self.state_label)) - 40
        shown = bar.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, max(80, room))
        bar.setToolTip(text if shown != text else "")
        bar.showMessage(shown, timeout_ms)

    def show_message(self, level: str, text: str, topic: str = "") -> None:
        """Errors and warnings in the banner and the status bar; notices in the status bar. `topic`: what the
        message is about (SETUP, TRAINING), so that it goes once that no longer holds (`forget_messages_about`)."""
        self.show_status(text, 15000 if level == "info" else 0)
        self._status_topic = topic
        if level in ("error", "warning"):
            self.banner.show_message(level, text, topic)
            QTimer.singleShot(0, self._place_banner)  # over a dock raised right after it (Resume raises the Setup)
        elif self.banner.level == "info":
            self.banner.clear()

    def forget_messages_about(self, topic: str) -> None:
        """The banner and status-bar message about `topic` go: the Setup became valid (it said "cannot start:
        lr g…" over a Setup reset to its defaults), or the training stopped (it said "stop the current training
        first" after it had)."""
        self.banner.clear_about(topic)
        if self._status_topic == topic:
            self.statusBar().clearMessage()
            self._status_topic = ""

    def _place_banner(self) -> None:
        """The banner floats in the menu bar's row, right of the menus (it covered the docks' title bars, s15Y
        #18): one line, or, opened, as tall as its wrapped text (a third of the window at most), over the docks.
        Without a menu bar in the window (a native one), at the top of the docks, full width."""
        if not self.banner.isVisible():
            return
        margin = 8
        bar = self.menuBar()
        in_bar = bar.isVisible() and not bar.isNativeMenuBar() and bar.height() >= self.banner.sizeHint().height()
        if in_bar:
            menus_end = max((bar.actionGeometry(a).right() for a in bar.actions() if a.isVisible()), default=0)
            left, top = bar.x() + menus_end + 3 * margin, bar.y()
        else:
            left, top = margin, bar.height() + 1 if bar.isVisible() else 0
        width = max(160, self.width() - left - margin)
        self.banner.setFixedWidth(width)
        fitted = self.banner.heightForWidth(width) if self.banner.expanded else -1  # the wrapped text's height
        one_line = bar.height() if in_bar else self.banner.sizeHint().height()
        height = fitted if fitted > 0 else one_line
        self.banner.setGeometry(left, top, width, max(one_line, min(height, self.height() // 3)))
        self.banner.raise_()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._place_banner()
        if self.isVisible():
            QTimer.singleShot(0, self.dock_shares.restore)  # each dock keeps its share of the new size

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            if self.size() == self._chosen_size:  # not a size asked for on purpose (e.g. for screenshots)
                self.clamp_to_screen()  # the frame's size is known now: the frame stays on the screen too
            if self._reset_layout_when_shown:
                QTimer.singleShot(0, self._default_layout_for_this_screen)
            if self._scale_note:
                QTimer.singleShot(0, lambda: self.show_message("warning", self._scale_note))
        self.dock_shares.remember_soon()  # the first layout (default or restored) is the one to keep

    def clamp_to_screen(self) -> bool:
        """Keep the window (frame included) inside the available area of its screen: smaller, and moved.
        True when it had to be made smaller."""
        area = available_area(self)
        if area is None:
            return False
        frame, inner = self.frameGeometry(), self.geometry()
        extra_width, extra_height = frame.width() - inner.width(), frame.height() - inner.height()
        width = min(inner.width(), area.width() - extra_width)
        height = min(inner.height(), area.height() - extra_height)
        shrunk = (width, height) != (inner.width(), inner.height())
        if shrunk:
            self.resize(width, height)
        x = min(max(frame.x(), area.left()), area.left() + area.width() - width - extra_width)
        y = min(max(frame.y(), area.top()), area.top() + area.height() - height - extra_height)
        if (x, y) != (frame.x(), frame.y()):
            self.move(x, y)
        return shrunk

    def show_notice(self, text: str) -> None:
        """A notice that stays in the banner until dismissed (e.g. an export summary)."""
        self.show_status(text.splitlines()[0] if text else "", 15000)
        self.banner.show_message("info", text)

    # actions ----------------------------------------------------------------------------------------------------
    def start_training(self) -> None:
        if self.session.training:
            return
        issues = self.setup.problems()
        if issues:
            self.show_message("error", "cannot start: " + "; ".join(issues), SETUP)
            return
        if self.setup.needs_download():
            self.show_message("info", "downloading the dataset first…")
            self.setup.start_download(then=self.start_training)
            return
        try:
            model_name, model_config, train_config = self.setup.build()
        except GanStudioError as exc:
            self.show_message("error", f"cannot start: {exc}", SETUP)
            return
        self.banner.clear()
        self.plots.clear_overlays()
        self.session.start_new(model_name, model_config, train_config, self.runs.workspace)

    def new_run(self) -> None:
        if self.session.training:
            self.show_message("warning", "stop the current training first", TRAINING)
            return
        self.session.close_run()
        self.banner.clear()
        self.docks[SetupPanel.TITLE].raise_()
        self.setup.model_combo.setFocus()

    def _fill_recipes_menu(self) -> None:
        """The recipes of training/: starters first, then two submenus, the papers' presets (*-paper, such as
        "DCGAN (paper)") and the quality benchmark's recipes (quality-*: what the README's quality table
        measures, the best found on a CPU beside the papers' own set-ups)."""
        folder = recipe_folder()
        recipes = sorted(folder.glob("*.toml")) if folder is not None else []
        papers = QMenu("Papers' presets", self.recipes_menu)
        quality = QMenu("Quality benchmark (the README's table)", self.recipes_menu)
        for path in recipes:
            menu = papers if path.stem.endswith("-paper") else quality if path.stem.startswith("quality-") else None
            action = (menu or self.recipes_menu).addAction(path.stem)
            action.setToolTip(recipe_title(path))
            action.setStatusTip(recipe_title(path))
            action.triggered.connect(lambda _checked=False, p=path: self.load_recipe(p))
        self.recipes_menu.addSeparator()
        self.recipes_menu.addMenu(papers)
        self.recipes_menu.addMenu(quality)
        for menu in (self.recipes_menu, papers, quality):
            menu.setToolTipsVisible(True)
            add_mnemonics(menu.actions())
        papers.menuAction().setVisible(not papers.isEmpty())
        quality.menuAction().setVisible(not quality.isEmpty())
        self.recipes_menu.setEnabled(bool(recipes))

    def load_recipe_dialog(self) -> None:
        folder = recipe_folder() or self.runs.workspace
        path, _ = QFileDialog.getOpenFileName(self, "Load recipe", str(folder), "Recipes (*.toml);;All files (*)")
        if path:
            self.load_recipe(Path(path))

    def load_recipe(self, path: str | Path) -> bool:
        """Fill the Setup with a recipe; a bad one is reported in the window, the Setup left as it was."""
        if self.session.training:
            self.show_message("warning", "stop the current training first", TRAINING)
            return False
        try:
            data_note = self.setup.load_recipe(path)  # checks the whole file before it touches a form
        except GanStudioError as exc:
            self.show_message("error", str(exc))
            return False
        self.docks[SetupPanel.TITLE].raise_()  # the run on view stays open: the Setup describes the next one
        if data_note:
            self.show_notice(f"recipe {Path(path).name} loaded; {data_note}")  # in the banner: it is easily missed
        else:
            self.show_message("info", f"recipe {Path(path).name} loaded: press Start to train it")
        return True

    def open_run_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open run", str(self.runs.workspace))
        if folder:
            self.open_run(Path(folder))

    def open_run(self, run_path: str | Path, wait: bool = False) -> bool:
        """Show a run (a large one is read in the background unless `wait`); False when it cannot be opened."""
        run_path = Path(run_path)
        explorer = self.optional_panels.get("ExplorerPanel")
        if self.session.training and run_path == self.session.run_path:  # it was told to stop training to open it
            self.docks[PlotsPanel.TITLE].raise_()
            self.show_message("info", f"{run_path.name} is the run training: it is on view")
            return True
        if self.session.training and run_path != self.session.run_path and explorer is not None:
            # the curves and grids stay on the training run; another run can still be explored meanwhile
            explorer.open_source(run_path)
            self.docks[explorer.TITLE].show()
            self.docks[explorer.TITLE].raise_()
            self.show_message("info", f"{run_path.name} opened in the Explorer: the Plots and Samples stay on the "
                              "training run until it stops")  # fmt: skip
            return True
        self.banner.clear()  # it spoke of the run on view before: read under another run, it misleads
        opened = self.session.open_run(run_path, wait)  # (which says why in the banner when it cannot)
        if opened and self.session.reader.reading("open"):
            self.plots.show_reading(run_path.name)
        return opened

    def resume_run(self, run_path: str | Path) -> None:
        """Continue a stopped run; when the Setup shows its settings, with what was changed there (more steps,
        other rates or cadences: what a resume may change; anything else is refused by name)."""
        run_path = Path(run_path)
        if self.session.run_path != run_path and not self.session.training:
            self.open_run(run_path, wait=True)
        changes = {}
        if self.session.run_path == run_path and self.session.run is not None:
            try:
                changes = self.setup.changes_from(self.session.run.settings_now())
            except GanStudioError as exc:
                self.show_message("error", f"cannot resume {run_path.name}: {exc}")
                return
        run = self.session.run
        from_scratch = not RunDir(run_path).last_checkpoint.is_file()  # killed before its first checkpoint
        if run is not None and self.session.run_path == run_path and "epochs" not in changes and not from_scratch:
            steps = int(changes.get("steps") or run.total_steps or 0)
            if steps and run.step >= steps:  # it would stop at once, saying it finished
                epochs = (run.info.get("train_config") or {}).get("epochs")
                more = (
                    f"raise Epochs in the Setup above {epochs:g}"
                    if isinstance(epochs, (int, float)) and epochs > 0
                    else "raise Steps in the Setup above that"
                )  # an epoch-length run's Steps field is greyed
                self.show_message("warning", f"{run_path.name} has trained {run.step:,} steps already: {more}, then "
                                  "Resume")  # fmt: skip
                self.docks[SetupPanel.TITLE].raise_()
                return
        self.session.continue_run(run_path, changes or None)
        if from_scratch and self.session.training:
            self.show_message("info", f"{run_path.name} has no checkpoint to continue from: it trains again from "
                              "step 0, with the settings it began with")  # fmt: skip

    def resume_current(self) -> None:
        if self.session.run_path is None:
            self.show_message("warning", "open a stopped run first (File > Open run, or the Runs panel)")
            return
        self.resume_run(self.session.run_path)

    def compare_run(self, run_path: str | Path) -> None:
        run_path = Path(run_path)
        if self.session.run_path is None:
            self.show_message("warning", "open or train a run first, then compare another run with it")
            return

        def compare(other: RunState) -> None:
            count = self.plots.add_overlay(other)
            self.docks[PlotsPanel.TITLE].raise_()
            current = self.session.run
            unlike = differences(other, current) if current is not None else []  # in the sentence's order
            if unlike:  # an MNIST cDCGAN beside a ring8 GAN was overlaid without a word (review s15Y #13)
                self.show_message("warning", f"{other.name} is compared with {current.name}, but they differ "
                                  f"({'; '.join(unlike)}): their curves measure different things")  # fmt: skip
            else:
                self.show_message("info", f"comparing with {run_path.name} ({count:,} records, lighter and dashed)")

        if self.session.reader.read(run_path, "compare", compare, lambda message: self.show_message("error", message)):
            self.show_message("info", f"reading {run_path.name} to compare…")

    def _on_run_deleted(self, run_path: Path) -> None:
        if self.session.run_path == run_path and not self.session.training:
            self.session.close_run()
        if run_path.name in self.plots.overlays:
            self.plots.remove_overlay(run_path.name)
        for panel in self.optional_panels.values():  # a panel that opened the run on its own closes it too
            if hasattr(panel, "run_deleted"):
                panel.run_deleted(run_path)

    def export_current(self) -> None:
        run_path = self.session.run_path
        if run_path is None:
            self.show_message("warning", "open or train a run first, then export it")
            return
        if self.export_task is not None:
            self.show_message("warning", "an export is already running")
            return
        task = TaskThread(lambda _report: _export(run_path), self)
        task.succeeded.connect(lambda report: self._on_export_done(run_path, report))
        task.failed.connect(lambda message: self._on_export_done(run_path, None, message))
        self.export_task = task
        self.show_message("info", f"exporting {run_path.name} to ONNX…")
        task.start()

    def _on_export_done(self, run_path: Path, report, failure: str | None = None) -> None:
        task, self.export_task = self.export_task, None
        if task is not None:
            task.wait(1000)
            task.deleteLater()
        if failure is not None:
            self.show_message("error", f"export failed: {failure}")
            return
        reports = report if isinstance(report, list) else [report]
        self.show_notice("\n".join(r.summary() if hasattr(r, "summary") else str(r) for r in reports))
        for panel in self.optional_panels.values():  # the explorer's "auto" backend may now use the export
            if hasattr(panel, "exports_changed"):
                panel.exports_changed(run_path)

    def shortcuts(self) -> list[tuple[str, str]]:
        """(keys, what they do) of every shortcut of the window: its actions' (in the order of the menus), the
        panels' own (the Runs list's Enter and Delete) and the keys of WINDOW_KEYS; read from the actions
        themselves, so that the About box lists what the window has."""
        found: dict[str, list[str]] = {}
        for action in self.actions():
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if keys:
                found.setdefault(action.text().replace("&", "").rstrip("…") or action.toolTip(), []).append(keys)
        listed = [(" / ".join(keys), what) for what, keys in found.items()]
        for shortcut in self.findChildren(QShortcut):
            if shortcut.whatsThis():
                listed.append((shortcut.key().toString(QKeySequence.SequenceFormat.NativeText), shortcut.whatsThis()))
        return listed + list(WINDOW_KEYS)

    def show_about(self) -> None:
        QMessageBox.about(self, "About GAN Studio", about_text(self.shortcuts()))

    def _default_layout_for_this_screen(self) -> None:
        self.reset_layout()
        self.show_status("the window was laid out on a larger screen: the default layout fits this one", 15000)

    def toggle_middle_alone(self) -> None:
        self.middle_alone.toggle()
        self.alone_action.setChecked(self.middle_alone.active)

    def reset_layout(self) -> None:
        self.middle_alone.leave()
        self.alone_action.setChecked(False)
        self.restoreState(self._default_state, SETTINGS_VERSION)
        for dock in self.docks.values():
            dock.show()
        self.dock_shares.remember_soon()

    # preferences and closing -------------------------------------------------------------------------------------------
    def restore_preferences(self) -> None:
        settings = app_settings()
        geometry = settings.value("window/geometry")
        state = settings.value("window/state")
        larger_screen = False
        if isinstance(geometry, QByteArray) and not self._saved_at_this_scale(settings.value("window/scale")):
            # a window saved at another --scale is another size on the screen (saved filling it at 1.5, it came
            # back at 1.25 in 5/6 of it): the first start's size and layout for this screen instead
            geometry = state = None
            self.show_status("the window was laid out at another --scale: the default layout fits this one", 15000)
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)  # Qt fits it into the screen, if it can
            larger_screen = self.clamp_to_screen() or not self._saved_size_fits(settings.value("window/size"))
        shares = read_shares(settings.value("window/dock_shares"))
        if larger_screen:
            # its panels' shares of a wider window would starve some here (Run controls' Stop went off the edge):
            # the default layout, made for this size, instead
            self._reset_layout_when_shown = True  # laid out at the size it is shown at (before, it kept half a
            # layout of the larger window)
        elif isinstance(state, QByteArray) and self.restoreState(state, SETTINGS_VERSION) and shares:
            # the docks' saved sizes are pixels of the window they were saved in: in a window of another
            # size they come back in their shares of it (else Setup took half the width, Samples a strip)
            self.dock_shares.shares = shares
            self.dock_shares.restore([dock for dock in self.docks.values() if dock.objectName() in shares
                                      and not dock.isFloating() and not dock.isHidden()])  # fmt: skip
        for panel in self.panels:
            restore = getattr(panel, "restore_settings", None)
            if callable(restore):
                try:
                    restore(settings)
                except Exception:  # noqa: BLE001 - a stale preference must not stop the app
                    traceback.print_exc(file=sys.stderr)

    @staticmethod
    def _saved_at_this_scale(saved) -> bool:
        """Whether the window was saved at the scale factor it has now (a window saved before the scale was
        kept: at 1, as it was then unless --scale was used)."""
        try:
            factor = float(saved) if saved is not None else 1.0
        except (TypeError, ValueError):
            return True
        return abs(factor - scale_factor_asked()) < 1e-6

    def _saved_size_fits(self, saved) -> bool:
        """Whether the window's size when it was saved ("WIDTHxHEIGHT") fits this screen (True when unknown)."""
        area = available_area(self)
        try:
            width, height = (int(part) for part in str(saved).split("x"))
        except ValueError:
            return True
        return area is None or fits(QSize(width, height), area)

    def save_preferences(self) -> None:
        settings = app_settings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/size", f"{self.width()}x{self.height()}")
        settings.setValue("window/scale", f"{scale_factor_asked():g}")
        state, shares = self.middle_alone.layout_to_save()  # the full layout, also while the middle is alone
        settings.setValue("window/state", state)
        settings.setValue("window/dock_shares", json.dumps(shares))
        for panel in self.panels:
            save = getattr(panel, "save_settings", None)
            if callable(save):
                save(settings)
        settings.sync()

    def tell_before_closing(self, text: str) -> None:
        """A word the user must read before the window goes (tests replace this to answer without a dialog)."""
        QMessageBox.warning(self, "GAN Studio is closing", text)

    def quit(self) -> None:
        """File > Quit (Ctrl+Q): close the window, once the user agrees to stop a training that runs."""
        if self.may_stop_training():
            self.close()

    def may_stop_training(self) -> bool:
        """True when no training runs here, or the user agrees to stop it (asked: quitting by a slip of the hand
        stopped an hours-long training with no word)."""
        state, run = self.session.state, self.session.run
        if state not in ("starting", "running", "paused"):  # ("stopping": it is being stopped already)
            return True
        if state == "starting" or run is None:
            what = "A training is starting"
        else:
            of_total = f" of {run.total_steps:,}" if run.total_steps else ""
            what = f"A training is {state} (step {run.step:,}{of_total})"
        return self.ask_before_stopping(
            f"{what}. Stop it and quit?\n\nIt stops after its step and saves a "
            "checkpoint: it can be resumed later (Runs panel, or File > Resume run)."
        )

    def ask_before_stopping(self, text: str) -> bool:
        """Whether the user agrees to stop the training and quit; keeping it is the default and Escape's answer
        (tests replace this to answer without a dialog)."""
        box = QMessageBox(QMessageBox.Icon.Question, "Quit GAN Studio?", text, parent=self)
        stop = box.addButton("Stop and quit", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep training", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.exec()
        return box.clickedButton() is stop

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Stop training (leaving a checkpoint to resume from), save preferences, then close. A close the user
        asked for from outside (the window manager's close button, Alt+F4) asks first while a training runs;
        one the app or a test asks for (a signal, `close()`) does not."""
        if event.spontaneous() and not self._closed and not self.may_stop_training():
            event.ignore()
            return
        worker = self.session.worker
        was_training = worker is not None and worker.isRunning()
        if not self.session.shutdown():
            self.statusBar().showMessage("still saving the run… closing as soon as it is written")
            if self.session.worker is not None:
                self.session.worker.wait()
        if was_training and worker.failure:  # the stop's checkpoint could not be written (a full disk): say so
            self.tell_before_closing(
                f"The training stopped, but its last checkpoint was not saved:\n\n{worker.failure}"
            )
        if self.setup.dataset.download_task is not None:
            self.setup.dataset.cancel_download()
            self.setup.dataset.download_task.wait(5000)
        self.setup.dataset.shutdown()
        if self.export_task is not None:
            self.export_task.wait()
        self._closed = True
        for panel in self.panels:  # panels with background work of their own stop it now
            shutdown = getattr(panel, "shutdown", None)
            if callable(shutdown):
                try:
                    shutdown()
                except Exception:  # noqa: BLE001 - closing must go on
                    traceback.print_exc(file=sys.stderr)
        if self.persist:
            self.save_preferences()
        super().closeEvent(event)


def _export(run_path: Path) -> list:
    """The run's generator (GAN) or decoder (VAE) and, for a VAE, its encoder too: the Explorer's Encode tab
    on the exported decoder needs it beside it."""
    try:
        from gan_studio.export.onnx_export import export_run
    except ImportError as exc:
        raise RunError(f"ONNX export is not available in this installation ({exc})") from None
    reports = [export_run(run_path)]
    if reports[0].metadata.get("family") == "vae":
        reports.append(export_run(run_path, part="encoder"))
    return reports
