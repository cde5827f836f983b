"""Opening runs with large metrics files (offscreen): they are read in the background, so the window
never freezes while a hundred thousand records are parsed, and a newer choice always wins."""

from __future__ import annotations

import json
import threading

import pytest
from tiny_runs import trained_run_path

from gan_studio.errors import RunError
from gan_studio.state.run_state import RunState
from gan_studio.ui import run_reader


def _grow_metrics(run_path, records: int) -> None:
    """Append `records` plausible metrics lines after the run's own (steps 1000, 1001, ...)."""
    with open(run_path / "metrics.jsonl", "a") as fh:
        for i in range(records):
            fh.write(json.dumps({"step": 1000 + i, "time": i * 0.01, "d_loss": 0.69, "g_loss": 0.7}) + "\n")


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    from gan_studio.ui.app import create_app
    from gan_studio.ui.main_window import MainWindow

    monkeypatch.setattr(run_reader, "BACKGROUND_BYTES", 64 * 1024)  # the test's "large" run: a few thousand lines
    create_app()
    win = MainWindow(workspace=tmp_path / "runs", persist=False)
    qtbot.addWidget(win)
    yield win
    win.session.shutdown()


def test_a_large_run_is_read_in_the_background_then_shown_whole(qtbot, tmp_path, window):
    big = trained_run_path(tmp_path / "runs" / "big", "gan", "ring8")
    _grow_metrics(big, 20_000)
    messages = []
    window.session.message.connect(lambda level, text: messages.append(text))

    assert window.open_run(big)
    assert window.session.run is None  # not read in the UI thread: the window answers meanwhile
    assert any(text.startswith("reading big (") and "MB of metrics" in text for text in messages)
    assert window.plots.empty_label.text() == "Reading the metrics of big…"  # where the curves will be

    qtbot.waitUntil(lambda: window.session.run is not None, timeout=30_000)
    run = window.session.run
    assert run.path == big and run.series["d_loss"].last_step == 1000 + 19_999
    assert messages[-1] == f"opened big ({run.status})"
    assert window.setup.model_combo.currentData() == "gan"  # the Setup shows the opened run's settings
    assert window.session.following
    assert window.plots.stack.currentWidget() is not window.plots.empty_label


def test_a_run_chosen_while_a_large_one_is_read_wins(qtbot, tmp_path, window):
    big = trained_run_path(tmp_path / "runs" / "big", "gan", "ring8")
    small = trained_run_path(tmp_path / "runs" / "small", "vae", "moons", latent_dim=2, hidden=8)
    _grow_metrics(big, 20_000)

    assert window.open_run(big)
    assert window.open_run(small)  # small: read at once
    assert window.session.run.path == small
    window.session.reader.stop_all(timeout_s=30)  # the big one's reading ends (stopped), and changes nothing
    qtbot.wait(200)
    assert window.session.run.path == small


def test_a_large_run_compares_in_the_background(qtbot, tmp_path, window):
    current = trained_run_path(tmp_path / "runs" / "current", "gan", "ring8")
    big = trained_run_path(tmp_path / "runs" / "big", "gan", "ring8")
    _grow_metrics(big, 20_000)
    assert window.open_run(current)

    window.compare_run(big)
    assert "big" not in window.plots.overlays
    qtbot.waitUntil(lambda: "big" in window.plots.overlays, timeout=30_000)


def test_a_stopped_reading_ends_early_with_no_state(tmp_path):
    big = trained_run_path(tmp_path / "big", "gan", "ring8")
    _grow_metrics(big, 10_000)
    stop = threading.Event()
    stop.set()
    with pytest.raises(RunError, match="reading stopped"):
        RunState.load(big, stop=stop)
    assert RunState.load(big).series["d_loss"].last_step == 1000 + 9_999


def test_a_metrics_file_of_garbage_says_so_instead_of_empty_plots_and_nothing(qtbot, tmp_path, window):
    """100 KB of random bytes as metrics.jsonl opened fast with empty plots and no word (review s12U)."""
    import numpy as np

    run = trained_run_path(tmp_path / "runs" / "garbled", "gan", "ring8")
    (run / "metrics.jsonl").write_bytes(np.random.default_rng(0).bytes(100_000).replace(b"\n", b" "))
    messages = []
    window.session.message.connect(lambda level, text: messages.append((level, text)))
    assert window.open_run(run)
    qtbot.waitUntil(lambda: window.session.run is not None, timeout=30_000)
    assert ("warning", "opened garbled (finished), but its metrics.jsonl (100,000 bytes) holds no readable record: "
            "the plots stay empty") in messages  # fmt: skip
