"""Shared test setup: offscreen Qt, a private workspace and cache, and the real MNIST test set."""

from __future__ import annotations

import gc
import hashlib
import os
import sys
import tempfile
from pathlib import Path

import pytest
import torch

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
# tiny test models run faster on one thread, and the app tests share the CPU with a worker thread
torch.set_num_threads(1)

MNIST_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"
MNIST_MD5 = {
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path_factory, monkeypatch):
    """Keep runs, caches and app settings of tests out of the user's folders."""
    base = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("GAN_STUDIO_HOME", str(base / "data"))
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(base / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(base / "config"))
    (base / "tmp").mkdir()  # temporary files too (the dataset cache's fallback folder is made there)
    monkeypatch.setenv("TMPDIR", str(base / "tmp"))
    monkeypatch.setattr(tempfile, "tempdir", str(base / "tmp"))
    yield
    widgets = sys.modules.get("PySide6.QtWidgets")
    if widgets is not None and widgets.QApplication.instance() is not None and widgets.QApplication.allWidgets():
        # the test's Qt objects caught in reference cycles go now, in the GUI thread: left to the
        # garbage collector, they may be destroyed in a later test's worker thread, which deadlocks Qt
        gc.collect()
        # and the windows pytest-qt closed with deleteLater go now too: outside an event loop they stayed,
        # and each window alive made every later window slower to build and style (a suite twice as long)
        from PySide6.QtCore import QCoreApplication, QEvent

        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The real MNIST test set (IDX, gzip) beside the checkout; skips when it is absent."""
    if not all((MNIST_DIR / name).is_file() for name in MNIST_MD5):
        pytest.skip(f"the MNIST test set is not at {MNIST_DIR} (a fresh clone without ../shared)")
    for name, md5 in MNIST_MD5.items():
        digest = hashlib.md5((MNIST_DIR / name).read_bytes()).hexdigest()
        assert digest == md5, f"{name} has md5 {digest}, expected {md5}"
    return MNIST_DIR


@pytest.fixture
def tiny_run(tmp_path):
    """Train a tiny run in the test's folder: tiny_run(model="gan", name="run", **settings) -> Trainer.

    Settings are any train or model settings by their flag names (steps, data, lr_g, ...); see
    tests/tiny_runs.py for the tiny defaults."""
    from tiny_runs import train_tiny_run

    def train(model: str = "gan", name: str = "run", dataset=None, **settings):
        return train_tiny_run(tmp_path / name, model, dataset, **settings)

    return train


@pytest.fixture
def one_thread():
    """One torch thread for the test, restored after (an app test may have changed the count)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
