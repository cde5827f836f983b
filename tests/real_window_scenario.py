"""A user's session with the app in a real X window, driven by real input events (xdotool); not a test module.

tests/test_real_window.py runs this script under Xvfb. The app runs in this process on the X display
(xcb); every click, key and drag goes through the X server with xdotool, as a person's would, and
the checks read the widgets. It exits 0 when every check held, and 1 with the failure on stderr.

    start the default run (click Start)
    click "Evaluate now", then press Space: the run pauses (Space does not go to the sample-count box)
    stop, open the Explorer, drag a z slider: the explorer image stays in the visible window and repaints
    export, close the export banner: no dock moves
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionSlider, QWidget

WAIT_S = 240


def wait_until(condition, what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting until {what}")


def _pump(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def xdotool(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, timeout=30)
    _pump(0.2)


def centre(widget: QWidget) -> QPoint:
    return widget.mapToGlobal(widget.rect().center())


def click(widget: QWidget) -> None:
    point = centre(widget)
    xdotool("mousemove", str(point.x()), str(point.y()), "click", "1")


def handle_centre(slider) -> QPoint:
    """Where a slider's handle is on screen (a press there grabs it; a press on the groove only pages)."""
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    handle = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                           QStyle.SubControl.SC_SliderHandle, slider)  # fmt: skip
    return slider.mapToGlobal(handle.center())


def global_rect(widget: QWidget) -> QRect:
    return QRect(widget.mapToGlobal(QPoint(0, 0)), widget.size())


def tab_of(window, title: str) -> tuple:
    """The tab bar and index of the dock titled `title` when it is tabbed with others."""
    from PySide6.QtWidgets import QTabBar

    for bar in window.findChildren(QTabBar):
        for index in range(bar.count()):
            if bar.tabText(index) == title and bar.isVisible():
                return bar, index
    raise AssertionError(f"no tab titled {title!r}")


def click_tab(window, title: str) -> None:
    bar, index = tab_of(window, title)
    rect = bar.tabRect(index)
    point = bar.mapToGlobal(rect.center())
    xdotool("mousemove", str(point.x()), str(point.y()), "click", "1")


def dock_geometry(window) -> dict[str, tuple[int, int, int, int]]:
    return {title: dock.geometry().getRect() for title, dock in window.docks.items() if dock.isVisible()}


def main() -> int:
    workspace = Path(sys.argv[1])
    from gan_studio.ui.app import create_app
    from gan_studio.ui.main_window import MainWindow

    app = create_app()
    window = MainWindow(workspace=workspace, persist=False)
    window.show()
    wait_until(lambda: window.isVisible() and window.windowHandle() is not None and window.windowHandle().isExposed(),
               "the window is on screen")  # fmt: skip
    screen = app.primaryScreen().geometry()
    assert window.frameGeometry().width() <= screen.width() and window.frameGeometry().height() <= screen.height(), (
        f"the window ({window.frameGeometry()}) does not fit the {screen.width()}x{screen.height()} screen"
    )
    session = window.session

    # 1. start the default run
    assert window.controls.start_button.isEnabled(), "Start is not enabled on first launch"
    click(window.controls.start_button)
    wait_until(lambda: session.state == "running" and session.run is not None and session.run.step >= 3,
               "the default run trains")  # fmt: skip

    # 2. Evaluate now, then Space: the run pauses
    click_tab(window, "Metrics")
    metrics = window.optional_panels["MetricsPanel"]
    wait_until(lambda: metrics.evaluate_button.isVisible() and metrics.evaluate_button.isEnabled(),
               "the Metrics panel offers Evaluate now (after the run's first checkpoint)")  # fmt: skip
    spin_before = metrics.samples_spin.value()
    click(metrics.evaluate_button)
    assert metrics.thread is not None and "failed" not in metrics.status_label.text(), metrics.status_label.text()
    xdotool("key", "space")
    wait_until(lambda: session.state == "paused", "Space pauses the run after Evaluate now")
    assert metrics.samples_spin.value() == spin_before and metrics.samples_spin.text() != " ", "Space typed into a box"
    metrics.cancel()

    # 3. stop (a checkpoint), open the Explorer, drag a z slider
    click(window.controls.stop_button)
    wait_until(lambda: session.state == "idle", "the run stops")
    click_tab(window, "Explorer")
    explorer = window.optional_panels["ExplorerPanel"]
    wait_until(
        lambda: explorer.source is not None and explorer.main_view.picture is not None, "the explorer opens the run"
    )
    _pump(0.5)
    slider = explorer.latent_tab.sliders.slider(0)
    before = explorer.main_view.picture.copy()
    renders = explorer.renderer.stats.by_channel.get("main", {}).get("rendered", 0)
    start = handle_centre(slider)
    end_x = slider.mapToGlobal(QPoint(slider.width() - 4, 0)).x()
    xdotool("mousemove", str(start.x()), str(start.y()), "mousedown", "1")
    for x in np.linspace(start.x(), end_x, 12).astype(int):
        xdotool("mousemove", str(int(x)), str(start.y()))
        image = global_rect(explorer.main_view)
        visible = image.intersected(global_rect(window))
        assert explorer.main_view.isVisible() and visible == image, f"the image {image} left the window while dragging"
        assert screen.contains(image), f"the image {image} left the screen while dragging"
    xdotool("mouseup", "1")
    wait_until(lambda: explorer.renderer.idle(), "the renderer catches up")
    _pump(0.3)
    assert explorer.z[0] > 1.0, f"the drag did not move z1 (z1 = {explorer.z[0]:.2f})"
    assert explorer.renderer.stats.by_channel.get("main", {}).get("rendered", 0) > renders, "no repaint while dragging"
    assert not np.array_equal(before, explorer.main_view.picture), "the image did not change"

    # 4. export, close its banner: the docks keep their geometry
    xdotool("key", "ctrl+e")
    wait_until(lambda: window.export_task is None and window.banner.isVisible() and window.banner.level == "info",
               "the export report is shown")  # fmt: skip
    geometry = dock_geometry(window)
    close_button = window.banner.close_button
    click(close_button)
    wait_until(lambda: not window.banner.isVisible(), "the banner closes")
    _pump(0.3)
    assert dock_geometry(window) == geometry, f"docks moved: {geometry} -> {dock_geometry(window)}"

    window.close()
    print("real-window scenario: every check held")
    return 0


if __name__ == "__main__":
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    try:
        sys.exit(main())
    except AssertionError as exc:
        print(f"real-window scenario failed: {exc}", file=sys.stderr)
        if os.environ.get("SCENARIO_SHOT"):
            subprocess.run(["import", "-window", "root", os.environ["SCENARIO_SHOT"]], check=False)
        os._exit(1)  # threads may still run: leave without waiting for them
