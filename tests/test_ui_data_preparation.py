"""The app while a photo folder is prepared: progress in the run controls, Stop cancels, nothing left behind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from gan_studio.engine.settings import configs_from_values
from gan_studio.ui.panels.run_controls import RunControlsPanel
from gan_studio.ui.session import RunSession


def photo_folder(root: Path, count: int) -> Path:
    """`count` small JPEG photos in two class folders (three decoding chunks for 600)."""
    rng = np.random.default_rng(0)
    for i in range(count):
        folder = root / ("cats" if i % 2 else "dogs")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(folder / f"{i:04d}.jpg")
    return root


def start(session: RunSession, data: Path, workspace: Path) -> None:
    _spec, train, model = configs_from_values("dcgan", {"data": str(data), "steps": 2, "batch_size": 8,
                                                        "image_size": 32, "ngf": 8, "ndf": 8, "sample_every": 2,
                                                        "checkpoint_every": 2, "device": "cpu"})  # fmt: skip
    session.start_new("dcgan", model, train, workspace=workspace)


def test_preparing_a_photo_folder_shows_its_progress_then_trains(qtbot, tmp_path):
    session = RunSession()
    panel = RunControlsPanel(session)
    qtbot.addWidget(panel)
    reports = []
    session.data_progress.connect(lambda done, total: reports.append((done, total, panel.progress.format())))
    start(session, photo_folder(tmp_path / "photos", 600), tmp_path / "runs")
    qtbot.waitUntil(lambda: session.state == "idle" and session.run is not None, timeout=120_000)
    assert reports and reports[-1][:2] == (600, 600)
    assert all(total == 600 for _, total, _ in reports)
    assert "preparing data" in reports[-1][2] and "600" in reports[-1][2]
    assert session.run.status == "finished"


def test_stop_while_preparing_cancels_it_and_creates_no_run(qtbot, tmp_path):
    session = RunSession()
    messages = []
    session.message.connect(lambda level, text: messages.append((level, text)))
    session.data_progress.connect(lambda done, total: session.stop())  # Stop as soon as the first chunk is done
    start(session, photo_folder(tmp_path / "photos", 600), tmp_path / "runs")
    qtbot.waitUntil(lambda: session.state == "idle" and session.worker is None, timeout=120_000)
    assert ("info", "stopped while preparing the data: no run was created") in messages
    assert not any(level == "error" for level, _ in messages)
    assert session.run is None
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
