"""The app under stress (offscreen): many start/stop and pause/resume cycles, slider bursts, opening and
closing runs, and closing the window in the middle of training, export, download and evaluation.

Each test counts the process's OS threads (which includes QThreads and ONNX Runtime/torch pools)
and its resident memory before and after, and asserts that no thread is left behind and memory
growth stays within a generous margin.
"""

from __future__ import annotations

import gc
import os
import shutil
import sys
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import PySide6
import pytest
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.exceptions import TimeoutError as WaitTimeout
from test_ui_window import WAIT_MS, choose, set_up_tiny_gan
from tiny_runs import train_tiny_run

from gan_studio.export.onnx_export import export_run
from gan_studio.store.rundir import RunDir
from gan_studio.ui.main_window import MainWindow

MEMORY_MARGIN_MB = 150  # generous: allocator and Qt caches; a leak per cycle would exceed it


def none_references_lost_per_qt_call() -> float:
    """How many references to None one void Qt method call loses (0 for sound bindings).

    PySide6 6.12.0 on Python < 3.12 drops one per call, so a running app aborts with "Fatal Python
    error: none_dealloc" after some ten thousand calls (Python 3.12+ has an immortal None).
    """
    widget = QWidget()
    before = sys.getrefcount(None)
    for _ in range(200):
        widget.setWindowTitle("x")
    return (before - sys.getrefcount(None)) / 200


def test_qt_bindings_do_not_lose_references_to_none(qapp):
    assert none_references_lost_per_qt_call() < 0.5, (
        f"PySide6 {PySide6.__version__} loses a reference to None on every void call: the app would abort "
        "after minutes of use; install a PySide6 without this bug (6.11.x works)"
    )


@pytest.fixture
def sound_qt(qapp):
    """Skip a stress test where the bindings' bug would abort the whole test process (reported above)."""
    if none_references_lost_per_qt_call() > 0.5:
        pytest.skip(f"PySide6 {PySide6.__version__} loses references to None: a stress run would abort pytest")


pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads with Linux /proc")


def os_threads() -> list[str]:
    """Names of this process's OS threads (QThreads are named after their class)."""
    names = []
    for task in os.listdir("/proc/self/task"):
        try:
            names.append(Path(f"/proc/self/task/{task}/comm").read_text().strip())
        except OSError:  # the thread ended meanwhile
            pass
    return sorted(names)


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Leaks:
    """Threads and memory before a stress, compared with after it (once Qt has settled)."""

    def __init__(self, qtbot):
        self.qtbot = qtbot
        self.settle()
        self.threads, self.pool, self.rss = os_threads(), QThreadPool.globalInstance().activeThreadCount(), rss_mb()

    def settle(self) -> None:
        for _ in range(3):
            QApplication.processEvents()
            QApplication.sendPostedEvents(None, 0)  # runs deleteLater
            gc.collect()
            self.qtbot.wait(50)

    def check(self, what: str) -> None:
        try:
            self.qtbot.waitUntil(lambda: (self.settle(), len(os_threads()) <= len(self.threads))[1], timeout=10_000)
        except WaitTimeout:
            raise AssertionError(
                f"{what}: threads before {self.threads}, after {os_threads()} (Python: {threading.enumerate()})"
            ) from None
        assert QThreadPool.globalInstance().activeThreadCount() <= self.pool, f"{what}: thread pool still busy"
        grew = rss_mb() - self.rss
        assert grew < MEMORY_MARGIN_MB, f"{what}: resident memory grew by {grew:.0f} MB"


@pytest.fixture
def window(qtbot, tmp_path, sound_qt):
    win = MainWindow(workspace=tmp_path / "runs")
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A small finished GAN run on ring8 (with a checkpoint) to open, export and evaluate."""
    out = tmp_path_factory.mktemp("stress") / "gan-run"
    train_tiny_run(out, "gan", steps=20, batch_size=32, log_every=2, sample_every=10, g_layers=1, d_layers=1)
    export_run(out, out=out.parent / "warm-up.onnx")  # torch and ONNX Runtime create their thread pools once
    return out


def wait_state(qtbot, win, *states) -> None:
    qtbot.waitUntil(lambda: win.session.state in states, timeout=WAIT_MS)


def start_and_wait_running(qtbot, win) -> None:
    win.start_training()
    wait_state(qtbot, win, "running")
    qtbot.waitUntil(lambda: win.controls.progress.value() >= 2, timeout=WAIT_MS)


@pytest.mark.slow
def test_twenty_start_stop_cycles(qtbot, window):
    win = window
    set_up_tiny_gan(win)
    start_and_wait_running(qtbot, win)  # warm-up: torch's thread pools and caches exist from here on
    win.session.stop()
    wait_state(qtbot, win, "idle")
    leaks = Leaks(qtbot)
    runs = set()
    for _ in range(20):
        start_and_wait_running(qtbot, win)
        runs.add(win.session.run_path)
        win.session.stop()
        wait_state(qtbot, win, "idle")
    assert len(runs) == 20
    assert all(RunDir(path).read_info()["status"] == "stopped" for path in runs)
    win.session.close_run()
    leaks.check("20 start/stop cycles")


@pytest.mark.slow
def test_hundred_pause_resume_cycles_during_training(qtbot, window):
    win = window
    set_up_tiny_gan(win)
    start_and_wait_running(qtbot, win)
    leaks = Leaks(qtbot)
    for _ in range(100):
        win.session.pause()
        wait_state(qtbot, win, "paused")
        win.session.resume_training()
        wait_state(qtbot, win, "running")
    step = win.controls.progress.value()
    qtbot.waitUntil(lambda: win.controls.progress.value() > step, timeout=WAIT_MS)  # still training
    events = RunDir(win.session.run_path).read_events()
    assert sum(e.get("type") == "pause" for e in events) == 100
    win.session.stop()
    wait_state(qtbot, win, "idle")
    win.session.close_run()
    leaks.check("100 pause/resume cycles")


def test_ten_thousand_slider_events_in_a_burst(qtbot, window, finished_run):
    win = window
    explorer = win.optional_panels.get("ExplorerPanel")
    if explorer is None:
        pytest.skip("the explorer panel is not part of this build")
    with qtbot.waitSignal(explorer.image_shown, timeout=WAIT_MS):
        assert win.open_run(finished_run)
    leaks = Leaks(qtbot)
    slider = explorer.latent_tab.sliders.slider(0)
    for i in range(10_000):
        slider.setValue(-300 + (i * 7) % 600)
    assert explorer.renderer.wait_idle(30)
    qtbot.waitUntil(explorer.renderer.idle, timeout=WAIT_MS)
    assert explorer.z[0] == pytest.approx((-300 + (9_999 * 7) % 600) / 100)
    win.session.close_run()
    leaks.check("10,000 slider events")


@pytest.mark.slow
def test_opening_and_closing_fifty_runs(qtbot, window, finished_run, tmp_path):
    win = window
    copies = []
    for i in range(50):
        copy = win.runs.workspace / f"copy-{i:02d}"
        shutil.copytree(finished_run, copy)
        copies.append(copy)
    win.runs.refresh()
    assert win.open_run(copies[0])  # warm-up
    win.session.close_run()
    leaks = Leaks(qtbot)
    for copy in copies:
        assert win.open_run(copy)
        assert win.session.run_path == copy and win.session.following
        qtbot.wait(5)
        win.session.close_run()
        assert not win.session.following
    leaks.check("opening and closing 50 runs")


# --- closing the window in the middle of background work ---------------------------------------------


class SlowFileHandler(SimpleHTTPRequestHandler):
    """Serves files at about 20 kB/s, so a download is still running when the window closes."""

    def copyfile(self, source, outputfile):
        while chunk := source.read(1024):
            outputfile.write(chunk)
            time.sleep(0.05)

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass


@pytest.fixture
def slow_server(tmp_path):
    root = tmp_path / "mirror"
    root.mkdir()
    (root / "train-images-idx3-ubyte.gz").write_bytes(os.urandom(2_000_000))
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SlowFileHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def begin_training(qtbot, win, run):
    set_up_tiny_gan(win)
    start_and_wait_running(qtbot, win)
    return lambda: (not win.session.worker or not win.session.worker.isRunning(), "the training thread")


def begin_export(qtbot, win, run):
    win.open_run(run)
    win.export_current()
    task = win.export_task
    assert task is not None
    return lambda: (not task.isRunning(), "the export thread")


def begin_download(qtbot, win, mirror, monkeypatch):
    from gan_studio.data import download

    real = download.ensure_dataset
    monkeypatch.setattr(download, "ensure_dataset", lambda name, **kw: real(name, mirrors=[mirror], **kw))
    picker = win.setup.dataset
    choose(picker.combo, "mnist")
    win.setup.start_download()
    task = picker.download_task
    assert task is not None
    qtbot.waitUntil(lambda: picker.progress.maximum() == 1000, timeout=WAIT_MS)  # bytes are arriving
    return lambda: (not task.isRunning(), "the download thread")


def begin_evaluation(qtbot, win, run):
    metrics = win.optional_panels.get("MetricsPanel")
    if metrics is None:
        pytest.skip("the metrics panel is not part of this build")
    win.open_run(run)
    metrics.evaluate_now()
    thread = metrics.thread
    assert thread is not None and thread.isRunning()
    return lambda: (not thread.isRunning(), "the evaluation thread")


@pytest.mark.parametrize("activity", ["training", "export", "download", "evaluation"])
def test_closing_the_window_during_background_work(qtbot, sound_qt, tmp_path, finished_run, activity, request):
    run = tmp_path / "runs" / "opened"
    shutil.copytree(finished_run, run)
    mirror = request.getfixturevalue("slow_server") if activity == "download" else None  # its thread is not ours
    win = MainWindow(workspace=tmp_path / "runs")
    qtbot.addWidget(win)
    win.show()
    leaks = Leaks(qtbot)
    if activity == "download":
        stopped = begin_download(qtbot, win, mirror, request.getfixturevalue("monkeypatch"))
    else:
        begin = {"training": begin_training, "export": begin_export, "evaluation": begin_evaluation}[activity]
        stopped = begin(qtbot, win, run)
    started = time.perf_counter()
    win.close()
    QApplication.instance().aboutToQuit.emit()  # what follows when the user closes the app's only window
    closing_s = time.perf_counter() - started
    done, what = stopped()
    assert done, f"{what} still runs after the window closed"
    assert closing_s < 30, f"closing took {closing_s:.1f} s"
    leaks.check(f"closing during {activity}")
    if activity == "download":
        cache = Path(os.environ["GAN_STUDIO_CACHE"]) / "datasets" / "mnist"
        assert not (cache / "train-images-idx3-ubyte.gz").exists()  # an unfinished download never looks complete
