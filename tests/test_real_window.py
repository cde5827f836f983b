"""The app in a real X window (Xvfb), driven by real input events (xdotool): tests/real_window_scenario.py.

Skipped where Xvfb or xdotool are not installed (a user's machine); .ci/run installs both, so CI runs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SCREEN = "1280x800x24"  # the smallest screen the app is laid out for

pytestmark = pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xdotool")),
                                reason="needs Xvfb and xdotool (apt-get install xvfb xdotool)")  # fmt: skip


@pytest.fixture
def display():
    """A private X server; its number is found free by Xvfb itself (-displayfd)."""
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", SCREEN, "-nolisten", "tcp"],
                              pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    os.close(write)
    number = b""
    deadline = time.monotonic() + 30
    while not number.endswith(b"\n") and time.monotonic() < deadline:
        chunk = os.read(read, 16)
        if not chunk:
            break
        number += chunk
    os.close(read)
    if not number.strip():
        server.kill()
        pytest.fail("Xvfb did not start")
    yield f":{number.decode().strip()}"
    server.terminate()
    server.wait(timeout=30)


def test_a_person_starts_pauses_explores_and_exports_in_a_real_window(display, tmp_path):
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "OMP_NUM_THREADS": "1",
           "GAN_STUDIO_HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "GAN_STUDIO_CACHE": str(tmp_path / "cache")}  # fmt: skip
    result = subprocess.run([sys.executable, str(HERE / "real_window_scenario.py"), str(tmp_path / "runs")],
                            env=env, capture_output=True, text=True, timeout=900)  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    assert "every check held" in result.stdout
