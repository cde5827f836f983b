"""The headless parts of the package must import without pulling in Qt (the CLI runs on servers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
REQUIRED = ["gan_studio.models", "gan_studio.data"]
OPTIONAL = ["gan_studio.engine", "gan_studio.export", "gan_studio.evaluate", "gan_studio.explore", "gan_studio.cli"]
QT_PREFIXES = ("PySide6", "shiboken6", "pyqtgraph")

SCRIPT = f"""
import importlib, json, sys
imported = []
for name in {REQUIRED!r}:
    importlib.import_module(name)
    imported.append(name)
for name in {OPTIONAL!r}:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not name.startswith(exc.name):
            raise  # a module that exists but imports something missing is a real failure
        continue
    imported.append(name)
qt = sorted(m for m in sys.modules if m.split(".")[0] in {QT_PREFIXES!r})
print(json.dumps({{"imported": imported, "qt": qt}}))
"""


def test_headless_modules_do_not_import_qt():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["QT_QPA_PLATFORM"] = "offscreen"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(REQUIRED) <= set(report["imported"])
    assert report["qt"] == [], f"Qt modules imported by {report['imported']}: {report['qt']}"
