"""scripts/quickstart.sh runs pip only when something changed (a stamp in .venv), from a clean clone on.

The script runs for real (bash) in a copy of the checkout whose Python, venv and pip are small
fakes that log what they are asked to do, so no network and no real install are needed.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FAKE_PYTHON = """#!/bin/bash
# a venv's python: knows torch once pip installed it, and gan_studio once `pip install -e` ran
echo "python $*" >> "$FAKE_LOG"
venv="$(cd "$(dirname "$0")/.." && pwd)"
case "$*" in
  *"import torch"*) [ -f "$venv/torch-installed" ] ;;
  *"import gan_studio"*) [ -f "$venv/editable" ] && cat "$venv/editable" ;;
  *) exit 0 ;;
esac
"""
FAKE_PIP = """#!/bin/bash
echo "pip $*" >> "$FAKE_LOG"
venv="$(cd "$(dirname "$0")/.." && pwd)"
case "$*" in
  *torch*) touch "$venv/torch-installed" ;;
  *"-e"*) echo "$PWD/gan_studio" > "$venv/editable" ;;
esac
"""
FAKE_BASE_PYTHON = """#!/bin/bash
# the system python: `python3 -m venv .venv` makes a venv of fakes
echo "base-python $*" >> "$FAKE_LOG"
[ "$1 $2" = "-m venv" ] || exit 1
mkdir -p "$3/bin"
cp "$FAKE_DIR/venv-python" "$3/bin/python"
cp "$FAKE_DIR/venv-pip" "$3/bin/pip"
cp "$FAKE_DIR/venv-gan-studio" "$3/bin/gan-studio"
"""
FAKE_APP = """#!/bin/bash
echo "gan-studio $*" >> "$FAKE_LOG"
"""
FAKE_DPKG = """#!/bin/bash
printf 'install ok installed'
"""


def _executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture
def clone(tmp_path) -> Path:
    """A clean clone (the script, pyproject.toml, the package) and the fakes beside it."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "quickstart.sh", repo / "scripts" / "quickstart.sh")
    shutil.copy(ROOT / "pyproject.toml", repo / "pyproject.toml")
    (repo / "gan_studio").mkdir()
    (repo / "gan_studio" / "__init__.py").write_text("")
    fakes = tmp_path / "fakes"
    (fakes / "bin").mkdir(parents=True)
    _executable(fakes / "venv-python", FAKE_PYTHON)
    _executable(fakes / "venv-pip", FAKE_PIP)
    _executable(fakes / "venv-gan-studio", FAKE_APP)
    _executable(fakes / "base-python", FAKE_BASE_PYTHON)
    _executable(fakes / "bin" / "dpkg-query", FAKE_DPKG)
    return repo


def quickstart(repo: Path, *args: str, **env: str) -> list[str]:
    """Run the script; returns the lines the fakes logged during this run."""
    fakes = repo.parent / "fakes"
    log = fakes / "log"
    log.write_text("")
    environment = {
        **os.environ,
        "PATH": f"{fakes / 'bin'}:{os.environ['PATH']}",
        "PYTHON": str(fakes / "base-python"),
        "FAKE_LOG": str(log),
        "FAKE_DIR": str(fakes),
        **env,
    }
    environment.pop("GAN_STUDIO_REINSTALL", None)
    environment.pop("GAN_STUDIO_TEST_WORKERS", None)
    environment.update(env)
    result = subprocess.run(["bash", str(repo / "scripts" / "quickstart.sh"), *args], env=environment,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return log.read_text().splitlines()


def pip_calls(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("pip ")]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_first_launch_installs_and_the_second_reaches_the_app_without_pip(clone):
    first = quickstart(clone, "app")
    assert first[0] == "base-python -m venv .venv"  # a clean clone gets its venv
    assert any("torch==" in call for call in pip_calls(first))
    assert "pip install -q -e .[dev]" in pip_calls(first)
    assert first[-1] == "gan-studio "
    second = quickstart(clone, "app", "--flag")
    assert pip_calls(second) == [] and not any(line.startswith("base-python") for line in second)
    assert second[-1] == "gan-studio --flag"


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_a_changed_pyproject_or_choice_installs_again(clone):
    quickstart(clone, "app")
    pyproject = clone / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n# a new dependency\n")
    assert pip_calls(quickstart(clone, "app")) == ["pip install -q -e .[dev]"]  # torch is there already
    assert pip_calls(quickstart(clone, "app")) == []
    assert pip_calls(quickstart(clone, "app", GAN_STUDIO_TORCH_VERSION="2.12.0")) == ["pip install -q -e .[dev]"]
    assert pip_calls(quickstart(clone, "app", GAN_STUDIO_REINSTALL="1")) == ["pip install -q -e .[dev]"]
    (clone / ".venv" / "editable").unlink()  # the package vanished from the venv: install it again
    assert pip_calls(quickstart(clone, "app")) == ["pip install -q -e .[dev]"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_readme_test_command_works_from_a_clean_clone(clone):
    lines = quickstart(clone, "test", "-q", GAN_STUDIO_TEST_WORKERS="0")
    assert lines[0] == "base-python -m venv .venv"
    assert "pip install -q -e .[dev]" in pip_calls(lines)
    assert lines[-1] == "python -m pytest -q"
    again = quickstart(clone, "test", "-q", GAN_STUDIO_TEST_WORKERS="0")
    assert pip_calls(again) == [] and again[-1] == "python -m pytest -q"


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_suite_runs_on_every_core_unless_told_otherwise(clone):
    """The suite took 24 minutes in one process on 2 cores, 12 in two (pytest-xdist, a file per process)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    expected = "python -m pytest -q" if cores < 2 else f"python -m pytest -n {min(cores, 8)} --dist loadfile -q"
    assert quickstart(clone, "test", "-q")[-1] == expected
    assert (
        quickstart(clone, "test", "-q", GAN_STUDIO_TEST_WORKERS="3")[-1] == "python -m pytest -n 3 --dist loadfile -q"
    )
    assert (
        quickstart(clone, "test", "-q", GAN_STUDIO_TEST_WORKERS="20")[-1] == "python -m pytest -n 8 --dist loadfile -q"
    )
    for chosen in (["-n", "1"], ["--numprocesses=4"], ["-p", "no:xdist"]):  # the caller's choice stands
        assert (
            quickstart(clone, "test", *chosen, GAN_STUDIO_TEST_WORKERS="3")[-1]
            == f"python -m pytest {' '.join(chosen)}"
        )


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_install_only_installs_and_says_how_to_use_the_venv_and_a_wrong_mode_installs_nothing(clone):
    lines = quickstart(clone, "install")
    assert lines[0] == "base-python -m venv .venv" and "pip install -q -e .[dev]" in pip_calls(lines)
    assert not any(line.startswith(("gan-studio", "python -m pytest")) for line in lines)
    wrong = subprocess.run(["bash", str(clone / "scripts" / "quickstart.sh"), "tset"], capture_output=True, text=True)
    assert wrong.returncode == 2 and "usage: bash scripts/quickstart.sh app|test|install" in wrong.stderr
    assert wrong.stdout == ""  # refused before anything was installed
