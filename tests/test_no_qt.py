"""The headless core must work without Qt installed: every module outside gan_studio.ui imports, and the
CLI runs, in a Python where PySide6, shiboken6 and pyqtgraph cannot be imported (as if uninstalled)."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import gan_studio

REPO_ROOT = Path(__file__).resolve().parents[1]
QT_PACKAGES = ("PySide6", "shiboken6", "pyqtgraph")

# A Python in which importing Qt fails exactly as it does when it is not installed.
NO_QT = f"""
import importlib.abc, sys

class QtIsNotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {QT_PACKAGES!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, QtIsNotInstalled())
"""


def core_modules() -> list[str]:
    """Every module of the package except the desktop app (gan_studio.ui) and `python -m gan_studio`'s entry
    (importing it runs the CLI)."""
    names = [m.name for m in pkgutil.walk_packages(gan_studio.__path__, "gan_studio.")]
    return sorted(n for n in names if not n.startswith("gan_studio.ui") and n != "gan_studio.__main__")


def run_without_qt(code: str, *argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-c", NO_QT + code, *argv], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def test_every_core_module_imports_without_qt():
    modules = core_modules()
    assert len(modules) > 50 and "gan_studio.explore.backends" in modules and "gan_studio.export.inference" in modules
    code = f"""
import importlib, json
for name in {modules!r}:
    importlib.import_module(name)
qt = sorted(m for m in sys.modules if m.split(".")[0] in {QT_PACKAGES!r})
print(json.dumps({{"qt": qt}}))
"""
    result = run_without_qt(code)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"qt": []}


def test_the_blocker_really_hides_qt():
    """The control case: without the blocker PySide6 imports here, with it the import fails."""
    result = run_without_qt("import PySide6")
    assert result.returncode != 0 and "No module named 'PySide6'" in result.stderr


def test_headless_training_and_the_app_hint_without_qt(tmp_path):
    code = f"""
from gan_studio.cli import main
code = main(["train", "gan", "--data", "ring8", "--steps", "3", "--batch-size", "16", "--sample-every", "0",
             "--g-hidden", "8", "--d-hidden", "8", "--out", {str(tmp_path / "run")!r}, "--quiet"])
assert code == 0, code
sys.exit(main(["app"]))
"""
    result = run_without_qt(code)
    assert (tmp_path / "run" / "checkpoints" / "last.pt").is_file(), result.stderr[-2000:]
    assert result.returncode == 2, result.stderr[-2000:]
    assert "PySide6" in result.stderr and "Traceback" not in result.stderr
